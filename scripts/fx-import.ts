// `npm run fx:import -- <csv>`: imports an ECB reference-rate file into DATABASE_URL, atomically
// and idempotently (server/pricing/rates-store.ts). Prints the import as JSON; a bad file imports
// nothing and exits 1 with the typed error; exit 2 when it could not run.
import { readFileSync } from "node:fs";
import path from "node:path";
import { closeDb, db } from "../server/db/client";
import { env } from "../server/env";
import { isAppError } from "../server/errors/app-error";
import { importReferenceRates } from "../server/pricing/rates-store";

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  process.stderr.write("usage: npm run fx:import -- <rates.csv>\n");
  process.exit(2);
}
try {
  if (!env().DATABASE_URL) throw new Error("DATABASE_URL is required");
  const text = readFileSync(file, "utf8");
  const result = await importReferenceRates(db(), { type: "system", id: "fx:import", label: "fx:import" }, { text, fileName: path.basename(file) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await closeDb();
} catch (e) {
  await closeDb();
  if (isAppError(e) && e.code !== "DB_UNAVAILABLE") {
    process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details ?? {} } })}\n`);
    process.exit(1);
  }
  process.stderr.write(`fx:import could not run: ${(e as Error).message}\n`);
  process.exit(2);
}
