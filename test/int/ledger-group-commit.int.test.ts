// Group commit: 64 concurrent transfers share transactions, and each caller still gets exactly what
// it would get alone: its result, its replay, or its own typed error; balances, entries, audit
// records, outbox events and idempotency records are exact.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { groupCommitStatsOf, transfer } from "../../server/ledger/write-path";
import { setAccountStatus } from "../../server/ledger/accounts";
import { getBalances } from "../../server/ledger/balances";
import { verifyLedger } from "../../server/ledger/verify";
import { verifyAuditChain } from "../../server/audit/verify";
import { openAccount, fund } from "../../server/ledger/testing";
import { AppError } from "../../server/errors/app-error";
import type { LedgerResult } from "../../server/ledger/types";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ poolMax: 20 });
});
afterAll(async () => {
  await db?.drop();
});

type Expect = "ok" | "replay" | "INSUFFICIENT_FUNDS" | "ACCOUNT_FROZEN" | "IDEMPOTENCY_CONFLICT" | "NOT_FOUND" | "CURRENCY_MISMATCH" | "scarce";
interface Job {
  expect: Expect;
  key: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  currency: string;
  stored?: LedgerResult;
}

type Settled = { result: LedgerResult } | { error: AppError };

async function settle(job: Job, groupCommit: boolean): Promise<Settled> {
  try {
    const { expect: _e, key, stored: _s, ...t } = job;
    return { result: await transfer(db, SYSTEM_ACTOR, { ...t, idempotencyKey: key, groupCommit }) };
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    return { error: e };
  }
}

describe("ledger group commit", () => {
  it("gives each of 64 concurrent callers its own result, error or replay", async () => {
    const bank = (await openAccount(db, { type: "asset", code: "bank" })).id;
    const target = (await openAccount(db, { code: "merchant" })).id;
    const rich = [];
    for (let i = 0; i < 4; i++) rich.push((await openAccount(db, { code: `rich:${i}`, isNoOverdraft: true })).id);
    for (const w of rich) await fund(db, bank, w, 1_000n);
    const empty = (await openAccount(db, { code: "empty", isNoOverdraft: true })).id;
    const scarce = (await openAccount(db, { code: "scarce", isNoOverdraft: true })).id;
    await fund(db, bank, scarce, 250n);
    const frozen = (await openAccount(db, { code: "frozen" })).id;
    await setAccountStatus(db, SYSTEM_ACTOR, { accountId: frozen, status: "frozen", reason: "group commit test" }, { idempotencyKey: randomUUID() });
    const dollars = (await openAccount(db, { code: "dollars", currency: "USD" })).id;

    const job = (expect: Expect, debitAccountId: string, creditAccountId: string, amountMinor: bigint, currency = "EUR"): Job => ({
      expect, key: `gc:${randomUUID()}`, debitAccountId, creditAccountId, amountMinor, currency,
    });
    const jobs: Job[] = [];
    for (let i = 0; i < 20; i++) jobs.push(job("ok", rich[i % 4]!, target, 100n)); // 500 of 1,000 per wallet
    for (let i = 0; i < 8; i++) jobs.push(job("INSUFFICIENT_FUNDS", empty, target, 1n + BigInt(i)));
    for (let i = 0; i < 8; i++) jobs.push(job("ACCOUNT_FROZEN", i % 2 === 0 ? bank : frozen, i % 2 === 0 ? frozen : bank, 10n));
    for (let i = 0; i < 4; i++) jobs.push(job("NOT_FOUND", bank, randomUUID(), 10n));
    for (let i = 0; i < 4; i++) jobs.push(job("CURRENCY_MISMATCH", bank, dollars, 10n));
    for (let i = 0; i < 4; i++) jobs.push(job("scarce", scarce, target, 100n)); // 250: exactly two fit
    // Keys used before: the same request replays the stored result, another conflicts.
    for (let i = 0; i < 16; i++) {
      const j = job(i < 8 ? "replay" : "IDEMPOTENCY_CONFLICT", bank, target, 7n);
      const first = await transfer(db, SYSTEM_ACTOR, { debitAccountId: j.debitAccountId, creditAccountId: j.creditAccountId, amountMinor: j.amountMinor, currency: "EUR", idempotencyKey: j.key, groupCommit: false });
      if (i >= 8) j.amountMinor = 8n;
      j.stored = first;
      jobs.push(j);
    }
    expect(jobs).toHaveLength(64);
    const targetBefore = (await getBalances(db, target)).postedMinor;
    const groupCommitStats = groupCommitStatsOf(db);
    const statsBefore = { ...groupCommitStats };

    const settled = await Promise.all(jobs.map((j) => settle(j, true)));

    expect(groupCommitStats.fallbacks).toBe(statsBefore.fallbacks);
    const groups = groupCommitStats.groups - statsBefore.groups;
    const grouped = groupCommitStats.items - statsBefore.items;
    expect(groups).toBeGreaterThan(0);
    expect(grouped / groups).toBeGreaterThan(1);

    let scarceOk = 0;
    const okEntryIds: string[] = [];
    jobs.forEach((j, i) => {
      const s = settled[i]!;
      const label = `${j.expect} #${i}`;
      if (j.expect === "ok" || (j.expect === "scarce" && "result" in s)) {
        expect("result" in s ? s.result.isReplay : s.error.code, label).toBe(false);
        const r = (s as { result: LedgerResult }).result;
        expect(r.idempotencyKey).toBe(j.key);
        expect(r.entries).toHaveLength(1);
        expect(r.entries[0]!.postings).toEqual([
          { accountId: j.debitAccountId, side: "debit", amountMinor: j.amountMinor, currency: "EUR" },
          { accountId: j.creditAccountId, side: "credit", amountMinor: j.amountMinor, currency: "EUR" },
        ]);
        okEntryIds.push(r.entries[0]!.entryId);
        if (j.expect === "scarce") scarceOk++;
      } else if (j.expect === "replay") {
        expect("result" in s, label).toBe(true);
        expect((s as { result: LedgerResult }).result).toEqual({ ...j.stored!, isReplay: true });
      } else {
        const code = j.expect === "scarce" ? "INSUFFICIENT_FUNDS" : j.expect;
        expect("error" in s ? s.error.code : "ok", label).toBe(code);
      }
    });
    expect(scarceOk).toBe(2);

    // Each error equals what the same request gets alone, now, outside any group.
    for (const kind of ["INSUFFICIENT_FUNDS", "ACCOUNT_FROZEN", "NOT_FOUND", "CURRENCY_MISMATCH", "IDEMPOTENCY_CONFLICT", "replay"] as const) {
      const i = jobs.findIndex((j) => j.expect === kind);
      const alone = await settle(jobs[i]!, false);
      const grouped = settled[i]!;
      if ("error" in alone) {
        expect("error" in grouped && { code: grouped.error.code, message: grouped.error.message, details: grouped.error.details }).toEqual({
          code: alone.error.code, message: alone.error.message, details: alone.error.details,
        });
      } else {
        expect(grouped).toEqual(alone);
      }
    }

    // Balances exact; each accepted transfer has its entry, audit record, outbox event and key.
    expect((await getBalances(db, target)).postedMinor - targetBefore).toBe(20n * 100n + 2n * 100n);
    for (const w of rich) expect((await getBalances(db, w)).postedMinor).toBe(500n);
    expect((await getBalances(db, scarce)).postedMinor).toBe(50n);
    expect((await getBalances(db, empty)).postedMinor).toBe(0n);
    const counts = await db.pool.query<{ audits: string; outbox: string; keys: string }>(
      `SELECT (SELECT count(*) FROM audit_log WHERE target_type = 'journal_entry' AND target_id = ANY($1::text[])) AS audits,
              (SELECT count(*) FROM outbox_events WHERE topic = 'ledger.entry.posted' AND aggregate_id = ANY($1::text[])) AS outbox,
              (SELECT count(*) FROM journal_entries e JOIN idempotency_records r ON r.key = e.idempotency_key WHERE e.id = ANY($1::uuid[])) AS keys`,
      [okEntryIds],
    );
    expect(counts.rows[0]).toEqual({ audits: "22", outbox: "22", keys: "22" });
    const failedKeys = jobs.filter((j, i) => j.expect !== "ok" && j.expect !== "replay" && j.expect !== "IDEMPOTENCY_CONFLICT" && "error" in settled[i]!).map((j) => j.key);
    const stray = await db.pool.query(`SELECT key FROM idempotency_records WHERE key = ANY($1::text[])`, [failedKeys]);
    expect(stray.rows).toEqual([]);

    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
    expect(report.isOk).toBe(true);
    const chain = await verifyAuditChain(db.pool);
    expect(chain.firstBreak).toBeNull();
    expect(chain.isIntact).toBe(true);
  });

  // Skipped: in about 1 of 15 runs the audit chain showed a sequence gap after this burst (same key
  // twice at once, so a group races a lone command on the key and falls back). Not yet explained;
  // group commit is off by default until it is (docs/performance.md).
  it("answers the same key submitted twice at once with one entry and its replay", async () => {
    const bank = (await openAccount(db, { type: "asset" })).id;
    const to = (await openAccount(db)).id;
    const keys = Array.from({ length: 16 }, () => `dup:${randomUUID()}`);
    const jobs: Job[] = [...keys, ...keys].map((key) => ({ expect: "ok", key, debitAccountId: bank, creditAccountId: to, amountMinor: 5n, currency: "EUR" }));
    const settled = await Promise.all(jobs.map((j) => settle(j, true)));
    for (const key of keys) {
      const pair = settled.filter((_s, i) => jobs[i]!.key === key).map((s) => (s as { result: LedgerResult }).result);
      expect(pair.map((r) => r.isReplay).sort()).toEqual([false, true]);
      expect(pair[0]!.entries[0]!.entryId).toBe(pair[1]!.entries[0]!.entryId);
    }
    expect((await getBalances(db, to)).postedMinor).toBe(16n * 5n);
    expect((await verifyLedger(db)).isOk).toBe(true);
    const chain = await verifyAuditChain(db.pool);
    expect(chain.firstBreak).toBeNull();
    expect(chain.isIntact).toBe(true);
  });
});
