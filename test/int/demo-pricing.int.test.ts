// The demo world's pricing (server/demo/seed-pricing.ts): the shipped ECB history imported, a fee
// schedule per rail (the instant rail with two versions) covering every demo currency, spreads
// and segments, idempotent; and the demo traffic pricing its transfers and sending some across
// currencies on quotes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { seedDemoLedger, DEMO_CURRENCIES } from "../../server/demo/seed-ledger";
import { seedDemoPricing } from "../../server/demo/seed-pricing";
import { demoRateMaxAgeDays, demoRatesFile } from "../../server/demo/demo-rates";
import { startDemoTraffic } from "../../server/demo/traffic";
import { makeRandom } from "../../server/demo/random";
import { resetEnvForTests } from "../../server/env";
import { pgRunner } from "../../server/db/sql";
import { stopSender } from "../../server/jobs/queues";
import { verifyLedger } from "../../server/ledger/verify";
import { listSchedules, listScheduleVersions, diffScheduleDefinitions } from "../../server/pricing/schedules";
import { priceRequest } from "../../server/pricing/quotes";
import { explainTransferPrice } from "../../server/transfers/pricing";
import { RAILS } from "../../server/transfers/types";

let db: TestDb;
let firstReport: string;
const envBefore = { PRICING_RATE_MAX_AGE_DAYS: process.env.PRICING_RATE_MAX_AGE_DAYS, TRANSFER_ADMISSION_ENABLED: process.env.TRANSFER_ADMISSION_ENABLED };

beforeAll(async () => {
  // As `npm start` in demo mode: quotes may use the shipped history. No worker submits here, so
  // admission control (which would count the traffic's transfers as waiting) is off.
  process.env.PRICING_RATE_MAX_AGE_DAYS = String(demoRateMaxAgeDays());
  process.env.TRANSFER_ADMISSION_ENABLED = "false";
  resetEnvForTests();
  db = await createTestDb();
  await seedDemoLedger(db);
  firstReport = await seedDemoPricing(db);
}, 120_000);
afterAll(async () => {
  if (db) await stopSender(db.pool);
  await db?.drop();
  for (const [k, v] of Object.entries(envBefore)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetEnvForTests();
});

const count = async (sql: string) => Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) x`)).rows[0]!.n);

describe("seedDemoPricing", () => {
  it("imports the shipped ECB history and writes a schedule per rail once; a second run changes nothing", async () => {
    expect(demoRatesFile().lastDate).toBe("2025-05-09");
    expect(firstReport).toMatch(/^demo pricing: rates \d+ imported \(2024-01-02 to 2025-05-09\); 3 fee schedule versions written$/);
    const before = await Promise.all(["fx_reference_rates", "fee_schedule_versions", "fx_spreads", "pricing_customers", "audit_log"].map((t) => count(`SELECT 1 FROM ${t}`)));
    expect(await seedDemoPricing(db)).toBe("demo pricing: rates already imported; 0 fee schedule versions written");
    expect(await Promise.all(["fx_reference_rates", "fee_schedule_versions", "fx_spreads", "pricing_customers", "audit_log"].map((t) => count(`SELECT 1 FROM ${t}`)))).toEqual(before);
  });

  it("has a schedule in force on every rail, the instant rail's second version changing large EUR payments", async () => {
    const sql = pgRunner(db.pool);
    const schedules = await listSchedules(sql, new Date());
    expect(schedules.map((s) => [s.rail, s.code, s.versionInForce])).toEqual([["batch", "batch-std", 1], ["instant", "instant-std", 2]]);
    const [v2, v1] = await listScheduleVersions(sql, "instant-std");
    expect(diffScheduleDefinitions(v1!.compiled.definition, v2!.compiled.definition)).toEqual([{ ruleId: "eur-default", change: "changed", fields: [expect.objectContaining({ field: "tiers" })] }]);
    // Every demo currency is priced on every rail: no demo transfer is refused for a missing rule.
    for (const rail of RAILS) {
      for (const currency of DEMO_CURRENCIES) {
        const p = await priceRequest(sql, { amountMinor: 12_345n, currency, rail, customerId: "customer:0003:wallet" });
        expect([rail, currency, p.feeMinor > 0n]).toEqual([rail, currency, true]);
      }
    }
  });
});

describe("the demo traffic, priced", () => {
  it("prices every transfer and pays some payees abroad on a quote", async () => {
    // Every wallet pick lands on customer:0001 (EUR, segment vip); every transfer goes abroad.
    const seeded = makeRandom(7);
    const wallets = await count(`SELECT 1 FROM ledger_accounts WHERE code LIKE 'customer:%:wallet' AND status = 'active'`);
    const random = (n: number) => (n === wallets || n === 6 ? 0 : seeded(n));
    const stop = new AbortController();
    const traffic = startDemoTraffic(db, { signal: stop.signal, ratePerMinute: 600, sandboxUrl: null, random });
    for (let i = 0; i < 100 && traffic.stats().crossCurrency < 4; i++) await new Promise((r) => setTimeout(r, 100));
    stop.abort();
    const stats = await traffic.stopped;
    expect(stats.refused).toBe(0);
    expect(stats.crossCurrency).toBeGreaterThanOrEqual(4);

    const rows = await db.pool.query<{ id: string; fee: string; quote_id: string | null; converted_currency: string | null; version: string | null }>(
      `SELECT id, fee_minor::text AS fee, quote_id, converted_currency, fee_schedule_version_id AS version FROM transfers WHERE idempotency_key LIKE 'demo:traffic:%'`,
    );
    expect(rows.rows.length).toBe(stats.created);
    for (const r of rows.rows) expect([r.quote_id !== null, r.converted_currency !== null, r.version !== null, BigInt(r.fee) > 0n]).toEqual([true, true, true, true]);
    const e = await explainTransferPrice(pgRunner(db.pool), rows.rows[0]!.id);
    expect(e.explanation.summary).toMatch(/^fee = .* EUR, schedule (instant|batch)-std v\d, rule eur-(vip|flat) .*ECB reference rates of 2025-05-09/);
    expect(e.explanation.conversion!.lines.find((l) => l.label === "spread")!.text).toMatch(/segment vip/);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });
});
