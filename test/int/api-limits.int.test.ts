/**
 * The API's request limits (issue 14, point 9): a body over TRPC_MAX_BODY_BYTES is refused with
 * 413 whether declared or streamed, and a batch of more than TRPC_MAX_BATCH_SIZE calls with 400;
 * nothing runs for either.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { APP_ORIGIN, httpHandler, makeUser, sessionCookieFor } from "./auth-test-helpers";
import { TRPC_MAX_BATCH_SIZE, TRPC_MAX_BODY_BYTES } from "../../server/api/http-handler";
import { setProcessEnv } from "../../server/env";
import { TEST_SECRET } from "./auth-test-helpers";

let t: TestDb;
let cookie: string;
beforeAll(async () => {
  setProcessEnv({ NEXTAUTH_SECRET: TEST_SECRET });
  t = await createTestDb();
  const u = await makeUser(t, "admin@limits.test", ["admin"]);
  cookie = await sessionCookieFor(u.id);
});
afterAll(async () => {
  await t?.drop();
});

const browser = () => ({ "content-type": "application/json", origin: APP_ORIGIN, cookie });

describe("body size", () => {
  it("a declared body over the limit is refused with 413 and nothing is created", async () => {
    const big = JSON.stringify({ json: { email: "big@limits.test", name: "x".repeat(TRPC_MAX_BODY_BYTES), roles: [] } });
    const res = await httpHandler(t)(new Request(`${APP_ORIGIN}/api/trpc/admin.users.create`, { method: "POST", headers: browser(), body: big }));
    expect(res.status).toBe(413);
    expect(await t.prisma.user.count({ where: { email: "big@limits.test" } })).toBe(0);
  });

  it("a streamed body without Content-Length is cut off at the limit", async () => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 2 * TRPC_MAX_BODY_BYTES) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const req = new Request(`${APP_ORIGIN}/api/trpc/admin.users.create`, { method: "POST", headers: browser(), body: stream, duplex: "half" } as RequestInit);
    const res = await httpHandler(t)(req);
    expect(res.status).toBe(413);
    // Reading stopped shortly after the limit, not at the end of the stream.
    expect(sent).toBeLessThan(TRPC_MAX_BODY_BYTES + 512 * 1024);
  });

  it("a body under the limit is served", async () => {
    const res = await httpHandler(t)(new Request(`${APP_ORIGIN}/api/trpc/admin.users.create`, { method: "POST", headers: browser(), body: JSON.stringify({ json: { email: "small@limits.test", name: "small", roles: [] } }) }));
    expect(res.status).toBe(200);
  });
});

describe("batch size", () => {
  const batch = (n: number) => {
    const paths = Array.from({ length: n }, () => "session.whoami").join(",");
    const input = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), { json: null }]));
    return new Request(`${APP_ORIGIN}/api/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, { method: "GET", headers: { cookie } });
  };

  it(`serves ${TRPC_MAX_BATCH_SIZE} calls in one batch and refuses one more`, async () => {
    const ok = await httpHandler(t)(batch(TRPC_MAX_BATCH_SIZE));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as unknown[]).length).toBe(TRPC_MAX_BATCH_SIZE);
    const tooMany = await httpHandler(t)(batch(TRPC_MAX_BATCH_SIZE + 1));
    expect(tooMany.status).toBe(400);
  });

  it("refuses a batched mutation over the limit too", async () => {
    const n = TRPC_MAX_BATCH_SIZE + 1;
    const paths = Array.from({ length: n }, () => "admin.users.create").join(",");
    const body = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), { json: { email: `batch${i}@limits.test`, name: "b", roles: [] } }]));
    const res = await httpHandler(t)(new Request(`${APP_ORIGIN}/api/trpc/${paths}?batch=1`, { method: "POST", headers: browser(), body: JSON.stringify(body) }));
    expect(res.status).toBe(400);
    expect(await t.prisma.user.count({ where: { email: { startsWith: "batch" } } })).toBe(0);
  });
});
