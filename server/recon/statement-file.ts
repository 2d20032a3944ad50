/**
 * Statement files from disk or memory, whatever their format: camt.053 XML (detected by its first
 * "<") or CSV read with a named built-in mapping (or the sandbox settlement mapping when the header
 * is the sandbox's). Used by statement:parse and by tests; imports stream through
 * server/recon/import.ts instead.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { AppError } from "../errors/app-error";
import { SETTLEMENT_HEADER } from "../partners/settlement-file";
import { parseCamt053 } from "../partners/camt053/parse";
import { BUILT_IN_CSV_MAPPINGS, csvStatementHeader, readCsvFeed } from "./csv-feed";
import type { ParsedStatement, StatementEntry } from "../partners/statement-types";

/**
 * The largest statement file accepted from disk (npm run statement:import, statement:parse). An
 * import streams the file, so its memory does not grow with the file: a 1,000,000-entry camt.053
 * is about 560 MB. The API takes far less (API_MAX_IMPORT_BYTES).
 */
export const MAX_STATEMENT_FILE_BYTES = 1024 * 1024 * 1024;

export interface ParsedStatementFile {
  format: string;
  messageId: string | null;
  statements: ParsedStatement[];
}

/** "camt053" when the text starts (after a BOM and blanks) with "<", else "csv". */
export function sniffFormat(head: string): "camt053" | "csv" {
  return head.replace(/^\uFEFF/, "").trimStart().startsWith("<") ? "camt053" : "csv";
}

/** The built-in mapping for a CSV whose header is `headerLine`, or null. */
export function mappingForHeader(headerLine: string): string | null {
  return headerLine.replace(/^\uFEFF/, "").trim() === SETTLEMENT_HEADER.join(",") ? "sandbox_settlement" : null;
}

/**
 * Reads a whole statement file. Errors: as readCamt053 / readCsvFeed; BAD_INPUT for a CSV whose
 * mapping is unknown or cannot be guessed.
 */
export async function parseStatementFile(path: string, opts: { mapping?: string } = {}): Promise<ParsedStatementFile> {
  const fh = await open(path, "r");
  const head = Buffer.alloc(4096);
  const { bytesRead } = await fh.read(head, 0, head.length, 0);
  await fh.close();
  const headText = head.subarray(0, bytesRead).toString("utf8");
  const stream = () => createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
  if (sniffFormat(headText) === "camt053" && !opts.mapping) {
    const doc = await parseCamt053(stream());
    return { format: `camt.053.${doc.version}`, messageId: doc.messageId, statements: doc.statements };
  }
  const name = opts.mapping ?? mappingForHeader(headText.split(/\r?\n/)[0] ?? "");
  const builtIn = name ? BUILT_IN_CSV_MAPPINGS[name] : undefined;
  if (!builtIn) {
    throw new AppError("BAD_INPUT", `${path} is not XML and no CSV mapping applies; pass --mapping=<name> (built in: ${Object.keys(BUILT_IN_CSV_MAPPINGS).join(", ")})`);
  }
  const entries: StatementEntry[] = [];
  await readCsvFeed(stream(), { mapping: builtIn.mapping, onEntry: (e) => void entries.push(e) });
  const format = `csv:${name}@${builtIn.version}`;
  return {
    format,
    messageId: null,
    statements: [
      {
        header: csvStatementHeader(format, basename(path)),
        entries,
      },
    ],
  };
}
