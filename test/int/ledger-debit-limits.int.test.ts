/**
 * A service key limited to some accounts (code prefixes) and currencies may debit nothing else on
 * any ledger write path: transfers, entries, holds, reversals and batches, grouped or alone. The
 * refusal is FORBIDDEN naming the account, and nothing is written. Unlimited keys and people pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { serviceActor, SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { fund, openAccount } from "../../server/ledger/testing";
import type { Account } from "../../server/ledger/accounts";
import type { LedgerCommand } from "../../server/ledger/types";

let db: TestDb;
let payouts: Account, treasury: Account, bank: Account, usd: Account;
const limited = serviceActor({ id: randomUUID(), name: "payouts-svc", scopes: ["ledger:write"], debitLimits: { accountCodePrefixes: ["payouts:"], currencies: ["EUR"] } });
const unlimited = serviceActor({ id: randomUUID(), name: "ops-svc", scopes: ["ledger:write"] });

beforeAll(async () => {
  db = await createTestDb();
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  payouts = await openAccount(db, { code: "payouts:wallet", type: "liability" });
  treasury = await openAccount(db, { code: "treasury:main", type: "liability" });
  usd = await openAccount(db, { code: "payouts:usd", type: "liability", currency: "USD" });
  await fund(db, bank.id, payouts.id, 100_000n);
  await fund(db, bank.id, treasury.id, 100_000n);
});
afterAll(async () => {
  await db?.drop();
});

const run = (actor: typeof limited, command: LedgerCommand) => executeLedgerCommand(db, actor, command, { idempotencyKey: randomUUID() });

describe("a service key's debit limits on the ledger", () => {
  it("lets it debit its own accounts", async () => {
    await expect(run(limited, { type: "transfer", debitAccountId: payouts.id, creditAccountId: treasury.id, amountMinor: 10n, currency: "EUR" })).resolves.toMatchObject({ isReplay: false });
  });

  it.each<[string, () => LedgerCommand]>([
    ["a transfer from another account", () => ({ type: "transfer", debitAccountId: treasury.id, creditAccountId: payouts.id, amountMinor: 10n, currency: "EUR" })],
    ["an entry debiting another account", () => ({ type: "post_entry", entry: { postings: [{ accountId: treasury.id, side: "debit", amountMinor: 5n, currency: "EUR" }, { accountId: payouts.id, side: "credit", amountMinor: 5n, currency: "EUR" }] } })],
    ["a hold on another account", () => ({ type: "place_hold", debitAccountId: treasury.id, creditAccountId: bank.id, amountMinor: 5n, currency: "EUR", expiresAt: new Date(Date.now() + 60_000) })],
    ["a batch with one such item", () => ({ type: "batch", items: [{ type: "transfer", debitAccountId: payouts.id, creditAccountId: bank.id, amountMinor: 1n, currency: "EUR" }, { type: "transfer", debitAccountId: treasury.id, creditAccountId: bank.id, amountMinor: 1n, currency: "EUR" }] })],
  ])("refuses %s with FORBIDDEN naming the account, writing nothing", async (_label, command) => {
    const before = await getBalances(db, treasury.id);
    const err = await run(limited, command()).catch((e: unknown) => e);
    const e = err as { code: string; message: string; details?: { code?: string } };
    expect(e.code === "BATCH_ITEM_FAILED" ? e.details?.code : e.code).toBe("FORBIDDEN");
    expect(e.message).toContain("may not debit account treasury:main");
    expect(await getBalances(db, treasury.id)).toEqual(before);
  });

  // ledger.holds.post runs this command: posting a hold debits the held account, so a limited key
  // may post only holds on accounts it may debit, whoever placed them.
  const placeHold = async (debitAccountId: string) =>
    (await run(unlimited, { type: "place_hold", debitAccountId, creditAccountId: bank.id, amountMinor: 9n, currency: "EUR", expiresAt: new Date(Date.now() + 60_000) })).holds[0]!.holdId;

  it("refuses posting a hold placed by another key on an account outside its limits, writing nothing", async () => {
    const holdId = await placeHold(treasury.id);
    const before = await getBalances(db, treasury.id);
    await expect(run(limited, { type: "post_hold", holdId })).rejects.toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("may not debit account treasury:main") });
    expect(await getBalances(db, treasury.id)).toEqual(before);
    const hold = await db.pool.query<{ status: string }>(`SELECT status FROM holds WHERE id = $1`, [holdId]);
    expect(hold.rows[0]!.status).toBe("pending");
  });

  it("posts a hold placed by another key on an account inside its limits", async () => {
    const holdId = await placeHold(payouts.id);
    const before = await getBalances(db, payouts.id);
    const result = await run(limited, { type: "post_hold", holdId });
    expect(result.entries[0]!.postings).toContainEqual(expect.objectContaining({ accountId: payouts.id, side: "debit", amountMinor: 9n }));
    expect((await getBalances(db, payouts.id)).postedMinor).toBe(before.postedMinor - 9n);
  });

  it("refuses a currency outside its limits, even on its own prefix", async () => {
    await expect(run(limited, { type: "transfer", debitAccountId: usd.id, creditAccountId: bank.id, amountMinor: 1n, currency: "USD" })).rejects.toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("may not debit USD") });
  });

  it("refuses reversing an entry whose reversal debits another account", async () => {
    const entry = await run(unlimited, { type: "transfer", debitAccountId: payouts.id, creditAccountId: treasury.id, amountMinor: 7n, currency: "EUR" });
    await expect(run(limited, { type: "reverse_entry", entryId: entry.entries[0]!.entryId })).rejects.toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("treasury:main") });
  });

  it("holds each member of a group commit to its own key's limits", async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_v, i) =>
        run(i % 2 === 0 ? limited : unlimited, { type: "transfer", debitAccountId: treasury.id, creditAccountId: bank.id, amountMinor: 1n, currency: "EUR" }),
      ),
    );
    outcomes.forEach((o, i) => {
      if (i % 2 === 0) expect(o).toMatchObject({ status: "rejected", reason: { code: "FORBIDDEN" } });
      else expect(o.status).toBe("fulfilled");
    });
  });

  it("does not limit people or the system", async () => {
    await expect(run(SYSTEM_ACTOR as never, { type: "transfer", debitAccountId: treasury.id, creditAccountId: bank.id, amountMinor: 1n, currency: "EUR" })).resolves.toMatchObject({ isReplay: false });
  });
});
