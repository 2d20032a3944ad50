/**
 * next-auth (v4) configuration: who may sign in, and how the session is carried.
 *
 * Invariants kept:
 * - The session is a JWT in an HttpOnly, SameSite=Lax cookie (Secure when the console is served
 *   over https) and carries the user id only. Roles and the active flag are re-read from the
 *   database on every request (server/auth/load-actor.ts), so a revoked role or a deactivated user
 *   takes effect at once.
 * - Deny by default: credentials sign-in exists only when isCredentialsSignInEnabled(); an OIDC
 *   sign-in is admitted only for an existing, active user with the same (lower-cased) email.
 *   Nobody is created by signing in.
 * - Every refused sign-in writes a security_events row ("signin_failed") naming the email and the
 *   reason, never the password. Every successful sign-in sets users.last_sign_in_at.
 * - An unknown email costs one argon2 verification, like a known one.
 * - Guessing is throttled per account and per client address before any hash is computed
 *   (server/auth/throttle.ts).
 */
import type { NextAuthOptions, User } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import type { OAuthConfig } from "next-auth/providers/oauth";
import type { PrismaClient } from "../db/generated/client";
import { db as defaultDb, type DbHandles } from "../db/client";
import { env as readEnv, isCredentialsSignInEnabled, type Env } from "../env";
import { verifyAgainstDummy, verifyPassword, PASSWORD_MAX_LENGTH } from "./password";
import { clientIpOf, recordSecurityEvent } from "./security-events";
import { isUuid } from "./load-actor";
import { authThrottle } from "./throttle";
import { safeCallbackPath } from "./session-paths";

export const OIDC_PROVIDER_ID = "oidc";
const SESSION_COOKIE_BASE = "next-auth.session-token";

export interface SignInMethods {
  credentials: boolean;
  oidc: { name: string } | null;
}

/** What the sign-in page should offer. */
export function listEnabledSignInMethods(e: Env = readEnv()): SignInMethods {
  return {
    credentials: isCredentialsSignInEnabled(e),
    oidc: isOidcConfigured(e) ? { name: e.AUTH_OIDC_NAME } : null,
  };
}

function isOidcConfigured(e: Env): boolean {
  return Boolean(e.AUTH_OIDC_ISSUER && e.AUTH_OIDC_CLIENT_ID && e.AUTH_OIDC_CLIENT_SECRET);
}

/** Whether session cookies must be Secure (and carry the __Secure- prefix). */
export function isSecureCookieSite(e: Env = readEnv()): boolean {
  return e.NEXTAUTH_URL?.startsWith("https://") ?? false;
}

/** The session cookie's name, shared by next-auth and the API's request context. */
export function sessionCookieName(e: Env = readEnv()): string {
  return isSecureCookieSite(e) ? `__Secure-${SESSION_COOKIE_BASE}` : SESSION_COOKIE_BASE;
}

export interface SignedInUser {
  id: string;
  email: string;
  name: string;
}

function normaliseEmail(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const email = v.trim().toLowerCase();
  return email.length > 0 && email.length <= 320 ? email : null;
}

/**
 * Checks an email and password. Returns the user, or null after recording why it refused:
 * throttled (the account or the client address is locked, checked before any hash is computed),
 * unknown user, inactive user, no password set, wrong password. Every failure counts against the
 * account and the address (server/auth/throttle.ts); a success clears the account's count.
 */
export async function authorizeCredentials(
  db: Pick<DbHandles, "prisma" | "pool">,
  input: { email?: unknown; password?: unknown },
  ip: string | null,
): Promise<SignedInUser | null> {
  const prisma = db.prisma;
  const throttle = authThrottle(db);
  const email = normaliseEmail(input.email);
  const password = typeof input.password === "string" && input.password.length <= PASSWORD_MAX_LENGTH ? input.password : null;
  const refusal = await throttle.check("signin", email, ip);
  if (refusal) {
    await recordSecurityEvent(prisma, "signin_throttled", { method: "credentials", email, locked: refusal.subject, retryAfterSeconds: refusal.retryAfterSeconds }, ip);
    return null;
  }
  if (!email || password === null || password.length === 0) {
    await recordSecurityEvent(prisma, "signin_failed", { method: "credentials", email, reason: "malformed" }, ip);
    await throttle.recordFailure("signin", email, ip);
    return null;
  }
  const user = await prisma.user.findUnique({
    where: { email },
    select: { id: true, email: true, name: true, isActive: true, passwordHash: true },
  });
  let reason: string | null = null;
  if (!user) reason = "unknown_user";
  else if (!user.passwordHash) reason = "no_password";
  if (!user || !user.passwordHash) {
    await verifyAgainstDummy(password);
  } else if (!(await verifyPassword(user.passwordHash, password))) {
    reason = "wrong_password";
  } else if (!user.isActive) {
    // Checked after the password so an inactive account is not revealed to someone guessing.
    reason = "inactive";
  }
  if (reason !== null || !user) {
    await recordSecurityEvent(prisma, "signin_failed", { method: "credentials", email, reason: reason ?? "unknown_user" }, ip);
    const locked = await throttle.recordFailure("signin", email, ip);
    for (const subject of locked) await recordSecurityEvent(prisma, "signin_throttled", { method: "credentials", email, locked: subject, lockedNow: true }, ip);
    return null;
  }
  await throttle.recordSuccess("signin", email);
  await markSignedIn(prisma, user.id);
  return { id: user.id, email: user.email, name: user.name };
}

/**
 * Admits an OIDC identity: the email must be present, not marked unverified by the provider, and
 * belong to an existing, active user. Returns that user, or null after recording why it refused.
 */
export async function admitOidcUser(
  prisma: PrismaClient,
  claims: { email?: unknown; emailVerified?: unknown; subject?: unknown },
  ip: string | null,
): Promise<SignedInUser | null> {
  const email = normaliseEmail(claims.email);
  const subject = typeof claims.subject === "string" ? claims.subject.slice(0, 200) : null;
  let reason: string | null = null;
  let user: { id: string; email: string; name: string; isActive: boolean } | null = null;
  if (!email) reason = "no_email";
  else if (claims.emailVerified === false) reason = "email_unverified";
  else {
    user = await prisma.user.findUnique({ where: { email }, select: { id: true, email: true, name: true, isActive: true } });
    if (!user) reason = "unknown_user";
    else if (!user.isActive) reason = "inactive";
  }
  if (reason !== null || !user) {
    await recordSecurityEvent(prisma, "signin_failed", { method: "oidc", email, subject, reason: reason ?? "unknown_user" }, ip);
    return null;
  }
  await markSignedIn(prisma, user.id);
  return { id: user.id, email: user.email, name: user.name };
}

async function markSignedIn(prisma: PrismaClient, userId: string): Promise<void> {
  await prisma.user.update({ where: { id: userId }, data: { lastSignInAt: new Date() } });
}

interface OidcProfile {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** Builds the options; the route handler and getServerSession use getAuthOptions(). */
export function buildAuthOptions(deps: { getDb: () => DbHandles; env: Env }): NextAuthOptions {
  const e = deps.env;
  const secure = isSecureCookieSite(e);
  const providers: NextAuthOptions["providers"] = [];

  if (isCredentialsSignInEnabled(e)) {
    providers.push(
      CredentialsProvider({
        id: "credentials",
        name: "Email and password",
        credentials: {
          email: { label: "Email", type: "email" },
          password: { label: "Password", type: "password" },
        },
        async authorize(credentials, req) {
          const ip = clientIpOf(req.headers as Record<string, unknown> | undefined);
          const user = await authorizeCredentials(deps.getDb(), credentials ?? {}, ip);
          return user satisfies User | null;
        },
      }),
    );
  }

  if (isOidcConfigured(e)) {
    const issuer = e.AUTH_OIDC_ISSUER!.replace(/\/+$/, "");
    const oidc: OAuthConfig<OidcProfile> = {
      id: OIDC_PROVIDER_ID,
      name: e.AUTH_OIDC_NAME,
      type: "oauth",
      wellKnown: `${issuer}/.well-known/openid-configuration`,
      clientId: e.AUTH_OIDC_CLIENT_ID!,
      clientSecret: e.AUTH_OIDC_CLIENT_SECRET!,
      idToken: true,
      checks: ["pkce", "state"],
      authorization: { params: { scope: "openid email profile" } },
      profile(p) {
        return { id: p.sub, email: normaliseEmail(p.email), name: p.name ?? p.email ?? p.sub, emailVerified: p.email_verified };
      },
    };
    providers.push(oidc);
  }

  return {
    secret: e.NEXTAUTH_SECRET,
    providers,
    session: { strategy: "jwt", maxAge: e.SESSION_MAX_AGE_SECONDS },
    jwt: { maxAge: e.SESSION_MAX_AGE_SECONDS },
    useSecureCookies: secure,
    cookies: {
      sessionToken: {
        name: sessionCookieName(e),
        options: { httpOnly: true, sameSite: "lax", path: "/", secure },
      },
    },
    pages: { signIn: "/signin", error: "/signin" },
    callbacks: {
      // next-auth's own redirects (after sign-in and sign-out) follow the same rule as the sign-in
      // page: a page on the console's origin, else its home page.
      redirect({ url, baseUrl }) {
        return `${new URL(baseUrl).origin}${safeCallbackPath(url, baseUrl)}`;
      },
      async signIn({ user, account, profile }) {
        if (account?.provider === "credentials") return isUuid(user.id);
        if (account?.provider === OIDC_PROVIDER_ID) {
          const p = profile as Partial<OidcProfile> | undefined;
          const admitted = await admitOidcUser(
            deps.getDb().prisma,
            { email: p?.email ?? user.email, emailVerified: p?.email_verified, subject: p?.sub },
            null,
          );
          if (!admitted) return false;
          // Without an adapter next-auth hands this same object to the jwt callback: from here on
          // the session refers to our user id, not the provider's subject.
          user.id = admitted.id;
          return true;
        }
        return false;
      },
      async jwt({ token, user, account }) {
        if (account && user) {
          if (!isUuid(user.id)) throw new Error("sign-in did not resolve to a console user");
          // The token carries the user id only: nothing in it can grant a permission.
          return { sub: user.id };
        }
        return token;
      },
      async session({ session, token }) {
        return { expires: session.expires, user: { id: token.sub ?? "" } } as typeof session;
      },
    },
  };
}

let cachedOptions: NextAuthOptions | undefined;

/** The process's next-auth options, built on first use (after the launcher set the environment). */
export function getAuthOptions(): NextAuthOptions {
  cachedOptions ??= buildAuthOptions({ getDb: defaultDb, env: readEnv() });
  return cachedOptions;
}
