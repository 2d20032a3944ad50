/**
 * Security events: refused sign-ins, refused service keys, refused partner webhooks and step-up
 * failures. They go to their own table rather than the audit log, because nothing changed and an
 * attacker must not be able to grow the hash-chained audit log at will.
 *
 * Invariants kept:
 * - No secret, password or token ever enters `detail`; callers pass only identifiers (an email,
 *   a key prefix) and a reason word.
 * - Writing an event never fails the request that caused it: a database error here is swallowed,
 *   because refusing the caller is what matters.
 * - Bounded, although anonymous requests feed it: repeats of one event (same kind, detail and
 *   client address) within a minute are one row with a `count`; beyond
 *   SECURITY_EVENTS_MAX_PER_MINUTE events of one kind from one address in a minute (per process),
 *   the rest are counted in one overflow row for that minute; the worker deletes rows older than
 *   SECURITY_EVENTS_RETENTION_DAYS (pruneSecurityEvents). The database allows nothing else: an
 *   update may only add repeats, a delete only remove rows older than a day.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { RateLimiterMemory } from "rate-limiter-flexible";
import type { PrismaClient } from "../db/generated/client";
import type { DbHandles } from "../db/client";
import { env } from "../env";

export type SecurityEventKind = "signin_failed" | "service_key_rejected" | "webhook_rejected" | "signin_throttled";

export type SecurityEventDetail = Record<string, string | number | boolean | null>;

let limiter: { limiter: RateLimiterMemory; points: number } | undefined;

function perAddressLimiter(): RateLimiterMemory {
  const points = env().SECURITY_EVENTS_MAX_PER_MINUTE;
  if (limiter?.points !== points) limiter = { limiter: new RateLimiterMemory({ points, duration: 60, keyPrefix: "security-events" }), points };
  return limiter.limiter;
}

/** The identity of an event for aggregation: kind, detail (keys sorted) and address. */
export function securityEventFingerprint(kind: string, detail: SecurityEventDetail, ip: string | null): string {
  const canonical = JSON.stringify(Object.keys(detail).sort().map((k) => [k, detail[k]]));
  return createHash("sha256").update(`${kind}\u0000${canonical}\u0000${ip ?? ""}`).digest("hex");
}

export async function recordSecurityEvent(prisma: PrismaClient, kind: SecurityEventKind, detail: SecurityEventDetail, ip: string | null): Promise<void> {
  try {
    let stored = detail;
    try {
      await perAddressLimiter().consume(`${kind}|${ip ?? "unknown"}`);
    } catch {
      // Over the limit for this address and kind: counted in the minute's overflow row.
      stored = { overflow: true };
    }
    const fingerprint = securityEventFingerprint(kind, stored, ip);
    await prisma.$executeRaw`
      INSERT INTO security_events (kind, detail, ip, fingerprint, bucket_start, count, created_at, last_at)
      VALUES (${kind}, ${JSON.stringify(stored)}::jsonb, ${ip}, ${fingerprint}, date_trunc('minute', now()), 1, now(), now())
      ON CONFLICT (fingerprint, bucket_start) DO UPDATE SET count = security_events.count + 1, last_at = excluded.last_at`;
  } catch {
    // Deliberately ignored: see the module comment.
  }
}

export const SECURITY_EVENTS_PRUNE_BATCH = 5_000;

/**
 * Deletes security events whose last repeat is older than `olderThan`, in batches of at most
 * SECURITY_EVENTS_PRUNE_BATCH, up to `maxBatches` per call. Returns how many rows went.
 */
export async function pruneSecurityEvents(db: Pick<DbHandles, "pool">, olderThan: Date, maxBatches = 20): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const res = await db.pool.query(
      `DELETE FROM security_events WHERE id IN (SELECT id FROM security_events WHERE last_at < $1 ORDER BY last_at LIMIT $2)`,
      [olderThan, SECURITY_EVENTS_PRUNE_BATCH],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < SECURITY_EVENTS_PRUNE_BATCH) break;
  }
  return total;
}

/**
 * The client's address from X-Forwarded-For, trusting exactly `trustedProxies` hops: each proxy
 * appends the address it received the request from, so the entry `trustedProxies` from the right
 * is the one the outermost trusted proxy saw; everything left of it is whatever the client sent.
 * A chain shorter than that (the request skipped an outer proxy) yields its leftmost entry, which
 * a trusted proxy wrote. 0 proxies, a missing header or an entry that is not an IP address: null.
 */
export function clientAddressFrom(forwardedFor: string | null | undefined, trustedProxies: number): string | null {
  if (trustedProxies <= 0 || typeof forwardedFor !== "string" || forwardedFor.length === 0 || forwardedFor.length > 2000) return null;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter((h) => h.length > 0);
  if (hops.length === 0) return null;
  const hop = hops[Math.max(0, hops.length - trustedProxies)]!;
  return isIP(hop) !== 0 ? hop : null;
}

/** The caller's address from the request's X-Forwarded-For and TRUSTED_PROXY_COUNT (see clientAddressFrom). */
export function clientIpOf(headers: { get(name: string): string | null } | Record<string, unknown> | undefined, trustedProxies: number = env().TRUSTED_PROXY_COUNT): string | null {
  if (!headers) return null;
  const raw =
    typeof (headers as { get?: unknown }).get === "function"
      ? (headers as { get(name: string): string | null }).get("x-forwarded-for")
      : (headers as Record<string, unknown>)["x-forwarded-for"];
  // Several X-Forwarded-For headers arrive as an array in Node's header object: they form one list.
  const list = Array.isArray(raw) ? raw.join(",") : raw;
  return clientAddressFrom(typeof list === "string" ? list : null, trustedProxies);
}
