import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand, transfer } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { verifyLedger } from "../../server/ledger/verify";
import { openAccount } from "../../server/ledger/testing";
import { getEntry } from "../../server/ledger/history";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe("ledger smoke", () => {
  it("transfers, holds, reverses and verifies", async () => {
    const bank = await openAccount(db, { type: "asset" });
    const alice = await openAccount(db, { isNoOverdraft: true });
    const bob = await openAccount(db);
    await transfer(db, SYSTEM_ACTOR, { debitAccountId: bank.id, creditAccountId: alice.id, amountMinor: 1000n, currency: "EUR", idempotencyKey: "k1" });
    expect((await getBalances(db, alice.id)).postedMinor).toBe(1000n);
    const r = await transfer(db, SYSTEM_ACTOR, { debitAccountId: alice.id, creditAccountId: bob.id, amountMinor: 300n, currency: "EUR", idempotencyKey: "k2" });
    const again = await transfer(db, SYSTEM_ACTOR, { debitAccountId: alice.id, creditAccountId: bob.id, amountMinor: 300n, currency: "EUR", idempotencyKey: "k2" });
    expect(again.isReplay).toBe(true);
    expect(again.entries[0]!.entryId).toBe(r.entries[0]!.entryId);
    await expect(transfer(db, SYSTEM_ACTOR, { debitAccountId: alice.id, creditAccountId: bob.id, amountMinor: 301n, currency: "EUR", idempotencyKey: "k2" })).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    await expect(transfer(db, SYSTEM_ACTOR, { debitAccountId: alice.id, creditAccountId: bob.id, amountMinor: 800n, currency: "EUR", idempotencyKey: "k3" })).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    const hold = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "place_hold", debitAccountId: alice.id, creditAccountId: bob.id, amountMinor: 500n, currency: "EUR", expiresAt: new Date(Date.now() + 60_000) }, { idempotencyKey: "h1" });
    const b = await getBalances(db, alice.id);
    expect([b.postedMinor, b.pendingMinor, b.availableMinor]).toEqual([700n, 500n, 200n]);
    const dry = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "post_hold", holdId: hold.holds[0]!.holdId, amountMinor: 200n }, { idempotencyKey: "p1", dryRun: true });
    expect(dry.balances?.find((x) => x.accountId === alice.id)?.availableMinor).toBe(500n);
    await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "post_hold", holdId: hold.holds[0]!.holdId, amountMinor: 200n }, { idempotencyKey: "p1" });
    const b2 = await getBalances(db, alice.id);
    expect([b2.postedMinor, b2.pendingMinor, b2.availableMinor]).toEqual([500n, 0n, 500n]);
    const rev = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "reverse_entry", entryId: r.entries[0]!.entryId }, { idempotencyKey: "rev1" });
    await expect(executeLedgerCommand(db, SYSTEM_ACTOR, { type: "reverse_entry", entryId: r.entries[0]!.entryId }, { idempotencyKey: "rev2" })).rejects.toMatchObject({ code: "ALREADY_REVERSED" });
    await expect(executeLedgerCommand(db, SYSTEM_ACTOR, { type: "reverse_entry", entryId: rev.entries[0]!.entryId }, { idempotencyKey: "rev3" })).rejects.toMatchObject({ code: "CANNOT_REVERSE_REVERSAL" });
    const withMeta = await transfer(db, SYSTEM_ACTOR, { debitAccountId: bob.id, creditAccountId: alice.id, amountMinor: 1n, currency: "EUR", idempotencyKey: "m1", metadata: { reference: "INV-7", fee: "12" } });
    expect((await getEntry(db, withMeta.entries[0]!.entryId)).metadata).toEqual({ reference: "INV-7", fee: "12" });
    expect((await getEntry(db, r.entries[0]!.entryId)).metadata).toEqual({});
    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
  });
});
