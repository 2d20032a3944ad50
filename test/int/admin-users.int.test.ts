/**
 * People administration: create, roles, active flag, each with its audit record; the self-demotion
 * guard; and that a change takes effect on the affected user's very next request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { actorOf, httpHandler, makeUser, mutationRequest, queryRequest, resultOf, sessionCookieFor, APP_ORIGIN } from "./auth-test-helpers";
import { upsertDemoUser, type UserItem } from "../../server/admin/users";
import { verifyPassword } from "../../server/auth/password";
import type { Actor } from "../../server/core/actor";

let t: TestDb;
let adminUser: UserItem;
let admin: Actor;

beforeAll(async () => {
  t = await createTestDb();
  adminUser = await makeUser(t, "people.admin@test.local", ["admin"]);
  admin = actorOf(adminUser);
});
afterAll(async () => {
  await t?.drop();
});

const caller = (actor: Actor | null = admin) => createCaller({ db: t, actor, requestId: "req-people", ip: null });

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => "resolved",
    (err: unknown) => err,
  );
  return e instanceof TRPCError ? e.code : String(e);
}

async function auditFor(userId: string) {
  return t.prisma.auditLog.findMany({ where: { targetType: "user", targetId: userId }, orderBy: { id: "asc" } });
}

describe("admin.users", () => {
  let created: UserItem;

  it("create lower-cases the email, hashes the password and audits", async () => {
    created = await caller().admin.users.create({ email: "New.Person@Test.Local", name: "New Person", roles: ["operator", "viewer", "operator"], password: "correct horse battery" });
    expect(created).toMatchObject({ email: "new.person@test.local", name: "New Person", roles: ["viewer", "operator"], isActive: true, lastSignInAt: null });
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(row.passwordHash!, "correct horse battery")).toBe(true);
    const audit = await auditFor(created.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "user.created", actorId: adminUser.id, actorLabel: adminUser.email, requestId: "req-people", before: null });
    expect(audit[0]!.after).toMatchObject({ email: "new.person@test.local", roles: ["viewer", "operator"], isActive: true });
    const text = JSON.stringify(audit, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    expect(text).not.toContain("correct horse");
    expect(text).not.toContain(row.passwordHash!);
  });

  it("a duplicate email (any case) is CONFLICT naming the email, and writes nothing", async () => {
    const before = await t.prisma.auditLog.count();
    const err = await caller().admin.users.create({ email: "NEW.person@test.local", name: "Again", roles: [] }).catch((e: unknown) => e);
    expect((err as TRPCError).code).toBe("CONFLICT");
    expect((err as TRPCError).message).toContain("new.person@test.local");
    expect(await t.prisma.auditLog.count()).toBe(before);
  });

  it("setRoles replaces the roles and audits before and after", async () => {
    const updated = await caller().admin.users.setRoles({ userId: created.id, roles: ["approver"], reason: "moved to risk" });
    expect(updated.roles).toEqual(["approver"]);
    const audit = await auditFor(created.id);
    expect(audit.at(-1)).toMatchObject({ action: "user.roles_changed", reason: "moved to risk", before: { roles: ["viewer", "operator"] }, after: { roles: ["approver"] } });
  });

  it("setRoles to the same roles changes and audits nothing", async () => {
    const before = (await auditFor(created.id)).length;
    await caller().admin.users.setRoles({ userId: created.id, roles: ["approver"], reason: "no-op" });
    expect((await auditFor(created.id)).length).toBe(before);
  });

  it("setActive deactivates and reactivates, audited", async () => {
    expect((await caller().admin.users.setActive({ userId: created.id, isActive: false, reason: "left the company" })).isActive).toBe(false);
    expect((await caller().admin.users.setActive({ userId: created.id, isActive: true, reason: "came back" })).isActive).toBe(true);
    const actions = (await auditFor(created.id)).map((a) => [a.action, a.reason]);
    expect(actions.slice(-2)).toEqual([
      ["user.deactivated", "left the company"],
      ["user.activated", "came back"],
    ]);
  });

  it.each([
    ["remove own admin role", () => caller().admin.users.setRoles({ userId: adminUser.id, roles: [], reason: "oops" }), /your own admin role/],
    ["deactivate self", () => caller().admin.users.setActive({ userId: adminUser.id, isActive: false, reason: "oops" }), /deactivate yourself/],
  ])("an admin cannot %s", async (_label, run, message) => {
    const before = await t.prisma.auditLog.count();
    const err = await run().catch((e: unknown) => e);
    expect((err as TRPCError).code).toBe("FORBIDDEN");
    expect((err as TRPCError).message).toMatch(message);
    expect(await t.prisma.auditLog.count()).toBe(before);
    expect((await t.prisma.userRole.findMany({ where: { userId: adminUser.id } })).map((r) => r.role)).toEqual(["admin"]);
  });

  it("nobody grants themselves a role, not even an admin (issue 14, point 2)", async () => {
    const before = await t.prisma.auditLog.count();
    expect(await codeOf(caller().admin.users.setRoles({ userId: adminUser.id, roles: ["admin", "viewer"], reason: "also view" }))).toBe("FORBIDDEN");
    expect((await t.prisma.userRole.findMany({ where: { userId: adminUser.id } })).map((r) => r.role)).toEqual(["admin"]);
    expect(await t.prisma.auditLog.count()).toBe(before);
  });

  it("one person may not hold admin and approver together, however they are assigned", async () => {
    expect(await codeOf(caller().admin.users.setRoles({ userId: created.id, roles: ["approver", "admin"], reason: "promote" }))).toBe("FORBIDDEN");
    expect(await codeOf(caller().admin.users.create({ email: "both@example.test", name: "Both", roles: ["admin", "approver"] }))).toBe("FORBIDDEN");
    expect(await t.prisma.user.count({ where: { email: "both@example.test" } })).toBe(0);
  });

  it.each([
    ["setRoles", () => caller().admin.users.setRoles({ userId: "00000000-0000-4000-8000-000000000000", roles: [], reason: "x" })],
    ["setActive", () => caller().admin.users.setActive({ userId: "00000000-0000-4000-8000-000000000000", isActive: false, reason: "x" })],
  ])("%s on an unknown user is NOT_FOUND", async (_l, run) => {
    expect(await codeOf(run())).toBe("NOT_FOUND");
  });

  it.each([
    ["empty reason", { userId: "00000000-0000-4000-8000-000000000000", roles: [], reason: "  " }],
    ["long reason", { userId: "00000000-0000-4000-8000-000000000000", roles: [], reason: "x".repeat(501) }],
    ["unknown role", { userId: "00000000-0000-4000-8000-000000000000", roles: ["root"], reason: "x" }],
  ])("setRoles with %s is BAD_REQUEST", async (_l, input) => {
    expect(await codeOf(caller().admin.users.setRoles(input as never))).toBe("BAD_REQUEST");
  });

  it("unauthenticated and non-admin callers are refused and write nothing", async () => {
    const before = { users: await t.prisma.user.count(), audit: await t.prisma.auditLog.count() };
    expect(await codeOf(caller(null).admin.users.create({ email: "anon@test.local", name: "a", roles: ["admin"] }))).toBe("UNAUTHORIZED");
    expect(await codeOf(caller(null).admin.users.setRoles({ userId: created.id, roles: ["admin"], reason: "x" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(caller(null).admin.users.setActive({ userId: adminUser.id, isActive: false, reason: "x" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(caller(null).admin.users.list({}))).toBe("UNAUTHORIZED");
    const operator = actorOf(await makeUser(t, "people.operator@test.local", ["operator"]));
    expect(await codeOf(caller(operator).admin.users.setRoles({ userId: operator.kind === "user" ? operator.userId : "", roles: ["admin"], reason: "x" }))).toBe("FORBIDDEN");
    // makeUser itself wrote one user and one audit record.
    expect(await t.prisma.user.count()).toBe(before.users + 1);
    expect(await t.prisma.auditLog.count()).toBe(before.audit + 1);
  });

  it("list pages by email without gaps or repeats", async () => {
    for (let i = 0; i < 7; i++) await makeUser(t, `page-${i}@test.local`, ["viewer"]);
    const all = await t.prisma.user.findMany({ orderBy: { email: "asc" }, select: { email: true } });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page = await caller().admin.users.list({ cursor, limit: 3 });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((u) => u.email));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all.map((u) => u.email));
    expect(await codeOf(caller().admin.users.list({ limit: 101 }))).toBe("BAD_REQUEST");
  });
});

describe("changes take effect on the next request", () => {
  it("revoking a role or deactivating a user applies at once to their session", async () => {
    const handle = httpHandler(t);
    const op = await makeUser(t, "live.operator@test.local", ["operator", "viewer"]);
    const cookie = await sessionCookieFor(op.id);
    const whoami = async () => handle(queryRequest("session.whoami", undefined, { cookie }));

    expect((await resultOf<{ permissions: string[] }>(await whoami())).permissions).toContain("transfers:operate");
    await caller().admin.users.setRoles({ userId: op.id, roles: ["viewer"], reason: "less access" });
    expect((await resultOf<{ permissions: string[] }>(await whoami())).permissions).not.toContain("transfers:operate");

    await caller().admin.users.setActive({ userId: op.id, isActive: false, reason: "gone" });
    expect((await whoami()).status).toBe(401);
    const post = await handle(mutationRequest("admin.users.create", { email: "z@z.z", name: "z", roles: [] }, { cookie, origin: APP_ORIGIN, "content-type": "application/json" }));
    expect(post.status).toBe(401);
  });
});

describe("upsertDemoUser", () => {
  it("creates once, audits once, and leaves an existing user alone", async () => {
    const input = { email: "Demo.Seed@Test.Local", name: "Demo", roles: ["approver" as const], password: "short" };
    const first = await upsertDemoUser(t, input);
    expect(first.isCreated).toBe(true);
    await caller().admin.users.setRoles({ userId: first.user.id, roles: ["viewer"], reason: "admin changed it" });
    const second = await upsertDemoUser(t, input);
    expect(second.isCreated).toBe(false);
    expect(second.user.roles).toEqual(["viewer"]);
    const audit = await auditFor(first.user.id);
    expect(audit.map((a) => a.action)).toEqual(["user.created", "user.roles_changed"]);
    expect(audit[0]).toMatchObject({ actorType: "system", reason: "demo seed" });
  });
});
