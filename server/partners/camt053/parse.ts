/**
 * Whole-document conveniences over the streaming reader: for small files (tests, statement:parse,
 * the sandbox's daily statements). Imports stream instead (server/recon/import.ts).
 */
import { createReadStream } from "node:fs";
import type { ParsedStatement } from "../statement-types";
import { readCamt053, type Camt053Version } from "./reader";

export interface ParsedCamt053 {
  version: Camt053Version;
  messageId: string | null;
  statements: ParsedStatement[];
}

/** Reads a whole camt.053 document held in memory. Errors: as readCamt053. */
export async function parseCamt053(source: string | Uint8Array | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>): Promise<ParsedCamt053> {
  const statements: ParsedStatement[] = [];
  const iterable = typeof source === "string" || source instanceof Uint8Array ? [source] : source;
  const summary = await readCamt053(iterable, {
    statement: (header) => void statements.push({ header, entries: [] }),
    entry: (entry) => void statements.at(-1)!.entries.push(entry),
  });
  return { version: summary.version, messageId: summary.messageId, statements };
}

/** Reads a camt.053 file from disk, streaming. Errors: as readCamt053. */
export function parseCamt053File(path: string): Promise<ParsedCamt053> {
  return parseCamt053(createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>);
}
