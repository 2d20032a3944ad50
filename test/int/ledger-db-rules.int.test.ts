// Tries to break every database-enforced ledger rule with raw SQL, bypassing the write path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount, fund } from "../../server/ledger/testing";
import { setAccountStatus } from "../../server/ledger/accounts";
import { SYSTEM_ACTOR } from "../../server/core/actor";

let db: TestDb;
let bank: string, eur: string, eur2: string, usd: string, capped: string, frozen: string;

beforeAll(async () => {
  db = await createTestDb();
  bank = (await openAccount(db, { type: "asset" })).id;
  eur = (await openAccount(db)).id;
  eur2 = (await openAccount(db)).id;
  usd = (await openAccount(db, { currency: "USD" })).id;
  capped = (await openAccount(db, { isNoOverdraft: true })).id;
  frozen = (await openAccount(db)).id;
  await fund(db, bank, capped, 100n);
  await setAccountStatus(db, SYSTEM_ACTOR, { accountId: frozen, status: "frozen", reason: "test freeze" }, { idempotencyKey: "freeze-1" });
});
afterAll(async () => {
  await db?.drop();
});

/** Runs statements in one transaction and returns the SQLSTATE that stopped it (null: committed). */
async function tx(fn: (c: pg.PoolClient) => Promise<void>): Promise<string | null> {
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN");
    await fn(c);
    await c.query("COMMIT");
    return null;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    return (e as { code?: string }).code ?? "unknown";
  } finally {
    c.release();
  }
}

async function insertEntry(c: pg.PoolClient, opts: { reverses?: string } = {}): Promise<string> {
  const id = randomUUID();
  await c.query(`INSERT INTO journal_entries (id, idempotency_key, reverses_entry_id) VALUES ($1, $2, $3)`, [id, `raw:${id}`, opts.reverses ?? null]);
  return id;
}

async function insertPosting(c: pg.PoolClient, entryId: string, accountId: string, side: "debit" | "credit", amount: string, currency = "EUR"): Promise<void> {
  await c.query(`INSERT INTO postings (entry_id, account_id, side, amount_minor, currency) VALUES ($1, $2, $3, $4, $5)`, [entryId, accountId, side, amount, currency]);
}

let committedEntry = "";

describe("database rules", () => {
  it("commits a balanced entry (control)", async () => {
    expect(
      await tx(async (c) => {
        committedEntry = await insertEntry(c);
        await insertPosting(c, committedEntry, eur, "debit", "5");
        await insertPosting(c, committedEntry, eur2, "credit", "5");
      }),
    ).toBeNull();
  });

  it.each([
    ["an unbalanced entry", "LG004", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "5");
      await insertPosting(c, e, eur2, "credit", "4");
    }],
    ["an entry with one posting", "LG004", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "5");
    }],
    ["an entry with no postings", "LG004", async (c: pg.PoolClient) => {
      await insertEntry(c);
    }],
    ["an entry balanced in sum but not per currency", "LG004", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "5");
      await insertPosting(c, e, usd, "credit", "5", "USD");
    }],
    ["a posting added after an early check", "LG004", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "5");
      await insertPosting(c, e, eur2, "credit", "5");
      await c.query("SET CONSTRAINTS ALL IMMEDIATE");
      await insertPosting(c, e, eur, "debit", "1");
    }],
    ["a posting added to an entry committed earlier", "LG003", async (c: pg.PoolClient) => {
      await insertPosting(c, committedEntry, eur, "debit", "1");
      await insertPosting(c, committedEntry, eur2, "credit", "1");
    }],
    ["a posting whose currency is not the account's", "LG001", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "5", "USD");
      await insertPosting(c, e, usd, "credit", "5", "USD");
    }],
    ["a zero amount", "23514", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "0");
      await insertPosting(c, e, eur2, "credit", "0");
    }],
    ["a negative amount", "23514", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, eur, "debit", "-5");
      await insertPosting(c, e, eur2, "credit", "-5");
    }],
    ["a posting to a frozen account", "LG002", async (c: pg.PoolClient) => {
      const e = await insertEntry(c);
      await insertPosting(c, e, frozen, "debit", "5");
      await insertPosting(c, e, eur2, "credit", "5");
    }],
    ["updating a posting", "42501", async (c: pg.PoolClient) => {
      await c.query(`UPDATE postings SET amount_minor = amount_minor + 1 WHERE entry_id = $1`, [committedEntry]);
    }],
    ["deleting a posting", "42501", async (c: pg.PoolClient) => {
      await c.query(`DELETE FROM postings WHERE entry_id = $1`, [committedEntry]);
    }],
    ["truncating postings", "42501", async (c: pg.PoolClient) => {
      await c.query(`TRUNCATE postings CASCADE`);
    }],
    ["updating an entry", "42501", async (c: pg.PoolClient) => {
      await c.query(`UPDATE journal_entries SET description = 'edited' WHERE id = $1`, [committedEntry]);
    }],
    ["deleting an entry", "42501", async (c: pg.PoolClient) => {
      await c.query(`DELETE FROM journal_entries WHERE id = $1`, [committedEntry]);
    }],
    ["truncating entries", "42501", async (c: pg.PoolClient) => {
      await c.query(`TRUNCATE journal_entries CASCADE`);
    }],
    ["a duplicate entry idempotency key", "23505", async (c: pg.PoolClient) => {
      await c.query(`INSERT INTO journal_entries (id, idempotency_key) SELECT gen_random_uuid(), idempotency_key FROM journal_entries WHERE id = $1`, [committedEntry]);
    }],
    ["a duplicate idempotency record", "23505", async (c: pg.PoolClient) => {
      await c.query(`INSERT INTO idempotency_records (key, request_hash, command_type, response) VALUES ('dup', 'a', 'x', 'null'), ('dup', 'b', 'x', 'null')`);
    }],
    ["overdrawing a no-overdraft account", "23514", async (c: pg.PoolClient) => {
      await c.query(`UPDATE account_balances SET posted_minor = posted_minor - 101 WHERE account_id = $1`, [capped]);
    }],
    ["a hold reserving more than a no-overdraft account has", "23514", async (c: pg.PoolClient) => {
      await c.query(`UPDATE account_balances SET pending_minor = pending_minor + 101 WHERE account_id = $1`, [capped]);
    }],
    ["changing an account's currency", "LG006", async (c: pg.PoolClient) => {
      await c.query(`UPDATE ledger_accounts SET currency = 'USD' WHERE id = $1`, [eur]);
    }],
    ["lifting an account's no-overdraft flag", "LG006", async (c: pg.PoolClient) => {
      await c.query(`UPDATE ledger_accounts SET is_no_overdraft = false WHERE id = $1`, [capped]);
    }],
    ["deleting an account", "42501", async (c: pg.PoolClient) => {
      await c.query(`DELETE FROM ledger_accounts WHERE id = $1`, [eur]);
    }],
    ["deleting a balance row", "42501", async (c: pg.PoolClient) => {
      await c.query(`DELETE FROM account_balances WHERE account_id = $1`, [eur]);
    }],
    ["a second reversal of one entry", "23505", async (c: pg.PoolClient) => {
      for (let i = 0; i < 2; i++) {
        const e = await insertEntry(c, { reverses: committedEntry });
        await insertPosting(c, e, eur, "credit", "5");
        await insertPosting(c, e, eur2, "debit", "5");
      }
    }],
    ["a hold whose currency is not its accounts'", "LG001", async (c: pg.PoolClient) => {
      await c.query(`INSERT INTO holds (id, debit_account_id, credit_account_id, amount_minor, currency, expires_at, idempotency_key) VALUES (gen_random_uuid(), $1, $2, 5, 'USD', now(), 'h-usd')`, [eur, eur2]);
    }],
  ] as const)("refuses %s (%s)", async (_name, code, fn) => {
    expect(await tx(fn)).toBe(code);
  });

  it("refuses reversing a reversal and changing a finished hold", async () => {
    let reversal = "";
    expect(
      await tx(async (c) => {
        reversal = await insertEntry(c, { reverses: committedEntry });
        await insertPosting(c, reversal, eur, "credit", "5");
        await insertPosting(c, reversal, eur2, "debit", "5");
      }),
    ).toBeNull();
    expect(
      await tx(async (c) => {
        const e = await insertEntry(c, { reverses: reversal });
        await insertPosting(c, e, eur, "debit", "5");
        await insertPosting(c, e, eur2, "credit", "5");
      }),
    ).toBe("LG005");
    const holdId = randomUUID();
    expect(
      await tx(async (c) => {
        await c.query(`INSERT INTO holds (id, debit_account_id, credit_account_id, amount_minor, currency, expires_at, idempotency_key) VALUES ($1, $2, $3, 5, 'EUR', now(), $4)`, [holdId, eur, eur2, `h-${holdId}`]);
        await c.query(`UPDATE holds SET status = 'voided', ended_at = now() WHERE id = $1`, [holdId]);
      }),
    ).toBeNull();
    expect(await tx(async (c) => void (await c.query(`UPDATE holds SET status = 'expired' WHERE id = $1`, [holdId])))).toBe("LG007");
    expect(await tx(async (c) => void (await c.query(`DELETE FROM holds WHERE id = $1`, [holdId])))).toBe("42501");
  });
});
