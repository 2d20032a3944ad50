/**
 * `npm run audit:verify [-- --anchors <file>]`: walks every audit hash chain in DATABASE_URL and
 * prints a one-line verdict. With --anchors, it also checks the chain against the signed anchors
 * in that file (one JSON line each, as the worker's audit-anchor job writes them), under the
 * public key AUDIT_ANCHOR_PUBLIC_KEY (or the one derived from AUDIT_ANCHOR_SIGNING_KEY): a chain
 * rewritten with every hash recomputed verifies on its own, but not against its anchors.
 * Exit code 0 when intact, 1 when a link is broken or the chain disagrees with an anchor, 2 when
 * verification could not run (bad configuration, unreadable anchors, database unreachable).
 */
import { readFile } from "node:fs/promises";
import { createPublicKey } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { env, ConfigError } from "../server/env";
import { verifyAuditChain } from "../server/audit/verify";
import { anchorPublicKey, anchorSigningKey, parseAnchors, verifyAgainstAnchors, type SignedAnchor } from "../server/audit/anchors";

async function main(): Promise<number> {
  let url: string | undefined;
  let anchors: SignedAnchor[] | null = null;
  let publicKey: ReturnType<typeof anchorPublicKey> | null = null;
  try {
    const { values } = parseArgs({ options: { anchors: { type: "string" } }, allowPositionals: false });
    const e = env();
    url = e.DATABASE_URL;
    if (values.anchors) {
      anchors = parseAnchors(await readFile(values.anchors, "utf8"));
      if (e.AUDIT_ANCHOR_PUBLIC_KEY) publicKey = anchorPublicKey(e.AUDIT_ANCHOR_PUBLIC_KEY);
      else if (e.AUDIT_ANCHOR_SIGNING_KEY) publicKey = createPublicKey(anchorSigningKey(e.AUDIT_ANCHOR_SIGNING_KEY));
      else throw new Error("--anchors needs AUDIT_ANCHOR_PUBLIC_KEY (or AUDIT_ANCHOR_SIGNING_KEY) to check the anchors' signatures");
    }
  } catch (e) {
    console.error(`audit:verify could not start: ${e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e)}`);
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
    if (!r.isIntact) {
      const b = r.firstBreak!;
      console.log(`audit log BROKEN at record ${b.id ?? "(none)"} (lane ${b.lane}, seq ${b.laneSeq ?? "-"}): ${b.problem}`);
      return 1;
    }
    if (anchors && publicKey) {
      const problems = await verifyAgainstAnchors({ pool }, anchors, publicKey);
      if (problems.length > 0) {
        const p = problems[0]!;
        console.log(`audit log REWRITTEN: ${p.problem}${problems.length > 1 ? ` (and ${problems.length - 1} more disagreements with the anchors)` : ""}`);
        return 1;
      }
      console.log(`audit log intact: ${r.checkedCount} records in ${r.lanes.length} lanes verified in ${ms} ms, and consistent with ${anchors.length} signed anchors`);
      return 0;
    }
    console.log(`audit log intact: ${r.checkedCount} records in ${r.lanes.length} lanes verified in ${ms} ms`);
    return 0;
  } catch (e) {
    console.error(`audit:verify could not run: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  } finally {
    await pool.end().catch(() => {});
  }
}

process.exitCode = await main();
