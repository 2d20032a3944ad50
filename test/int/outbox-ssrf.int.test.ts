/**
 * Outbound webhooks cannot be pointed inside our network (issue 14, point 7): a subscription to
 * 127.0.0.1, 10.0.0.1, 169.254.169.254 or a name resolving to 127.0.0.1 is refused at creation
 * and at send; a send connects to exactly the address that was checked; and what is stored about
 * a failed send is the status and fixed words, never what the receiver answered.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { userActor } from "../../server/core/actor";
import { createSubscription } from "../../server/outbox/subscriptions";
import { sendDelivery, type ClaimedDelivery } from "../../server/outbox/dispatch";
import { encryptSecret, outboxSecretKey } from "../../server/outbox/secrets";
import { parseNetworks, type EndpointPolicy, type Resolver } from "../../server/outbox/endpoint-guard";

/** What production has: no internal network listed. */
const STRICT: EndpointPolicy = { allowedHosts: [], allowedNetworks: [] };
/** This test's receivers live on loopback; a policy that lists it deliberately. */
const LOOPBACK_LISTED: EndpointPolicy = { allowedHosts: [], allowedNetworks: parseNetworks("127.0.0.0/8") };

/** A resolver with fixed answers; anything else does not resolve. */
function fixedResolver(table: Record<string, string>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (host: string) => {
    calls.push(host);
    const address = table[host];
    if (!address) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return [{ address, family: 4 }];
  }) as Resolver & { calls: string[] };
  fn.calls = calls;
  return fn;
}

let t: TestDb;
let receiver: http.Server;
let port: number;
const received: { url: string; headers: http.IncomingHttpHeaders }[] = [];
let answer = { status: 200, body: "" };

beforeAll(async () => {
  t = await createTestDb();
  receiver = http.createServer((req, res) => {
    received.push({ url: req.url ?? "", headers: req.headers });
    req.resume();
    res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body);
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  port = (receiver.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await t?.drop();
});

const admin = userActor({ id: "00000000-0000-4000-8000-0000000000c1", email: "admin@ssrf.test", name: "admin", roles: ["admin"] });

describe("at creation", () => {
  it.each([
    ["127.0.0.1", `http://127.0.0.1:${4010}/admin/rails`, /127.0.0.1 is a loopback address/],
    ["10.0.0.1", "http://10.0.0.1/hooks", /10.0.0.1 is a private address/],
    ["169.254.169.254", "http://169.254.169.254/latest/meta-data/", /169.254.169.254 is a cloud metadata address/],
    ["[::1]", "http://[::1]:9/hooks", /::1 is a loopback address/],
    ["a name resolving to 127.0.0.1", "http://hooks.rebind.test/x", /hooks.rebind.test resolves to 127.0.0.1 is a loopback address/],
    ["localhost (the system resolver)", "http://localhost:9/x", /localhost resolves to .* is a loopback address/],
  ])("refuses %s and stores nothing", async (_label, url, message) => {
    const before = await t.prisma.outboxSubscription.count();
    const resolver = fixedResolver({ "hooks.rebind.test": "127.0.0.1" });
    const err = await createSubscription(t, { actor: admin, requestId: null }, { name: `ssrf-${url}`, url, topics: ["transfer.*"] }, { policy: STRICT, resolver: url.includes("localhost") ? undefined : resolver }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "BAD_INPUT" });
    expect((err as Error).message).toMatch(message);
    expect(await t.prisma.outboxSubscription.count()).toBe(before);
  });

  it("accepts an internal receiver on a listed network", async () => {
    const { subscription } = await createSubscription(t, { actor: admin, requestId: null }, { name: "listed", url: `http://127.0.0.1:${port}/ok`, topics: ["transfer.*"] }, { policy: LOOPBACK_LISTED });
    expect(subscription.status).toBe("active");
  });
});

describe("at send", () => {
  const subscriptionId = "00000000-0000-4000-8000-0000000000c2";
  const key = outboxSecretKey();
  const delivery = (url: string): ClaimedDelivery => ({
    id: "1",
    deliveryId: "00000000-0000-4000-8000-0000000000c3",
    eventId: "1",
    subscriptionId,
    topic: "transfer.settled",
    aggregateId: "agg-1",
    attempt: 1,
    payload: { hello: "world" },
    eventCreatedAt: new Date("2026-12-02T00:00:00Z"),
    url,
    secretCiphertext: encryptSecret("whsec_test_secret_for_ssrf", subscriptionId, key),
  });

  it.each([
    ["127.0.0.1 (stored before the guard existed)", (): string => `http://127.0.0.1:${port}/x`, {}, /refused: 127.0.0.1 is a loopback address/],
    ["10.0.0.1", (): string => "http://10.0.0.1:9/x", {}, /refused: 10.0.0.1 is a private address/],
    ["169.254.169.254", (): string => "http://169.254.169.254/latest/meta-data/", {}, /refused: 169.254.169.254 is a cloud metadata address/],
    ["a name that now resolves to 127.0.0.1", (): string => `http://hooks.rebind.test:${port}/x`, { "hooks.rebind.test": "127.0.0.1" }, /refused: host hooks.rebind.test resolves to 127.0.0.1 is a loopback address/],
  ] as const)("refuses %s and sends nothing", async (_label, url, table, message) => {
    const before = received.length;
    const r = await sendDelivery(delivery(url()), { timeoutMs: 2_000, key, policy: STRICT, resolver: fixedResolver(table) });
    expect(r.isDelivered).toBe(false);
    expect(r.httpStatus).toBeNull();
    expect(r.error).toMatch(message);
    expect(received.length).toBe(before);
  });

  it("connects to the address that was checked, not to whatever the name resolves to later", async () => {
    const resolver = fixedResolver({ "hooks.pinned.test": "127.0.0.1" });
    answer = { status: 204, body: "" };
    const r = await sendDelivery(delivery(`http://hooks.pinned.test:${port}/pinned`), { timeoutMs: 2_000, key, policy: LOOPBACK_LISTED, resolver });
    // The system resolver does not know hooks.pinned.test: the request reached the receiver only
    // because the socket used the address the guard checked, looked up once.
    expect(r).toMatchObject({ isDelivered: true, httpStatus: 204 });
    expect(resolver.calls).toEqual(["hooks.pinned.test"]);
    const last = received.at(-1)!;
    expect(last.url).toBe("/pinned");
    expect(last.headers.host).toBe(`hooks.pinned.test:${port}`);
    expect(last.headers["x-delivery-id"]).toBe("00000000-0000-4000-8000-0000000000c3");
  });

  it("stores the status and fixed words, never the answer's body", async () => {
    answer = { status: 500, body: "ami-id: i-0123456789abcdef; AccessKeyId=ASIAEXAMPLE" };
    const r = await sendDelivery(delivery(`http://127.0.0.1:${port}/err`), { timeoutMs: 2_000, key, policy: LOOPBACK_LISTED });
    expect(r).toMatchObject({ isDelivered: false, httpStatus: 500, error: "HTTP 500: the endpoint did not accept the delivery" });
    answer = { status: 302, body: "" };
    const redirected = await sendDelivery(delivery(`http://127.0.0.1:${port}/moved`), { timeoutMs: 2_000, key, policy: LOOPBACK_LISTED });
    expect(redirected.error).toBe("HTTP 302: redirects are not followed");
  });

  it("a network failure is stored in fixed words too", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await sendDelivery(delivery(`http://127.0.0.1:${closedPort}/x`), { timeoutMs: 2_000, key, policy: LOOPBACK_LISTED });
    expect(r.error).toBe("connection refused");
  });
});
