// The default HTTP path (server/core/http-client.ts, undici's request) of the sandbox adapter and
// the sandbox's webhook sender, for real against local servers: what is sent, how each answer and
// each network failure is classified (never sent vs may have executed), the response body limit,
// and that deliveries record their outcome. The injected-fetch path is covered by
// test/unit/partner-sandbox-adapter.test.ts.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createSandboxAdapter, MAX_RESPONSE_BYTES } from "../../server/partners/sandbox-adapter";
import { contextFromTraceParent, runInContext } from "../../server/observability/tracing";
import { deliverDueWebhooks } from "../../server/sandbox/webhook-sender";
import type { SandboxHandle } from "../../server/sandbox/server";
import { NO_FAULTS } from "../../server/sandbox/rail-config";
import { verifySignature } from "../../server/core/signature";
import { TEST_SECRET, adapterFor, eventually, payment, setFaults, signal, startReceiver, startTestSandbox, type Receiver } from "./sandbox-test-helpers";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A partner that answers with `handle`, recording each request and counting connections. */
async function startPartner(handle: (req: Seen, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const r = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    seen.push(r);
    handle(r, res);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    connections: () => connections,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A TCP server that reads requests and never answers (or closes the connection once it has one). */
async function startMute(mode: "never_answer" | "close_on_request") {
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("data", () => {
      requests++;
      if (mode === "close_on_request") s.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on. */
async function closedPortUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

const TIMEOUT_MS = 300;
const adapterAt = (baseUrl: string) => createSandboxAdapter({ baseUrl, webhookSecrets: [TEST_SECRET], toleranceSeconds: 300, timeoutMs: { instant: TIMEOUT_MS, batch: TIMEOUT_MS } });
const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const paymentJson = (key: string, over: Record<string, unknown> = {}) => ({ id: "sbx_1", idempotency_key: key, status: "acknowledged", amount_minor: "12345", currency: "EUR", ...over });

describe("sandbox adapter without an injected fetch", () => {
  it("sends the payment with its idempotency key and trace headers, and reads an accepted answer", async () => {
    const partner = await startPartner((req, res) => json(res, 201, paymentJson(req.headers["idempotency-key"] as string)));
    try {
      const p = payment({ amountMinor: 9_007_199_254_740_993n });
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const outcome = await runInContext(contextFromTraceParent(traceparent), () => adapterAt(partner.url).submit(p, signal()));
      expect(outcome).toMatchObject({ kind: "accepted", partnerRef: "sbx_1", status: "acknowledged", httpStatus: 201 });
      expect(partner.seen).toHaveLength(1);
      const req = partner.seen[0]!;
      expect(req).toMatchObject({ method: "POST", url: "/v1/payments" });
      expect(req.headers).toMatchObject({ "content-type": "application/json", "idempotency-key": p.idempotencyKey, "x-correlation-id": "0af7651916cd43dd8448eb211c80319c" });
      expect(req.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
      expect(JSON.parse(req.body)).toMatchObject({ transfer_id: p.transferId, rail: "instant", amount_minor: "9007199254740993", currency: "EUR" });
    } finally {
      await partner.close();
    }
  });

  it("keeps the connection alive between calls", async () => {
    const partner = await startPartner((req, res) => json(res, 404, { error: { code: "not_found", message: "none" } }));
    try {
      const adapter = adapterAt(partner.url);
      for (let i = 0; i < 6; i++) expect(await adapter.queryStatus(`key-${i}`, signal())).toMatchObject({ kind: "ok", status: "not_found" });
      expect(partner.seen.map((r) => r.url)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `/v1/payments?idempotency_key=key-${i}`));
      // undici releases a connection a moment after its answer has been read, so a call made at
      // once opens a second one (fetch does the same); from then on the two are reused.
      expect(partner.connections()).toBeLessThanOrEqual(2);
    } finally {
      await partner.close();
    }
  });

  it.each<[string, number, unknown, Record<string, unknown>]>([
    ["500 (the bank did not execute) -> retryable", 500, { error: { code: "internal_error", message: "boom" } }, { kind: "retryable", reason: "internal_error: boom", httpStatus: 500 }],
    ["504 (it may have executed) -> unknown", 504, { error: { code: "gateway_timeout", message: "slow" } }, { kind: "unknown", reason: "gateway timeout: the payment may have executed (gateway_timeout: slow)" }],
    ["422 -> rejected", 422, { error: { code: "beneficiary_account_invalid", message: "closed" } }, { kind: "rejected", httpStatus: 422 }],
  ])("%s", async (_name, status, body, expected) => {
    const partner = await startPartner((_req, res) => json(res, status, body));
    try {
      expect(await adapterAt(partner.url).submit(payment(), signal())).toMatchObject(expected);
    } finally {
      await partner.close();
    }
  });

  it("does not follow a redirect: a 302 to a submission is unknown, and only one request was made", async () => {
    const partner = await startPartner((req, res) => {
      if (req.url === "/v1/payments") {
        res.writeHead(302, { location: "/elsewhere" });
        res.end();
      } else json(res, 200, paymentJson("any"));
    });
    try {
      expect(await adapterAt(partner.url).submit(payment(), signal())).toMatchObject({ kind: "unknown", reason: "unexpected HTTP 302" });
      expect(partner.seen.map((r) => r.url)).toEqual(["/v1/payments"]);
    } finally {
      await partner.close();
    }
  });

  it("reads at most MAX_RESPONSE_BYTES of an answer: an accepted payment padded past the limit is unknown", async () => {
    // Read whole, this body is a valid payment for the key (the extra field is ignored).
    const partner = await startPartner((req, res) => json(res, 201, paymentJson(req.headers["idempotency-key"] as string, { padding: "x".repeat(MAX_RESPONSE_BYTES) })));
    try {
      expect(await adapterAt(partner.url).submit(payment(), signal())).toEqual({ kind: "unknown", reason: `connection lost (response body larger than ${MAX_RESPONSE_BYTES} bytes)`, raw: null });
    } finally {
      await partner.close();
    }
  });

  it("stops reading an endless answer at the limit instead of waiting for the time limit", async () => {
    let isWriting = true;
    const partner = await startPartner((_req, res) => {
      res.writeHead(201, { "content-type": "application/json" });
      const chunk = "x".repeat(16 * 1024);
      const pump = () => {
        while (isWriting && res.write(chunk));
        if (isWriting) res.once("drain", pump);
      };
      res.on("close", () => (isWriting = false));
      pump();
    });
    try {
      const adapter = createSandboxAdapter({ baseUrl: partner.url, webhookSecrets: [TEST_SECRET], toleranceSeconds: 300, timeoutMs: { instant: 10_000, batch: 10_000 } });
      const started = Date.now();
      expect(await adapter.submit(payment(), signal())).toMatchObject({ kind: "unknown", reason: `connection lost (response body larger than ${MAX_RESPONSE_BYTES} bytes)` });
      expect(Date.now() - started).toBeLessThan(5_000);
      // The client closed the connection, which ends the endless answer.
      await eventually(() => !isWriting, 5_000);
    } finally {
      isWriting = false;
      await partner.close();
    }
  });

  it("connection refused: never sent, so retryable; a status query is unavailable", async () => {
    const url = await closedPortUrl();
    expect(await adapterAt(url).submit(payment(), signal())).toEqual({ kind: "retryable", reason: "connection failed (ECONNREFUSED)", raw: null, httpStatus: null });
    expect(await adapterAt(url).queryStatus("key-1", signal())).toEqual({ kind: "unavailable", reason: "connection failed (ECONNREFUSED)", raw: null });
  });

  it("a partner that takes the request and never answers: unknown after the time limit", async () => {
    const mute = await startMute("never_answer");
    try {
      const started = Date.now();
      expect(await adapterAt(mute.url).submit(payment(), signal())).toEqual({ kind: "unknown", reason: `no answer within ${TIMEOUT_MS} ms`, raw: null });
      const elapsedMs = Date.now() - started;
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
      expect(mute.requests()).toBe(1);
    } finally {
      await mute.close();
    }
  });

  it("an answer whose headers came but whose body stalls: unknown once the time limit has passed", async () => {
    const partner = await startPartner((_req, res) => {
      res.writeHead(201, { "content-type": "application/json", "content-length": "4096" });
      res.write('{"id":"pay_1","status":'); // and nothing more
    });
    try {
      expect(await adapterAt(partner.url).submit(payment(), signal())).toEqual({ kind: "unknown", reason: `no answer within ${TIMEOUT_MS} ms`, raw: null });
      expect(partner.seen).toHaveLength(1);
    } finally {
      await partner.close();
    }
  });

  it("a connection closed by the partner after the request: unknown (it may have executed)", async () => {
    const mute = await startMute("close_on_request");
    try {
      expect(await adapterAt(mute.url).submit(payment(), signal())).toEqual({ kind: "unknown", reason: "connection lost (UND_ERR_SOCKET)", raw: null });
      expect(mute.requests()).toBe(1);
    } finally {
      await mute.close();
    }
  });

  it("the caller aborting while the request is in flight: unknown", async () => {
    const mute = await startMute("never_answer");
    try {
      const caller = new AbortController();
      const adapter = createSandboxAdapter({ baseUrl: mute.url, webhookSecrets: [TEST_SECRET], toleranceSeconds: 300, timeoutMs: { instant: 10_000, batch: 10_000 } });
      const outcome = adapter.submit(payment(), caller.signal);
      await eventually(() => mute.requests() === 1, 5_000);
      const aborted = Date.now();
      caller.abort();
      expect(await outcome).toEqual({ kind: "unknown", reason: "aborted by the caller while the request was in flight", raw: null });
      expect(Date.now() - aborted).toBeLessThan(1_000);
    } finally {
      await mute.close();
    }
  });

  it("a caller that has already aborted: nothing is sent, and it is retryable", async () => {
    const partner = await startPartner((_req, res) => json(res, 201, {}));
    try {
      const caller = new AbortController();
      caller.abort();
      expect(await adapterAt(partner.url).submit(payment(), caller.signal)).toMatchObject({ kind: "retryable", reason: "aborted by the caller before sending" });
      expect(partner.connections()).toBe(0);
    } finally {
      await partner.close();
    }
  });
});

describe("webhook sender without an injected fetch", () => {
  let db: TestDb;
  let sandbox: SandboxHandle;
  let unused: Receiver;

  beforeAll(async () => {
    db = await createTestDb();
    unused = await startReceiver();
    // Without a secret the sandbox sends nothing itself: the test calls the sender.
    sandbox = await startTestSandbox(db, unused.url, { webhookSecret: null });
    await setFaults(sandbox, "instant", { ...NO_FAULTS, settleDelayMsMin: 0, settleDelayMsMax: 0, ackDelayMs: 0, seed: null });
  });
  afterAll(async () => {
    await sandbox?.close();
    await unused?.close();
    await db?.drop();
  });
  // A copy left pending (retried after its backoff) would be claimed again by the next test.
  afterEach(async () => {
    await db.pool.query(`UPDATE sandbox_webhook_deliveries SET status = 'abandoned' WHERE status = 'pending'`);
  });

  /** A settled instant payment whose `settled` webhook is due; its idempotency key. */
  async function dueWebhook(): Promise<string> {
    const p = payment();
    expect(await adapterFor(sandbox).submit(p, signal())).toMatchObject({ kind: "accepted" });
    await sandbox.tick();
    return p.idempotencyKey;
  }
  const deliveryOf = async (key: string) =>
    (
      await db.pool.query<{ status: string; attempts: number; last_http_status: number | null; last_error: string | null; delivered: boolean }>(
        `SELECT d.status, d.attempts, d.last_http_status, d.last_error, d.delivered_at IS NOT NULL AS delivered
           FROM sandbox_webhook_deliveries d JOIN sandbox_payments p ON p.id = d.payment_id WHERE p.idempotency_key = $1`,
        [key],
      )
    ).rows;

  it("delivers a signed webhook and records the receiver's status", async () => {
    const receiver = await startReceiver();
    try {
      const key = await dueWebhook();
      expect(await deliverDueWebhooks({ pool: db.pool, targetUrls: [receiver.url], secret: TEST_SECRET })).toMatchObject({ claimed: 1, delivered: 1, failed: 0 });
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0]!;
      expect(JSON.parse(got.body)).toMatchObject({ type: "payment.settled", data: { idempotency_key: key } });
      expect(got.headers["x-event-id"]).toBe(JSON.parse(got.body).id);
      expect(got.headers["x-delivery-attempt"]).toBe("1");
      expect(verifySignature(got.headers["x-signature"] as string, got.body, [TEST_SECRET], new Date())).toEqual({ ok: true });
      expect(await deliveryOf(key)).toEqual([{ status: "delivered", attempts: 1, last_http_status: 200, last_error: null, delivered: true }]);
    } finally {
      await receiver.close();
    }
  });

  it("records a refusing receiver's status and keeps the copy pending", async () => {
    const receiver = await startReceiver();
    try {
      receiver.script.push(503);
      const key = await dueWebhook();
      expect(await deliverDueWebhooks({ pool: db.pool, targetUrls: [receiver.url], secret: TEST_SECRET })).toMatchObject({ claimed: 1, delivered: 0, failed: 1 });
      expect(receiver.received).toHaveLength(1);
      expect(await deliveryOf(key)).toEqual([{ status: "pending", attempts: 1, last_http_status: 503, last_error: "HTTP 503", delivered: false }]);
    } finally {
      await receiver.close();
    }
  });

  it("records a refused connection by its code", async () => {
    const key = await dueWebhook();
    const url = await closedPortUrl();
    expect(await deliverDueWebhooks({ pool: db.pool, targetUrls: [`${url}/api/webhooks/sandbox`], secret: TEST_SECRET })).toMatchObject({ claimed: 1, delivered: 0, failed: 1 });
    expect(await deliveryOf(key)).toEqual([{ status: "pending", attempts: 1, last_http_status: null, last_error: "ECONNREFUSED", delivered: false }]);
  });
});
