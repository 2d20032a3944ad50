/**
 * CSRF baseline through the real HTTP handler: browser mutations are JSON from the console's own
 * origin or nothing; queries over GET work.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { APP_ORIGIN, errorOf, httpHandler, makeUser, mutationRequest, queryRequest, resultOf, sessionCookieFor } from "./auth-test-helpers";
import type { UserItem } from "../../server/admin/users";

let t: TestDb;
let cookie: string;
let handle: (req: Request) => Promise<Response>;

beforeAll(async () => {
  t = await createTestDb();
  const admin = await makeUser(t, "csrf.admin@test.local", ["admin"]);
  cookie = await sessionCookieFor(admin.id);
  handle = httpHandler(t);
});
afterAll(async () => {
  await t?.drop();
});

async function userCount(email: string): Promise<number> {
  return t.prisma.user.count({ where: { email } });
}

async function auditCount(): Promise<number> {
  return t.prisma.auditLog.count({ where: { action: "user.created", actorType: "user" } });
}

const input = (email: string) => ({ email, name: "Someone", roles: ["viewer"] });

describe("CSRF: refused before anything runs", () => {
  const refused: { label: string; headers: Record<string, string>; body?: string; status: number }[] = [
    { label: "cross-origin JSON", headers: { "content-type": "application/json", origin: "https://evil.example" }, status: 403 },
    { label: "cross-origin JSON, same host other port", headers: { "content-type": "application/json", origin: "http://console.test:3001" }, status: 403 },
    { label: "JSON with Origin null", headers: { "content-type": "application/json", origin: "null" }, status: 403 },
    { label: "JSON, no Origin, cross-site fetch", headers: { "content-type": "application/json", "sec-fetch-site": "cross-site" }, status: 403 },
    { label: "JSON, no Origin, no Sec-Fetch-Site", headers: { "content-type": "application/json" }, status: 403 },
    { label: "form-encoded, same origin", headers: { "content-type": "application/x-www-form-urlencoded", origin: APP_ORIGIN }, body: "email=x%40y.z", status: 403 },
    { label: "multipart, same origin", headers: { "content-type": "multipart/form-data; boundary=x", origin: APP_ORIGIN }, body: "--x--", status: 403 },
    { label: "text/plain, same origin", headers: { "content-type": "text/plain", origin: APP_ORIGIN }, status: 403 },
    { label: "text/plain, no Origin, same-origin fetch", headers: { "content-type": "text/plain", "sec-fetch-site": "same-origin" }, status: 403 },
    { label: "no content type, same origin", headers: { origin: APP_ORIGIN }, status: 403 },
  ];

  it.each(refused)("$label → $status and no write", async ({ label, headers, body, status }) => {
    const email = `csrf-${label.replace(/[^a-z]+/gi, "-").toLowerCase()}@test.local`;
    const before = await auditCount();
    const res = await handle(mutationRequest("admin.users.create", input(email), { ...headers, cookie }, body));
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe("FORBIDDEN");
    expect(await userCount(email)).toBe(0);
    expect(await auditCount()).toBe(before);
  });

  it("PUT and DELETE are not served", async () => {
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/admin.users.create`, { method, headers: { "content-type": "application/json", origin: APP_ORIGIN, cookie } }));
      expect(res.status).toBe(405);
    }
  });
});

describe("CSRF: the console itself", () => {
  it("same-origin JSON POST runs the mutation", async () => {
    const res = await handle(mutationRequest("admin.users.create", input("csrf.ok@test.local"), { "content-type": "application/json", origin: APP_ORIGIN, cookie }));
    expect(res.status).toBe(200);
    const user = await resultOf<UserItem>(res);
    expect(user.email).toBe("csrf.ok@test.local");
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(await userCount("csrf.ok@test.local")).toBe(1);
  });

  it("JSON POST without Origin but Sec-Fetch-Site same-origin runs the mutation", async () => {
    const res = await handle(
      mutationRequest("admin.users.create", input("csrf.fetchsite@test.local"), { "content-type": "application/json; charset=utf-8", "sec-fetch-site": "same-origin", cookie }),
    );
    expect(res.status).toBe(200);
    expect(await userCount("csrf.fetchsite@test.local")).toBe(1);
  });

  it("same-origin JSON POST without a session is 401 and writes nothing", async () => {
    const res = await handle(mutationRequest("admin.users.create", input("csrf.anon@test.local"), { "content-type": "application/json", origin: APP_ORIGIN }));
    expect(res.status).toBe(401);
    expect(await userCount("csrf.anon@test.local")).toBe(0);
  });

  it("GET queries work, with or without Origin", async () => {
    const a = await handle(queryRequest("session.whoami", undefined, { cookie }));
    expect(a.status).toBe(200);
    expect((await resultOf<{ email: string }>(a)).email).toBe("csrf.admin@test.local");
    const b = await handle(queryRequest("admin.users.list", { limit: 5 }, { cookie, origin: "https://elsewhere.example" }));
    expect(b.status).toBe(200);
    expect((await resultOf<{ items: unknown[] }>(b)).items.length).toBeGreaterThan(0);
  });

  it("a mutation over GET is refused by tRPC", async () => {
    const res = await handle(queryRequest("admin.users.create", input("csrf.get@test.local"), { cookie }));
    expect(res.status).toBe(405);
    expect(await userCount("csrf.get@test.local")).toBe(0);
  });

  it("malformed input gives BAD_REQUEST naming the fields", async () => {
    const res = await handle(mutationRequest("admin.users.create", { email: "not-an-email", name: "", roles: ["king"] }, { "content-type": "application/json", origin: APP_ORIGIN, cookie }));
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.data?.code).toBe("BAD_REQUEST");
    const paths = (err.data?.fieldErrors ?? []).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["email", "name", "roles.0"]));
    expect(err.message).toMatch(/email/);
  });

  it("echoes a well-formed x-request-id and replaces a malformed one", async () => {
    const ok = await handle(queryRequest("session.whoami", undefined, { cookie, "x-request-id": "req-123.abc" }));
    expect(ok.headers.get("x-request-id")).toBe("req-123.abc");
    const bad = await handle(queryRequest("session.whoami", undefined, { cookie, "x-request-id": "bad id\twith spaces" }));
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a tampered session cookie is no session", async () => {
    const res = await handle(queryRequest("session.whoami", undefined, { cookie: `${cookie}x` }));
    expect(res.status).toBe(401);
  });
});
