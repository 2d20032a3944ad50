// The demo transfers (server/demo/seed-transfers.ts): a second run changes nothing, every state
// the demo promises is there, the ledger stays consistent, the stuck ones are stuck for the same
// reasons the console shows, and the "outcome unknown" ones really met a partner that never
// answered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { seedDemoWorld } from "../../server/demo/seed";
import { seedDemoTransfers, DEMO_TRANSFER_COUNT } from "../../server/demo/seed-transfers";
import { verifyLedger } from "../../server/ledger/verify";
import { verifyAuditChain } from "../../server/audit/verify";
import { listTransfers, summarizeStuck } from "../../server/transfers/queries";
import { stopSender } from "../../server/jobs/queues";
import { startDemoTraffic, WALLET_FLOOR } from "../../server/demo/traffic";
import { makeRandom } from "../../server/demo/random";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { demoRateMaxAgeDays } from "../../server/demo/demo-rates";
import { resetEnvForTests } from "../../server/env";

let db: TestDb;
let firstReport: string;

const envBefore = { PRICING_RATE_MAX_AGE_DAYS: process.env.PRICING_RATE_MAX_AGE_DAYS, TRANSFER_ADMISSION_ENABLED: process.env.TRANSFER_ADMISSION_ENABLED };
beforeAll(async () => {
  // As `npm start` does in demo mode: quotes may use the shipped ECB history (demo-rates.ts), and
  // the seed runs without admission control (scripts/db-seed.ts: its past clocks would close it).
  process.env.PRICING_RATE_MAX_AGE_DAYS = String(demoRateMaxAgeDays());
  process.env.TRANSFER_ADMISSION_ENABLED = "false";
  resetEnvForTests();
  db = await createTestDb();
  firstReport = await seedDemoWorld(db);
}, 180_000);
afterAll(async () => {
  if (db) await stopSender(db.pool);
  await db?.drop();
  for (const [k, v] of Object.entries(envBefore)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetEnvForTests();
});

async function snapshot() {
  const { rows } = await db.pool.query<{ what: string; n: string }>(
    // The demo transfers only: the demo world also seeds the SLO incident's transfers (demo:slo:*).
    `SELECT 'state:' || state::text AS what, count(*)::text AS n FROM transfers WHERE idempotency_key LIKE 'demo:transfers:%' GROUP BY state
     UNION ALL SELECT 'events', count(*)::text FROM transfer_events
     UNION ALL SELECT 'partner_requests', count(*)::text FROM partner_requests
     UNION ALL SELECT 'entries', count(*)::text FROM journal_entries
     UNION ALL SELECT 'holds:' || status::text, count(*)::text FROM holds GROUP BY status
     UNION ALL SELECT 'audit', count(*)::text FROM audit_log
     UNION ALL SELECT 'versions', sum(version)::text FROM transfers`,
  );
  return Object.fromEntries(rows.map((r) => [r.what, Number(r.n)]));
}

describe("seedDemoTransfers", () => {
  it("seeds about 400 transfers once; a second run changes nothing", async () => {
    expect(firstReport).toMatch(/demo transfers: \d+ created, 0 already present/);
    const before = await snapshot();
    const total = Object.entries(before).filter(([k]) => k.startsWith("state:")).reduce((s, [, n]) => s + n, 0);
    expect(total).toBeGreaterThan(DEMO_TRANSFER_COUNT * 0.95);
    expect(total).toBeLessThanOrEqual(DEMO_TRANSFER_COUNT);

    const second = await seedDemoTransfers(db);
    expect(second).toBe(`demo transfers: 0 created, ${total} already present`);
    expect(await snapshot()).toEqual(before);
  });

  it("produces every state the demo promises, in realistic proportions", async () => {
    const s = await snapshot();
    const total = DEMO_TRANSFER_COUNT;
    expect(s["state:settled"]).toBeGreaterThan(total * 0.8);
    expect(s["state:failed"]).toBeGreaterThanOrEqual(15);
    expect(s["state:returned"]).toBeGreaterThanOrEqual(5);
    expect(s["state:cancelled"]).toBeGreaterThanOrEqual(8);
    expect(s["state:acknowledged"]).toBeGreaterThanOrEqual(5);
    expect(s["state:submitted"]).toBe(3);
    expect(s["state:reserved"]).toBe(2);
    expect(s["state:created"]).toBeUndefined();

    // Failures of both kinds: refused at submission, and failed by the bank after accepting.
    const causes = await db.pool.query<{ cause: string }>(
      `SELECT DISTINCT e.cause FROM transfer_events e JOIN transfers t ON t.id = e.transfer_id WHERE e.to_state = 'failed' AND t.idempotency_key LIKE 'demo:transfers:%'`,
    );
    // A rejection after an attempt that timed out asks the partner first (issue 14, point 11): those
    // fail on its "not found", the others on the rejection itself.
    expect(causes.rows.map((r) => r.cause).sort()).toEqual(["partner.not_found", "partner.rejected", "webhook.failed"]);
    // Cancelled by the demo operator, with a reason, audited.
    const cancels = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log WHERE action = 'transfer.operator.cancel' AND actor_label = 'operator@demo.local' AND reason IS NOT NULL`);
    expect(Number(cancels.rows[0]!.n)).toBe(s["state:cancelled"]);
    // Some submissions were retried before the partner accepted them.
    const retried = await db.pool.query<{ n: string }>(`SELECT count(DISTINCT transfer_id)::text AS n FROM partner_requests WHERE kind = 'submit' AND attempt > 1`);
    expect(Number(retried.rows[0]!.n)).toBeGreaterThan(5);
    // Both rails, several currencies, history spread over the week.
    const spread = await db.pool.query<{ rails: string; currencies: string; days: string }>(
      `SELECT count(DISTINCT rail)::text AS rails, count(DISTINCT currency)::text AS currencies, count(DISTINCT date_trunc('day', created_at))::text AS days FROM transfers`,
    );
    expect(spread.rows[0]).toEqual({ rails: "2", currencies: "5", days: expect.any(String) });
    expect(Number(spread.rows[0]!.days)).toBeGreaterThanOrEqual(7);
    const newest = await db.pool.query<{ age: number }>(`SELECT EXTRACT(EPOCH FROM now() - max(state_changed_at))::float8 AS age FROM transfers`);
    expect(newest.rows[0]!.age).toBeGreaterThan(0);
  });

  it("leaves the ledger and the audit chain consistent, with each transfer's money where its state says", async () => {
    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
    expect(report.isOk).toBe(true);
    expect((await verifyAuditChain(db.pool)).firstBreak).toBeNull();
    const mismatched = await db.pool.query<{ state: string; hold: string | null }>(
      `SELECT t.state::text, h.status::text AS hold FROM transfers t LEFT JOIN holds h ON h.id = t.hold_id
        WHERE NOT (
          (t.state IN ('reserved', 'submitted', 'acknowledged') AND h.status = 'pending')
          OR (t.state = 'settled' AND h.status = 'posted' AND t.settlement_entry_id IS NOT NULL AND t.return_entry_id IS NULL)
          OR (t.state = 'returned' AND h.status = 'posted' AND t.return_entry_id IS NOT NULL)
          OR (t.state IN ('failed', 'cancelled') AND h.status = 'voided'))`,
    );
    expect(mismatched.rows).toEqual([]);
    const negative = await db.pool.query(
      `SELECT a.code FROM ledger_accounts a JOIN account_balances b ON b.account_id = a.id WHERE a.is_no_overdraft GROUP BY a.code HAVING sum(b.posted_minor) - sum(b.pending_minor) < 0`,
    );
    expect(negative.rows).toEqual([]);
  });

  it("makes exactly the five planned transfers stuck, for the reasons the console shows", async () => {
    const stuck = await summarizeStuck(db);
    expect(stuck).toEqual({ total: 5, byState: { submitted: 3, reserved: 2 }, needsAttention: 2 });
    const page = await listTransfers(db, { isStuck: true }, { limit: 50 });
    expect(page.items).toHaveLength(5);
    for (const t of page.items.filter((x) => x.state === "submitted")) {
      expect(t.rail).toBe("instant");
      expect(t.stuckForSeconds).toBeGreaterThan(10 * 60);
      expect(t.stuckReason).toBe("submitted for longer than the instant rail allows");
    }
    for (const t of page.items.filter((x) => x.state === "reserved")) {
      expect(t.attentionReason).toMatch(/^outcome unknown after 6 attempts and the partner could not confirm the status: no answer within \d+ ms$/);
      expect(t.stuckReason).toBe(t.attentionReason);
    }
  });

  it("reached the 'outcome unknown' state by the real path: every call to the partner timed out", async () => {
    const { rows } = await db.pool.query<{ kind: string; attempt: number; outcome: string; error: string }>(
      `SELECT r.kind, r.attempt, r.outcome, r.error FROM partner_requests r JOIN transfers t ON t.id = r.transfer_id
        WHERE t.state = 'reserved' ORDER BY r.transfer_id, r.id`,
    );
    expect(rows).toHaveLength(2 * 7);
    expect(rows.filter((r) => r.kind === "submit").map((r) => r.outcome)).toEqual(Array(12).fill("unknown"));
    expect(rows.filter((r) => r.kind === "query").map((r) => r.outcome)).toEqual(["unavailable", "unavailable"]);
    for (const r of rows) expect(r.error).toMatch(/^no answer within \d+ ms$/);
  });
});

describe("startDemoTraffic", () => {
  it("creates transfers through createTransfer, tops a wallet up below its floor instead of draining it, and stops on its signal", async () => {
    const ids = await db.pool.query<{ code: string; id: string }>(`SELECT code, id FROM ledger_accounts WHERE code IN ('customer:0001:wallet', 'bank:omnibus:EUR')`);
    const id = Object.fromEntries(ids.rows.map((r) => [r.code, r.id]));
    const wallet = id["customer:0001:wallet"]!;
    // Leave the wallet 10.00 EUR: well below the floor.
    const before = await getBalances(db, wallet);
    await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "transfer", debitAccountId: wallet, creditAccountId: id["bank:omnibus:EUR"]!, amountMinor: before.availableMinor - 1_000n, currency: "EUR" }, { idempotencyKey: "test:drain:0001" });
    expect((await getBalances(db, wallet)).availableMinor).toBeLessThan(WALLET_FLOOR.EUR!);

    // Every wallet pick (one of the 19 active wallets) lands on customer:0001; the rest is seeded.
    const seeded = makeRandom(42);
    const random = (n: number) => (n === 19 ? 0 : seeded(n));
    const stop = new AbortController();
    const traffic = startDemoTraffic(db, { signal: stop.signal, ratePerMinute: 600, sandboxUrl: null, random });
    for (let i = 0; i < 200 && traffic.stats().created < 12; i++) await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const stats = await traffic.stopped;
    expect(stats.created).toBeGreaterThanOrEqual(12);
    expect(stats.refused).toBe(0);
    expect(stats.topUps).toBeGreaterThanOrEqual(1);

    const created = await db.pool.query<{ state: string; source: string; n: string }>(
      `SELECT state::text, metadata->>'source' AS source, count(*)::text AS n FROM transfers WHERE idempotency_key LIKE 'demo:traffic:%' GROUP BY 1, 2`,
    );
    expect(created.rows).toEqual([{ state: "reserved", source: "demo-traffic", n: String(stats.created) }]);
    const topUps = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM journal_entries WHERE idempotency_key LIKE 'demo:traffic:topup:customer:0001:wallet:%'`);
    expect(Number(topUps.rows[0]!.n)).toBe(stats.topUps);
    expect((await getBalances(db, wallet)).availableMinor).toBeGreaterThan(0n);
    // Stopped means stopped: nothing more is created.
    await new Promise((r) => setTimeout(r, 500));
    expect(traffic.stats().created).toBe(stats.created);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });
});
