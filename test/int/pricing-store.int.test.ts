// Pricing persistence against PostgreSQL: ECB imports (atomic, idempotent, conflicts refused
// whole), conversions from stored rates equal to the file's, manual rates and fee schedule
// versions under four eyes, the version in force, quotes (expired, used, mismatched), and the
// database rules (append-only rates and versions, a quote used once).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { AppError } from "../../server/errors/app-error";
import { runTransaction } from "../../server/db/transaction";
import { pgRunner } from "../../server/db/sql";
import { parseEcbRatesCsv } from "../../server/pricing/ecb-csv";
import { formatExact } from "../../server/pricing/exact";
import { convertWithStoredRates, importReferenceRates, listRates } from "../../server/pricing/rates-store";
import { RateHistory, convertAmount } from "../../server/pricing/reference-rates";
import { findVersionInForce, listSchedules } from "../../server/pricing/schedules";
import { versionActivationDelayMs } from "../../server/pricing/approval-kinds";
import { createQuote, priceRequest, redeemQuoteInTransaction } from "../../server/pricing/quotes";
import { setCustomerSegment, setSpread } from "../../server/pricing/settings";
import { createTestDb, type TestDb } from "../support/test-db";
import { enrol, person } from "./approvals-test-helpers";
import { ECB_HISTORY_CSV } from "../support/fixtures";
import { adjustmentKinds } from "../../server/composition";

const CSV = readFileSync(ECB_HISTORY_CSV, "utf8");
const SYSTEM = { type: "system" as const, id: "test", label: "test" };

let db: TestDb;
const admin = person("admin", ["admin"]);
const approver = person("approver", ["approver"]);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e.code;
    const pgCode = (e as { code?: string }).code;
    return pgCode ? `PG:${pgCode}` : String(e);
  }
  return "no error";
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) x`, params)).rows[0]!.n);
}

/** Proposes and approves a pricing change; returns the proposal's result. */
async function proposeAndApprove(kind: string, payload: unknown, now = new Date()): Promise<Record<string, unknown>> {
  const p = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin, now }, { kind, payload, reason: "pricing change", idempotencyKey: randomUUID() });
  const r = await approveProposal(db, { kinds: adjustmentKinds, actor: approver, now }, { proposalId: p.id });
  expect(r.status).toBe("applied");
  const rows = await db.pool.query<{ result: Record<string, unknown> }>(`SELECT result FROM adjustment_proposals WHERE id = $1`, [p.id]);
  return rows.rows[0]!.result;
}

function scheduleDefinition(bps: string) {
  return {
    rules: [
      { id: "eur-default", currency: "EUR", minMinor: "30", maxMinor: "2500", tiers: [{ label: "tier-1", fromMinor: "0", toMinor: null, rateBps: bps }] },
      { id: "eur-vip", currency: "EUR", segment: "vip", tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "10", rateBps: "0" }] },
    ],
  };
}

beforeAll(async () => {
  db = await createTestDb();
  await enrol(db, approver);
}, 120_000);
afterAll(async () => db?.drop());

describe("reference rate imports", () => {
  it("refuses a malformed file whole, writing nothing", async () => {
    const lines = CSV.split("\n");
    lines[100] = lines[100]!.replace(/,([0-9.]+),/, ",oops,");
    expect(await codeOf(importReferenceRates(db, SYSTEM, { text: lines.join("\n"), fileName: "bad.csv" }))).toBe("INVALID_RATES_FILE");
    expect(await count(`SELECT 1 FROM fx_reference_rates`)).toBe(0);
    expect(await count(`SELECT 1 FROM fx_rate_imports`)).toBe(0);
  });

  it("imports the real history once; a replay changes nothing", async () => {
    const file = parseEcbRatesCsv(CSV);
    const first = await importReferenceRates(db, SYSTEM, { text: CSV, fileName: "eurofxref-hist.csv" });
    expect(first).toMatchObject({ isReplay: false, dayCount: file.days.length, rateCount: file.rateCount, insertedCount: file.rateCount, firstDate: "1999-01-04", lastDate: "2025-05-09" });
    expect(await count(`SELECT 1 FROM fx_reference_rates`)).toBe(file.rateCount);
    const again = await importReferenceRates(db, SYSTEM, { text: CSV, fileName: "again.csv" });
    expect(again).toMatchObject({ isReplay: true, importId: first.importId });
    expect(await count(`SELECT 1 FROM fx_reference_rates`)).toBe(file.rateCount);
    expect(await count(`SELECT 1 FROM audit_log WHERE action = 'pricing.rates.import'`)).toBe(1);
  }, 120_000);

  it("adds only new dates from an overlapping file, and refuses one that changes a stored rate", async () => {
    const header = CSV.split("\n")[0]!;
    const lastRow = CSV.split("\n")[1]!;
    const newRow = lastRow.replace("2025-05-09", "2025-05-12");
    const overlap = await importReferenceRates(db, SYSTEM, { text: `${header}\n${newRow}\n${lastRow}\n`, fileName: "daily.csv" });
    expect(overlap.isReplay).toBe(false);
    expect(overlap.insertedCount).toBe(overlap.rateCount / 2);
    const changed = lastRow.replace(/^2025-05-09,1\.1252,/, "2025-05-09,1.1253,");
    const before = await count(`SELECT 1 FROM fx_reference_rates`);
    const err = await importReferenceRates(db, SYSTEM, { text: `${header}\n${changed.replace("2025-05-09", "2025-05-13")}\n${changed}\n`, fileName: "changed.csv" }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toMatch(/USD on 2025-05-09 is 1.1253, but 1.1252 is already stored/);
    expect(await count(`SELECT 1 FROM fx_reference_rates`)).toBe(before);
  });

  it("converts from stored rates exactly as from the file, including stale refusals", async () => {
    const ecb = new RateHistory(parseEcbRatesCsv(CSV).days);
    const sql = pgRunner(db.pool);
    for (const [from, to, on] of [["USD", "JPY", "2024-03-15"], ["GBP", "EUR", "2024-04-01"], ["EUR", "CHF", "2010-06-05"], ["JPY", "SEK", "2001-01-01"]] as const) {
      const req = { amountMinor: 123_456n, from, to, on, maxAgeDays: 4 };
      const a = await convertWithStoredRates(sql, req);
      const b = convertAmount(ecb, req);
      expect([a.convertedMinor, formatExact(a.midRate), a.rateDate]).toEqual([b.convertedMinor, formatExact(b.midRate), b.rateDate]);
    }
    const stale = await convertWithStoredRates(sql, { amountMinor: 1n, from: "EUR", to: "RUB", on: "2022-03-10", maxAgeDays: 4 }).catch((e) => e);
    expect(stale).toMatchObject({ code: "RATE_STALE", details: { rateDate: "2022-03-01", ageDays: 9 } });
    expect(await codeOf(convertWithStoredRates(sql, { amountMinor: 1n, from: "EUR", to: "AED", on: "2024-03-15", maxAgeDays: 4 }))).toBe("RATE_NOT_FOUND");
    const chart = await listRates(sql, { currency: "USD", fromDate: "2024-03-11", toDate: "2024-03-17" });
    expect(chart.points.map((p) => p.date)).toEqual(["2024-03-11", "2024-03-12", "2024-03-13", "2024-03-14", "2024-03-15"]);
  });

  it("never lets a stored rate change or disappear", async () => {
    expect(await codeOf(db.pool.query(`UPDATE fx_reference_rates SET rate = 2 WHERE currency = 'USD' AND rate_date = '2024-03-15'`))).toMatch(/^PG:/);
    expect(await codeOf(db.pool.query(`DELETE FROM fx_reference_rates WHERE currency = 'USD' AND rate_date = '2024-03-15'`))).toMatch(/^PG:/);
    expect(await codeOf(db.pool.query(`UPDATE fx_rate_imports SET file_name = 'x'`))).toMatch(/^PG:/);
  });
});

describe("manual rates under four eyes", () => {
  it("adds a rate the ECB does not publish once approved, and refuses one that would replace a stored rate", async () => {
    const result = await proposeAndApprove("fx_manual_rate", { currency: "AED", date: "2024-03-15", rate: "4.0003" });
    expect(result).toEqual({ currency: "AED", date: "2024-03-15", rate: "4.0003" });
    const r = await convertWithStoredRates(pgRunner(db.pool), { amountMinor: 10000n, from: "EUR", to: "AED", on: "2024-03-16", maxAgeDays: 4 });
    expect(r.convertedMinor).toBe(40003n);
    expect(await codeOf(proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, { kind: "fx_manual_rate", payload: { currency: "USD", date: "2024-03-15", rate: "1.2" }, reason: "x", idempotencyKey: randomUUID() }))).toBe("CONFLICT");
    expect(await codeOf(proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, { kind: "fx_manual_rate", payload: { currency: "AED", date: "2024-03-18", rate: "-4" }, reason: "x", idempotencyKey: randomUUID() }))).toBe("INVALID_RATE");
    expect(await codeOf(proposeAdjustment(db, { kinds: adjustmentKinds, actor: approver }, { kind: "fx_manual_rate", payload: { currency: "AED", date: "2024-03-18", rate: "4" }, reason: "x", idempotencyKey: randomUUID() }))).toBe("FORBIDDEN");
  });
});

describe("fee schedule versions under four eyes", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");

  it("refuses an invalid definition when proposed, naming the part", async () => {
    const bad = { rules: [{ id: "x", currency: "EUR", tiers: [{ fromMinor: "0", toMinor: "100", rateBps: "1" }, { fromMinor: "50", toMinor: null, rateBps: "1" }] }] };
    const err = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, { kind: "fee_schedule_version", payload: { scheduleCode: "instant-std", name: "Instant", rail: "instant", basedOnVersion: 0, effectiveFrom: t0.toISOString(), definition: bad }, reason: "x", idempotencyKey: randomUUID() }).catch((e) => e);
    expect(err).toMatchObject({ code: "INVALID_FEE_SCHEDULE" });
    expect(err.message).toMatch(/rules\[0\] \(x\)\.tiers\[1\]: overlaps tier-1/);
  });

  it("writes version 1, then version 2 in force from its start, never before its approval", async () => {
    // Approved one activation delay ago (a version takes effect no sooner than that after its
    // approval, so that no process's pricing cache misses it), so that it is in force now.
    const approvedAt = new Date(Date.now() - versionActivationDelayMs());
    const v1 = await proposeAndApprove("fee_schedule_version", { scheduleCode: "instant-std", name: "Instant standard", rail: "instant", basedOnVersion: 0, effectiveFrom: t0.toISOString(), definition: scheduleDefinition("90") }, approvedAt);
    expect(v1).toMatchObject({ effectiveFrom: new Date(approvedAt.getTime() + versionActivationDelayMs()).toISOString() });
    expect(v1).toMatchObject({ version: 1 });
    const start2 = new Date(Date.now() + 3600_000);
    const v2 = await proposeAndApprove("fee_schedule_version", { scheduleCode: "instant-std", rail: "instant", basedOnVersion: 1, effectiveFrom: start2.toISOString(), definition: scheduleDefinition("50") });
    expect(v2).toMatchObject({ version: 2, effectiveFrom: start2.toISOString() });
    const sql = pgRunner(db.pool);
    expect((await findVersionInForce(sql, "instant", new Date()))!.version).toBe(1);
    expect((await findVersionInForce(sql, "instant", new Date(start2.getTime() + 1)))!.version).toBe(2);
    expect(await findVersionInForce(sql, "batch", new Date())).toBeNull();
    // v1 was proposed effective 2026-01-01 but approved later: it takes effect after its approval.
    expect((await findVersionInForce(sql, "instant", new Date(Date.now() - 3600_000)))).toBeNull();
    const summary = await listSchedules(sql, new Date());
    expect(summary).toEqual([expect.objectContaining({ code: "instant-std", rail: "instant", latestVersion: 2, versionInForce: 1, nextVersion: { version: 2, effectiveFrom: start2 } })]);
  });

  it("refuses a proposal based on an old version, and a second schedule on the same rail", async () => {
    expect(await codeOf(proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, { kind: "fee_schedule_version", payload: { scheduleCode: "instant-std", rail: "instant", basedOnVersion: 1, effectiveFrom: t0.toISOString(), definition: scheduleDefinition("10") }, reason: "x", idempotencyKey: randomUUID() }))).toBe("CONFLICT");
    expect(await codeOf(proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, { kind: "fee_schedule_version", payload: { scheduleCode: "other", name: "Other", rail: "instant", basedOnVersion: 0, effectiveFrom: t0.toISOString(), definition: scheduleDefinition("10") }, reason: "x", idempotencyKey: randomUUID() }))).toBe("CONFLICT");
  });

  it("keeps versions append-only and in order in the database", async () => {
    expect(await codeOf(db.pool.query(`UPDATE fee_schedule_versions SET definition = '{}'`))).toMatch(/^PG:/);
    expect(await codeOf(db.pool.query(`DELETE FROM fee_schedule_versions`))).toMatch(/^PG:/);
    const s = (await db.pool.query<{ id: string }>(`SELECT id FROM fee_schedules WHERE code = 'instant-std'`)).rows[0]!;
    expect(await codeOf(db.pool.query(`INSERT INTO fee_schedule_versions (id, schedule_id, version, effective_from, definition, created_by, created_at) VALUES ($1, $2, 5, now(), '{}', 'x', now())`, [randomUUID(), s.id]))).toBe("PG:PR002");
    expect(await codeOf(db.pool.query(`INSERT INTO fee_schedule_versions (id, schedule_id, version, effective_from, definition, created_by, created_at) VALUES ($1, $2, 3, '2020-01-01', '{}', 'x', now())`, [randomUUID(), s.id]))).toBe("PG:PR002");
  });
});

describe("prices and quotes", () => {
  const customer = `acme-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    await setSpread(db, SYSTEM, { fromCurrency: "*", toCurrency: "*", segment: "", spreadBps: "50", reason: "default" });
    await setSpread(db, SYSTEM, { fromCurrency: "EUR", toCurrency: "USD", segment: "vip", spreadBps: "10", reason: "vip" });
  });

  it("prices by the version in force, the customer's segment and the pair's spread", async () => {
    const sql = pgRunner(db.pool);
    const at = new Date("2024-03-15T12:00:00Z");
    // The instant schedule took effect when approved (now); price "now" but convert on the ECB date by pricing at a fixed rate date.
    const plain = await priceRequest(sql, { amountMinor: 10000n, currency: "EUR", rail: "instant", customerId: customer });
    expect(plain.feeMinor).toBe(90n);
    expect(plain.explanation.summary).toMatch(/^fee = min\(max\(0.30, 0.9% of 100.00\), 25.00\) = 0.90 EUR, schedule instant-std v1, rule eur-default tier-1, rounded half-even$/);
    await setCustomerSegment(db, SYSTEM, { customerId: customer, segment: "vip", reason: "big customer" });
    const vip = await priceRequest(sql, { amountMinor: 10000n, currency: "EUR", rail: "instant", customerId: customer });
    expect([vip.segment, vip.feeMinor, vip.fee!.ruleId]).toEqual(["vip", 10n, "eur-vip"]);
    const unpriced = await priceRequest(sql, { amountMinor: 10000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: customer, at });
    expect(unpriced.feeMinor).toBe(0n);
    expect(unpriced.explanation.fee!.summary).toBe("no fee: rail batch has no fee schedule in force");
    expect(unpriced.conversion).toMatchObject({ midConvertedMinor: 10892n, convertedMinor: 10881n, spreadMinor: 11n, rateDate: "2024-03-15" });
    expect(unpriced.spreadBps).toBe("10");
    expect(await codeOf(priceRequest(sql, { amountMinor: 10000n, currency: "GBP", rail: "instant", customerId: null }))).toBe("FEE_RULE_NOT_FOUND");
    expect(await codeOf(priceRequest(sql, { amountMinor: 10000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at: new Date("2025-06-30T00:00:00Z") }))).toBe("RATE_STALE");
  });

  it("locks a quote; a transfer uses it once, before expiry, for the same amount, pair, rail and customer", async () => {
    const at = new Date("2024-03-15T12:00:00Z");
    const quoteKey = randomUUID();
    const { quote, isReplay } = await createQuote(db, SYSTEM, { amountMinor: 50000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at }, { idempotencyKey: quoteKey });
    expect(isReplay).toBe(false);
    const replay = await createQuote(db, SYSTEM, { amountMinor: 50000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at }, { idempotencyKey: quoteKey });
    expect([replay.isReplay, replay.quote.id]).toEqual([true, quote.id]);
    expect(await codeOf(createQuote(db, SYSTEM, { amountMinor: 50001n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at }, { idempotencyKey: quoteKey }))).toBe("IDEMPOTENCY_CONFLICT");
    // 500.00 EUR x 1.0892 = 544.60 USD at mid; x (1 - 0.5%) = 541.877 -> 541.88; spread 0.72 USD.
    expect(quote).toMatchObject({ status: "open", convertedMinor: 54188n, midConvertedMinor: 54460n, spreadMinor: 272n, midRate: "1.0892", customerRate: "1.083754", spreadBps: "50" });
    expect(quote.expiresAt.getTime() - at.getTime()).toBe(60_000);
    const use = { amountMinor: 50000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null };
    const within = new Date(at.getTime() + 1000);
    const mismatch = await runTransaction(db.pool, (c) => redeemQuoteInTransaction(c, quote.id, { ...use, amountMinor: 50001n }, randomUUID(), within)).catch((e) => e);
    expect(mismatch).toMatchObject({ code: "QUOTE_MISMATCH" });
    expect(mismatch.message).toMatch(/amount 500.01 \(quoted 500.00\)/);
    expect(await codeOf(runTransaction(db.pool, (c) => redeemQuoteInTransaction(c, quote.id, use, randomUUID(), new Date(at.getTime() + 60_000))))).toBe("QUOTE_EXPIRED");
    const transferId = randomUUID();
    const used = await runTransaction(db.pool, (c) => redeemQuoteInTransaction(c, quote.id, use, transferId, within));
    expect(used).toMatchObject({ status: "used", usedByTransferId: transferId });
    expect(await codeOf(runTransaction(db.pool, (c) => redeemQuoteInTransaction(c, quote.id, use, randomUUID(), within)))).toBe("QUOTE_USED");
    expect(await codeOf(runTransaction(db.pool, (c) => redeemQuoteInTransaction(c, randomUUID(), use, randomUUID(), within)))).toBe("QUOTE_NOT_FOUND");
    // The database itself refuses a second use and any change to the price.
    expect(await codeOf(db.pool.query(`UPDATE fx_quotes SET used_at = $2, used_by_transfer_id = $3 WHERE id = $1`, [quote.id, within, randomUUID()]))).toBe("PG:PR003");
    const { quote: q2 } = await createQuote(db, SYSTEM, { amountMinor: 50000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at }, { idempotencyKey: randomUUID() });
    expect(await codeOf(db.pool.query(`UPDATE fx_quotes SET converted_minor = 1, used_at = $2, used_by_transfer_id = $3 WHERE id = $1`, [q2.id, within, randomUUID()]))).toBe("PG:PR003");
  });

  it("writes concurrent quotes by shared statements, each its own row; one key sent at once is one quote", async () => {
    const at = new Date("2024-03-15T12:00:00Z");
    const req = (amountMinor: bigint) => ({ amountMinor, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at });
    const sharedKey = randomUUID();
    const [distinct, same] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => createQuote(db, SYSTEM, req(10_000n + BigInt(i)), { idempotencyKey: randomUUID() }))),
      Promise.all(Array.from({ length: 5 }, () => createQuote(db, SYSTEM, req(777_00n), { idempotencyKey: sharedKey }))),
    ]);
    expect(new Set(distinct.map((q) => q.quote.id)).size).toBe(40);
    expect(distinct.every((q) => !q.isReplay)).toBe(true);
    expect(distinct.map((q) => q.quote.amountMinor)).toEqual(Array.from({ length: 40 }, (_, i) => 10_000n + BigInt(i)));
    expect(new Set(same.map((q) => q.quote.id)).size).toBe(1);
    expect(same.filter((q) => !q.isReplay)).toHaveLength(1);
    // Rows written by one statement share its transaction id: fewer transactions than quotes.
    const ids = [...distinct.map((q) => q.quote.id), same[0]!.quote.id];
    const tx = await db.pool.query<{ quotes: number; transactions: number }>(`SELECT count(*)::int AS quotes, count(DISTINCT xmin::text)::int AS transactions FROM fx_quotes WHERE id = ANY($1::uuid[])`, [ids]);
    expect(tx.rows[0]!.quotes).toBe(41);
    expect(tx.rows[0]!.transactions).toBeLessThan(41);
  });

  it("fails only the quote the database refuses when it was written together with others", async () => {
    await db.pool.query(`CREATE FUNCTION test_refuse_4242() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.amount_minor = 4242 THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$`);
    await db.pool.query(`CREATE TRIGGER test_refuse_4242 BEFORE INSERT ON fx_quotes FOR EACH ROW EXECUTE FUNCTION test_refuse_4242()`);
    try {
      const at = new Date("2024-03-15T12:00:00Z");
      const amounts = [1000n, 1001n, 4242n, 1002n, 1003n, 1004n, 1005n, 1006n, 1007n, 1008n];
      const outcomes = await Promise.allSettled(amounts.map((amountMinor) => createQuote(db, SYSTEM, { amountMinor, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null, at }, { idempotencyKey: randomUUID() })));
      expect(outcomes.map((o) => o.status)).toEqual(amounts.map((a) => (a === 4242n ? "rejected" : "fulfilled")));
      expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/refused by test/);
    } finally {
      await db.pool.query(`DROP TRIGGER test_refuse_4242 ON fx_quotes; DROP FUNCTION test_refuse_4242()`);
    }
  });

  it("answers a replay with the first quote even when pricing it now would be refused", async () => {
    const key = randomUUID();
    const request = { amountMinor: 30000n, currency: "EUR", toCurrency: "USD", rail: "batch", customerId: null };
    const first = await createQuote(db, SYSTEM, { ...request, at: new Date("2024-03-15T12:00:00Z") }, { idempotencyKey: key });
    // On this date the newest rate is too old: a new quote would be RATE_STALE.
    const later = new Date("2025-06-30T00:00:00Z");
    expect(await codeOf(createQuote(db, SYSTEM, { ...request, at: later }, { idempotencyKey: randomUUID() }))).toBe("RATE_STALE");
    const replay = await createQuote(db, SYSTEM, { ...request, at: later }, { idempotencyKey: key });
    expect([replay.isReplay, replay.quote.id]).toEqual([true, first.quote.id]);
  });

  it("a spread or a segment changes only with a reason, which the audit record keeps (issue 14)", async () => {
    const pair = { fromCurrency: "EUR", toCurrency: "CHF", segment: "" };
    for (const reason of ["", "  ", "ok"]) {
      const e = (await setSpread(db, SYSTEM, { ...pair, spreadBps: "30", reason }).catch((x: unknown) => x)) as AppError;
      expect([e.code, e.details]).toEqual(["BAD_INPUT", { field: "reason" }]);
      const s = (await setCustomerSegment(db, SYSTEM, { customerId: customer, segment: "gold", reason }).catch((x: unknown) => x)) as AppError;
      expect([s.code, s.details]).toEqual(["BAD_INPUT", { field: "reason" }]);
    }
    expect((await db.pool.query(`SELECT 1 FROM fx_spreads WHERE from_currency = 'EUR' AND to_currency = 'CHF'`)).rowCount).toBe(0);
    await setSpread(db, SYSTEM, { ...pair, spreadBps: "30", reason: "  CHF corridor launch  " });
    await setCustomerSegment(db, SYSTEM, { customerId: customer, segment: "gold", reason: "signed gold contract" });
    const audit = await db.pool.query<{ action: string; reason: string }>(
      `SELECT action, reason FROM audit_log WHERE (action = 'pricing.spread.set' AND target_id = 'EUR/CHF/') OR (action = 'pricing.customer.segment' AND target_id = $1 AND after->>'segment' = 'gold') ORDER BY action`,
      [customer],
    );
    expect(audit.rows).toEqual([
      { action: "pricing.customer.segment", reason: "signed gold contract" },
      { action: "pricing.spread.set", reason: "CHF corridor launch" },
    ]);
    await setCustomerSegment(db, SYSTEM, { customerId: customer, segment: "vip", reason: "back to vip" });
  });

  it("quotes with a spread changed in this process at once", async () => {
    const at = new Date("2024-03-15T12:00:00Z");
    const quote = () => createQuote(db, SYSTEM, { amountMinor: 10000n, currency: "EUR", toCurrency: "GBP", rail: "batch", customerId: null, at }, { idempotencyKey: randomUUID() });
    expect((await quote()).quote.spreadBps).toBe("50");
    await setSpread(db, SYSTEM, { fromCurrency: "EUR", toCurrency: "GBP", segment: "", spreadBps: "25", reason: "cheaper GBP" });
    expect((await quote()).quote.spreadBps).toBe("25");
    await setSpread(db, SYSTEM, { fromCurrency: "EUR", toCurrency: "GBP", segment: "", spreadBps: null, reason: "back to the default" });
    expect((await quote()).quote.spreadBps).toBe("50");
  });
});
