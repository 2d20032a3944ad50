/**
 * The SLO data path against a real PostgreSQL: the write path's trigger counts outcomes in their
 * transfer's creation minute (a settlement a day late changes that day's minute, not today's),
 * splits customer-caused failures out, builds the latency histogram; folding changes no figure;
 * objectives are evaluated from the rollups, alert changes reach the outbox once; definitions are
 * admin-only, versioned and audited.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { openAccount, fund } from "../../server/ledger/testing";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR, userActor } from "../../server/core/actor";
import { foldRollups, readOutcomeTotal, readOutcomeSeries, sampleMinute, LATENCY_BOUNDS_MS } from "../../server/slo/rollup";
import { ensureDefaultSlos, getSloDefinition, listSloDefinitions, updateSloDefinition } from "../../server/slo/definitions";
import { evaluateAndPublish, evaluateSlo } from "../../server/slo/evaluate";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let wallet: Account;
const partner = fakePartner();
const deps = { adapterFor: () => partner };
const admin = userActor({ id: randomUUID(), email: "admin@example.test", name: "Admin", roles: ["admin"] });
const viewer = userActor({ id: randomUUID(), email: "viewer@example.test", name: "Viewer", roles: ["viewer"] });

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:slo:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 100_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const minuteOf = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000);

async function submitted(createdAt: Date, rail: "instant" | "batch" = "instant") {
  const { transfer } = await createTransfer(
    db,
    SYSTEM_ACTOR,
    { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 1_000n, currency: "EUR", rail, partner: "sandbox" },
    { idempotencyKey: randomUUID(), now: createdAt },
  );
  await advanceTransfer(db, transfer.id, { ...deps, now: () => createdAt });
  return transfer;
}

const settle = (key: string, at: Date) => applyPartnerEvent(db, partnerEvent(key, "settled", 1), { webhookEventId: null, now: at });
const fail = (key: string, at: Date, reason: string) => applyPartnerEvent(db, { ...partnerEvent(key, "failed", 1), reason }, { webhookEventId: null, now: at });

describe("the rollup", () => {
  it("counts an outcome in its transfer's creation minute, however late it arrives", async () => {
    const now = new Date();
    const dayAgo = new Date(now.getTime() - 24 * 3600_000 - 5 * 60_000);
    const t = await submitted(dayAgo);
    const todayBefore = await readOutcomeTotal(db.pool, minuteOf(new Date(now.getTime() - 60 * 60_000)), new Date(now.getTime() + 60_000));
    await settle(t.idempotencyKey, now); // a day late

    const dayMinute = await readOutcomeTotal(db.pool, minuteOf(dayAgo), new Date(minuteOf(dayAgo).getTime() + 60_000));
    expect(dayMinute).toMatchObject({ settled: 1, failed: 0 });
    // About a day and five minutes from creation: in the (1 d, 2 d] bucket.
    expect(dayMinute.latencyCounts[LATENCY_BOUNDS_MS.indexOf(172_800_000)]).toBe(1);
    const todayAfter = await readOutcomeTotal(db.pool, minuteOf(new Date(now.getTime() - 60 * 60_000)), new Date(now.getTime() + 60_000));
    expect(todayAfter).toEqual(todayBefore);
  });

  it("splits failures the customer caused from ours, and builds the latency histogram", async () => {
    const at = new Date(Date.now() - 3 * 3600_000);
    const a = await submitted(at);
    const b = await submitted(at);
    const c = await submitted(at);
    await fail(a.idempotencyKey, new Date(at.getTime() + 2_000), "beneficiary_account_closed");
    await fail(b.idempotencyKey, new Date(at.getTime() + 2_000), "bank_internal_error");
    await settle(c.idempotencyKey, new Date(at.getTime() + 1_500)); // (1 s, 2 s]
    const total = await readOutcomeTotal(db.pool, minuteOf(at), new Date(minuteOf(at).getTime() + 60_000));
    expect(total).toMatchObject({ settled: 1, failed: 1, failedExcluded: 1, cancelled: 0 });
    expect(total.latencyCounts[LATENCY_BOUNDS_MS.indexOf(2_000)]).toBe(1);
  });

  it("folding deltas into minutes changes no figure", async () => {
    const from = new Date(Date.now() - 3 * 86_400_000);
    const to = new Date(Date.now() + 60_000);
    const before = await readOutcomeSeries(db.pool, from, to, 60);
    const deltas = Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM slo_transfer_deltas`)).rows[0]!.n);
    expect(deltas).toBeGreaterThan(0);
    expect(await foldRollups(db)).toBe(deltas);
    expect(Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM slo_transfer_deltas`)).rows[0]!.n)).toBe(0);
    expect(await readOutcomeSeries(db.pool, from, to, 60)).toEqual(before);
    // A second fold with nothing to do.
    expect(await foldRollups(db)).toBe(0);
    // The hourly rollup the same fold keeps equals the minutes summed by UTC hour.
    const byHour = new Map<number, { settled: number; failed: number; latency: number[] }>();
    for (const m of await readOutcomeSeries(db.pool, from, to, 1)) {
      const h = Math.floor(m.at.getTime() / 3_600_000) * 3_600_000;
      const cur = byHour.get(h) ?? { settled: 0, failed: 0, latency: new Array<number>(m.latencyCounts.length).fill(0) };
      byHour.set(h, { settled: cur.settled + m.settled, failed: cur.failed + m.failed, latency: cur.latency.map((n, i) => n + m.latencyCounts[i]!) });
    }
    const hours = await readOutcomeSeries(db.pool, from, to, 60);
    expect(hours.map((h) => [h.at.getTime(), h.settled, h.failed, h.latencyCounts])).toEqual([...byHour].sort((a, b) => a[0] - b[0]).map(([t, v]) => [t, v.settled, v.failed, v.latency]));
    // A window's exact total reads whole hours and minutes at both ends, and agrees with the minutes.
    const exactFrom = new Date(from.getTime() + 17 * 60_000);
    const exact = await readOutcomeTotal(db.pool, exactFrom, to);
    const viaMinutes = (await readOutcomeSeries(db.pool, exactFrom, to, 1)).reduce((acc, m) => ({ settled: acc.settled + m.settled, failed: acc.failed + m.failed }), { settled: 0, failed: 0 });
    expect({ settled: exact.settled, failed: exact.failed }).toEqual(viaMinutes);
  });
});

describe("objectives", () => {
  it("are created once, evaluated from the rollups, and page through the outbox once", async () => {
    expect(await ensureDefaultSlos(db)).toBe(7);
    expect(await ensureDefaultSlos(db)).toBe(0);
    // The last few minutes: 4 settled, 4 failed by the partner (a burn far above 13.44).
    const at = new Date(Date.now() - 2 * 60_000);
    for (let i = 0; i < 8; i++) {
      const t = await submitted(at);
      if (i % 2 === 0) await settle(t.idempotencyKey, new Date(at.getTime() + 1_000));
      else await fail(t.idempotencyKey, new Date(at.getTime() + 1_000), "bank_internal_error");
    }
    const now = new Date();
    const def = await getSloDefinition(db, "transfer-success");
    const status = await evaluateSlo(db.pool, def, now);
    // Whole window: 1 + 1 + 4 settled, 1 + 4 failed by us or the partner (the customer's excluded).
    expect(status.counts).toEqual({ good: 6, valid: 11 });
    expect(status.sli).toBeCloseTo(6 / 11, 9);
    expect(status.budgetRemaining).toBeCloseTo(1 - 5 / (0.005 * 11), 9);
    expect(status.burnRates["5m"]).toBeCloseTo(0.5 / 0.005, 6);
    expect(status.alert.level).toBe("page");

    const first = await evaluateAndPublish(db, now);
    expect(first).toContainEqual({ key: "transfer-success", from: null, to: "page" });
    const events = await db.pool.query<{ topic: string; aggregate_id: string; payload: Record<string, unknown> }>(`SELECT topic, aggregate_id, payload FROM outbox_events WHERE topic LIKE 'slo.alert.%'`);
    expect(events.rows.filter((e) => e.aggregate_id === "slo:transfer-success")).toEqual([
      { topic: "slo.alert.page", aggregate_id: "slo:transfer-success", payload: expect.objectContaining({ slo: "transfer-success", from: null, to: "page" }) },
    ]);
    // Evaluated again with nothing changed: no second event.
    expect((await evaluateAndPublish(db, new Date(now.getTime() + 1_000))).find((c) => c.key === "transfer-success")).toBeUndefined();
  });

  it("time-slice objectives count good sampled minutes", async () => {
    const now = new Date();
    await sampleMinute(db, new Date(now.getTime() - 60_000), 0);
    await sampleMinute(db, now, 50); // more stuck than the threshold of 10
    const status = await evaluateSlo(db.pool, await getSloDefinition(db, "few-stuck-transfers"), now);
    expect(status.counts).toEqual({ good: 1, valid: 2 });
  });

  it("are changed by admins only, against their version, with a reason, audited", async () => {
    const def = await getSloDefinition(db, "transfer-success");
    await expect(updateSloDefinition(db, viewer, { key: def.key, expectedVersion: def.version, reason: "tighter", changes: { target: 0.999 } })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(updateSloDefinition(db, admin, { key: def.key, expectedVersion: def.version, reason: "tighter", changes: { target: 1.5 } })).rejects.toMatchObject({ code: "BAD_INPUT", details: { field: "target" } });
    await expect(updateSloDefinition(db, admin, { key: def.key, expectedVersion: def.version + 1, reason: "tighter", changes: { target: 0.999 } })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    const updated = await updateSloDefinition(db, admin, { key: def.key, expectedVersion: def.version, reason: "tighter for Q1", changes: { target: 0.999 } });
    expect(updated).toMatchObject({ target: 0.999, version: def.version + 1 });
    const audit = await db.pool.query<{ action: string; reason: string; before: { target: number }; after: { target: number } }>(
      `SELECT action, reason, before, after FROM audit_log WHERE target_type = 'slo' AND target_id = $1`,
      [def.id],
    );
    expect(audit.rows).toEqual([{ action: "slo.update", reason: "tighter for Q1", before: expect.objectContaining({ target: 0.995 }), after: expect.objectContaining({ target: 0.999 }) }]);
    await expect(db.pool.query(`DELETE FROM slo_definitions WHERE id = $1`, [def.id])).rejects.toMatchObject({ code: "SL001" });
    expect((await listSloDefinitions(db)).length).toBe(7);
  });
});
