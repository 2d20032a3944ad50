// Simulation of a draft fee schedule version over a past period's transfers (server/pricing/
// simulation.ts): totals per currency and segment against the version in force at each transfer's
// creation, the most affected customers, the full CSV, and its limits.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgRunner } from "../../server/db/sql";
import { AppError } from "../../server/errors/app-error";
import { fund, openAccount } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { createTransfer } from "../../server/transfers/create";
import { simulateFeeSchedule, simulationCsv } from "../../server/pricing/simulation";
import { setCustomerSegment } from "../../server/pricing/settings";
import { createTestDb, type TestDb } from "../support/test-db";
import { resetEnvForTests } from "../../server/env";

let db: TestDb;
const t0 = new Date("2026-06-01T00:00:00Z");
const hour = 3600_000;

const flat = (bps: string, minMinor: string | null = null) => ({ rules: [{ id: "eur", currency: "EUR", minMinor, tiers: [{ fromMinor: "0", toMinor: null, rateBps: bps }] }] });

const admissionBefore = process.env.TRANSFER_ADMISSION_ENABLED;
beforeAll(async () => {
  // The transfers below are created with past clocks and never submitted (no worker): admission
  // control would read them as waiting for months and refuse the next one. It is not what this
  // file tests (transfers-admission.int.test.ts does).
  process.env.TRANSFER_ADMISSION_ENABLED = "false";
  resetEnvForTests();
  db = await createTestDb();
  // Version 1 (1%) from t0, version 2 (2%) from t0 + 2h, written directly (the approval flow is
  // tested in pricing-store.int.test.ts).
  const scheduleId = randomUUID();
  await db.pool.query(`INSERT INTO fee_schedules (id, code, name, rail, created_at) VALUES ($1, 'instant-std', 'Instant', 'instant', $2)`, [scheduleId, t0]);
  for (const [v, from, def] of [[1, t0, flat("100")], [2, new Date(t0.getTime() + 2 * hour), flat("200")]] as const) {
    await db.pool.query(`INSERT INTO fee_schedule_versions (id, schedule_id, version, effective_from, definition, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'test', $4)`, [randomUUID(), scheduleId, v, from, JSON.stringify(def)]);
  }
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  const wallets: { id: string }[] = [];
  for (const name of ["acme", "globex", "initech"]) {
    const w = await openAccount(db, { code: `customer:${name}:EUR`, type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, w.id, 10_000_000n);
    wallets.push(w);
  }
  await setCustomerSegment(db, SYSTEM_ACTOR, { customerId: "customer:acme:EUR", segment: "vip", reason: "test" });
  // acme: 100.00 at t0+1h (v1) and 1000.00 at t0+3h (v2); globex 50.00 at t0+1h; initech 10.00 at t0+3h.
  const make = async (i: number, amountMinor: bigint, at: Date) =>
    createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallets[i]!.id, counterpartyName: "Jane", counterpartyAccount: "DE89 3704 0044", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: randomUUID(), now: at });
  await make(0, 10_000n, new Date(t0.getTime() + hour));
  await make(0, 100_000n, new Date(t0.getTime() + 3 * hour));
  await make(1, 5_000n, new Date(t0.getTime() + hour));
  await make(2, 1_000n, new Date(t0.getTime() + 3 * hour));
  await make(2, 1_000n, new Date(t0.getTime() + 10 * hour)); // outside the period
}, 120_000);
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  if (admissionBefore === undefined) delete process.env.TRANSFER_ADMISSION_ENABLED;
  else process.env.TRANSFER_ADMISSION_ENABLED = admissionBefore;
  resetEnvForTests();
});

describe("simulateFeeSchedule", () => {
  it("compares the draft with the version in force at each transfer's creation", async () => {
    const r = await simulateFeeSchedule(pgRunner(db.pool), { rail: "instant", definition: flat("150", "100"), from: t0, to: new Date(t0.getTime() + 4 * hour) });
    expect(r.transfers).toBe(4);
    // current: 100.00 x 1% = 100, 50.00 x 1% = 50, 1000.00 x 2% = 2000, 10.00 x 2% = 20 -> 2170
    // draft:   1.5% with a 1.00 minimum: 150, 100, 1500, 100 -> 1850
    expect(r.byCurrency).toEqual([{ currency: "EUR", segment: null, transfers: 4, currentMinor: 2170n, draftMinor: 1850n, deltaMinor: -320n, unpriced: 0 }]);
    expect(r.bySegment).toEqual([
      { currency: "EUR", segment: null, transfers: 2, currentMinor: 70n, draftMinor: 200n, deltaMinor: 130n, unpriced: 0 },
      { currency: "EUR", segment: "vip", transfers: 2, currentMinor: 2100n, draftMinor: 1650n, deltaMinor: -450n, unpriced: 0 },
    ]);
    expect(r.topCustomers.map((c) => [c.customerId, c.deltaMinor])).toEqual([["customer:acme:EUR", -450n], ["customer:initech:EUR", 80n], ["customer:globex:EUR", 50n]]);
    expect(r.rows.map((x) => x.currentVersion)).toEqual([1, 1, 2, 2]);
    const csv = simulationCsv(r).trim().split("\n");
    expect(csv[0]).toBe("transfer_id,created_at,customer_id,segment,currency,amount,amount_minor,current_version,current_fee_minor,draft_fee_minor,delta_minor,draft_rule,draft_error");
    expect(csv).toHaveLength(5);
    expect(csv.some((l) => l.endsWith(",customer:acme:EUR,vip,EUR,1000.00,100000,2,2000,1500,-500,eur,"))).toBe(true);
  });

  it("counts transfers the draft cannot price, with the reason", async () => {
    const r = await simulateFeeSchedule(pgRunner(db.pool), { rail: "instant", definition: { rules: [{ id: "usd", currency: "USD", tiers: [{ fromMinor: "0", toMinor: null, rateBps: "1" }] }] }, from: t0, to: new Date(t0.getTime() + 4 * hour) });
    expect(r.byCurrency[0]).toMatchObject({ transfers: 4, unpriced: 4, draftMinor: 0n });
    expect(r.rows.find((x) => x.segment === null)!.draftError).toBe("the draft has no fee rule for currency EUR");
    expect(r.rows.find((x) => x.segment === "vip")!.draftError).toBe("the draft has no fee rule for currency EUR (segment vip)");
  });

  it("refuses an invalid draft and a bad period", async () => {
    const err = (p: Promise<unknown>) => p.then(() => "no error", (e: unknown) => (e instanceof AppError ? e.code : String(e)));
    expect(await err(simulateFeeSchedule(pgRunner(db.pool), { rail: "instant", definition: { rules: [{ id: "x", currency: "EUR", tiers: [{ fromMinor: "0", toMinor: "5", rateBps: "1" }] }] }, from: t0, to: new Date(t0.getTime() + hour) }))).toBe("INVALID_FEE_SCHEDULE");
    expect(await err(simulateFeeSchedule(pgRunner(db.pool), { rail: "instant", definition: flat("1"), from: t0, to: t0 }))).toBe("BAD_INPUT");
    expect(await err(simulateFeeSchedule(pgRunner(db.pool), { rail: "instant", definition: flat("1"), from: t0, to: new Date(t0.getTime() + 400 * 24 * hour) }))).toBe("BAD_INPUT");
  });
});
