// The demo reconciliation world (server/demo/seed-recon.ts): after the demo seed the breaks queue
// holds a few dozen open breaks of every type, some already worked by the demo operator (matched
// by hand, a timing difference, a write-off proposed), and a second run changes nothing.
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
