/**
 * The request context for /api/trpc: who is calling (a service key or a signed-in user), the
 * request id, and the caller's address.
 *
 * A Bearer secret that is unknown or revoked is not "no actor": the request is refused with 401
 * before any procedure runs (RequestRejectedError), so a misconfigured service fails loudly rather
 * than being treated as anonymous.
 */
import { randomUUID } from "node:crypto";
import { getToken } from "next-auth/jwt";
import type { DbHandles } from "../db/client";
import { env } from "../env";
import type { Actor } from "../core/actor";
import { loadUserActor } from "../auth/load-actor";
import { authenticateServiceKey } from "../auth/service-key-auth";
import { clientIpOf } from "../auth/security-events";
import { isSecureCookieSite, sessionCookieName } from "../auth/auth-options";
import type { Context } from "./trpc";

export class RequestRejectedError extends Error {
  constructor(
    readonly status: 401,
    message: string,
  ) {
    super(message);
    this.name = "RequestRejectedError";
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The caller's x-request-id when it is well-formed (≤ 128 safe characters), else a new UUID. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/** The Bearer secret, "" for a Bearer header without one, or null when there is no Bearer header. */
export function bearerSecretOf(req: Request): string | null {
  const h = req.headers.get("authorization");
  if (!h) return null;
  const m = /^Bearer(?:\s+(.*))?$/i.exec(h.trim());
  return m ? (m[1] ?? "").trim() : null;
}

function parseCookies(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const raw = part.slice(i + 1).trim();
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}

async function sessionActorOf(req: Request, db: DbHandles): Promise<Actor | null> {
  const e = env();
  if (!e.NEXTAUTH_SECRET) return null;
  const token = await getToken({
    // Headers are left out on purpose: getToken would otherwise accept a session JWT sent as a
    // Bearer header, and Bearer means a service key here.
    req: { headers: {}, cookies: parseCookies(req.headers.get("cookie")) } as unknown as Parameters<typeof getToken>[0]["req"],
    secret: e.NEXTAUTH_SECRET,
    cookieName: sessionCookieName(e),
    secureCookie: isSecureCookieSite(e),
  });
  const userId = token?.sub;
  return typeof userId === "string" ? loadUserActor(db.prisma, userId) : null;
}

/** Resolves the caller. Throws RequestRejectedError for a bad Bearer secret. */
export async function createRequestContext(req: Request, db: DbHandles): Promise<Context> {
  const requestId = requestIdOf(req);
  const ip = clientIpOf(req.headers);
  const secret = bearerSecretOf(req);
  let actor: Actor | null;
  if (secret !== null) {
    actor = await authenticateServiceKey(db, secret, ip);
    if (!actor) throw new RequestRejectedError(401, "the service key is unknown or revoked");
  } else {
    actor = await sessionActorOf(req, db);
  }
  return { db, actor, requestId, ip };
}
