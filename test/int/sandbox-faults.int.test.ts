// Each sandbox behaviour and injected fault is observable from the outside: the two rails and the
// cut-off, signed webhooks and their retries, 5xx, the outage switch, duplicate and out-of-order
// webhooks, failures, late returns, missing and extra settlement-file lines, seeded dice, and the
// request limits. Ticks are driven by the test (with future clocks where time must pass).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import type { SandboxHandle } from "../../server/sandbox/server";
import { NO_FAULTS, faultRoll, rollHits } from "../../server/sandbox/rail-config";
import { verifySignature } from "../../server/core/signature";
import type pg from "pg";
import { CLAIM_BATCH, MAX_DELIVERY_ATTEMPTS, RECORD_ATTEMPTS, RECORD_GROUP, deliverDueWebhooks } from "../../server/sandbox/webhook-sender";
import { TEST_SECRET, adapterFor, admin, eventually, keyStats, payment, setFaults, signal, startReceiver, startTestSandbox, type Receiver } from "./sandbox-test-helpers";

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
beforeEach(async () => {
  // Flush what earlier tests left due (settlements, webhooks), so each test sees only its own.
  await sandbox.tick(later(10 * 60_000));
  for (const rail of ["instant", "batch"] as const) await setFaults(sandbox, rail, { ...NO_FAULTS, settleDelayMsMin: 0, settleDelayMsMax: 0, ackDelayMs: 0, seed: null });
  await admin(sandbox, "POST", "/admin/outage", { isOn: false });
  receiver.received.length = 0;
  receiver.script.length = 0;
});

const later = (ms: number) => new Date(Date.now() + ms);
const events = (key: string) =>
  receiver.received
    .map((r) => ({ headers: r.headers, body: JSON.parse(r.body) as { id: string; type: string; data: { idempotency_key: string; reason: string | null } } }))
    .filter((e) => e.body.data.idempotency_key === key);
const typesFor = (key: string) => events(key).map((e) => e.body.type);

describe("rails", () => {
  it("instant: acknowledged in the response, then one signed `settled` webhook", async () => {
    const p = payment();
    expect(await adapterFor(sandbox).submit(p, signal())).toMatchObject({ kind: "accepted", status: "acknowledged" });
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled"]);
    const delivered = receiver.received.find((r) => r.body.includes(p.idempotencyKey))!;
    expect(verifySignature(delivered.headers["x-signature"] as string, delivered.body, [TEST_SECRET], new Date())).toEqual({ ok: true });
    expect(delivered.headers["x-event-id"]).toBe(JSON.parse(delivered.body).id);
    expect(await adapterFor(sandbox).queryStatus(p.idempotencyKey, signal())).toMatchObject({ kind: "ok", status: "settled" });
  });

  it("instant: settles only when its delay has passed", async () => {
    await setFaults(sandbox, "instant", { settleDelayMsMin: 60_000, settleDelayMsMax: 60_000 });
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual([]);
    await sandbox.tick(later(61_000));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled"]);
  });

  it("batch: submitted, `acknowledged` webhook, settles at the cut-off into the settlement file", async () => {
    await setFaults(sandbox, "batch", { ackDelayMs: 500 });
    const adapter = adapterFor(sandbox);
    const p = payment({ rail: "batch", amountMinor: 9_007_199_254_740_993n });
    expect(await adapter.submit(p, signal())).toMatchObject({ kind: "accepted", status: "submitted" });
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual([]);
    await sandbox.tick(later(600));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.acknowledged"]);
    const cut = await admin<{ settled: number; valueDate: string }>(sandbox, "POST", "/admin/cutoff/batch");
    expect(cut.json.settled).toBeGreaterThanOrEqual(1);
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.acknowledged", "payment.settled"]);
    const file = await adapter.fetchSettlementFile("batch", cut.json.valueDate, signal());
    const line = file.lines.find((l) => l.idempotencyKey === p.idempotencyKey);
    expect(line).toMatchObject({ amountMinor: 9_007_199_254_740_993n, currency: "EUR", status: "settled", valueDate: cut.json.valueDate, reference: p.reference });
  });

  it("batch: the scheduled cut-off runs when its interval has passed", async () => {
    await setFaults(sandbox, "batch", { cutoffIntervalSeconds: 5 });
    const p = payment({ rail: "batch" });
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.acknowledged"]);
    const r = await sandbox.tick(later(6_000));
    expect(r.cutoffs).toBe(1);
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.acknowledged", "payment.settled"]);
    await setFaults(sandbox, "batch", { cutoffIntervalSeconds: 3600 });
  });
});

describe("faults", () => {
  it("5xx: answers 500, executes nothing; the retry (next attempt) can succeed", async () => {
    await setFaults(sandbox, "instant", { errorProbability: 1 });
    const p = payment();
    expect(await adapterFor(sandbox).submit(p, signal())).toMatchObject({ kind: "retryable", httpStatus: 500 });
    expect((await keyStats(sandbox, p.idempotencyKey)).executedCount).toBe(0);
    await setFaults(sandbox, "instant", { errorProbability: 0 });
    expect(await adapterFor(sandbox).submit(p, signal())).toMatchObject({ kind: "accepted", httpStatus: 201 });
  });

  it("outage switch: every /v1 call answers 503 and nothing executes; admin keeps working", async () => {
    await admin(sandbox, "POST", "/admin/outage", { isOn: true });
    const adapter = adapterFor(sandbox);
    const p = payment();
    expect(await adapter.submit(p, signal())).toMatchObject({ kind: "retryable", httpStatus: 503 });
    expect(await adapter.queryStatus(p.idempotencyKey, signal())).toMatchObject({ kind: "unavailable" });
    await expect(adapter.fetchSettlementFile("instant", "2026-11-21", signal())).rejects.toMatchObject({ code: "PARTNER_UNAVAILABLE" });
    expect((await admin(sandbox, "GET", "/admin/outage")).json).toEqual({ isOn: true });
    expect((await keyStats(sandbox, p.idempotencyKey)).executedCount).toBe(0);
    await admin(sandbox, "POST", "/admin/outage", { isOn: false });
    expect(await adapter.submit(p, signal())).toMatchObject({ kind: "accepted" });
  });

  it("duplicate webhooks: the same event id is delivered twice", async () => {
    await setFaults(sandbox, "instant", { duplicateWebhookProbability: 1 });
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    await sandbox.tick(later(2_000));
    const got = events(p.idempotencyKey);
    expect(got.map((e) => e.body.type)).toEqual(["payment.settled", "payment.settled"]);
    expect(got[0]!.body.id).toBe(got[1]!.body.id);
    expect(got[0]!.headers["x-event-id"]).toBe(got[1]!.headers["x-event-id"]);
  });

  it("out of order (instant): `settled` arrives before `acknowledged`", async () => {
    await setFaults(sandbox, "instant", { outOfOrderProbability: 1 });
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    await sandbox.tick(later(1_000));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled", "payment.acknowledged"]);
  });

  it("out of order (batch): the acknowledgement is held back until after the settlement", async () => {
    await setFaults(sandbox, "batch", { outOfOrderProbability: 1 });
    const p = payment({ rail: "batch" });
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual([]);
    await admin(sandbox, "POST", "/admin/cutoff/batch");
    await sandbox.tick(later(1_000));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled", "payment.acknowledged"]);
  });

  it("failure after acceptance: a `failed` webhook with a reason, no settlement line", async () => {
    await setFaults(sandbox, "instant", { failProbability: 1 });
    const adapter = adapterFor(sandbox);
    const p = payment();
    await adapter.submit(p, signal());
    await sandbox.tick();
    const got = events(p.idempotencyKey);
    expect(got.map((e) => e.body.type)).toEqual(["payment.failed"]);
    expect(got[0]!.body.data.reason).toMatch(/^beneficiary|^compliance/);
    expect(await adapter.queryStatus(p.idempotencyKey, signal())).toMatchObject({ status: "failed" });
    const file = await adapter.fetchSettlementFile("instant", new Date().toISOString().slice(0, 10), signal());
    expect(file.lines.some((l) => l.idempotencyKey === p.idempotencyKey)).toBe(false);
  });

  it("late return: `returned` after `settled`, and a returned line in the file", async () => {
    await setFaults(sandbox, "instant", { returnProbability: 1, returnDelayMs: 5_000 });
    const adapter = adapterFor(sandbox);
    const p = payment();
    await adapter.submit(p, signal());
    await sandbox.tick();
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled"]);
    await sandbox.tick(later(6_000));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled", "payment.returned"]);
    expect(await adapter.queryStatus(p.idempotencyKey, signal())).toMatchObject({ status: "returned" });
    const file = await adapter.fetchSettlementFile("instant", new Date().toISOString().slice(0, 10), signal());
    expect(file.lines.filter((l) => l.idempotencyKey === p.idempotencyKey).map((l) => l.status)).toEqual(["settled", "returned"]);
  });

  it("missing and extra settlement-file lines", async () => {
    const adapter = adapterFor(sandbox);
    const today = new Date().toISOString().slice(0, 10);
    const before = (await adapter.fetchSettlementFile("batch", today, signal())).lines.length;
    await setFaults(sandbox, "batch", { missingLineProbability: 1 });
    const missing = payment({ rail: "batch" });
    await adapter.submit(missing, signal());
    const cut1 = await admin<{ settled: number; linesWithheld: number; linesInjected: number }>(sandbox, "POST", "/admin/cutoff/batch");
    expect(cut1.json).toMatchObject({ settled: 1, linesWithheld: 1, linesInjected: 0 });
    await setFaults(sandbox, "batch", { missingLineProbability: 0, extraLineProbability: 1 });
    const extra = payment({ rail: "batch" });
    await adapter.submit(extra, signal());
    const cut2 = await admin<{ settled: number; linesWithheld: number; linesInjected: number }>(sandbox, "POST", "/admin/cutoff/batch");
    expect(cut2.json).toMatchObject({ settled: 1, linesWithheld: 0, linesInjected: 1 });
    const file = await adapter.fetchSettlementFile("batch", today, signal());
    expect(file.lines.length).toBe(before + 2);
    expect((await keyStats(sandbox, missing.idempotencyKey)).payment).toMatchObject({ is_line_withheld: true });
    expect(file.lines.some((l) => l.idempotencyKey === missing.idempotencyKey)).toBe(false);
    expect(file.lines.some((l) => l.idempotencyKey === extra.idempotencyKey)).toBe(true);
    expect(file.lines.some((l) => l.idempotencyKey === "" && l.reference === "unidentified item")).toBe(true);
    // Both settled at the bank regardless of the file.
    expect(await adapter.queryStatus(missing.idempotencyKey, signal())).toMatchObject({ status: "settled" });
  });

  it("seeded dice: which keys meet a 30% fault is predictable from the seed", async () => {
    await setFaults(sandbox, "instant", { errorProbability: 0.3, seed: "reproducible" });
    const adapter = adapterFor(sandbox);
    const keys = Array.from({ length: 30 }, (_, i) => `seeded-${Date.now()}-${i}`);
    const outcomes = [];
    for (const k of keys) outcomes.push((await adapter.submit(payment({ idempotencyKey: k }), signal())).kind);
    const expected = keys.map((k) => (rollHits(0.3, faultRoll("reproducible", k, 1, "error")) ? "retryable" : "accepted"));
    expect(outcomes).toEqual(expected);
    expect(expected).toContain("retryable");
    expect(expected).toContain("accepted");
  });
});

describe("webhook delivery", () => {
  it("retries with backoff until our side answers 2xx", async () => {
    receiver.script.push(500, 503);
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    await sandbox.tick();
    await sandbox.tick(later(5_000));
    await sandbox.tick(later(60_000));
    expect(typesFor(p.idempotencyKey)).toEqual(["payment.settled", "payment.settled", "payment.settled"]);
    expect(events(p.idempotencyKey).map((e) => e.headers["x-delivery-attempt"])).toEqual(["1", "2", "3"]);
    const row = (await db.pool.query(`SELECT d.status, d.attempts FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = $1`, [p.idempotencyKey])).rows[0];
    expect(row).toEqual({ status: "delivered", attempts: 3 });
  });

  it("spreads deliveries over several targets in turn, each delivered once", async () => {
    const second = await startReceiver();
    const spread = await startTestSandbox(db, receiver.url, { webhookTargetUrls: [receiver.url, second.url] });
    try {
      const ps = Array.from({ length: 4 }, () => payment());
      for (const p of ps) await adapterFor(spread).submit(p, signal());
      await spread.tick();
      expect(receiver.received).toHaveLength(2);
      expect(second.received).toHaveLength(2);
      const keys = [...receiver.received, ...second.received].map((r) => (JSON.parse(r.body) as { data: { idempotency_key: string } }).data.idempotency_key);
      expect(keys.sort()).toEqual(ps.map((p) => p.idempotencyKey).sort());
    } finally {
      await spread.close();
      await second.close();
    }
  });

  it("an outcome whose write fails is written again: each copy is sent once and none is left leased", async () => {
    const failing = failingOutcomeWrites(db.pool, 2);
    const flaky = await startTestSandbox(db, receiver.url, { pool: failing.pool });
    try {
      const ps = Array.from({ length: RECORD_GROUP + 8 }, () => payment());
      for (const p of ps) await adapterFor(flaky).submit(p, signal());
      await flaky.tick();
      expect(failing.failures()).toBe(2);
      await flaky.tick(later(10 * 60_000));
      const keys = receiver.received.map((r) => (JSON.parse(r.body) as { data: { idempotency_key: string } }).data.idempotency_key);
      expect(keys.sort()).toEqual(ps.map((p) => p.idempotencyKey).sort());
      const rows = (await db.pool.query(`SELECT d.status, d.attempts, d.locked_until FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = ANY($1)`, [ps.map((p) => p.idempotencyKey)])).rows;
      expect(rows).toHaveLength(ps.length);
      for (const row of rows) expect(row).toEqual({ status: "delivered", attempts: 1, locked_until: null });
    } finally {
      await flaky.close();
    }
  });

  it("when outcomes cannot be written at all, a call waits for every copy it claimed, says so, and the copies are sent again only after their lease", async () => {
    // A sandbox without a secret advances its books but sends nothing: its deliveries wait. The
    // counts below are exact because beforeEach flushed every earlier test's deliveries.
    const silent = await startTestSandbox(db, receiver.url, { webhookSecret: null });
    const slow = await startReceiver(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return new Response("{}", { status: 200 });
    });
    try {
      const ps = Array.from({ length: RECORD_GROUP + 8 }, () => payment());
      for (const p of ps) await adapterFor(silent).submit(p, signal());
      await silent.tick();
      const failing = failingOutcomeWrites(db.pool, Number.POSITIVE_INFINITY);
      const now = new Date();
      const first = await deliverDueWebhooks({ pool: failing.pool, targetUrls: [slow.url], secret: TEST_SECRET }, now);
      expect(first).toMatchObject({ claimed: ps.length, delivered: 0, unrecorded: ps.length });
      expect(first.recordError).toMatch(/outcome write refused by the test/);
      expect(slow.received).toHaveLength(ps.length);
      expect(failing.failures()).toBe(2 * RECORD_ATTEMPTS);
      // Still leased: a call within the lease claims none of them.
      const again = await deliverDueWebhooks({ pool: db.pool, targetUrls: [slow.url], secret: TEST_SECRET }, new Date(now.getTime() + 1_000));
      expect(again.claimed).toBe(0);
      // After the lease they are sent once more (at least once; the receiver deduplicates by event id).
      const after = await deliverDueWebhooks({ pool: db.pool, targetUrls: [slow.url], secret: TEST_SECRET }, new Date(now.getTime() + 60_000));
      expect(after).toMatchObject({ claimed: ps.length, delivered: ps.length, unrecorded: 0, recordError: null });
      expect(slow.received).toHaveLength(2 * ps.length);
    } finally {
      await silent.close();
      await slow.close();
    }
  });

  it("a slow receiver holds back only its own payment's copy: one call claims and sends what became due behind it", async () => {
    const silent = await startTestSandbox(db, receiver.url, { webhookSecret: null });
    let slowAnsweredAt = Number.POSITIVE_INFINITY;
    let isFirst = true;
    const slowFirst = await startReceiver(async () => {
      if (isFirst) {
        isFirst = false;
        await new Promise((r) => setTimeout(r, 1_500));
        slowAnsweredAt = Date.now();
      }
      return new Response("{}", { status: 200 });
    });
    try {
      const ps = Array.from({ length: CLAIM_BATCH + 40 }, () => payment());
      for (const p of ps) await adapterFor(silent).submit(p, signal());
      await silent.tick();
      const sent = await deliverDueWebhooks({ pool: db.pool, targetUrls: [slowFirst.url], secret: TEST_SECRET });
      // More than one claim's worth in one call, every copy delivered once.
      expect(sent).toMatchObject({ claimed: ps.length, delivered: ps.length, failed: 0, unrecorded: 0 });
      expect(slowFirst.received).toHaveLength(ps.length);
      // Everything but the slow copy reached the receiver while it was still answering.
      expect(slowFirst.received.filter((r) => r.at < slowAnsweredAt)).toHaveLength(ps.length);
      const rows = (await db.pool.query(`SELECT d.status, d.attempts FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = ANY($1)`, [ps.map((p) => p.idempotencyKey)])).rows;
      expect(rows).toHaveLength(ps.length);
      for (const row of rows) expect(row).toEqual({ status: "delivered", attempts: 1 });
    } finally {
      await silent.close();
      await slowFirst.close();
    }
  });

  it("a payment's later copy, due behind a claim's worth of others, waits for its earlier copy's answer", async () => {
    const silent = await startTestSandbox(db, receiver.url, { webhookSecret: null });
    const arrivals: { key: string; at: number }[] = [];
    let slowAnsweredAt = Number.POSITIVE_INFINITY;
    let slowKey = "";
    const target = await startReceiver(async (req) => {
      const key = (JSON.parse(await req.text()) as { data: { idempotency_key: string } }).data.idempotency_key;
      arrivals.push({ key, at: Date.now() });
      if (key === slowKey && arrivals.filter((a) => a.key === key).length === 1) {
        await new Promise((r) => setTimeout(r, 1_500));
        slowAnsweredAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 5));
      return new Response("{}", { status: 200 });
    });
    try {
      const ps = Array.from({ length: CLAIM_BATCH + 100 }, () => payment());
      for (const p of ps) await adapterFor(silent).submit(p, signal());
      await silent.tick();
      slowKey = ps[0]!.idempotencyKey;
      const paymentOf = async (key: string) => (await db.pool.query<{ id: string }>(`SELECT id::text FROM sandbox_payments WHERE idempotency_key = $1`, [key])).rows[0]!.id;
      const slowPayment = await paymentOf(slowKey);
      const now = new Date();
      // Its first copy is due first, everything else after it, and its second copy last: the first
      // claim takes the first copy, a refill reaches the second while the first is still unanswered.
      await db.pool.query(`UPDATE sandbox_webhook_deliveries SET next_attempt_at = $2 WHERE payment_id = ANY($1) AND status = 'pending'`, [await Promise.all(ps.slice(1).map((p) => paymentOf(p.idempotencyKey))), new Date(now.getTime() - 5_000)]);
      await db.pool.query(`UPDATE sandbox_webhook_deliveries SET next_attempt_at = $2 WHERE payment_id = $1`, [slowPayment, new Date(now.getTime() - 10_000)]);
      await db.pool.query(
        `INSERT INTO sandbox_webhook_deliveries (event_id, copy, payment_id, event_type, body, next_attempt_at)
         SELECT event_id, copy + 1, payment_id, event_type, body, $2 FROM sandbox_webhook_deliveries WHERE payment_id = $1`,
        [slowPayment, new Date(now.getTime() - 1_000)],
      );
      const first = await deliverDueWebhooks({ pool: db.pool, targetUrls: [target.url], secret: TEST_SECRET }, now);
      expect(first.claimed).toBeGreaterThan(CLAIM_BATCH);
      if (first.hasMore || first.claimed < ps.length + 1) await deliverDueWebhooks({ pool: db.pool, targetUrls: [target.url], secret: TEST_SECRET }, new Date(now.getTime() + 2_000));
      const slow = arrivals.filter((a) => a.key === slowKey);
      expect(slow).toHaveLength(2);
      expect(slow[1]!.at).toBeGreaterThanOrEqual(slowAnsweredAt);
      expect(arrivals).toHaveLength(ps.length + 1);
    } finally {
      await silent.close();
      await target.close();
    }
  });

  it("a later claim that fails ends the call's claiming; what it claimed is still sent and recorded, the rest waits for the next call", async () => {
    const silent = await startTestSandbox(db, receiver.url, { webhookSecret: null });
    const target = await startReceiver(async () => {
      await new Promise((r) => setTimeout(r, 10));
      return new Response("{}", { status: 200 });
    });
    try {
      const ps = Array.from({ length: CLAIM_BATCH + 40 }, () => payment());
      for (const p of ps) await adapterFor(silent).submit(p, signal());
      await silent.tick();
      const failing = failingQueries(db.pool, "SET locked_until = $3", Number.POSITIVE_INFINITY, 1);
      const first = await deliverDueWebhooks({ pool: failing.pool, targetUrls: [target.url], secret: TEST_SECRET });
      expect(first).toMatchObject({ claimed: CLAIM_BATCH, delivered: CLAIM_BATCH, unrecorded: 0, hasMore: false });
      expect(first.claimError).toMatch(/refused by the test/);
      expect(target.received).toHaveLength(CLAIM_BATCH);
      const second = await deliverDueWebhooks({ pool: db.pool, targetUrls: [target.url], secret: TEST_SECRET });
      expect(second).toMatchObject({ claimed: 40, delivered: 40, claimError: null });
      const rows = (await db.pool.query(`SELECT d.status, d.attempts, d.locked_until FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = ANY($1)`, [ps.map((p) => p.idempotencyKey)])).rows;
      expect(rows).toHaveLength(ps.length);
      for (const row of rows) expect(row).toEqual({ status: "delivered", attempts: 1, locked_until: null });
    } finally {
      await silent.close();
      await target.close();
    }
  });

  it("a send that outlasts its lease does not write its outcome over the newer claim's", async () => {
    const silent = await startTestSandbox(db, receiver.url, { webhookSecret: null });
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const stuck = await startReceiver(async () => {
      await gate;
      return new Response("{}", { status: 500 });
    });
    const fast = await startReceiver();
    try {
      const ps = Array.from({ length: 3 }, () => payment());
      for (const p of ps) await adapterFor(silent).submit(p, signal());
      await silent.tick();
      const now = new Date();
      // The first claim's sends hang; after its lease a second claim takes the copies and delivers them.
      const first = deliverDueWebhooks({ pool: db.pool, targetUrls: [stuck.url], secret: TEST_SECRET }, now);
      await eventually(() => stuck.received.length === ps.length);
      const second = await deliverDueWebhooks({ pool: db.pool, targetUrls: [fast.url], secret: TEST_SECRET }, new Date(now.getTime() + 60_000));
      expect(second).toMatchObject({ claimed: ps.length, delivered: ps.length, leaseLost: 0 });
      release();
      // The first claim's late 500s would have set the copies pending again (and sent them a third time).
      expect(await first).toMatchObject({ claimed: ps.length, leaseLost: ps.length });
      const rows = (await db.pool.query(`SELECT d.status, d.attempts FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = ANY($1)`, [ps.map((p) => p.idempotencyKey)])).rows;
      expect(rows).toEqual(ps.map(() => ({ status: "delivered", attempts: 2 })));
    } finally {
      release();
      await silent.close();
      await stuck.close();
      await fast.close();
    }
  });

  it("gives up after the attempt limit (abandoned), bounded", async () => {
    receiver.script.push(...Array.from({ length: MAX_DELIVERY_ATTEMPTS + 5 }, () => 500));
    const p = payment();
    await adapterFor(sandbox).submit(p, signal());
    for (let i = 0; i < MAX_DELIVERY_ATTEMPTS + 3; i++) await sandbox.tick(later(i * 120_000));
    expect(typesFor(p.idempotencyKey)).toHaveLength(MAX_DELIVERY_ATTEMPTS);
    const row = (await db.pool.query(`SELECT d.status FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = $1`, [p.idempotencyKey])).rows[0];
    expect(row).toEqual({ status: "abandoned" });
    receiver.script.length = 0;
  });
});

describe("API limits and validation", () => {
  const post = (headers: Record<string, string>, body: string) => fetch(`${sandbox.url}/v1/payments`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const valid = JSON.stringify({ transfer_id: "t1", rail: "instant", amount_minor: "100", currency: "EUR", counterparty: { name: "A", account: "B" }, reference: "" });

  it.each<[string, Record<string, string>, string, number, string]>([
    ["no Idempotency-Key", {}, valid, 400, "idempotency_key_required"],
    ["an over-long key", { "idempotency-key": "k".repeat(256) }, valid, 400, "idempotency_key_invalid"],
    ["a decimal amount", { "idempotency-key": "v1" }, valid.replace('"100"', '"1.00"'), 400, "invalid_request"],
    ["a number amount", { "idempotency-key": "v2" }, valid.replace('"100"', "100"), 400, "invalid_request"],
    ["an unknown currency", { "idempotency-key": "v3" }, valid.replace("EUR", "XXX"), 400, "invalid_request"],
    ["an unknown field", { "idempotency-key": "v4" }, valid.replace('"reference"', '"extra":1,"reference"'), 400, "invalid_request"],
    ["not JSON", { "idempotency-key": "v5" }, "{", 400, "invalid_json"],
    ["a refused beneficiary", { "idempotency-key": "v6" }, valid.replace('"account":"B"', '"account":"XX-REJECT-1"'), 422, "beneficiary_account_invalid"],
    ["a body over 64 KiB", { "idempotency-key": "v7" }, valid.replace('"reference":""', `"reference":"${"x".repeat(70_000)}"`), 413, "body_too_large"],
  ])("refuses %s", async (_name, headers, body, status, code) => {
    const res = await post(headers, body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("refuses an invalid fault configuration and keeps the old one", async () => {
    const bad = await setFaults(sandbox, "instant", { timeoutProbability: 2 });
    expect(bad.status).toBe(400);
    expect((await admin<{ config: { timeoutProbability: number } }>(sandbox, "GET", "/admin/rails/instant/faults")).json.config.timeoutProbability).toBe(0);
    expect((await setFaults(sandbox, "wire" as "instant", {})).status).toBe(404);
  });

  it("serves a settlement file that parses, with a download name", async () => {
    const res = await fetch(`${sandbox.url}/v1/settlement-files/batch/2026-01-01`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/sandbox-batch-2026-01-01\.csv/);
    expect(await res.text()).toBe("partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date\n");
  });
});

describe("background loops", () => {
  it("a ticking sandbox settles and delivers on its own, also for payments another sandbox process took", async () => {
    const live = await startTestSandbox(db, receiver.url, { isTicking: true, tickMs: 20 });
    try {
      const viaOther = payment();
      await adapterFor(sandbox).submit(viaOther, signal());
      const viaLive = payment();
      await adapterFor(live).submit(viaLive, signal());
      await eventually(() => typesFor(viaOther.idempotencyKey).length === 1 && typesFor(viaLive.idempotencyKey).length === 1);
      expect(typesFor(viaOther.idempotencyKey)).toEqual(["payment.settled"]);
      expect(typesFor(viaLive.idempotencyKey)).toEqual(["payment.settled"]);
    } finally {
      await live.close();
    }
  });
});

/** The pool, except that its first `count` writes of webhook outcomes fail, as a busy pool's would. */
function failingOutcomeWrites(pool: pg.Pool, count: number): { pool: pg.Pool; failures(): number } {
  return failingQueries(pool, "last_http_status = u.http_status", count);
}

/** A pool whose statements containing `text` fail, `count` times, after the first `spared` of them succeed. */
function failingQueries(pool: pg.Pool, text: string, count: number, spared = 0): { pool: pg.Pool; failures(): number } {
  let failures = 0;
  let seen = 0;
  const query = (...args: unknown[]) => {
    const sql = typeof args[0] === "string" ? args[0] : "";
    if (sql.includes(text) && seen++ >= spared && failures < count) {
      failures++;
      return Promise.reject(new Error(text.startsWith("last_http") ? "outcome write refused by the test" : "statement refused by the test"));
    }
    return (pool.query as (...a: unknown[]) => unknown)(...args);
  };
  const wrapped = new Proxy(pool, {
    get(target, key) {
      if (key === "query") return query;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { pool: wrapped, failures: () => failures };
}
