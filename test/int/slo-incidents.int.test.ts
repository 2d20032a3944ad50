/**
 * Incidents, blast radius and partner health against a real PostgreSQL: the blast radius of a bad
 * interval counts the transfers we failed, settled late or still hold past the threshold (not the
 * customer's failures, not the ones on time), with exact totals per currency; an incident opened
 * from it links them, is audited and published, resolves, and shows in the monthly figures; partner
 * calls are sampled per minute and an outage is detected from their rates.
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
import { resetEnvForTests } from "../../server/env";
import { SYSTEM_ACTOR, userActor } from "../../server/core/actor";
import { listBlastRadius, listIncidents, listIncidentTransfers, openIncident, readBlastRadius, readMonthlyIncidents, updateIncident } from "../../server/slo/incidents";
import { backfillPartnerMinutes, readPartnerHealth } from "../../server/slo/partner-health";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
const wallets: Record<string, Account> = {};
const partner = fakePartner();
const operator = userActor({ id: randomUUID(), email: "ops@example.test", name: "Ops", roles: ["operator"] });
const viewer = userActor({ id: randomUUID(), email: "viewer@example.test", name: "Viewer", roles: ["viewer"] });
const base = new Date(Date.now() - 2 * 3600_000);
const at = (s: number) => new Date(base.getTime() + s * 1000);

const savedAdmission = process.env.TRANSFER_ADMISSION_ENABLED;
beforeAll(async () => {
  // Past-dated transfers left in backoff look overdue to admission control's wall clock.
  process.env.TRANSFER_ADMISSION_ENABLED = "false";
  resetEnvForTests();
  db = await createTestDb();
  for (const cur of ["EUR", "JPY"]) {
    const bank = await openAccount(db, { code: `bank:${cur}`, type: "asset", currency: cur });
    wallets[cur] = await openAccount(db, { code: `customer:incident:${cur}`, type: "liability", isNoOverdraft: true, currency: cur });
    await fund(db, bank.id, wallets[cur]!.id, 100_000_000n, cur);
  }
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  if (savedAdmission === undefined) delete process.env.TRANSFER_ADMISSION_ENABLED;
  else process.env.TRANSFER_ADMISSION_ENABLED = savedAdmission;
  resetEnvForTests();
});

async function transfer(createdAt: Date, amountMinor: bigint, currency = "EUR") {
  const { transfer: t } = await createTransfer(
    db,
    SYSTEM_ACTOR,
    { sourceAccountId: wallets[currency]!.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor, currency, rail: "instant", partner: "sandbox" },
    { idempotencyKey: randomUUID(), now: createdAt },
  );
  await advanceTransfer(db, t.id, { adapterFor: () => partner, now: () => createdAt });
  return t;
}

describe("blast radius and incidents", () => {
  it("counts what was hit in the interval, per currency, and an incident links it", async () => {
    const failedByPartner = await transfer(at(10), 1_000n);
    await applyPartnerEvent(db, { ...partnerEvent(failedByPartner.idempotencyKey, "failed", 1), reason: "bank_internal_error" }, { webhookEventId: null, now: at(12) });
    const customersFault = await transfer(at(20), 2_000n);
    await applyPartnerEvent(db, { ...partnerEvent(customersFault.idempotencyKey, "failed", 1), reason: "beneficiary_account_closed" }, { webhookEventId: null, now: at(22) });
    const late = await transfer(at(30), 3_000n, "JPY");
    await applyPartnerEvent(db, partnerEvent(late.idempotencyKey, "settled", 1), { webhookEventId: null, now: at(30 + 120) });
    const onTime = await transfer(at(40), 4_000n);
    await applyPartnerEvent(db, partnerEvent(onTime.idempotencyKey, "settled", 1), { webhookEventId: null, now: at(41) });
    const stillMoving = await transfer(at(50), 5_000n);
    const outside = await transfer(at(700), 6_000n); // after the interval, still moving

    const scope = { from: at(0), to: at(600), lateAfterMs: 30_000 };
    const radius = await readBlastRadius(db.pool, scope);
    expect(radius.count).toBe(3);
    expect(radius.byCurrency).toEqual([
      { currency: "EUR", count: 2, totalMinor: 6_000n },
      { currency: "JPY", count: 1, totalMinor: 3_000n },
    ]);
    // The success objective counts failures only; a latency objective lateness only.
    expect(await readBlastRadius(db.pool, { ...scope, hit: "failed" })).toMatchObject({ count: 1, byCurrency: [{ currency: "EUR", count: 1, totalMinor: 1_000n }] });
    expect(await readBlastRadius(db.pool, { ...scope, hit: "late" })).toMatchObject({ count: 2, byState: { settled: 1, submitted: 1 } });
    const page1 = await listBlastRadius(db.pool, { ...scope, limit: 2 });
    const page2 = await listBlastRadius(db.pool, { ...scope, limit: 2, after: page1.next });
    expect([...page1.items, ...page2.items].map((t) => t.id)).toEqual([stillMoving.id, late.id, failedByPartner.id]);
    expect(page2.next).toBeNull();
    await expect(readBlastRadius(db.pool, { from: at(0), to: new Date(at(0).getTime() + 25 * 3600_000) })).rejects.toMatchObject({ code: "BAD_INPUT", details: { field: "to" } });

    await expect(openIncident(db, viewer, { title: "x", severity: "sev2", startedAt: at(0) })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(openIncident(db, operator, { title: "x", severity: "critical", startedAt: at(0) })).rejects.toMatchObject({ code: "BAD_INPUT", details: { field: "severity" } });
    const incident = await openIncident(db, operator, {
      title: "Sandbox failing and slow",
      severity: "sev2",
      startedAt: at(0),
      partner: "sandbox",
      sloKey: "transfer-success",
      notes: "Opened from the bad interval on the dashboard.",
      linkBlastRadius: { to: at(600), lateAfterMs: 30_000 },
    });
    expect(incident).toMatchObject({ status: "open", linkedTransfers: 3, openedBy: "ops@example.test" });
    const linked = await listIncidentTransfers(db.pool, incident.id, { limit: 10 });
    expect(linked.items.map((t) => t.id).sort()).toEqual([stillMoving.id, late.id, failedByPartner.id].sort());
    expect(linked.items.map((t) => t.id)).not.toContain(outside.id);

    await expect(updateIncident(db, operator, { incidentId: incident.id, expectedVersion: incident.version, reason: "fixed", changes: { endedAt: at(-10) } })).rejects.toMatchObject({ code: "BAD_INPUT", details: { field: "endedAt" } });
    const resolved = await updateIncident(db, operator, { incidentId: incident.id, expectedVersion: incident.version, reason: "partner recovered", changes: { endedAt: at(3600) } });
    expect(resolved).toMatchObject({ status: "resolved", version: incident.version + 1 });
    await expect(updateIncident(db, operator, { incidentId: incident.id, expectedVersion: incident.version, reason: "again", changes: { notes: "x" } })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });

    const topics = await db.pool.query<{ topic: string }>(`SELECT topic FROM outbox_events WHERE aggregate_id = $1 ORDER BY id`, [`incident:${incident.id}`]);
    expect(topics.rows.map((r) => r.topic)).toEqual(["incident.opened", "incident.resolved"]);
    const audit = await db.pool.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_type = 'incident' AND target_id = $1 ORDER BY id`, [incident.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(["incident.open", "incident.resolve"]);
    await expect(db.pool.query(`DELETE FROM incidents WHERE id = $1`, [incident.id])).rejects.toMatchObject({ code: "SL002" });

    const months = await readMonthlyIncidents(db.pool, new Date(), 2);
    const thisMonth = months.find((m) => m.month.getTime() <= base.getTime() && base.getTime() < m.month.getTime() + 32 * 86_400_000 && m.count > 0)!;
    expect(thisMonth).toMatchObject({ count: 1, resolved: 1, meanSecondsToResolve: 3600, bySeverity: { sev2: 1 } });
    expect((await listIncidents(db.pool, { from: at(0), to: at(10) })).items.map((i) => i.id)).toEqual([incident.id]);
    expect((await listIncidents(db.pool, { isOpenOnly: true })).items).toEqual([]);
  });
});

describe("partner health", () => {
  it("samples calls per minute and detects an outage from the rates", async () => {
    const now = new Date();
    const minuteAgo = (m: number) => new Date(Math.floor(now.getTime() / 60_000) * 60_000 - m * 60_000 + 5_000);
    // Three minutes ago all accepted; the last two minutes every call answered 503.
    partner.script.push("accepted", "accepted", "accepted");
    for (let i = 0; i < 3; i++) await transfer(minuteAgo(3), 100n);
    partner.script.push(...Array<"retryable">(8).fill("retryable"));
    for (let i = 0; i < 8; i++) await transfer(minuteAgo(1 + (i % 2)), 100n);
    await backfillPartnerMinutes(db.pool, new Date(now.getTime() - 3 * 3600_000), new Date(now.getTime() + 60_000));
    const health = await readPartnerHealth(db.pool, new Date(now.getTime() - 3 * 3600_000), now);
    const instant = health.find((h) => h.partner === "sandbox" && h.rail === "instant")!;
    expect(instant.state).toBe("outage");
    expect(instant.current).toMatchObject({ calls: 11, errorRate: 8 / 11 });
    expect(instant.history.at(-1)).toMatchObject({ state: "outage" });
  });
});
