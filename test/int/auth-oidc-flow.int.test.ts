/**
 * OpenID Connect sign-in end to end, without a browser: next-auth's own handler talks to the dev
 * issuer (scripts/oidc-dev-provider.ts) over real HTTP on 127.0.0.1, the dev login form is posted
 * like a person would, and the callback must yield a session for an existing active user only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { decode } from "next-auth/jwt";
import { createTestDb, type TestDb } from "../support/test-db";
import { makeUser, TEST_SECRET } from "./auth-test-helpers";
import { parseEnv } from "../../server/env";
import { buildAuthOptions } from "../../server/auth/auth-options";
import { createDevProvider, OIDC_DEV_CLIENT_ID, OIDC_DEV_CLIENT_SECRET } from "../../scripts/oidc-dev-provider";
import type { UserItem } from "../../server/admin/users";

interface AuthResponse {
  body?: unknown;
  redirect?: string;
  cookies?: { name: string; value: string; options?: Record<string, unknown> }[];
}
const { AuthHandler } = createRequire(import.meta.url)(path.resolve("node_modules/next-auth/core/index.js")) as {
  AuthHandler: (params: { req: unknown; options: unknown }) => Promise<AuthResponse>;
};

const BASE = "http://console.test:3000";
let t: TestDb;
let server: Server;
let issuer: string;
let olga: UserItem;

beforeAll(async () => {
  process.env.NEXTAUTH_URL = BASE;
  t = await createTestDb();
  olga = await makeUser(t, "oidc.operator@demo.local", ["operator"]);
  const gone = await makeUser(t, "oidc.gone@demo.local", ["viewer"]);
  await t.prisma.user.update({ where: { id: gone.id }, data: { isActive: false } });
  // The issuer URL must name its port, so learn a free one first.
  const probe = await new Promise<Server>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => resolve(s));
  });
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  issuer = `http://127.0.0.1:${port}`;
  server = await new Promise<Server>((resolve) => {
    const s = createDevProvider(issuer, [`${BASE}/api/auth/callback/oidc`]).listen(port, "127.0.0.1", () => resolve(s));
  });
});
afterAll(async () => {
  delete process.env.NEXTAUTH_URL;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await t?.drop();
});

function options() {
  const env = parseEnv({
    NEXTAUTH_SECRET: TEST_SECRET,
    NEXTAUTH_URL: BASE,
    AUTH_OIDC_ISSUER: issuer,
    AUTH_OIDC_CLIENT_ID: OIDC_DEV_CLIENT_ID,
    AUTH_OIDC_CLIENT_SECRET: OIDC_DEV_CLIENT_SECRET,
    AUTH_OIDC_NAME: "Demo SSO",
    AUTH_CREDENTIALS_ENABLED: "false",
  });
  return buildAuthOptions({ getDb: () => t, env });
}

/** A cookie jar for the issuer's host, fed from Set-Cookie headers. */
class Jar {
  private cookies = new Map<string, string>();
  take(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** Follows issuer redirects; fills the login form, then consents, until it points back at the console. */
async function throughIssuer(authUrl: string, login: string): Promise<URL> {
  const jar = new Jar();
  let url = authUrl;
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(BASE)) return new URL(url);
    const res = await fetch(url, { redirect: "manual", headers: { cookie: jar.header() } });
    jar.take(res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get("location")!, url).toString();
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`issuer page without a form at ${url}: ${html.slice(0, 300)}`);
    const isLogin = html.includes('name="login"');
    const form = new URLSearchParams(isLogin ? { prompt: "login", login, password: "any-password" } : { prompt: "consent" });
    const post = await fetch(new URL(action, url), {
      method: "POST",
      redirect: "manual",
      headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    jar.take(post);
    if (post.status < 300 || post.status >= 400) throw new Error(`form post answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
    url = new URL(post.headers.get("location")!, url).toString();
  }
  throw new Error("too many steps at the issuer");
}

async function signInWithOidc(login: string): Promise<AuthResponse> {
  const csrf = await AuthHandler({ req: { method: "GET", action: "csrf", headers: {}, cookies: {}, query: {}, body: {} }, options: options() });
  const jar: Record<string, string> = Object.fromEntries((csrf.cookies ?? []).map((c) => [c.name, c.value]));
  const start = await AuthHandler({
    req: {
      method: "POST",
      action: "signin",
      providerId: "oidc",
      headers: {},
      cookies: jar,
      query: {},
      body: { csrfToken: (csrf.body as { csrfToken: string }).csrfToken, callbackUrl: `${BASE}/` },
    },
    options: options(),
  });
  for (const c of start.cookies ?? []) jar[c.name] = c.value;
  expect(start.redirect).toMatch(new RegExp(`^${issuer}/auth\\?`));
  const authUrl = new URL(start.redirect!);
  expect(authUrl.searchParams.get("scope")).toBe("openid email profile");
  expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256");
  expect(authUrl.searchParams.get("state")).toBeTruthy();

  const back = await throughIssuer(start.redirect!, login);
  expect(back.pathname).toBe("/api/auth/callback/oidc");
  return AuthHandler({
    req: { method: "GET", action: "callback", providerId: "oidc", headers: {}, cookies: jar, query: Object.fromEntries(back.searchParams), body: {} },
    options: options(),
  });
}

describe("OIDC sign-in", () => {
  it("admits an existing active user and puts only their id in the session", async () => {
    const res = await signInWithOidc("OIDC.Operator@demo.local");
    const session = (res.cookies ?? []).find((c) => c.name === "next-auth.session-token");
    expect(session?.value).toBeTruthy();
    const token = await decode({ token: session!.value, secret: TEST_SECRET });
    expect(token?.sub).toBe(olga.id);
    expect(Object.keys(token!).sort()).toEqual(["exp", "iat", "jti", "sub"]);
    expect(res.redirect).toBe(`${BASE}/`);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { id: olga.id } })).lastSignInAt).toBeInstanceOf(Date);
  });

  it.each([
    ["an unknown email", "stranger@demo.local", "unknown_user"],
    ["an inactive user", "oidc.gone@demo.local", "inactive"],
  ])("refuses %s, creates nobody and records why", async (_l, login, reason) => {
    const users = await t.prisma.user.count();
    const res = await signInWithOidc(login);
    expect((res.cookies ?? []).some((c) => c.name === "next-auth.session-token" && c.value)).toBe(false);
    expect(res.redirect).toMatch(/error=AccessDenied/);
    expect(await t.prisma.user.count()).toBe(users);
    const last = await t.prisma.securityEvent.findFirst({ where: { kind: "signin_failed" }, orderBy: { id: "desc" } });
    expect(last?.detail).toMatchObject({ method: "oidc", email: login, reason });
  });
});
