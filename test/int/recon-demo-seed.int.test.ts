// The demo reconciliation world (server/demo/seed-recon.ts): after the demo seed the breaks queue
// holds a few dozen open breaks of every type, some already worked by the demo operator (matched
// by hand, a timing difference, a write-off proposed, one written off: approved by another person
// and applied), and a second run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { seedDemoWorld } from "../../server/demo/seed";
import { seedDemoReconciliation } from "../../server/demo/seed-recon";
import { stopSender } from "../../server/jobs/queues";
import { verifyLedger } from "../../server/ledger/verify";

let db: TestDb;
let report: string;

beforeAll(async () => {
  db = await createTestDb();
  report = await seedDemoWorld(db);
}, 300_000);
afterAll(async () => {
  if (db) await stopSender(db.pool);
  await db?.drop();
});

async function counts() {
  const q = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql)).rows[0]!.n);
  return {
    imports: await q(`SELECT count(*) AS n FROM recon_imports`),
    lines: await q(`SELECT count(*) AS n FROM recon_lines`),
    breaks: await q(`SELECT count(*) AS n FROM recon_breaks`),
    matches: await q(`SELECT count(*) AS n FROM recon_matches`),
  };
}

describe("demo reconciliation", () => {
  it("imports a week of statements and settlement files with breaks of every type", async () => {
    expect(report).toMatch(/reconciliation: \d+ files imported/);
    const byType = (await db.pool.query<{ type: string; status: string; n: string }>(`SELECT type::text, status::text, count(*) AS n FROM recon_breaks GROUP BY 1, 2`)).rows;
    const open = byType.filter((r) => r.status !== "resolved");
    const types = new Set(open.map((r) => r.type));
    for (const t of ["missing_in_ledger", "missing_in_statement", "amount_mismatch", "currency_mismatch", "duplicate", "statement_gap", "balance_mismatch"]) expect(types, t).toContain(t);
    const total = open.reduce((n, r) => n + Number(r.n), 0);
    expect(total).toBeGreaterThanOrEqual(24);
    expect(total).toBeLessThanOrEqual(150);
    expect(byType.some((r) => r.status === "timing")).toBe(true);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM recon_matches WHERE kind = 'manual'`)).rows[0].n)).toBeGreaterThanOrEqual(1);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM adjustment_proposals WHERE kind = 'recon_break_write_off' AND status = 'open'`)).rows[0].n)).toBe(1);
    // One break is already written off: proposed by the demo operator, approved by someone else,
    // applied: the break is resolved and the entry is on the write-off account.
    expect(report).toMatch(/1 write-off proposed, 1 written off/);
    const applied = (await db.pool.query<{ id: string; proposer_label: string; payload: { breakId: string } }>(`SELECT id, proposer_label, payload FROM adjustment_proposals WHERE kind = 'recon_break_write_off' AND status = 'applied'`)).rows;
    expect(applied).toHaveLength(1);
    expect(applied[0]!.proposer_label).toBe("operator@demo.local");
    const decisions = (await db.pool.query(`SELECT decision, actor_label FROM adjustment_decisions WHERE proposal_id = $1`, [applied[0]!.id])).rows;
    expect(decisions).toEqual([{ decision: "approve", actor_label: "recon.approver@demo.local" }]);
    const wb = (await db.pool.query<{ status: string; resolution: string; currency: string }>(`SELECT status::text, resolution, currency::text FROM recon_breaks WHERE id = $1`, [applied[0]!.payload.breakId])).rows[0]!;
    expect(wb).toMatchObject({ status: "resolved", resolution: "written_off" });
    const posted = (await db.pool.query(`SELECT a.code FROM journal_entries e JOIN postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id WHERE e.metadata->>'reconBreakId' = $1 ORDER BY a.code`, [applied[0]!.payload.breakId])).rows.map((r) => r.code);
    expect(posted).toContain(`ops:recon:write-off:${wb.currency}`);
    const rate = (await db.pool.query<{ auto: string; lines: string }>(`SELECT (SELECT count(*) FROM recon_match_lines) AS auto, (SELECT count(*) FROM recon_lines) AS lines`)).rows[0]!;
    expect(Number(rate.auto) / Number(rate.lines)).toBeGreaterThan(0.8);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("a second run changes nothing", async () => {
    const before = await counts();
    const again = await seedDemoReconciliation(db);
    expect(again).toMatch(/0 files imported/);
    expect(await counts()).toEqual(before);
  });
});
