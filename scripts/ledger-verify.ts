// Proves the ledger's integrity from the database alone (see server/ledger/verify.ts).
//   npm run ledger:verify            (uses DATABASE_URL)
// Prints a JSON report; exits 1 if any discrepancy is found, 2 if the check could not run.
import { db, closeDb } from "../server/db/client";
import { verifyLedger } from "../server/ledger/verify";

try {
  const report = await verifyLedger(db());
  console.log(JSON.stringify(report, null, 2));
  await closeDb();
  process.exit(report.isOk ? 0 : 1);
} catch (e) {
  console.error(`ledger:verify could not run: ${(e as Error).message}`);
  await closeDb();
  process.exit(2);
}
