/**
 * Sign-in and step-up throttling (issue 14, point 8): per account and per client address, on
 * PostgreSQL, checked before any password hash is computed; the lock and its release are audited.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as PasswordModule from "../../server/auth/password";

// Count every password hash computed: a locked account or address must cost none.
const hashes = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../server/auth/password", async (importOriginal) => {
  const real = await importOriginal<typeof PasswordModule>();
  return {
    ...real,
    verifyPassword: async (...a: Parameters<typeof real.verifyPassword>) => {
      hashes.count++;
      return real.verifyPassword(...a);
    },
    verifyAgainstDummy: async (...a: Parameters<typeof real.verifyAgainstDummy>) => {
      hashes.count++;
      return real.verifyAgainstDummy(...a);
    },
  };
});

import { createTestDb, type TestDb } from "../support/test-db";
import { makeUser } from "./auth-test-helpers";
import { enrol, person, appCodeOf, errorOf } from "./approvals-test-helpers";
import { authorizeCredentials } from "../../server/auth/auth-options";
import { resetEnvForTests } from "../../server/env";
import { releaseThrottleLock } from "../../server/admin/sign-in-locks";
import { verifyStepUp } from "../../server/auth/step-up";
import { userActor } from "../../server/core/actor";

const ACCOUNT_FAILURES = 4;
const ADDRESS_FAILURES = 6;

let t: TestDb;
beforeAll(async () => {
  process.env.AUTH_THROTTLE_ACCOUNT_FAILURES = String(ACCOUNT_FAILURES);
  process.env.AUTH_THROTTLE_ADDRESS_FAILURES = String(ADDRESS_FAILURES);
  resetEnvForTests();
  t = await createTestDb();
  await makeUser(t, "carol@throttle.test", ["operator"], "carol-password-1");
  await makeUser(t, "dave@throttle.test", ["viewer"], "dave-password-1");
});
afterAll(async () => {
  delete process.env.AUTH_THROTTLE_ACCOUNT_FAILURES;
  delete process.env.AUTH_THROTTLE_ADDRESS_FAILURES;
  resetEnvForTests();
  await t?.drop();
});

const admin = userActor({ id: "00000000-0000-4000-8000-0000000000d1", email: "admin@throttle.test", name: "admin", roles: ["admin"] });

async function auditActions(targetId: string): Promise<string[]> {
  return (await t.pool.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [targetId])).rows.map((r) => r.action);
}

describe("per account", () => {
  it("locks after the configured failures; then even the right password is refused without computing a hash", async () => {
    for (let i = 0; i < ACCOUNT_FAILURES; i++) {
      // A different address each time: only the account's count can lock.
      expect(await authorizeCredentials(t, { email: "carol@throttle.test", password: `wrong-${i}-password` }, `198.51.100.${20 + i}`)).toBeNull();
    }
    expect(await auditActions("signin:carol@throttle.test")).toEqual(["auth.throttle.lock"]);
    const before = hashes.count;
    expect(await authorizeCredentials(t, { email: "CAROL@throttle.test", password: "carol-password-1" }, "198.51.100.99")).toBeNull();
    expect(hashes.count).toBe(before);
    const event = await t.pool.query(`SELECT detail FROM security_events WHERE kind = 'signin_throttled' AND detail->>'email' = 'carol@throttle.test' ORDER BY id DESC LIMIT 1`);
    expect(event.rows[0]?.detail).toMatchObject({ locked: "account" });
  });

  it("an admin's release is audited and lets the person in", async () => {
    const r = await releaseThrottleLock(t, { actor: admin, requestId: "req-release" }, { scope: "signin", subject: "account", value: "carol@throttle.test", reason: "carol called from her desk" });
    expect(r.released).toBe(true);
    expect(await auditActions("signin:carol@throttle.test")).toEqual(["auth.throttle.lock", "auth.throttle.release"]);
    const release = await t.pool.query(`SELECT actor_label, reason, before FROM audit_log WHERE action = 'auth.throttle.release' ORDER BY id DESC LIMIT 1`);
    expect(release.rows[0]).toMatchObject({ actor_label: "admin@throttle.test", reason: "carol called from her desk", before: { isLocked: true } });
    expect(await authorizeCredentials(t, { email: "carol@throttle.test", password: "carol-password-1" }, "198.51.100.99")).toMatchObject({ email: "carol@throttle.test" });
  });

  it("a success clears the account's count", async () => {
    for (let i = 0; i < ACCOUNT_FAILURES - 1; i++) await authorizeCredentials(t, { email: "dave@throttle.test", password: "nope-nope-nope" }, null);
    expect(await authorizeCredentials(t, { email: "dave@throttle.test", password: "dave-password-1" }, null)).not.toBeNull();
    for (let i = 0; i < ACCOUNT_FAILURES - 1; i++) await authorizeCredentials(t, { email: "dave@throttle.test", password: "nope-nope-nope" }, null);
    expect(await authorizeCredentials(t, { email: "dave@throttle.test", password: "dave-password-1" }, null)).not.toBeNull();
  });
});

describe("per client address", () => {
  it("one address guessing many accounts is locked out, for every account, before any hash", async () => {
    const ip = "203.0.113.50";
    for (let i = 0; i < ADDRESS_FAILURES; i++) {
      expect(await authorizeCredentials(t, { email: `nobody${i}@throttle.test`, password: "guess-guess-guess" }, ip)).toBeNull();
    }
    expect(await auditActions(`signin:${ip}`)).toEqual(["auth.throttle.lock"]);
    const before = hashes.count;
    expect(await authorizeCredentials(t, { email: "dave@throttle.test", password: "dave-password-1" }, ip)).toBeNull();
    expect(hashes.count).toBe(before);
    // Another address is unaffected.
    expect(await authorizeCredentials(t, { email: "dave@throttle.test", password: "dave-password-1" }, "203.0.113.51")).not.toBeNull();
  });
});

describe("step-up codes per client address", () => {
  it("wrong codes from one address lock that address for everyone (RATE_LIMITED), before a code is checked", async () => {
    const ip = "203.0.113.60";
    const people = Array.from({ length: ADDRESS_FAILURES }, (_, i) => person(`guesser${i}`, ["approver"]));
    for (const p of people) await enrol(t, p);
    // Each person fails once (their own lock needs five), so only the address can lock.
    for (const p of people) expect(appCodeOf(await errorOf(verifyStepUp(t, p, { code: "000000" }, { ip })))).toBe("STEP_UP_INVALID");
    const fresh = person("fresh", ["approver"]);
    const secret = await enrol(t, fresh);
    const { generateTotpCode } = await import("../../server/auth/totp");
    const err = await errorOf(verifyStepUp(t, fresh, { code: generateTotpCode(secret, new Date(Date.now() + 30_000)) }, { ip }));
    expect(appCodeOf(err)).toBe("RATE_LIMITED");
    expect(await auditActions(`totp:${ip}`)).toEqual(["auth.throttle.lock"]);
  });
});
