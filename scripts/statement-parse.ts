/**
 * npm run statement:parse -- <file> [--mapping=<name>]
 *
 * Prints the normalized statement(s) of a camt.053 file (or of a CSV file read with a built-in
 * column mapping) as JSON on stdout, without touching a database. Exit 0 on success; exit 1 with
 * the error (and its place in the file) on stderr when the file is refused; exit 2 on bad usage (no
 * file or more than one, a file that cannot be read, an unknown option or mapping name).
 */
import { statSync } from "node:fs";
import { isAppError } from "../server/errors/app-error";
import { BUILT_IN_CSV_MAPPINGS } from "../server/recon/csv-feed";
import { parseStatementFile, MAX_STATEMENT_FILE_BYTES } from "../server/recon/statement-file";
import { entryJson, headerJson } from "../server/partners/statement-types";

const USAGE = `usage: npm run statement:parse -- <file> [--mapping=${Object.keys(BUILT_IN_CSV_MAPPINGS).join("|")}]\n`;

/** What the arguments ask for, or the usage error to print (exit 2). */
function readArgs(args: readonly string[]): { file: string; mapping: string | undefined } | { usageError: string } {
  const files = args.filter((a) => !a.startsWith("--"));
  const unknown = args.find((a) => a.startsWith("--") && !a.startsWith("--mapping="));
  if (unknown) return { usageError: `unknown option ${unknown}` };
  if (files.length !== 1) return { usageError: files.length === 0 ? "give the file to parse" : `give one file, not ${files.length}` };
  const mapping = args.find((a) => a.startsWith("--mapping="))?.slice("--mapping=".length);
  if (mapping !== undefined && !Object.hasOwn(BUILT_IN_CSV_MAPPINGS, mapping)) {
    return { usageError: `unknown mapping ${JSON.stringify(mapping)}; built in: ${Object.keys(BUILT_IN_CSV_MAPPINGS).join(", ")}` };
  }
  const file = files[0]!;
  const isFile = (() => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  })();
  if (!isFile) return { usageError: `${file} is not a readable file` };
  return { file, mapping };
}

async function main(): Promise<number> {
  const parsedArgs = readArgs(process.argv.slice(2));
  if ("usageError" in parsedArgs) {
    process.stderr.write(`statement:parse: ${parsedArgs.usageError}\n${USAGE}`);
    return 2;
  }
  const { file, mapping } = parsedArgs;
  try {
    const size = statSync(file).size;
    if (size > MAX_STATEMENT_FILE_BYTES) throw new Error(`${file} is ${size} bytes; the limit is ${MAX_STATEMENT_FILE_BYTES}`);
    const parsed = await parseStatementFile(file, { mapping });
    const out = {
      file,
      format: parsed.format,
      messageId: parsed.messageId,
      statements: parsed.statements.map((s) => ({ ...headerJson(s.header), entryCount: s.entries.length, entries: s.entries.map(entryJson) })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  } catch (e) {
    const message = isAppError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
    process.stderr.write(`statement:parse: ${file}: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main();
