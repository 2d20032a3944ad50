/**
 * npm run statement:import -- <file> [--source=<source name or id>] [--no-run]
 *
 * Imports a statement file from disk (camt.053, or CSV into a source with a column mapping) into
 * DATABASE_URL's database, then runs reconciliation over the statement's period, as an import
 * through the console does. For files larger than the API takes (API_MAX_IMPORT_BYTES): the file is
 * streamed, so memory does not grow with it (a 1,000,000-entry camt.053, about 560 MB, imports in a
 * process under 512 MB), up to MAX_STATEMENT_FILE_BYTES. Audited as the system actor
 * "statement-import:<user>".
 *
 * Prints the outcome as JSON. Exit 0 when imported or already imported (a no-op); 1 when the file
 * is refused (the error names its place; nothing was written); 2 on bad usage or when the database
 * cannot be reached.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import { systemActor } from "../server/core/actor";
import { isUuid } from "../server/core/validate";
import { db, closeDb } from "../server/db/client";
import { isAppError } from "../server/errors/app-error";
import { importStatement } from "../server/recon/import";
import { importAndReconcile } from "../server/recon/runs";

const USAGE = "usage: npm run statement:import -- <file> [--source=<source name or id>] [--no-run]\n";

/** A source named by id or by its unique name; null when not given (camt.053 names its account). */
async function resolveSource(given: string | undefined): Promise<string | null> {
  if (given === undefined) return null;
  const isId = isUuid(given);
  const rows = (await db().pool.query<{ id: string }>(isId ? `SELECT id FROM recon_sources WHERE id = $1` : `SELECT id FROM recon_sources WHERE name = $1`, [given])).rows;
  if (rows.length === 0) throw new UsageError(`no reconciliation source ${isId ? "with id" : "named"} ${JSON.stringify(given)}`);
  return rows[0]!.id;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith("--"));
  const unknown = args.filter((a) => a.startsWith("--") && a !== "--no-run" && !a.startsWith("--source="));
  if (files.length !== 1 || unknown.length > 0) {
    process.stderr.write(unknown.length > 0 ? `statement:import: unknown option ${unknown[0]}\n${USAGE}` : USAGE);
    return 2;
  }
  const file = files[0]!;
  const isRunWanted = !args.includes("--no-run");
  try {
    if (!(await stat(file).catch(() => null))?.isFile()) throw new UsageError(`${file} is not a readable file`);
    const sourceId = await resolveSource(args.find((a) => a.startsWith("--source="))?.slice("--source=".length));
    const actor = systemActor(`statement-import:${userInfo().username}`);
    const input = { sourceId, fileName: path.basename(file), content: createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer> };
    const outcome = isRunWanted ? await importAndReconcile(db(), actor, input) : { ...(await importStatement(db(), actor, input)), run: null };
    process.stdout.write(JSON.stringify(outcome, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`statement:import: ${e.message}\n`);
      return 2;
    }
    if (isAppError(e)) {
      process.stderr.write(`statement:import: ${file}: ${e.code}: ${e.message}\n`);
      return e.code === "DB_UNAVAILABLE" ? 2 : 1;
    }
    process.stderr.write(`statement:import could not run: ${(e as Error).message}\n`);
    return 2;
  } finally {
    await closeDb().catch(() => {});
  }
}

process.exitCode = await main();
