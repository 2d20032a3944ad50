/**
 * Posting a hold with postings of its own: the money reserved leaves in one entry that also books
 * what prices it (a fee to revenue, a conversion through FX positions), every currency balancing
 * on its own, the reservation released exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { verifyLedger } from "../../server/ledger/verify";
import { listHolds } from "../../server/ledger/history";
import { fund, openAccount } from "../../server/ledger/testing";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let wallet: Account, partnerEur: Account, partnerUsd: Account, fees: Account, fxEur: Account, fxUsd: Account;
beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { type: "asset" });
  wallet = await openAccount(db, { isNoOverdraft: true });
  partnerEur = await openAccount(db, { type: "asset" });
  partnerUsd = await openAccount(db, { type: "asset", currency: "USD" });
  fees = await openAccount(db, { type: "revenue" });
  fxEur = await openAccount(db, { type: "asset" });
  fxUsd = await openAccount(db, { type: "asset", currency: "USD" });
  await fund(db, bank.id, wallet.id, 10_000n);
});
afterAll(async () => {
  await db?.drop();
});

const run = (command: Parameters<typeof executeLedgerCommand>[2]) => executeLedgerCommand(db, SYSTEM_ACTOR, command, { idempotencyKey: randomUUID() });

async function placeHold(amountMinor: bigint, creditAccountId: string): Promise<string> {
  const r = await run({ type: "place_hold", debitAccountId: wallet.id, creditAccountId, amountMinor, currency: "EUR", expiresAt: new Date(Date.now() + 3600_000) });
  return r.holds[0]!.holdId;
}

describe("reading holds", () => {
  it("lists an account's holds exactly as the ledger returned them when placed and posted", async () => {
    const payer = await openAccount(db, { isNoOverdraft: true });
    const payee = await openAccount(db, { type: "asset" });
    await fund(db, (await openAccount(db, { type: "asset" })).id, payer.id, 100n);
    const placed = await run({ type: "place_hold", debitAccountId: payer.id, creditAccountId: payee.id, amountMinor: 7n, currency: "EUR", expiresAt: new Date(Date.now() + 3600_000) });
    const hold = placed.holds[0]!;
    expect(await listHolds(db, { accountId: payee.id, status: "pending" })).toStrictEqual([hold]);
    const posted = await run({ type: "post_hold", holdId: hold.holdId, amountMinor: 5n });
    expect(await listHolds(db, { accountId: payer.id })).toStrictEqual([posted.holds[0]]);
  });
});

describe("posting a hold with its own postings", () => {
  it("books the payment and its fee in one entry, releasing the reservation", async () => {
    const before = await getBalances(db, wallet.id);
    const holdId = await placeHold(1_010n, partnerEur.id);
    expect((await getBalances(db, wallet.id)).availableMinor).toBe(before.availableMinor - 1_010n);
    const r = await run({
      type: "post_hold",
      holdId,
      postings: [
        { accountId: wallet.id, side: "debit", amountMinor: 1_010n, currency: "EUR" },
        { accountId: partnerEur.id, side: "credit", amountMinor: 1_000n, currency: "EUR" },
        { accountId: fees.id, side: "credit", amountMinor: 10n, currency: "EUR" },
      ],
    });
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]!.postings).toHaveLength(3);
    expect(r.holds[0]).toMatchObject({ status: "posted", amountPostedMinor: 1_010n });
    const after = await getBalances(db, wallet.id);
    expect([after.postedMinor, after.pendingMinor]).toEqual([before.postedMinor - 1_010n, 0n]);
    expect((await getBalances(db, fees.id)).postedMinor).toBe(10n);
    expect((await getBalances(db, partnerEur.id)).postedMinor).toBe(-1_000n);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("books a conversion through FX positions, each currency balancing on its own", async () => {
    const holdId = await placeHold(925n, fxEur.id);
    const r = await run({
      type: "post_hold",
      holdId,
      postings: [
        { accountId: wallet.id, side: "debit", amountMinor: 925n, currency: "EUR" },
        { accountId: fxEur.id, side: "credit", amountMinor: 920n, currency: "EUR" },
        { accountId: fees.id, side: "credit", amountMinor: 5n, currency: "EUR" },
        { accountId: fxUsd.id, side: "debit", amountMinor: 1_000n, currency: "USD" },
        { accountId: partnerUsd.id, side: "credit", amountMinor: 1_000n, currency: "USD" },
      ],
    });
    expect(new Set(r.entries[0]!.postings.map((p) => p.currency))).toEqual(new Set(["EUR", "USD"]));
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it.each([
    ["that take less from the held account than is posted", 900n, "BAD_INPUT"],
    ["that take more from the held account than the hold", 1_100n, "BAD_INPUT"],
  ])("refuses postings %s, and changes nothing", async (_label, walletDebit, code) => {
    const holdId = await placeHold(1_000n, partnerEur.id);
    const before = await getBalances(db, wallet.id);
    await expect(
      run({
        type: "post_hold",
        holdId,
        postings: [
          { accountId: wallet.id, side: "debit", amountMinor: walletDebit, currency: "EUR" },
          { accountId: partnerEur.id, side: "credit", amountMinor: walletDebit, currency: "EUR" },
        ],
      }),
    ).rejects.toMatchObject({ code, message: expect.stringContaining(`must debit its account ${wallet.id} exactly 1000 EUR`) });
    expect(await getBalances(db, wallet.id)).toEqual(before);
  });

  it("refuses postings that do not balance, before anything is read", async () => {
    const holdId = await placeHold(100n, partnerEur.id);
    await expect(
      run({ type: "post_hold", holdId, postings: [{ accountId: wallet.id, side: "debit", amountMinor: 100n, currency: "EUR" }, { accountId: partnerEur.id, side: "credit", amountMinor: 99n, currency: "EUR" }] }),
    ).rejects.toMatchObject({ code: "UNBALANCED" });
  });
});
