import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { seedDemoLedger, DEMO_FROZEN_WALLET } from "../../server/demo/seed-ledger";
import { verifyLedger } from "../../server/ledger/verify";
import { verifyAuditChain } from "../../server/audit/verify";
import { listAccounts as listAccountPage } from "../../server/ledger/accounts";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

async function counts() {
  const [r] = await db.pool
    .query<{ accounts: string; entries: string; postings: string; holds: string; reversals: string; frozen: string; audit: string }>(
      `SELECT (SELECT count(*) FROM ledger_accounts)::text AS accounts, (SELECT count(*) FROM journal_entries)::text AS entries,
              (SELECT count(*) FROM postings)::text AS postings, (SELECT count(*) FROM holds WHERE status = 'pending')::text AS holds,
              (SELECT count(*) FROM journal_entries WHERE reverses_entry_id IS NOT NULL)::text AS reversals,
              (SELECT string_agg(code, ',') FROM ledger_accounts WHERE status = 'frozen') AS frozen,
              (SELECT count(*) FROM audit_log)::text AS audit`,
    )
    .then((r) => r.rows);
  return r!;
}

describe("seedDemoLedger", () => {
  it("builds the demo world once, and a second run changes nothing", async () => {
    const t0 = Date.now();
    const first = await seedDemoLedger(db);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(first).toMatch(/30 accounts created/);
    const after1 = await counts();
    expect(Number(after1.accounts)).toBe(30);
    expect(Number(after1.entries)).toBeGreaterThan(200);
    expect(Number(after1.holds)).toBe(6);
    expect(after1.reversals).toBe("1");
    expect(after1.frozen).toBe(DEMO_FROZEN_WALLET);

    const second = await seedDemoLedger(db);
    expect(second).toBe("demo ledger: 0 accounts created, 30 already present; 0 writes applied");
    expect(await counts()).toEqual(after1);

    const audit = await verifyAuditChain(db.pool);
    expect(audit.firstBreak).toBeNull();
    expect(audit.checkedCount).toBeGreaterThan(300);
    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
    expect(report.isOk).toBe(true);
  });

  it("spreads effective times over the last 30 days", async () => {
    const { rows } = await db.pool.query<{ days: string }>(`SELECT count(DISTINCT date_trunc('day', effective_at))::text AS days FROM journal_entries`);
    expect(Number(rows[0]!.days)).toBeGreaterThanOrEqual(28);
  });

  it("pages accounts forwards and back by code, with filters and exact balances (listAccountPage)", async () => {
    const all = (await listAccountPage(db, { limit: 200 })).items.map((a) => a.code);
    expect(all).toHaveLength(30);
    expect([...all].sort()).toEqual(all);
    const seen: string[] = [];
    let after: string | undefined;
    const pages: { first: string; prev: string | null }[] = [];
    for (;;) {
      const p = await listAccountPage(db, { limit: 7, afterCode: after });
      seen.push(...p.items.map((a) => a.code));
      pages.push({ first: p.items[0]!.code, prev: p.prevCursor });
      if (!p.nextCursor) break;
      after = p.nextCursor;
    }
    expect(seen).toEqual(all);
    expect(pages[0]!.prev).toBeNull();
    // Previous from page 3 gives exactly page 2, whose Previous gives page 1 (prevCursor null).
    const back = await listAccountPage(db, { limit: 7, beforeCode: pages[2]!.prev! });
    expect(back.items.map((a) => a.code)).toEqual(all.slice(7, 14));
    expect(back.nextCursor).toBe(all[13]);
    const first = await listAccountPage(db, { limit: 7, beforeCode: back.prevCursor! });
    expect(first.items.map((a) => a.code)).toEqual(all.slice(0, 7));
    expect(first.prevCursor).toBeNull();

    const eur = await listAccountPage(db, { currency: "EUR", codePrefix: "customer:", status: "active" });
    expect(eur.items.map((a) => a.code)).toEqual(["customer:0001:wallet", "customer:0002:wallet", "customer:0003:wallet", "customer:0004:wallet", "customer:0005:wallet", "customer:0006:wallet"]);
    for (const a of eur.items) expect(a.balance.availableMinor).toBe(a.balance.postedMinor - a.balance.pendingMinor);
    expect((await listAccountPage(db, { status: "frozen" })).items.map((a) => a.code)).toEqual([DEMO_FROZEN_WALLET]);
    await expect(listAccountPage(db, { afterCode: "a", beforeCode: "b" })).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});
