/**
 * audit.verify no longer walks the log on a request (issue 14, point 9): the worker runs the walk,
 * one run at a time, and the API reads the last result; asking again while a run is open adds
 * nothing.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { userActor } from "../../server/core/actor";
import { stopSender } from "../../server/jobs/queues";
import { runAuditVerification } from "../../server/audit/verification-runs";
import { verifyAuditChain, type AuditVerification } from "../../server/audit/verify";
import { verifyAuditJob } from "../../server/worker/jobs";
import { appendAudit } from "../../server/audit/audit-log";
import { pgRunner } from "../../server/db/sql";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
  for (let i = 0; i < 5; i++) await appendAudit(pgRunner(t.pool), { actor: { type: "system", id: null, label: "system" }, action: "test.record", targetType: "test", targetId: String(i) });
});
afterAll(async () => {
  await stopSender(t.pool);
  await t?.drop();
});

const viewer = () => createCaller({ db: t, actor: userActor({ id: "00000000-0000-4000-8000-0000000000e1", email: "viewer@audit.test", name: "v", roles: ["viewer"] }), requestId: "r", ip: null });

describe("audit verification runs", () => {
  it("the API reads the stored result: a request queues one run, the worker's job stores it", async () => {
    expect(await viewer().audit.verify()).toEqual({ last: null, isPending: false });
    const asked = await viewer().audit.requestVerification();
    expect(asked.isPending).toBe(true);
    // Asking again while a run is open adds nothing.
    await viewer().audit.requestVerification();
    await viewer().audit.requestVerification();
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM audit_verifications`)).rows[0].n).toBe(1);

    const result = await verifyAuditJob.run(t, new Date());
    expect(result).toMatchObject({ isIntact: true });
    const state = await viewer().audit.verify();
    expect(state.isPending).toBe(false);
    expect(state.last).toMatchObject({ status: "done", trigger: "request", requestedBy: "viewer@audit.test", isIntact: true });
    expect(state.last!.checkedCount).toBeGreaterThanOrEqual(5);
  });

  it("audit.verify answers from the stored run, never from a walk of its own", async () => {
    await t.pool.query(`INSERT INTO audit_verifications (status, trigger, started_at, finished_at, is_intact, checked_count) VALUES ('done', 'schedule', now(), now(), true, 987654)`);
    expect((await viewer().audit.verify()).last?.checkedCount).toBe(987654);
  });

  it("runs one at a time across workers: a second run while one walks is skipped", async () => {
    let walks = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowVerify = async (pool: pg.Pool): Promise<AuditVerification> => {
      walks++;
      await gate;
      return verifyAuditChain(pool);
    };
    const first = runAuditVerification(t, { trigger: "schedule", verify: slowVerify });
    // Wait until the first run holds the lock and walks.
    await vi.waitFor(() => expect(walks).toBe(1), { timeout: 2_000, interval: 20 });
    expect(await runAuditVerification(t, { trigger: "schedule", verify: slowVerify })).toBeNull();
    release();
    expect((await first)?.status).toBe("done");
    expect(walks).toBe(1);
  });

  it("a walk that fails is recorded as failed, and the next request starts a new run", async () => {
    await viewer().audit.requestVerification();
    const run = await runAuditVerification(t, { trigger: "schedule", verify: () => Promise.reject(new Error("statement timeout")) });
    expect(run).toMatchObject({ status: "failed", error: "the walk failed: statement timeout" });
    expect((await viewer().audit.verify()).isPending).toBe(false);
    expect((await viewer().audit.requestVerification()).isPending).toBe(true);
  });
});
