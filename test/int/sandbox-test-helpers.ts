/**
 * Test harness for the partner sandbox: an in-process sandbox on a free port over the test
 * database (ticking only when the test says so, unless asked), a webhook receiver that records
 * what it gets, an adapter pointed at the sandbox, and the admin API.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DbHandles } from "../../server/db/client";
import { createSandboxAdapter } from "../../server/partners/sandbox-adapter";
import type { PartnerPayment, RailId } from "../../server/partners/types";
import { startSandbox, type SandboxHandle, type SandboxOptions } from "../../server/sandbox/server";

export const TEST_SECRET = "whsec_sandbox_test_0123456789";

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status codes to answer, in order; when empty, 200. */
  script: number[];
  close(): Promise<void>;
}

export async function startReceiver(onRequest?: (req: Request) => Promise<Response>): Promise<Receiver> {
  const received: Received[] = [];
  const script: number[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    received.push({ headers: req.headers, body, at: Date.now() });
    if (onRequest) {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const r = await onRequest(new Request(`http://receiver${req.url}`, { method: req.method, headers, body }));
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(await r.text());
      return;
    }
    res.writeHead(script.shift() ?? 200, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/sandbox`,
    received,
    script,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function startTestSandbox(db: DbHandles, targetUrl: string, over: Partial<SandboxOptions> = {}): Promise<SandboxHandle> {
  return startSandbox({
    pool: db.pool,
    port: 0,
    webhookTargetUrls: [targetUrl],
    webhookSecret: TEST_SECRET,
    defaultSeed: "test-seed",
    defaultCutoffSeconds: 3600,
    isTicking: false,
    ...over,
  });
}

export function adapterFor(sandbox: { url: string }, timeoutMs = 400) {
  return createSandboxAdapter({ baseUrl: sandbox.url, webhookSecrets: [TEST_SECRET], toleranceSeconds: 300, timeoutMs: { instant: timeoutMs, batch: timeoutMs } });
}

export async function admin<T = Record<string, unknown>>(sandbox: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

export function setFaults(sandbox: { url: string }, rail: RailId, patch: Record<string, unknown>) {
  return admin(sandbox, "PUT", `/admin/rails/${rail}/faults`, patch);
}

export async function keyStats(sandbox: { url: string }, key: string) {
  return (await admin<{ executedCount: number; replayCount: number; submitRequests: number; payment: Record<string, unknown> | null }>(sandbox, "GET", `/admin/payments?idempotency_key=${encodeURIComponent(key)}`)).json;
}

let seq = 0;
export function payment(over: Partial<PartnerPayment> = {}): PartnerPayment {
  seq++;
  return {
    transferId: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    idempotencyKey: `key-${Date.now()}-${seq}`,
    rail: "instant",
    amountMinor: 12_345n,
    currency: "EUR",
    counterpartyName: "Jane Doe",
    counterpartyAccount: "DE89370400440532013000",
    reference: `ref ${seq}`,
    ...over,
  };
}

export const signal = () => new AbortController().signal;

/** Waits until `check` is true, polling; throws after `ms`. For background effects only. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms} ms`);
}
