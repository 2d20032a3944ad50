// The demo week's partner incident (server/demo/seed-slo.ts): an hour of 503s fails the outage's
// transfers through their retries, a slow period settles in minutes; the SLO figures then show a
// breach, a burned budget and the outage's blast radius, partner health an outage, and the
// incident is recorded once. A second run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { stopSender } from "../../server/jobs/queues";
import { seedDemoLedger } from "../../server/demo/seed-ledger";
import { DEMO_INCIDENT_TITLE, DEMO_OUTAGE_TRANSFERS, DEMO_SLOW_TRANSFERS, demoIncidentWindow, seedDemoSloIncident } from "../../server/demo/seed-slo";
import { getSloDefinition } from "../../server/slo/definitions";
import { evaluateSlo } from "../../server/slo/evaluate";
import { readSloSeries } from "../../server/slo/queries";
import { readBlastRadius } from "../../server/slo/incidents";
import { readPartnerHealth } from "../../server/slo/partner-health";

let db: TestDb;
const now = new Date();
beforeAll(async () => {
  db = await createTestDb();
  await seedDemoLedger(db);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

describe("the demo incident", () => {
  it("shows a breach, a burned budget, a blast radius and an outage, once", { timeout: 120_000 }, async () => {
    expect(await seedDemoSloIncident(db, { now })).toMatch(new RegExp(`${DEMO_OUTAGE_TRANSFERS + DEMO_SLOW_TRANSFERS} transfers created, incident opened \\(${DEMO_OUTAGE_TRANSFERS} transfers linked\\)`));
    const states = await db.pool.query<{ kind: string; state: string; n: string }>(
      `SELECT split_part(idempotency_key, ':', 3) AS kind, state::text AS state, count(*)::text AS n FROM transfers WHERE idempotency_key LIKE 'demo:slo:%' GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(states.rows).toEqual([
      { kind: "outage", state: "failed", n: String(DEMO_OUTAGE_TRANSFERS) },
      { kind: "slow", state: "settled", n: String(DEMO_SLOW_TRANSFERS) },
    ]);
    const w = demoIncidentWindow(now);

    const success = await evaluateSlo(db.pool, await getSloDefinition(db, "transfer-success"), now);
    expect(success.counts).toEqual({ good: DEMO_SLOW_TRANSFERS, valid: DEMO_SLOW_TRANSFERS + DEMO_OUTAGE_TRANSFERS });
    expect(success.budgetRemaining).toBeLessThan(0);

    const series = await readSloSeries(db, "transfer-success", new Date(now.getTime() - 7 * 86_400_000), now, now);
    expect(series.breaches.length).toBeGreaterThan(0);
    expect(series.breaches[0]!.from.getTime()).toBeGreaterThanOrEqual(w.outageFrom.getTime() - 3600_000);
    expect(series.incidents.map((i) => i.title)).toEqual([DEMO_INCIDENT_TITLE]);

    const latency = await readSloSeries(db, "instant-settled-30s", new Date(now.getTime() - 7 * 86_400_000), now, now);
    expect(latency.breaches.some((b) => b.from.getTime() >= w.slowFrom.getTime() - 3600_000 && b.from.getTime() < w.slowTo.getTime())).toBe(true);

    const radius = await readBlastRadius(db.pool, { from: w.slowFrom, to: w.slowTo, lateAfterMs: 30_000 });
    expect(radius.count).toBe(DEMO_SLOW_TRANSFERS);
    expect(radius.byCurrency.map((c) => c.currency)).toEqual(["EUR"]);

    const health = await readPartnerHealth(db.pool, new Date(now.getTime() - 7 * 86_400_000), now);
    expect(health.find((h) => h.rail === "instant")?.history.some((h) => h.state === "outage")).toBe(true);

    expect(await seedDemoSloIncident(db, { now })).toBe("demo incident: 0 transfers created, incident already recorded");
  });
});
