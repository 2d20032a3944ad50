/**
 * The write path's plans reach rows by key whatever the planner's statistics say.
 *
 * Every hot statement is prepared and its plan cached for the life of the connection, and the rule
 * checks in triggers cache theirs the same way. Planned while the tables were empty, they used to
 * scan whole tables (the entry check scanned all of `postings` at every commit) and kept doing so
 * as the ledger grew. Here one connection caches its plans against empty, analysed tables, the
 * ledger then grows by a few thousand entries with autovacuum off (so nothing re-plans), and the
 * table scans counted by PostgreSQL while more commands run must stay at zero.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { openAccount } from "../../server/ledger/testing";
import type { LedgerItem } from "../../server/ledger/types";

const TABLES = ["postings", "journal_entries", "holds", "account_balances", "idempotency_records"] as const;

let t: TestDb;
let reader: pg.Client;

beforeAll(async () => {
  t = await createTestDb({ poolMax: 1 });
  reader = new pg.Client({ connectionString: t.url });
  await reader.connect();
  await reader.query(`SET stats_fetch_consistency = none`);
});
afterAll(async () => {
  await reader?.end();
  await t?.drop();
});

/** Sequential scans of each table so far, after making the pool's one backend publish its counts. */
async function seqScans(): Promise<Record<string, number>> {
  // The request is honoured when the backend next goes idle, i.e. right after this query.
  await t.pool.query(`SELECT pg_stat_force_next_flush()`);
  await t.pool.query(`SELECT 1`);
  const res = await reader.query<{ relname: string; seq_scan: string }>(
    `SELECT relname, seq_scan::text FROM pg_stat_user_tables WHERE relname = ANY($1::text[])`,
    [[...TABLES]],
  );
  return Object.fromEntries(res.rows.map((r) => [r.relname, Number(r.seq_scan)]));
}

describe("write-path plans", () => {
  it("no table is scanned by transfers, entries and holds once the ledger has grown past the statistics its plans were made with", async () => {
    const bank = await openAccount(t, { code: `bank:${randomUUID()}`, type: "asset" });
    const users: { id: string }[] = [];
    for (let i = 0; i < 4; i++) users.push(await openAccount(t, { code: `user:${randomUUID()}`, type: "liability", isNoOverdraft: i % 2 === 0 }));
    for (const table of TABLES) await t.pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    await t.pool.query(`ANALYZE ${TABLES.join(", ")}`);

    const run = async (n: number, groupCommit: boolean) => {
      for (let i = 0; i < n; i++) {
        const [a, b] = [users[i % 4]!, users[(i + 1) % 4]!];
        await executeLedgerCommand(t, SYSTEM_ACTOR, { type: "transfer", debitAccountId: bank.id, creditAccountId: a.id, amountMinor: 1000n, currency: "EUR" }, { idempotencyKey: randomUUID(), groupCommit });
        await executeLedgerCommand(t, SYSTEM_ACTOR, { type: "transfer", debitAccountId: a.id, creditAccountId: b.id, amountMinor: 10n, currency: "EUR" }, { idempotencyKey: randomUUID(), groupCommit });
        const hold = await executeLedgerCommand(
          t,
          SYSTEM_ACTOR,
          { type: "place_hold", debitAccountId: a.id, creditAccountId: bank.id, amountMinor: 5n, currency: "EUR", expiresAt: new Date(Date.now() + 3_600_000) },
          { idempotencyKey: randomUUID() },
        );
        await executeLedgerCommand(t, SYSTEM_ACTOR, { type: "post_hold", holdId: hold.holds[0]!.holdId }, { idempotencyKey: randomUUID() });
      }
    };
    // Plans are cached against the empty tables (a prepared statement settles on its generic plan
    // after five executions).
    await run(8, false);
    await run(8, true);

    // The ledger grows well past what the statistics say.
    for (let b = 0; b < 3; b++) {
      const items: LedgerItem[] = Array.from({ length: 1000 }, () => ({ type: "transfer", debitAccountId: bank.id, creditAccountId: users[1]!.id, amountMinor: 1n, currency: "EUR" }));
      await executeLedgerCommand(t, SYSTEM_ACTOR, { type: "batch", items }, { idempotencyKey: randomUUID() });
    }

    const before = await seqScans();
    await run(10, false);
    await run(10, true);
    const after = await seqScans();
    expect(Object.fromEntries(TABLES.map((table) => [table, after[table]! - before[table]!]))).toEqual(Object.fromEntries(TABLES.map((table) => [table, 0])));
  });
});
