// The sandbox executes each idempotency key at most once, whatever happens: replays, conflicting
// bodies, 20 concurrent requests with one key, "executed then timed out" followed by a retry,
// "timed out before executing", and a restart of the sandbox itself. Its counters say so, and the
// double-payment counter can tell when it is not so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import type { SandboxHandle } from "../../server/sandbox/server";
import { sandboxStats } from "../../server/sandbox/bank";
import { adapterFor, admin, keyStats, payment, setFaults, signal, startReceiver, startTestSandbox, type Receiver } from "./sandbox-test-helpers";

let db: TestDb;
let receiver: Receiver;
let sandbox: SandboxHandle;

beforeAll(async () => {
  db = await createTestDb();
  receiver = await startReceiver();
  sandbox = await startTestSandbox(db, receiver.url);
});
afterAll(async () => {
  await sandbox?.close();
  await receiver?.close();
  await db?.drop();
});

describe("sandbox exactly-once", () => {
  it("executes a key once; the same request again replays the original", async () => {
    const adapter = adapterFor(sandbox);
    const p = payment();
    const first = await adapter.submit(p, signal());
    const second = await adapter.submit(p, signal());
    expect(first).toMatchObject({ kind: "accepted", httpStatus: 201, status: "acknowledged" });
    expect(second).toMatchObject({ kind: "accepted", httpStatus: 200 });
    expect(second.kind === "accepted" && first.kind === "accepted" && second.partnerRef === first.partnerRef).toBe(true);
    expect(await keyStats(sandbox, p.idempotencyKey)).toMatchObject({ executedCount: 1, replayCount: 1, submitRequests: 2 });
  });

  it("refuses the same key with a different body (409) and executes nothing more", async () => {
    const adapter = adapterFor(sandbox);
    const p = payment();
    await adapter.submit(p, signal());
    const conflict = await adapter.submit({ ...p, amountMinor: p.amountMinor + 1n }, signal());
    expect(conflict).toMatchObject({ kind: "rejected", httpStatus: 409 });
    expect((conflict as { reason: string }).reason).toMatch(/idempotency key conflict/);
    const s = await keyStats(sandbox, p.idempotencyKey);
    expect(s).toMatchObject({ executedCount: 1, replayCount: 0 });
    expect(s.payment).toMatchObject({ amount_minor: p.amountMinor.toString() });
  });

  it("executes once under 20 concurrent requests with the same key", async () => {
    const adapter = adapterFor(sandbox, 5_000);
    const p = payment({ rail: "batch" });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => adapter.submit(p, signal())));
    expect(outcomes.every((o) => o.kind === "accepted")).toBe(true);
    expect(new Set(outcomes.map((o) => (o.kind === "accepted" ? o.partnerRef : null))).size).toBe(1);
    expect(outcomes.filter((o) => o.kind === "accepted" && o.httpStatus === 201)).toHaveLength(1);
    expect(await keyStats(sandbox, p.idempotencyKey)).toMatchObject({ executedCount: 1, replayCount: 19, submitRequests: 20 });
  });

  it("executed, then timed out: the outcome is unknown, the retry replays it, executed once", async () => {
    await setFaults(sandbox, "instant", { timeoutProbability: 1, timeoutExecutedShare: 1, hangMs: 10_000 });
    const adapter = adapterFor(sandbox, 300);
    const p = payment();
    const first = await adapter.submit(p, signal());
    expect(first).toMatchObject({ kind: "unknown" });
    expect((first as { reason: string }).reason).toMatch(/no answer within 300 ms/);
    expect((await keyStats(sandbox, p.idempotencyKey)).executedCount).toBe(1);
    expect(await adapter.queryStatus(p.idempotencyKey, signal())).toMatchObject({ kind: "ok", status: "acknowledged" });
    await setFaults(sandbox, "instant", { timeoutProbability: 0 });
    const retry = await adapter.submit(p, signal());
    expect(retry).toMatchObject({ kind: "accepted", httpStatus: 200 });
    expect(await keyStats(sandbox, p.idempotencyKey)).toMatchObject({ executedCount: 1, replayCount: 1, submitRequests: 2 });
  });

  it("timed out before executing: nothing executed until the retry, which executes once", async () => {
    await setFaults(sandbox, "instant", { timeoutProbability: 1, timeoutExecutedShare: 0, hangMs: 10_000 });
    const adapter = adapterFor(sandbox, 300);
    const p = payment();
    expect(await adapter.submit(p, signal())).toMatchObject({ kind: "unknown" });
    expect((await keyStats(sandbox, p.idempotencyKey)).executedCount).toBe(0);
    expect(await adapter.queryStatus(p.idempotencyKey, signal())).toMatchObject({ kind: "ok", status: "not_found" });
    await setFaults(sandbox, "instant", { timeoutProbability: 0 });
    expect(await adapter.submit(p, signal())).toMatchObject({ kind: "accepted", httpStatus: 201 });
    expect(await keyStats(sandbox, p.idempotencyKey)).toMatchObject({ executedCount: 1, replayCount: 0, submitRequests: 2 });
  });

  it("answers 504 itself when the client waits longer than the hang", async () => {
    await setFaults(sandbox, "instant", { timeoutProbability: 1, timeoutExecutedShare: 0, hangMs: 200 });
    const outcome = await adapterFor(sandbox, 3_000).submit(payment(), signal());
    expect(outcome).toMatchObject({ kind: "unknown" });
    expect((outcome as { reason: string }).reason).toMatch(/gateway timeout/);
    await setFaults(sandbox, "instant", { timeoutProbability: 0 });
  });

  it("keeps its books across its own restart: the same key after a restart replays", async () => {
    const p = payment({ rail: "batch" });
    const before = await adapterFor(sandbox).submit(p, signal());
    await sandbox.close();
    sandbox = await startTestSandbox(db, receiver.url);
    const after = await adapterFor(sandbox).submit(p, signal());
    expect(after).toMatchObject({ kind: "accepted", httpStatus: 200 });
    expect(after.kind === "accepted" && before.kind === "accepted" && after.partnerRef === before.partnerRef).toBe(true);
    // Run-time configuration survives too.
    await setFaults(sandbox, "batch", { ackDelayMs: 1234 });
    await sandbox.close();
    sandbox = await startTestSandbox(db, receiver.url);
    expect((await admin<{ config: { ackDelayMs: number } }>(sandbox, "GET", "/admin/rails/batch/faults")).json.config.ackDelayMs).toBe(1234);
  });

  it("counts executions: no key twice, and a transfer paid under two keys shows as a double payment", async () => {
    const clean = await sandboxStats(sandbox.ctx);
    expect(clean.keysExecutedMoreThanOnce).toBe(0);
    expect(clean.transfersExecutedMoreThanOnce).toBe(0);
    expect(clean.executed).toBeGreaterThanOrEqual(6);
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    await adapterFor(sandbox).submit({ ...p, idempotencyKey: `${p.idempotencyKey}-again` }, signal());
    const stats = (await admin<{ transfersExecutedMoreThanOnce: number; keysExecutedMoreThanOnce: number }>(sandbox, "GET", "/admin/stats")).json;
    expect(stats).toMatchObject({ transfersExecutedMoreThanOnce: 1, keysExecutedMoreThanOnce: 0 });
  });

  it("the database itself refuses a second row for a key", async () => {
    const row = (await db.pool.query(`SELECT * FROM sandbox_payments LIMIT 1`)).rows[0] as Record<string, unknown>;
    await expect(db.pool.query(`INSERT INTO sandbox_payments SELECT ('sbx_copy_' || id), idempotency_key, request_hash, transfer_id, rail, amount_minor, currency, counterparty_name, counterparty_account, reference, status, planned_outcome FROM sandbox_payments WHERE id = $1`, [row.id])).rejects.toMatchObject({ code: "23505" });
  });
});
