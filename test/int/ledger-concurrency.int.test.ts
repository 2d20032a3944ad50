// 32 concurrent writers, 10,000 random transfers over a few accounts: one hot fee account touched
// by every transfer, several no-overdraft wallets, duplicate submissions of the same request.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import { getBalances } from "../../server/ledger/balances";
import { openAccount, fund } from "../../server/ledger/testing";
import { AppError } from "../../server/errors/app-error";
import type { LedgerCommand, LedgerResult } from "../../server/ledger/types";

const WRITERS = 32;
const TRANSFERS = 10_000;
const DUPLICATE_EVERY = 10;

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ poolMax: WRITERS + 4 });
});
afterAll(async () => {
  await db?.drop();
});

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s % n;
  };
}

describe("ledger under concurrency", () => {
  it("keeps every invariant with 32 writers", async () => {
    const bank = (await openAccount(db, { type: "asset", code: "bank" })).id;
    const fees = (await openAccount(db, { type: "revenue", code: "ops:fees:EUR" })).id;
    const capped = [];
    for (let i = 0; i < 6; i++) capped.push((await openAccount(db, { code: `customer:${i}:wallet`, isNoOverdraft: true })).id);
    const open = [(await openAccount(db, { code: "partner:a" })).id, (await openAccount(db, { code: "partner:b" })).id];
    for (const w of capped) await fund(db, bank, w, 5_000n);
    const wallets = [...capped, ...open];
    const rand = rng(42);

    // Build the work: each a three-posting entry (payer -> payee plus a fee to the hot account).
    type Job = { key: string; command: LedgerCommand };
    const jobs: Job[] = [];
    for (let i = 0; i < TRANSFERS; i++) {
      const from = wallets[rand(wallets.length)]!;
      let to = wallets[rand(wallets.length)]!;
      if (to === from) to = bank;
      const amount = BigInt(1 + rand(400));
      const isFunding = rand(20) === 0;
      const command: LedgerCommand = isFunding
        ? { type: "transfer", debitAccountId: bank, creditAccountId: wallets[rand(wallets.length)]!, amountMinor: amount * 10n, currency: "EUR" }
        : {
            type: "post_entry",
            entry: {
              postings: [
                { accountId: from, side: "debit", amountMinor: amount + 1n, currency: "EUR" },
                { accountId: to, side: "credit", amountMinor: amount, currency: "EUR" },
                { accountId: fees, side: "credit", amountMinor: 1n, currency: "EUR" },
              ],
            },
          };
      jobs.push({ key: `c:${i}`, command });
      if (i % DUPLICATE_EVERY === 0) jobs.push({ key: `c:${i}`, command });
    }
    // Shuffle lightly so duplicates run concurrently with their originals.
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.max(0, i - rand(40));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }

    const outcomes = new Map<string, { entryId: string | null; code: string | null }[]>();
    const unexpected: unknown[] = [];
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (;;) {
          const job = jobs[next++];
          if (!job) return;
          let out: { entryId: string | null; code: string | null };
          try {
            const r: LedgerResult = await executeLedgerCommand(db, SYSTEM_ACTOR, job.command, { idempotencyKey: job.key });
            out = { entryId: r.entries[0]!.entryId, code: null };
          } catch (e) {
            if (!(e instanceof AppError) || e.code !== "INSUFFICIENT_FUNDS") unexpected.push(e);
            out = { entryId: null, code: e instanceof AppError ? e.code : String((e as { code?: string }).code) };
          }
          const list = outcomes.get(job.key) ?? [];
          list.push(out);
          outcomes.set(job.key, list);
        }
      }),
    );
    const elapsedMs = Date.now() - started;
    console.log(`concurrency: ${jobs.length} submissions by ${WRITERS} writers in ${elapsedMs} ms (${Math.round((jobs.length * 1000) / elapsedMs)}/s)`);

    // No caller saw anything but a typed INSUFFICIENT_FUNDS (no 40001/40P01, no raw errors).
    expect(unexpected).toEqual([]);

    // Every key was applied at most once, and duplicates saw the original's entry.
    const applied = await db.pool.query<{ idempotency_key: string; id: string }>(`SELECT idempotency_key, id FROM journal_entries WHERE idempotency_key LIKE 'c:%'`);
    const byKey = new Map(applied.rows.map((r) => [r.idempotency_key, r.id]));
    expect(byKey.size).toBe(applied.rows.length);
    for (const [key, list] of outcomes) {
      const ok = list.filter((o) => o.entryId);
      for (const o of ok) expect(o.entryId).toBe(byKey.get(key));
      if (!byKey.has(key)) expect(ok).toEqual([]);
    }
    expect(byKey.size).toBeGreaterThan(TRANSFERS / 2);

    // The hot account took a fee from every applied three-leg entry.
    const feeCount = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM postings WHERE account_id = $1`, [fees]);
    expect((await getBalances(db, fees)).postedMinor).toBe(BigInt(feeCount.rows[0]!.n));

    // No no-overdraft wallet ever went negative: running sums in posting order (which is commit
    // order for these accounts, since every writer holds their balance row until commit).
    const negative = await db.pool.query(
      `SELECT account_id, min(running) AS low FROM (
         SELECT p.account_id, sum(CASE WHEN p.side = 'credit' THEN p.amount_minor ELSE -p.amount_minor END) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
           FROM postings p WHERE p.account_id = ANY($1::uuid[])) x
        GROUP BY account_id HAVING min(running) < 0`,
      [capped],
    );
    expect(negative.rows).toEqual([]);

    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
    expect(report.isOk).toBe(true);
  }, 180_000);
});
