import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { transfer } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { getBalanceHistory } from "../../server/ledger/balance-history";
import { openAccount } from "../../server/ledger/testing";

let db: TestDb;
let bankId: string;
let walletId: string;
let emptyId: string;

const at = (iso: string) => new Date(iso);

beforeAll(async () => {
  db = await createTestDb();
  bankId = (await openAccount(db, { type: "asset" })).id;
  walletId = (await openAccount(db, { type: "liability" })).id;
  emptyId = (await openAccount(db, { type: "liability" })).id;
  // Credits raise the (credit-normal) wallet, debits lower it.
  const moves: [string, "in" | "out", bigint][] = [
    ["2025-12-31T12:00:00.000Z", "in", 1000n], // before the range: the opening balance
    ["2026-01-01T01:00:00.000Z", "in", 500n], // exactly on a bucket end: counted in that bucket
    ["2026-01-01T01:00:00.001Z", "out", 200n], // a millisecond later: the next bucket
    ["2026-01-01T05:30:00.000Z", "in", 7n],
    ["2026-01-01T10:00:00.000Z", "in", 3n], // exactly at `to`: counted in the last point
    ["2026-01-01T10:00:00.001Z", "in", 99_999n], // after `to`: left out
  ];
  let n = 0;
  for (const [iso, dir, amount] of moves) {
    await transfer(db, SYSTEM_ACTOR, {
      debitAccountId: dir === "in" ? bankId : walletId,
      creditAccountId: dir === "in" ? walletId : bankId,
      amountMinor: amount,
      currency: "EUR",
      effectiveAt: at(iso),
      idempotencyKey: `bh:${n++}`,
    });
  }
});
afterAll(async () => {
  await db?.drop();
});

describe("getBalanceHistory", () => {
  it("gives the exact posted balance at every bucket end (hourly over ten hours)", async () => {
    const h = await getBalanceHistory(db, walletId, { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-01T10:00:00Z"), points: 11 });
    expect(h.currency).toBe("EUR");
    expect(h.points.map((p) => p.at.toISOString())).toEqual(Array.from({ length: 11 }, (_, k) => `2026-01-01T${String(k).padStart(2, "0")}:00:00.000Z`));
    expect(h.points.map((p) => p.postedMinor)).toEqual(["1000", "1500", "1300", "1300", "1300", "1300", "1307", "1307", "1307", "1307", "1310"]);
    // Each point agrees with the as-of balance read at the same instant.
    for (const p of h.points) expect((await getBalances(db, walletId, { asOf: p.at })).postedMinor.toString()).toBe(p.postedMinor);
  });

  it("signs by the normal side (the debit-normal bank mirrors the wallet) and keeps uneven bucket ends exact", async () => {
    // 4 points over 10 ms: ends at +0, +3, +6 and +10 ms (floor(10 * k / 3)).
    const h = await getBalanceHistory(db, bankId, { from: at("2026-01-01T00:59:59.995Z"), to: at("2026-01-01T01:00:00.005Z"), points: 4 });
    expect(h.points.map((p) => p.at.toISOString())).toEqual(["2026-01-01T00:59:59.995Z", "2026-01-01T00:59:59.998Z", "2026-01-01T01:00:00.001Z", "2026-01-01T01:00:00.005Z"]);
    expect(h.points.map((p) => p.postedMinor)).toEqual(["1000", "1000", "1300", "1300"]);
  });

  it("defaults to all time: opens at zero just before the first posting and ends at the total", async () => {
    const h = await getBalanceHistory(db, walletId, { to: at("2026-01-02T00:00:00Z"), points: 50 });
    expect(h.from.toISOString()).toBe("2025-12-31T11:59:59.999Z");
    expect(h.points[0]!.postedMinor).toBe("0");
    expect(h.points.at(-1)!.postedMinor).toBe(String(1000 + 500 - 200 + 7 + 3 + 99_999));
    expect(h.points).toHaveLength(50);
  });

  it("is flat over a range with no postings, and all zero for an account without any", async () => {
    const quiet = await getBalanceHistory(db, walletId, { from: at("2026-02-01T00:00:00Z"), to: at("2026-03-01T00:00:00Z"), points: 5 });
    expect(quiet.points.map((p) => p.postedMinor)).toEqual(Array(5).fill("101309"));
    const none = await getBalanceHistory(db, emptyId, { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-02T00:00:00Z"), points: 3 });
    expect(none.points.map((p) => p.postedMinor)).toEqual(["0", "0", "0"]);
    const noneAllTime = await getBalanceHistory(db, emptyId, { to: at("2026-01-02T00:00:00Z"), points: 2 });
    expect(noneAllTime.points.map((p) => p.postedMinor)).toEqual(["0", "0"]);
  });

  it.each([
    ["from equal to to", { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-01T00:00:00Z") }, "BAD_INPUT", /must be before/],
    ["from after to", { from: at("2026-01-02T00:00:00Z"), to: at("2026-01-01T00:00:00Z") }, "BAD_INPUT", /must be before/],
    ["an invalid date", { from: new Date("nope"), to: at("2026-01-01T00:00:00Z") }, "BAD_INPUT", /from must be a valid time/],
    ["one point", { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-02T00:00:00Z"), points: 1 }, "BAD_INPUT", /points must be/],
    ["501 points", { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-02T00:00:00Z"), points: 501 }, "BAD_INPUT", /points must be/],
    ["a fractional point count", { from: at("2026-01-01T00:00:00Z"), to: at("2026-01-02T00:00:00Z"), points: 2.5 }, "BAD_INPUT", /points must be/],
  ])("refuses %s with %s", async (_name, opts, code, message) => {
    await expect(getBalanceHistory(db, walletId, opts)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it("names unknown and malformed accounts", async () => {
    await expect(getBalanceHistory(db, "00000000-0000-4000-8000-000000000000", {})).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getBalanceHistory(db, "nope", {})).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});
