/**
 * `npm run audit:verify`: walks every audit hash chain in DATABASE_URL and prints a one-line
 * verdict. Exit code 0 when intact, 1 when a link is broken, 2 when verification could not run
 * (bad configuration, database unreachable).
 */
import pg from "pg";
import { env, ConfigError } from "../server/env";
import { verifyAuditChain } from "../server/audit/verify";

async function main(): Promise<number> {
  let url: string | undefined;
  try {
    url = env().DATABASE_URL;
  } catch (e) {
    console.error(`audit:verify could not start: ${e instanceof ConfigError ? e.message : String(e)}`);
    return 2;
  }
  if (!url) {
    console.error("audit:verify could not start: DATABASE_URL is not set");
    return 2;
  }
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: "audit-verify" });
  try {
    const started = Date.now();
    const r = await verifyAuditChain(pool);
    const ms = Date.now() - started;
    if (r.isIntact) {
      console.log(`audit log intact: ${r.checkedCount} records in ${r.lanes.length} lanes verified in ${ms} ms`);
      return 0;
    }
    const b = r.firstBreak!;
    console.log(`audit log BROKEN at record ${b.id ?? "(none)"} (lane ${b.lane}, seq ${b.laneSeq ?? "-"}): ${b.problem}`);
    return 1;
  } catch (e) {
    console.error(`audit:verify could not run: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  } finally {
    await pool.end().catch(() => {});
  }
}

process.exitCode = await main();
