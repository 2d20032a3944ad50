// The write path's errors in the order its doc comment lists them: each row breaks the rule it
// names AND every rule checked after it, and must get its own code (and write nothing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand, type ExecuteOptions } from "../../server/ledger/write-path";
import { setAccountStatus } from "../../server/ledger/accounts";
import { openAccount, fund } from "../../server/ledger/testing";
import { AppError } from "../../server/errors/app-error";
import type { LedgerCommand } from "../../server/ledger/types";

const T = new Date("2026-11-21T10:00:00Z");
const HOUR = 3600_000;
const at = (h: number) => new Date(T.getTime() + h * HOUR);

let db: TestDb;
const ids = { bank: "", capped: "", other: "", usd: "", frozen: "", reversed: "", reversal: "", hPosted: "", hExpired: "", hPending: "" };
const missing = randomUUID();

const run = (command: LedgerCommand, opts: Partial<ExecuteOptions> = {}) =>
  executeLedgerCommand(db, SYSTEM_ACTOR, command, { idempotencyKey: `k:${randomUUID()}`, now: at(2), ...opts });

beforeAll(async () => {
  db = await createTestDb();
  ids.bank = (await openAccount(db, { type: "asset" })).id;
  ids.capped = (await openAccount(db, { isNoOverdraft: true })).id;
  ids.other = (await openAccount(db)).id;
  ids.usd = (await openAccount(db, { currency: "USD" })).id;
  ids.frozen = (await openAccount(db, { isNoOverdraft: true })).id;
  await fund(db, ids.bank, ids.capped, 100n);
  await fund(db, ids.bank, ids.frozen, 100n);
  const tr = (d: string, c: string, amountMinor: bigint): LedgerCommand => ({ type: "transfer", debitAccountId: d, creditAccountId: c, amountMinor, currency: "EUR" });
  ids.reversed = (await run(tr(ids.bank, ids.frozen, 5n))).entries[0]!.entryId;
  ids.reversal = (await run({ type: "reverse_entry", entryId: ids.reversed })).entries[0]!.entryId;
  const place = async (expiresAt: Date) =>
    (await run({ type: "place_hold", debitAccountId: ids.frozen, creditAccountId: ids.other, amountMinor: 3n, currency: "EUR", expiresAt }, { now: T })).holds[0]!.holdId;
  ids.hPosted = await place(at(1));
  await run({ type: "post_hold", holdId: ids.hPosted }, { now: T });
  ids.hExpired = await place(at(1));
  ids.hPending = await place(at(10));
  await run(tr(ids.capped, ids.other, 60n), { idempotencyKey: "used" });
  await setAccountStatus(db, SYSTEM_ACTOR, { accountId: ids.frozen, status: "frozen", reason: "error order test" }, { idempotencyKey: "freeze" });
});
afterAll(async () => {
  await db?.drop();
});

async function counts(): Promise<string> {
  const r = await db.pool.query(`SELECT (SELECT count(*) FROM journal_entries) e, (SELECT count(*) FROM postings) p, (SELECT count(*) FROM holds WHERE status = 'pending') h,
    (SELECT count(*) FROM idempotency_records) i, (SELECT sum(version) FROM account_balances) v, (SELECT count(*) FROM outbox_events) o`);
  return JSON.stringify(r.rows[0]);
}

type Row = [name: string, expected: string, build: () => [LedgerCommand, Partial<ExecuteOptions>]];

const rows: Row[] = [
  ["BAD_INPUT before UNKNOWN_CURRENCY, INVALID_AMOUNT, UNBALANCED, IDEMPOTENCY_CONFLICT", "BAD_INPUT", () => [
    { type: "post_entry", entry: { postings: [{ accountId: "not-a-uuid", side: "debit", amountMinor: 0n, currency: "XXX" }] } }, { idempotencyKey: "used" }]],
  ["UNKNOWN_CURRENCY before INVALID_AMOUNT, UNBALANCED", "UNKNOWN_CURRENCY", () => [
    { type: "post_entry", entry: { postings: [{ accountId: missing, side: "debit", amountMinor: 0n, currency: "XXX" }] } }, { idempotencyKey: "used" }]],
  ["INVALID_AMOUNT before UNBALANCED", "INVALID_AMOUNT", () => [
    { type: "post_entry", entry: { postings: [{ accountId: missing, side: "debit", amountMinor: 0n, currency: "EUR" }] } }, { idempotencyKey: "used" }]],
  ["UNBALANCED before IDEMPOTENCY_CONFLICT", "UNBALANCED", () => [
    { type: "post_entry", entry: { postings: [{ accountId: missing, side: "debit", amountMinor: 5n, currency: "EUR" }] } }, { idempotencyKey: "used" }]],
  ["IDEMPOTENCY_CONFLICT before NOT_FOUND", "IDEMPOTENCY_CONFLICT", () => [
    { type: "transfer", debitAccountId: missing, creditAccountId: ids.other, amountMinor: 5n, currency: "EUR" }, { idempotencyKey: "used" }]],
  ["NOT_FOUND before CURRENCY_MISMATCH, ACCOUNT_FROZEN", "NOT_FOUND", () => [
    { type: "post_entry", entry: { postings: [{ accountId: missing, side: "debit", amountMinor: 5n, currency: "USD" }, { accountId: ids.frozen, side: "credit", amountMinor: 5n, currency: "USD" }] } }, {}]],
  ["HOLD_NOT_PENDING before HOLD_EXPIRED, INVALID_AMOUNT, ACCOUNT_FROZEN", "HOLD_NOT_PENDING", () => [
    { type: "post_hold", holdId: ids.hPosted, amountMinor: 1000n }, {}]],
  ["HOLD_EXPIRED before INVALID_AMOUNT, ACCOUNT_FROZEN", "HOLD_EXPIRED", () => [
    { type: "post_hold", holdId: ids.hExpired, amountMinor: 1000n }, {}]],
  ["INVALID_AMOUNT (over the hold) before ACCOUNT_FROZEN", "INVALID_AMOUNT", () => [
    { type: "post_hold", holdId: ids.hPending, amountMinor: 1000n }, {}]],
  ["CANNOT_REVERSE_REVERSAL before ACCOUNT_FROZEN", "CANNOT_REVERSE_REVERSAL", () => [{ type: "reverse_entry", entryId: ids.reversal }, {}]],
  ["ALREADY_REVERSED before ACCOUNT_FROZEN", "ALREADY_REVERSED", () => [{ type: "reverse_entry", entryId: ids.reversed }, {}]],
  ["CURRENCY_MISMATCH before ACCOUNT_FROZEN, VERSION_CONFLICT, INSUFFICIENT_FUNDS", "CURRENCY_MISMATCH", () => [
    { type: "post_entry", entry: { postings: [{ accountId: ids.frozen, side: "debit", amountMinor: 1000n, currency: "USD" }, { accountId: ids.usd, side: "credit", amountMinor: 1000n, currency: "USD" }] } },
    { expectedVersions: { [ids.frozen]: 999n } }]],
  ["ACCOUNT_FROZEN before VERSION_CONFLICT, INSUFFICIENT_FUNDS", "ACCOUNT_FROZEN", () => [
    { type: "transfer", debitAccountId: ids.frozen, creditAccountId: ids.other, amountMinor: 1000n, currency: "EUR" }, { expectedVersions: { [ids.frozen]: 999n } }]],
  ["VERSION_CONFLICT before INSUFFICIENT_FUNDS", "VERSION_CONFLICT", () => [
    { type: "transfer", debitAccountId: ids.capped, creditAccountId: ids.other, amountMinor: 1000n, currency: "EUR" }, { expectedVersions: { [ids.capped]: 999n } }]],
  ["INSUFFICIENT_FUNDS", "INSUFFICIENT_FUNDS", () => [
    { type: "transfer", debitAccountId: ids.capped, creditAccountId: ids.other, amountMinor: 1000n, currency: "EUR" }, {}]],
  ["BATCH_ITEM_FAILED for a later item, first item rolled back", "BATCH_ITEM_FAILED", () => [
    { type: "batch", items: [
      { type: "transfer", debitAccountId: ids.bank, creditAccountId: ids.other, amountMinor: 1n, currency: "EUR" },
      { type: "transfer", debitAccountId: ids.capped, creditAccountId: ids.other, amountMinor: 1000n, currency: "EUR" },
    ] }, {}]],
];

describe("write path error order", () => {
  it.each(rows)("%s", async (_name, expected, build) => {
    const [command, opts] = build();
    const before = await counts();
    const err = await run(command, opts).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(expected);
    expect(await counts()).toBe(before);
  });

  it("names the account, available and requested amounts on INSUFFICIENT_FUNDS", async () => {
    const err = (await run({ type: "transfer", debitAccountId: ids.capped, creditAccountId: ids.other, amountMinor: 1000n, currency: "EUR" }).catch((e: unknown) => e)) as AppError;
    expect(err.details).toMatchObject({ accountId: ids.capped, availableMinor: "40", requestedMinor: "1000" });
    expect(err.message).toMatch(/has 40 available, 1000 requested/);
  });

  it("reports the failing batch item's index and inner code", async () => {
    const [command] = rows.at(-1)![2]();
    const err = (await run(command).catch((e: unknown) => e)) as AppError;
    expect(err.details).toMatchObject({ index: 1, code: "INSUFFICIENT_FUNDS" });
  });

  it("a replay with the same request returns the stored result even though it would now fail", async () => {
    const r = await run({ type: "transfer", debitAccountId: ids.capped, creditAccountId: ids.other, amountMinor: 60n, currency: "EUR" }, { idempotencyKey: "used" });
    expect(r.isReplay).toBe(true);
    expect(r.entries[0]!.postings[0]!.amountMinor).toBe(60n);
  });
});
