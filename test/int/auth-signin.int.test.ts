/**
 * Sign-in: credentials through next-auth's own handler (CSRF token, callback, session cookie), the
 * refusals and their security events, the OIDC admission rule, and what the session token holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import path from "node:path";
import { decode } from "next-auth/jwt";
import { createTestDb, type TestDb } from "../support/test-db";
import { makeUser, TEST_SECRET } from "./auth-test-helpers";
import { parseEnv } from "../../server/env";
import { admitOidcUser, authorizeCredentials, buildAuthOptions } from "../../server/auth/auth-options";
import type { UserItem } from "../../server/admin/users";

// next-auth's framework-neutral core is not in its package exports; load it by file, as its own
// Next.js adapter does internally.
interface AuthResponse {
  body?: unknown;
  redirect?: string;
  headers?: { key: string; value: string }[];
  cookies?: { name: string; value: string; options?: Record<string, unknown> }[];
}
const { AuthHandler } = createRequire(import.meta.url)(path.resolve("node_modules/next-auth/core/index.js")) as {
  AuthHandler: (params: { req: unknown; options: unknown }) => Promise<AuthResponse>;
};

const BASE = "http://console.test:3000";
let t: TestDb;
let alice: UserItem;

beforeAll(async () => {
  // next-auth reads its own base URL from the process environment.
  process.env.NEXTAUTH_URL = BASE;
  t = await createTestDb();
  alice = await makeUser(t, "alice@test.local", ["operator"], "alice-password-1");
  await makeUser(t, "sso.only@test.local", ["viewer"], null);
  const gone = await makeUser(t, "gone@test.local", ["viewer"], "gone-password-12");
  await t.prisma.user.update({ where: { id: gone.id }, data: { isActive: false } });
});
afterAll(async () => {
  delete process.env.NEXTAUTH_URL;
  await t?.drop();
});

async function failedEvents() {
  return t.prisma.securityEvent.findMany({ where: { kind: "signin_failed" }, orderBy: { id: "asc" } });
}

describe("authorizeCredentials", () => {
  it("admits the right password, case-insensitively on email, and stamps last_sign_in_at", async () => {
    const u = await authorizeCredentials(t, { email: "  ALICE@test.local ", password: "alice-password-1" }, "10.0.0.1");
    expect(u).toEqual({ id: alice.id, email: "alice@test.local", name: "alice" });
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: alice.id } });
    expect(row.lastSignInAt).toBeInstanceOf(Date);
  });

  it.each([
    ["wrong password", { email: "alice@test.local", password: "alice-password-2" }, "wrong_password"],
    ["unknown user", { email: "nobody@test.local", password: "whatever-password" }, "unknown_user"],
    ["user without a password", { email: "sso.only@test.local", password: "whatever-password" }, "no_password"],
    ["inactive user", { email: "gone@test.local", password: "gone-password-12" }, "inactive"],
    ["missing password", { email: "alice@test.local" }, "malformed"],
    ["non-string email", { email: 42, password: "x" }, "malformed"],
  ])("refuses %s and records signin_failed without the password", async (_label, input, reason) => {
    const before = (await failedEvents()).length;
    expect(await authorizeCredentials(t, input, "10.0.0.2")).toBeNull();
    const events = await failedEvents();
    expect(events.length).toBe(before + 1);
    const last = events.at(-1)!;
    expect(last.detail).toMatchObject({ method: "credentials", reason });
    expect(last.ip).toBe("10.0.0.2");
    const pw = (input as { password?: unknown }).password;
    if (typeof pw === "string") expect(JSON.stringify(last.detail)).not.toContain(pw);
  });
});

describe("admitOidcUser", () => {
  it("admits an existing active user by lower-cased email", async () => {
    expect(await admitOidcUser(t.prisma, { email: "Alice@Test.Local", emailVerified: true, subject: "abc" }, null)).toMatchObject({ id: alice.id });
  });

  it.each([
    ["unknown email", { email: "stranger@test.local", emailVerified: true }, "unknown_user"],
    ["inactive user", { email: "gone@test.local", emailVerified: true }, "inactive"],
    ["unverified email", { email: "alice@test.local", emailVerified: false }, "email_unverified"],
    ["no email", { subject: "x" }, "no_email"],
  ])("refuses %s", async (_l, claims, reason) => {
    expect(await admitOidcUser(t.prisma, claims, null)).toBeNull();
    expect((await failedEvents()).at(-1)!.detail).toMatchObject({ method: "oidc", reason });
    expect(await t.prisma.user.count({ where: { email: "stranger@test.local" } })).toBe(0);
  });
});

describe("credentials sign-in through next-auth", () => {
  const env = parseEnv({ NEXTAUTH_SECRET: TEST_SECRET, NEXTAUTH_URL: BASE, AUTH_CREDENTIALS_ENABLED: "true", SESSION_MAX_AGE_SECONDS: "3600" });
  const options = () => buildAuthOptions({ getDb: () => t, env });

  function cookiesOf(set: AuthResponse["cookies"]) {
    return Object.fromEntries((set ?? []).map((c) => [c.name, c.value]));
  }

  async function signIn(email: string, password: string) {
    const csrf = await AuthHandler({
      req: { method: "GET", action: "csrf", headers: {}, cookies: {}, query: {}, body: {} },
      options: options(),
    });
    const jar = cookiesOf(csrf.cookies);
    const csrfToken = (csrf.body as { csrfToken: string }).csrfToken;
    return AuthHandler({
      req: {
        method: "POST",
        action: "callback",
        providerId: "credentials",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        cookies: jar,
        query: {},
        body: { csrfToken, email, password, callbackUrl: `${BASE}/` },
      },
      options: options(),
    });
  }

  it("issues an HttpOnly, SameSite=Lax session cookie whose token carries the user id only", async () => {
    const res = await signIn("alice@test.local", "alice-password-1");
    const session = (res.cookies ?? []).find((c) => c.name === "next-auth.session-token");
    expect(session?.value).toEqual(expect.any(String));
    expect(session!.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
    const token = await decode({ token: session!.value, secret: TEST_SECRET });
    expect(token?.sub).toBe(alice.id);
    expect(Object.keys(token ?? {}).sort()).toEqual(["exp", "iat", "jti", "sub"]);
    expect((token!.exp as number) - (token!.iat as number)).toBe(3600);
  });

  it("a wrong password gets no session and is sent back to /signin", async () => {
    const res = await signIn("alice@test.local", "nope-nope-nope");
    expect((res.cookies ?? []).some((c) => c.name === "next-auth.session-token" && c.value)).toBe(false);
    expect(res.redirect).toMatch(/\/api\/auth\/error\?error=CredentialsSignin/);
    // next-auth's error route then hands over to our custom page.
    const page = await AuthHandler({
      req: { method: "GET", action: "error", error: "CredentialsSignin", headers: {}, cookies: {}, query: { error: "CredentialsSignin" }, body: {} },
      options: options(),
    });
    expect(page.redirect).toBe(`${BASE}/api/auth/signin?error=CredentialsSignin`);
    const custom = await AuthHandler({
      req: { method: "GET", action: "signin", error: "CredentialsSignin", headers: {}, cookies: {}, query: { error: "CredentialsSignin" }, body: {} },
      options: options(),
    });
    expect(custom.redirect).toMatch(/^\/signin\?.*error=CredentialsSignin/);
  });

  it("offers no credentials provider when credentials sign-in is off", () => {
    const off = buildAuthOptions({ getDb: () => t, env: parseEnv({ NEXTAUTH_SECRET: TEST_SECRET, AUTH_CREDENTIALS_ENABLED: "false" }) });
    expect(off.providers.map((p) => p.id)).toEqual([]);
  });
});
