// The SLO API through the tRPC caller, one session per role: reading is for every role and for
// service keys with slo:read; changing objectives is for admins; incidents for operators and
// admins. Inputs are strict and errors typed.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { serviceActor, userActor } from "../../server/core/actor";
import type { RoleName } from "../../server/core/permissions";
import { ensureDefaultSlos } from "../../server/slo/definitions";
import { evaluateAndPublish } from "../../server/slo/evaluate";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  await ensureDefaultSlos(db);
  await evaluateAndPublish(db, new Date());
});
afterAll(async () => {
  await db?.drop();
});

const as = (roles: RoleName[]) => createCaller({ db, actor: userActor({ id: randomUUID(), email: `${roles.join("-")}@example.test`, name: "t", roles }), requestId: "r", ip: null });
const codeOf = (e: unknown) => (e as { code?: string }).code;

describe("slo router", () => {
  it("reads status, series, overview, partner health and the weekly report as a viewer", async () => {
    const viewer = as(["viewer"]);
    const status = await viewer.slo.status();
    expect(status.map((s) => s.definition.key).sort()).toEqual(["batch-settled-1d", "few-stuck-transfers", "instant-settled-30s", "recon-auto-match", "recon-breaks-3d", "transfer-success", "webhook-lag-30s"]);
    expect(status.every((s) => s.alert.level === "ok" && s.isAvailable)).toBe(true);
    const now = new Date();
    const series = await viewer.slo.series({ key: "transfer-success", from: new Date(now.getTime() - 28 * 86_400_000), to: now });
    expect(series).toMatchObject({ stepMinutes: 60, isAvailable: true, points: [], breaches: [] });
    await expect(viewer.slo.series({ key: "transfer-success", from: new Date(now.getTime() - 91 * 86_400_000), to: now })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(viewer.slo.series({ key: "nope", from: new Date(now.getTime() - 3600_000), to: now })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const overview = await viewer.slo.overview();
    expect(overview.slos).toHaveLength(7);
    expect(overview.reconciliation).toEqual({ isAvailable: true, openBreaks: 0, unreconciled: [] });
    expect(await viewer.slo.partnerHealth()).toEqual([]);
    const report = await viewer.slo.weeklyReport({ weeksOfTrend: 2 });
    expect(report.weeks).toHaveLength(3);
    const radius = await viewer.slo.blastRadius({ from: new Date(now.getTime() - 3600_000), to: now });
    expect(radius).toMatchObject({ count: 0, byCurrency: [], items: [], next: null });
  });

  it("lets a service key with slo:read read, never change", async () => {
    const svc = createCaller({ db, actor: serviceActor({ id: randomUUID(), name: "status-page", scopes: ["slo:read"] }), requestId: "r", ip: null });
    expect((await svc.slo.definitions.list()).length).toBe(7);
    const err = await svc.slo.definitions.update({ key: "transfer-success", expectedVersion: 1, reason: "x", changes: { target: 0.99 } }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe("FORBIDDEN");
  });

  it("changes objectives as an admin only, with strict input", async () => {
    const err = await as(["operator"]).slo.definitions.update({ key: "transfer-success", expectedVersion: 1, reason: "x", changes: { target: 0.99 } }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe("FORBIDDEN");
    const strict = await as(["admin"]).slo.definitions.update({ key: "transfer-success", expectedVersion: 1, reason: "x", changes: { target: 0.99, colour: "red" } } as never).catch((e: unknown) => e);
    expect(codeOf(strict)).toBe("BAD_REQUEST");
    const updated = await as(["admin"]).slo.definitions.update({ key: "transfer-success", expectedVersion: 1, reason: "quarterly review", changes: { target: 0.99, windowDays: 30 } });
    expect(updated).toMatchObject({ target: 0.99, windowDays: 30, version: 2 });
  });

  it("opens and resolves incidents as an operator; a viewer cannot", async () => {
    const start = new Date(Date.now() - 3600_000);
    expect(codeOf(await as(["viewer"]).slo.incidents.open({ title: "x", severity: "sev3", startedAt: start }).catch((e: unknown) => e))).toBe("FORBIDDEN");
    const op = as(["operator"]);
    const opened = await op.slo.incidents.open({ title: "Partner slow", severity: "sev3", startedAt: start, partner: "sandbox", linkBlastRadius: { to: new Date() } });
    expect(opened).toMatchObject({ status: "open", partner: "sandbox", linkedTransfers: 0 });
    const resolved = await op.slo.incidents.update({ incidentId: opened.id, expectedVersion: opened.version, reason: "recovered", changes: { endedAt: new Date() } });
    expect(resolved.status).toBe("resolved");
    expect((await op.slo.incidents.list({})).items.map((i) => i.id)).toContain(opened.id);
    const months = await op.slo.incidents.monthly({ months: 1 });
    expect(months[0]).toMatchObject({ count: 1, resolved: 1 });
  });
});
