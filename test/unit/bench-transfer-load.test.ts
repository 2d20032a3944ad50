// The transfers benchmark's load generator (scripts/lib/transfer-load.ts) with a fake transport:
// open loop on the clock, shed or wait at the in-flight limit, refused creates counted and retried
// only when asked (same key, after Retry-After), retries dropped when the load ends; and the HTTP
// transport reading tRPC's answers (admitted, OVERLOADED with Retry-After, other errors).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { benchTransferInput, httpTransport, OpenLoopGenerator, type CreateOutcome, type CreateTransport } from "../../scripts/lib/transfer-load";

const wallets = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"];

/** A transport whose answers the test decides; it records what was sent. */
function fakeTransport(answer: (n: number, key: string, attempt: number) => CreateOutcome | Promise<CreateOutcome>) {
  const sent: { n: number; key: string; at: number }[] = [];
  const transport: CreateTransport = {
    describe: "fake",
    async send(_input, key, n) {
      sent.push({ n, key, at: Date.now() });
      return answer(n, key, sent.filter((s) => s.key === key).length);
    },
    close() {},
  };
  return { transport, sent };
}

describe("OpenLoopGenerator", () => {
  it("offers on the clock, open loop, and records every answer", async () => {
    const { transport, sent } = fakeTransport((n) => (n % 4 === 3 ? { kind: "refused", retryAfterMs: 1000 } : { kind: "admitted", transferId: `t${n}` }));
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 100, whenFull: "shed", retryRefused: 0 });
    const w = await gen.offer(100, 0.2);
    await gen.drain();
    expect(w.offeredPerSecond).toBe(100);
    expect(w.endMs - w.startMs).toBe(200);
    expect(sent).toHaveLength(20);
    // Sends are spread over the window, not bunched at its start.
    expect(sent[19]!.at - sent[0]!.at).toBeGreaterThanOrEqual(150);
    expect(gen.tries.filter((t) => t.outcome === "admitted")).toHaveLength(15);
    expect(gen.tries.filter((t) => t.outcome === "refused")).toHaveLength(5);
    expect(gen.admitted.map((a) => a.id).sort()).toEqual(sent.filter((s) => s.n % 4 !== 3).map((s) => `t${s.n}`).sort());
    expect(new Set(sent.map((s) => s.key)).size).toBe(20);
  });

  it("sheds what it cannot send at the in-flight limit (ramp), instead of waiting", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { transport, sent } = fakeTransport(async (n) => {
      await gate;
      return { kind: "admitted", transferId: `t${n}` };
    });
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 3, whenFull: "shed", retryRefused: 0 });
    await gen.offer(200, 0.05);
    expect(sent).toHaveLength(3);
    expect(gen.tries.filter((t) => t.outcome === "shed")).toHaveLength(7);
    release();
    await gen.drain();
    expect(gen.tries.filter((t) => t.outcome === "admitted")).toHaveLength(3);
  });

  it("waits for a free place at the limit (fixed rate), so nothing is shed", async () => {
    const { transport, sent } = fakeTransport(async (n) => {
      await new Promise((r) => setTimeout(r, 5));
      return { kind: "admitted", transferId: `t${n}` };
    });
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 1, whenFull: "wait", retryRefused: 0 });
    await gen.offer(1000, 0.02);
    await gen.drain();
    expect(sent).toHaveLength(20);
    expect(gen.tries.every((t) => t.outcome === "admitted")).toBe(true);
  });

  it("retries a refused create only when asked: same key, after Retry-After, marked as a retry", async () => {
    const { transport, sent } = fakeTransport((n, _key, attempt) => (attempt === 1 ? { kind: "refused", retryAfterMs: 30 } : { kind: "admitted", transferId: `t${n}` }));
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 10, whenFull: "shed", retryRefused: 1 });
    await gen.offer(10, 0.1);
    await new Promise((r) => setTimeout(r, 80));
    await gen.drain();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.key).toBe(sent[0]!.key);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(25);
    expect(gen.tries.map((t) => [t.outcome, t.isRetry])).toEqual([["refused", false], ["admitted", true]]);
  });

  it("counts, does not retry, by default; a retry still waiting when the load ends is dropped and counted", async () => {
    const { transport: never, sent: sentOnce } = fakeTransport(() => ({ kind: "refused", retryAfterMs: 10 }));
    const counted = new OpenLoopGenerator(never, (n) => benchTransferInput(n, wallets), { maxInFlight: 10, whenFull: "shed", retryRefused: 0 });
    await counted.offer(10, 0.1);
    await new Promise((r) => setTimeout(r, 40));
    await counted.drain();
    expect(sentOnce).toHaveLength(1);

    const { transport, sent } = fakeTransport(() => ({ kind: "refused", retryAfterMs: 10_000 }));
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 10, whenFull: "shed", retryRefused: 3 });
    await gen.offer(10, 0.1);
    await gen.drain();
    expect(sent).toHaveLength(1);
    expect(gen.retriesAbandoned).toBe(1);
  });

  it("counts errors and keeps the first message", async () => {
    const { transport } = fakeTransport((n) => ({ kind: "error", message: `boom ${n}` }));
    const gen = new OpenLoopGenerator(transport, (n) => benchTransferInput(n, wallets), { maxInFlight: 10, whenFull: "shed", retryRefused: 2 });
    await gen.offer(100, 0.03);
    await gen.drain();
    expect(gen.errors).toBe(3);
    expect(gen.firstError).toBe("boom 0");
  });
});

describe("httpTransport", () => {
  const seen: { path: string; auth: string | undefined; body: unknown }[] = [];
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // Answers as the tRPC handler does: by the reference, 200 with the transfer, 503 OVERLOADED
    // with Retry-After, or 400 with a typed error.
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { json: { reference: string; amountMinor: string } };
        seen.push({ path: req.url ?? "", auth: req.headers.authorization, body });
        const error = (status: number, appCode: string, message: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { "content-type": "application/json", ...headers });
          res.end(JSON.stringify({ error: { json: { message, code: -32000, data: { appCode, httpStatus: status } } } }));
        };
        if (body.json.reference === "bench-1") return error(503, "OVERLOADED", "new transfers are not admitted for now", { "retry-after": "7" });
        if (body.json.reference === "bench-2") return error(400, "BAD_INPUT", "counterpartyAccount must be 4 to 64 letters");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ result: { data: { json: { transfer: { id: "11111111-1111-4111-8111-111111111111" }, isReplay: false }, meta: {} } } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("reads admitted, refused with its Retry-After, and other errors", async () => {
    const t = httpTransport([url], "sk_test_secret");
    try {
      expect(await t.send(benchTransferInput(0, wallets), "k0", 0)).toEqual({ kind: "admitted", transferId: "11111111-1111-4111-8111-111111111111" });
      expect(await t.send(benchTransferInput(1, wallets), "k1", 1)).toEqual({ kind: "refused", retryAfterMs: 7_000 });
      expect(await t.send(benchTransferInput(2, wallets), "k2", 2)).toEqual({ kind: "error", message: "HTTP 400 BAD_INPUT: counterpartyAccount must be 4 to 64 letters" });
    } finally {
      t.close();
    }
    expect(seen[0]).toMatchObject({ path: "/api/trpc/transfers.create", auth: "Bearer sk_test_secret", body: { json: { amountMinor: "100", idempotencyKey: "k0", rail: "instant" } } });
  });

  it("spreads creates over the web processes by number", async () => {
    const t = httpTransport([url, "http://127.0.0.1:9"], "s");
    try {
      expect((await t.send(benchTransferInput(1, wallets), "k", 1)).kind).toBe("error"); // web 2: nothing listens on port 9
      expect((await t.send(benchTransferInput(4, wallets), "k", 4)).kind).toBe("admitted"); // web 1
    } finally {
      t.close();
    }
  });
});
