/**
 * npm run statement:parse -- <file> [--mapping=<name>]
 *
 * Prints the normalized statement(s) of a camt.053 file (or of a CSV file read with a built-in
 * column mapping) as JSON on stdout, without touching a database. Exit 0 on success; exit 1 with
 * the error (and its place in the file) on stderr when the file is refused; exit 2 on bad usage.
 */
import { statSync } from "node:fs";
import { isAppError } from "../server/errors/app-error";
import { parseStatementFile, MAX_STATEMENT_FILE_BYTES } from "../server/recon/statement-file";
import { entryJson, headerJson } from "../server/partners/statement-types";

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  const mapping = args.find((a) => a.startsWith("--mapping="))?.slice("--mapping=".length);
  if (!file) {
    process.stderr.write("usage: npm run statement:parse -- <file> [--mapping=sandbox_settlement]\n");
    return 2;
  }
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
