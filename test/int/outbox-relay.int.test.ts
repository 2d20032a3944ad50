/**
 * The outbox relay against a real database and real HTTP receivers on 127.0.0.1: signed
 * deliveries, retries with one delivery id, dead deliveries that block their aggregate until an
 * admin acts, order per aggregate under random failures, two relays at once, paused
 * subscriptions, and the relay inside the worker process.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { userActor } from "../../server/core/actor";
import { verifySignature } from "../../server/core/signature";
import { startOutboxRelay, type OutboxRelayConfig, type OutboxRelayHandle } from "../../server/outbox/relay";
import { claimDeliveries, recordAttempt } from "../../server/outbox/dispatch";
import { fanOutEvents } from "../../server/outbox/fanout";
import { openAccount, fund } from "../../server/ledger/testing";
import { startWorker } from "../../server/worker/worker";
import { findFreePort } from "../../server/db/embedded";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ poolMax: 20 });
});
afterAll(async () => {
  await db?.drop();
});

const admin = () =>
  createCaller({ db, actor: userActor({ id: "00000000-0000-4000-8000-0000000000a1", email: "admin@example.test", name: "Admin", roles: ["admin"] }), requestId: "req-outbox", ip: null });

const FAST: OutboxRelayConfig = {
  maxAttempts: 5,
  backoffBaseMs: 10,
  backoffMaxMs: 40,
  timeoutMs: 3_000,
  concurrency: 8,
  fanoutBatch: 500,
  busyPollMs: 10,
  idlePollMs: 40,
  statsIntervalMs: 60_000,
};

interface Received {
  deliveryId: string;
  eventId: string;
  topic: string;
  attempt: number;
  signature: string | null;
  rawBody: string;
  body: { id: string; deliveryId: string; topic: string; aggregateId: string; createdAt: string; payload: Record<string, unknown> };
  /** What the receiver answered. */
  status: number;
}

interface Receiver {
  url: string;
  /** Every request, in arrival order. */
  requests: Received[];
  /** Requests answered 2xx, in arrival order. */
  accepted(): Received[];
  close(): Promise<void>;
}

/** An HTTP endpoint on 127.0.0.1 that records every request and answers with `respond`. */
async function startReceiver(respond: (r: Omit<Received, "status">) => number | Promise<number> = () => 200): Promise<Receiver> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const base = {
          deliveryId: String(req.headers["x-delivery-id"]),
          eventId: String(req.headers["x-event-id"]),
          topic: String(req.headers["x-topic"]),
          attempt: Number(req.headers["x-delivery-attempt"]),
          signature: (req.headers["x-signature"] as string | undefined) ?? null,
          rawBody,
          body: JSON.parse(rawBody) as Received["body"],
        };
        const status = await respond(base);
        requests.push({ ...base, status });
        res.statusCode = status;
        res.end(status >= 400 ? "receiver says no" : "ok");
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function subscribe(name: string, url: string, topics: string[]): Promise<{ id: string; secret: string }> {
  const res = await admin().outbox.subscriptions.create({ name, url, topics });
  return { id: res.subscription.id, secret: res.secret };
}

/** Inserts events one statement each, so ids follow the order given; returns their ids. */
async function insertEvents(events: { topic: string; aggregateId: string; payload?: Record<string, unknown> }[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    const r = await db.pool.query<{ id: string }>(`INSERT INTO outbox_events (topic, aggregate_id, payload) VALUES ($1, $2, $3::jsonb) RETURNING id::text AS id`, [
      e.topic,
      e.aggregateId,
      JSON.stringify(e.payload ?? {}),
    ]);
    ids.push(r.rows[0]!.id);
  }
  return ids;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function deliveryRows(subscriptionId: string) {
  return (
    await db.pool.query<{ delivery_id: string; event_id: string; aggregate_id: string; status: string; attempts: number; last_status: number | null; last_error: string | null }>(
      `SELECT delivery_id::text, event_id::text, aggregate_id, status::text, attempts, last_status, last_error FROM outbox_deliveries WHERE subscription_id = $1 ORDER BY event_id`,
      [subscriptionId],
    )
  ).rows;
}

const relays: OutboxRelayHandle[] = [];
const receivers: Receiver[] = [];
function relay(config: Partial<OutboxRelayConfig> = {}): OutboxRelayHandle {
  const r = startOutboxRelay(db, { ...FAST, ...config });
  relays.push(r);
  return r;
}
async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  // Each test starts with no live subscription, so it sees only its own deliveries.
  await db.pool.query(`UPDATE outbox_deliveries SET status = 'cancelled', finished_at = now() WHERE status IN ('pending', 'dead')`);
  await db.pool.query(`UPDATE outbox_subscriptions SET status = 'deleted', secret_ciphertext = NULL WHERE status <> 'deleted'`);
});

describe("outbox relay", () => {
  it("delivers a signed POST that verifySignature accepts, with the documented headers and body", async () => {
    const rx = await receiver();
    const sub = await subscribe("signed", rx.url, ["transfer.*"]);
    const [eventId] = await insertEvents([{ topic: "transfer.settled", aggregateId: "tr-sig-1", payload: { amountMinor: "885", currency: "EUR" } }]);
    await insertEvents([{ topic: "ledger.entry.posted", aggregateId: "entry-x" }]); // not subscribed
    relay();
    await waitFor("the delivery", () => rx.requests.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(rx.requests).toHaveLength(1);

    const got = rx.requests[0]!;
    const [row] = await deliveryRows(sub.id);
    expect(got.deliveryId).toBe(row!.delivery_id);
    expect(got.eventId).toBe(eventId);
    expect(got.topic).toBe("transfer.settled");
    expect(got.attempt).toBe(1);
    expect(got.body).toMatchObject({ id: eventId, deliveryId: row!.delivery_id, topic: "transfer.settled", aggregateId: "tr-sig-1", payload: { amountMinor: "885", currency: "EUR" } });
    expect(new Date(got.body.createdAt).toString()).not.toBe("Invalid Date");

    expect(verifySignature(got.signature, got.rawBody, [sub.secret], new Date())).toEqual({ ok: true });
    expect(verifySignature(got.signature, got.rawBody, ["whsec_wrong"], new Date())).toEqual({ ok: false, reason: "mismatch" });
    expect(verifySignature(got.signature, got.rawBody.replace("885", "886"), [sub.secret], new Date())).toEqual({ ok: false, reason: "mismatch" });

    await waitFor("the delivered status", async () => (await deliveryRows(sub.id))[0]?.status === "delivered");
    expect((await deliveryRows(sub.id))[0]).toMatchObject({ status: "delivered", attempts: 1, last_status: 200, last_error: null });
    // Fan-out marked both events, including the one nobody subscribed to.
    const unmarked = await db.pool.query(`SELECT 1 FROM outbox_events WHERE delivered_at IS NULL`);
    expect(unmarked.rowCount).toBe(0);
  });

  it("delivers the ledger's own events (a real transfer) to a subscriber of ledger.entry.posted", async () => {
    const rx = await receiver();
    await subscribe("ledger-all", rx.url, ["ledger.entry.posted"]);
    const bank = await openAccount(db, { type: "asset" });
    const wallet = await openAccount(db);
    await fund(db, bank.id, wallet.id, 1_234n);
    relay();
    await waitFor("the entry event", () => rx.requests.length === 1);
    const got = rx.requests[0]!;
    expect(got.topic).toBe("ledger.entry.posted");
    expect(JSON.stringify(got.body.payload)).toContain("1234");
  });

  it("retries a 500 with backoff and the same delivery id until it succeeds", async () => {
    let calls = 0;
    const rx = await receiver(() => (++calls <= 2 ? 500 : 200));
    const sub = await subscribe("flaky", rx.url, ["transfer.*"]);
    await insertEvents([{ topic: "transfer.submitted", aggregateId: "tr-retry-1" }]);
    relay();
    await waitFor("three attempts", () => rx.requests.length === 3);
    await waitFor("the delivered status", async () => (await deliveryRows(sub.id))[0]?.status === "delivered");
    expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(rx.requests.map((r) => r.deliveryId)).size).toBe(1);
    expect(rx.requests.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect((await deliveryRows(sub.id))[0]).toMatchObject({ status: "delivered", attempts: 3, last_status: 200 });
  });

  it("gives up after the last attempt: dead, blocks its aggregate (not others), and redeliver or skip unblocks it", async () => {
    let isDown = true;
    const rx = await receiver((r) => (isDown && r.body.aggregateId === "tr-dead-1" ? 503 : 200));
    const sub = await subscribe("down", rx.url, ["transfer.*"]);
    const [first, second] = await insertEvents([
      { topic: "transfer.created", aggregateId: "tr-dead-1" },
      { topic: "transfer.reserved", aggregateId: "tr-dead-1" },
      { topic: "transfer.created", aggregateId: "tr-other-1" },
    ]);
    relay({ maxAttempts: 3 });
    await waitFor("the first delivery to die", async () => (await deliveryRows(sub.id)).find((d) => d.event_id === first)?.status === "dead");
    await waitFor("the other aggregate", () => rx.accepted().some((r) => r.body.aggregateId === "tr-other-1"));
    await new Promise((r) => setTimeout(r, 200));

    const rows = await deliveryRows(sub.id);
    const dead = rows.find((d) => d.event_id === first)!;
    expect(dead).toMatchObject({ status: "dead", attempts: 3, last_status: 503 });
    // The status and fixed words: what the receiver wrote is never stored (issue 14, point 7).
    expect(dead.last_error).toBe("HTTP 503: the endpoint did not accept the delivery");
    // The later event of the dead aggregate was never sent.
    expect(rows.find((d) => d.event_id === second)).toMatchObject({ status: "pending", attempts: 0 });
    expect(rx.requests.filter((r) => r.eventId === second)).toHaveLength(0);
    expect(rx.requests.filter((r) => r.eventId === first)).toHaveLength(3);

    // The console lists it; redeliver (audited) sends it again with the same id, then the blocked one.
    const listed = await admin().outbox.deliveries.list({ status: "dead", subscriptionId: sub.id });
    expect(listed.items.map((d) => d.deliveryId)).toEqual([dead.delivery_id]);
    isDown = false;
    await admin().outbox.deliveries.redeliver({ deliveryId: dead.delivery_id, reason: "receiver fixed" });
    await waitFor("both events of the aggregate", () => rx.accepted().filter((r) => r.body.aggregateId === "tr-dead-1").length === 2);
    expect(rx.accepted().filter((r) => r.body.aggregateId === "tr-dead-1").map((r) => r.eventId)).toEqual([first, second]);
    expect(rx.accepted().find((r) => r.eventId === first)!.deliveryId).toBe(dead.delivery_id);
    const audit = await db.pool.query(`SELECT action, reason FROM audit_log WHERE target_id = $1`, [dead.delivery_id]);
    expect(audit.rows).toEqual([{ action: "outbox.delivery.redelivered", reason: "receiver fixed" }]);

    // Skip: a dead delivery given up lets the next event of its aggregate through.
    isDown = true;
    const [third, fourth] = await insertEvents([
      { topic: "transfer.submitted", aggregateId: "tr-dead-1" },
      { topic: "transfer.settled", aggregateId: "tr-dead-1" },
    ]);
    await waitFor("the third event to die", async () => (await deliveryRows(sub.id)).find((d) => d.event_id === third)?.status === "dead");
    isDown = false;
    const third$ = (await deliveryRows(sub.id)).find((d) => d.event_id === third)!;
    await admin().outbox.deliveries.skip({ deliveryId: third$.delivery_id, reason: "receiver does not need it" });
    await waitFor("the fourth event", () => rx.accepted().some((r) => r.eventId === fourth));
    expect(rx.accepted().some((r) => r.eventId === third)).toBe(false);
    expect((await deliveryRows(sub.id)).find((d) => d.event_id === third)!.status).toBe("skipped");
  });

  it("a worker that dies mid-attempt: the lease runs out and the delivery goes out again with the same id; the late outcome is ignored", async () => {
    const rx = await receiver();
    const sub = await subscribe("crash", rx.url, ["transfer.*"]);
    await insertEvents([{ topic: "transfer.created", aggregateId: "tr-crash-1" }]);
    await fanOutEvents(db, { limit: 100 });
    // A worker claims it (short lease) and dies before sending or recording anything.
    const [claimed] = await claimDeliveries(db, { limit: 10, leaseMs: 300 });
    expect(claimed).toMatchObject({ attempt: 1, aggregateId: "tr-crash-1" });
    // While the lease holds, nobody else can claim it.
    expect(await claimDeliveries(db, { limit: 10, leaseMs: 300 })).toEqual([]);
    relay();
    await waitFor("the retry after the lease", () => rx.requests.length === 1);
    expect(rx.requests[0]).toMatchObject({ deliveryId: claimed!.deliveryId, attempt: 2 });
    await waitFor("the delivered status", async () => (await deliveryRows(sub.id))[0]?.status === "delivered");
    // The dead worker's late answer belongs to attempt 1 and changes nothing.
    const late = await recordAttempt(db, claimed!, { isDelivered: false, httpStatus: 500, error: "late", durationMs: 1, retryAfterMs: null }, FAST);
    expect(late).toBe("stale");
    expect((await deliveryRows(sub.id))[0]).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("keeps creation order per aggregate under random receiver failures (property)", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // Per run: how events of 4 aggregates interleave, and a failure pattern for the receiver.
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 12, maxLength: 28 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        async (interleaving, failures) => {
          run++;
          let n = 0;
          // Fails on the pattern (about half the time), never more than 3 times in a row, so every delivery gets through within maxAttempts.
          let streak = 0;
          const rx = await receiver(() => {
            const fail = failures[n++ % failures.length]! && streak < 3;
            streak = fail ? streak + 1 : 0;
            return fail ? 500 : 200;
          });
          const sub = await subscribe(`order-${run}`, rx.url, ["transfer.*"]);
          const aggregates = [0, 1, 2, 3].map((a) => `tr-order-${run}-${a}`);
          const ids = await insertEvents(interleaving.map((a) => ({ topic: "transfer.created", aggregateId: aggregates[a]! })));
          const r = relay({ maxAttempts: 20 });
          await waitFor("every event", () => new Set(rx.accepted().map((x) => x.eventId)).size === ids.length, 30_000);
          await r.stop();
          for (const agg of aggregates) {
            const expected = ids.filter((_, i) => aggregates[interleaving[i]!] === agg);
            // First acceptance of each event, in arrival order, equals creation order.
            const seen: string[] = [];
            for (const x of rx.accepted()) if (x.body.aggregateId === agg && !seen.includes(x.eventId)) seen.push(x.eventId);
            expect(seen).toEqual(expected);
            // And nothing of an aggregate was even attempted before its predecessor was accepted.
            const firstAttempt = (id: string) => rx.requests.findIndex((x) => x.eventId === id);
            const firstAccept = (id: string) => rx.requests.findIndex((x) => x.eventId === id && x.status === 200);
            for (let i = 1; i < expected.length; i++) expect(firstAttempt(expected[i]!)).toBeGreaterThan(firstAccept(expected[i - 1]!));
          }
          const rows = await deliveryRows(sub.id);
          expect(rows.every((d) => d.status === "delivered")).toBe(true);
          await admin().outbox.subscriptions.delete({ id: sub.id, reason: "property run over" });
        },
      ),
      { numRuns: 4 },
    );
  });

  it("two relays at once deliver each (event, subscription) exactly once in the normal case, in order per aggregate", async () => {
    const slow = () => new Promise<number>((resolve) => setTimeout(() => resolve(200), 2));
    const rxA = await receiver(slow);
    const rxB = await receiver(slow);
    const a = await subscribe("pair-a", rxA.url, ["transfer.*"]);
    const b = await subscribe("pair-b", rxB.url, ["transfer.**"]);
    const events = Array.from({ length: 120 }, (_, i) => ({ topic: "transfer.created", aggregateId: `tr-pair-${i % 15}` }));
    relay({ concurrency: 6 });
    relay({ concurrency: 6 });
    // Written while both relays run.
    const ids = await insertEvents(events);
    await waitFor("every delivery", () => rxA.requests.length >= 120 && rxB.requests.length >= 120, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    for (const [rx, sub] of [
      [rxA, a],
      [rxB, b],
    ] as const) {
      expect(rx.requests).toHaveLength(120);
      expect(new Set(rx.requests.map((r) => r.deliveryId)).size).toBe(120);
      expect(new Set(rx.requests.map((r) => r.eventId))).toEqual(new Set(ids));
      for (let agg = 0; agg < 15; agg++) {
        const expected = ids.filter((_, i) => i % 15 === agg);
        expect(rx.requests.filter((r) => r.body.aggregateId === `tr-pair-${agg}`).map((r) => r.eventId)).toEqual(expected);
      }
      const rows = await deliveryRows(sub.id);
      expect(rows.filter((d) => d.status === "delivered" && d.attempts === 1)).toHaveLength(120);
    }
  });

  it("sends nothing to a paused subscription, queues its deliveries, and sends them in order on resume", async () => {
    const rxLive = await receiver();
    const rxPaused = await receiver();
    await subscribe("live", rxLive.url, ["transfer.*"]);
    const paused = await subscribe("paused", rxPaused.url, ["transfer.*"]);
    await admin().outbox.subscriptions.pause({ id: paused.id, reason: "receiver maintenance" });
    const ids = await insertEvents([
      { topic: "transfer.created", aggregateId: "tr-pause-1" },
      { topic: "transfer.reserved", aggregateId: "tr-pause-1" },
    ]);
    relay();
    await waitFor("the live subscription", () => rxLive.requests.length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(rxPaused.requests).toHaveLength(0);
    expect((await deliveryRows(paused.id)).map((d) => d.status)).toEqual(["pending", "pending"]);

    await admin().outbox.subscriptions.resume({ id: paused.id, reason: "maintenance over" });
    await waitFor("the backlog", () => rxPaused.requests.length === 2);
    expect(rxPaused.requests.map((r) => r.eventId)).toEqual(ids);
  });

  it("runs inside the worker: started by startWorker, metrics exported, stopped by stop()", async () => {
    const rx = await receiver();
    await subscribe("worker", rx.url, ["transfer.*"]);
    const port = await findFreePort();
    const worker = await startWorker({ databaseUrl: db.url, db, metricsPort: port, orchestration: false, outboxRelay: true } as Parameters<typeof startWorker>[0]);
    try {
      await insertEvents([{ topic: "transfer.settled", aggregateId: "tr-worker-1" }]);
      await waitFor("the worker's delivery", () => rx.requests.length === 1);
      await waitFor("the metric", async () => /outbox_deliveries_total\{outcome="delivered"\} 1/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^outbox_lag_seconds /m);
      expect(text).toMatch(/^outbox_dead_deliveries /m);
    } finally {
      await worker.stop();
    }
    // Stopped: a new event is not delivered.
    await insertEvents([{ topic: "transfer.settled", aggregateId: "tr-worker-2" }]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(rx.requests).toHaveLength(1);
  });
});
