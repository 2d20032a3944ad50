/**
 * Service keys end to end: created by an admin, used as a Bearer secret over HTTP, refused at once
 * when revoked or unknown, scoped, audited without the secret.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TRPCError } from "@trpc/server";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { actorOf, errorOf, httpHandler, makeUser, mutationRequest, queryRequest, resultOf } from "./auth-test-helpers";
import { hashServiceKeySecret, SERVICE_KEY_SECRET_RE } from "../../server/auth/service-key-secret";
import type { Actor } from "../../server/core/actor";
import { resetEnvForTests } from "../../server/env";

let t: TestDb;
let admin: Actor;
let handle: (req: Request) => Promise<Response>;

beforeAll(async () => {
  t = await createTestDb();
  admin = actorOf(await makeUser(t, "keys.admin@test.local", ["admin"]));
  handle = httpHandler(t);
});
afterAll(async () => {
  await t?.drop();
});

const caller = () => createCaller({ db: t, actor: admin, requestId: "req-keys", ip: null });
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function rejectedEvents(): Promise<{ detail: unknown; count: number }[]> {
  return t.prisma.securityEvent.findMany({ where: { kind: "service_key_rejected" }, select: { detail: true, count: true }, orderBy: { lastAt: "asc" } });
}

/** Refusals recorded: repeats of one event within a minute are one row with a count. */
async function rejectedCount(): Promise<number> {
  return (await rejectedEvents()).reduce((n, e) => n + e.count, 0);
}

describe("service keys", () => {
  it("a new key works as a Bearer secret, sets last_used_at, and is revoked at once", async () => {
    const { key, secret } = await caller().admin.serviceKeys.create({ name: "payouts", scopes: ["transfers:read", "ledger:read"], reason: "payouts service" });
    expect(secret).toMatch(SERVICE_KEY_SECRET_RE);
    expect(secret.startsWith(`${key.prefix}_`)).toBe(true);
    expect(key).toMatchObject({ name: "payouts", scopes: ["ledger:read", "transfers:read"], lastUsedAt: null, revokedAt: null });

    const stored = await t.prisma.serviceKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.secretHash).toBe(hashServiceKeySecret(secret));
    expect(JSON.stringify(stored)).not.toContain(secret.slice(12));

    const res = await handle(queryRequest("session.whoami", undefined, bearer(secret)));
    expect(res.status).toBe(200);
    expect(await resultOf(res)).toEqual({ kind: "service", id: key.id, name: "payouts", permissions: ["ledger:read", "transfers:read"] });
    const used = await t.prisma.serviceKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(used.lastUsedAt).toBeInstanceOf(Date);

    // A second call within the minute does not write last_used_at again.
    await handle(queryRequest("session.whoami", undefined, bearer(secret)));
    expect((await t.prisma.serviceKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt).toEqual(used.lastUsedAt);

    const listed = await caller().admin.serviceKeys.list();
    expect(listed[0]).toEqual({
      id: key.id,
      name: "payouts",
      prefix: key.prefix,
      scopes: ["ledger:read", "transfers:read"],
      createdAt: key.createdAt,
      lastUsedAt: used.lastUsedAt,
      revokedAt: null,
      // A read-only key is active from creation and unlimited.
      activatedAt: key.activatedAt,
      debitAccountPrefixes: [],
      debitCurrencies: [],
    });
    expect(JSON.stringify(listed)).not.toMatch(/secret|hash/i);

    const revoked = await caller().admin.serviceKeys.revoke({ id: key.id, reason: "rotated" });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    const eventsBefore = await rejectedCount();
    const after = await handle(queryRequest("session.whoami", undefined, bearer(secret)));
    expect(after.status).toBe(401);
    expect((await errorOf(after)).code).toBe("UNAUTHORIZED");
    const events = await rejectedEvents();
    expect(await rejectedCount()).toBe(eventsBefore + 1);
    expect(events.at(-1)!.detail).toMatchObject({ reason: "revoked", keyId: key.id, prefix: key.prefix });
    expect(JSON.stringify(events)).not.toContain(secret);

    const again = await caller().admin.serviceKeys.revoke({ id: key.id, reason: "again" }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TRPCError);
    expect((again as TRPCError).code).toBe("CONFLICT");
    expect((again as TRPCError).message).toMatch(/already revoked/);

    const audit = await t.prisma.auditLog.findMany({ where: { targetType: "service_key", targetId: key.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["service_key.created", "service_key.revoked"]);
    expect(audit[0]).toMatchObject({ actorType: "user", actorId: admin.kind === "user" ? admin.userId : "", reason: "payouts service", requestId: "req-keys" });
    expect(audit[1]!.reason).toBe("rotated");
    const auditText = JSON.stringify(audit, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    expect(auditText).not.toContain(secret);
    expect(auditText).not.toContain(secret.slice(12));
    expect(auditText).not.toContain(stored.secretHash);
  });

  it.each([
    ["an unknown key of the right shape", "lk_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["garbage", "not-a-key"],
    ["an empty Bearer", ""],
  ])("%s is 401 and runs nothing", async (_label, secret) => {
    const before = await rejectedCount();
    const res = await handle(queryRequest("session.whoami", undefined, { authorization: `Bearer ${secret}`.trim() }));
    expect(res.status).toBe(401);
    expect(await rejectedCount()).toBe(before + 1);
    const m = await handle(mutationRequest("admin.users.create", { email: "x@y.z", name: "x", roles: [] }, { ...bearer(secret), "content-type": "application/json" }));
    expect(m.status).toBe(401);
    expect(await t.prisma.user.count({ where: { email: "x@y.z" } })).toBe(0);
  });

  it("a key revoked by another process stops working within SERVICE_KEY_CACHE_MS; 0 looks every call up", async () => {
    const whoami = async (secret: string) => (await handle(queryRequest("session.whoami", undefined, bearer(secret)))).status;
    const revokeElsewhere = (id: string) => t.pool.query(`UPDATE service_keys SET revoked_at = now() WHERE id = $1`, [id]);
    try {
      process.env.SERVICE_KEY_CACHE_MS = "300";
      resetEnvForTests();
      const { key, secret } = await caller().admin.serviceKeys.create({ name: "cached", scopes: ["ledger:read"], reason: "cache test" });
      expect(await whoami(secret)).toBe(200);
      // Revoked behind this process's back (as another web process would): the cached lookup is
      // reused until it expires, never longer.
      await revokeElsewhere(key.id);
      expect(await whoami(secret)).toBe(200);
      // The cache's clock moves past the 300 ms without waiting for it (only Date is faked).
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 301 });
      try {
        expect(await whoami(secret)).toBe(401);
      } finally {
        vi.useRealTimers();
      }

      process.env.SERVICE_KEY_CACHE_MS = "0";
      resetEnvForTests();
      const other = await caller().admin.serviceKeys.create({ name: "uncached", scopes: ["ledger:read"], reason: "cache test" });
      expect(await whoami(other.secret)).toBe(200);
      await revokeElsewhere(other.key.id);
      expect(await whoami(other.secret)).toBe(401);
    } finally {
      delete process.env.SERVICE_KEY_CACHE_MS;
      resetEnvForTests();
    }
  });

  it("a key looked up (and cached) while its revocation is under way is refused once the revocation commits", async () => {
    const { key, secret } = await caller().admin.serviceKeys.create({ name: "racing", scopes: ["ledger:read"], reason: "race test" });
    // Used once, so last_used_at is fresh and the next call does not write the row.
    expect((await handle(queryRequest("session.whoami", undefined, bearer(secret)))).status).toBe(200);
    // Hold the key's row so the revocation waits inside its transaction while requests read it.
    const blocker = await t.pool.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(`SELECT 1 FROM service_keys WHERE id = $1 FOR UPDATE`, [key.id]);
      const revoking = caller().admin.serviceKeys.revoke({ id: key.id, reason: "race" });
      await new Promise((r) => setTimeout(r, 50));
      // Read while the revocation is under way: still valid in the database, so it is served...
      const during = await handle(queryRequest("session.whoami", undefined, bearer(secret)));
      expect(during.status).toBe(200);
      await blocker.query("COMMIT");
      await revoking;
    } finally {
      blocker.release();
    }
    // ...but the commit empties the cache: the next request after the revocation is refused.
    expect((await handle(queryRequest("session.whoami", undefined, bearer(secret)))).status).toBe(401);
  });

  it("a key without the needed scope gets 403", async () => {
    const { secret } = await caller().admin.serviceKeys.create({ name: "reader", scopes: ["ledger:read"] });
    const ok = await handle(queryRequest("audit.list", {}, bearer(secret)));
    expect(ok.status).toBe(403);
    const adminList = await handle(queryRequest("admin.users.list", {}, bearer(secret)));
    expect(adminList.status).toBe(403);
    expect((await errorOf(adminList)).message).toMatch(/users:read/);
  });

  it("Bearer POSTs must be JSON but need no Origin", async () => {
    const { secret } = await caller().admin.serviceKeys.create({ name: "writer", scopes: ["ledger:read"] });
    const text = await handle(mutationRequest("admin.users.create", {}, { ...bearer(secret), "content-type": "text/plain" }));
    expect(text.status).toBe(415);
    const json = await handle(mutationRequest("admin.users.create", { email: "k@y.z", name: "k", roles: [] }, { ...bearer(secret), "content-type": "application/json" }));
    expect(json.status).toBe(403);
  });

  it.each([
    [["users:manage"], /users:manage/],
    [["service_keys:read"], /service_keys:read/],
    [["adjustments:approve"], /adjustments:approve/],
    [["ledger:read", "root"], /"root"/],
    [[], /at least one/],
  ])("scopes %j are BAD_REQUEST and nothing is written", async (scopes, message) => {
    const keysBefore = await t.prisma.serviceKey.count();
    const auditBefore = await t.prisma.auditLog.count();
    const err = await caller().admin.serviceKeys.create({ name: "bad", scopes }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("BAD_REQUEST");
    expect((err as TRPCError).message).toMatch(message);
    expect(await t.prisma.serviceKey.count()).toBe(keysBefore);
    expect(await t.prisma.auditLog.count()).toBe(auditBefore);
  });

  it("revoking an unknown key is NOT_FOUND; reasons are required", async () => {
    const err = await caller().admin.serviceKeys.revoke({ id: "00000000-0000-4000-8000-000000000000", reason: "x" }).catch((e: unknown) => e);
    expect((err as TRPCError).code).toBe("NOT_FOUND");
    const blank = await caller().admin.serviceKeys.revoke({ id: "00000000-0000-4000-8000-000000000000", reason: "   " }).catch((e: unknown) => e);
    expect((blank as TRPCError).code).toBe("BAD_REQUEST");
  });

  it("scopes() lists exactly the grantable scopes", async () => {
    const scopes = await caller().admin.scopes();
    expect(scopes).toContain("transfers:create");
    expect(scopes.some((s) => s.startsWith("users:") || s.startsWith("service_keys:"))).toBe(false);
  });
});
