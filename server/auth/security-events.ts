/**
 * Security events: refused sign-ins, refused service keys and refused partner webhooks. They go
 * to their own append-only table rather than the audit log, because nothing changed and an
 * attacker must not be able to grow the hash-chained audit log at will.
 *
 * Invariants kept:
 * - No secret, password or token ever enters `detail`; callers pass only identifiers (an email,
 *   a key prefix) and a reason word.
 * - Writing an event never fails the request that caused it: a database error here is swallowed,
 *   because refusing the caller is what matters.
 */
import { isIP } from "node:net";
import type { PrismaClient } from "../db/generated/client";
import { env } from "../env";

export type SecurityEventKind = "signin_failed" | "service_key_rejected" | "webhook_rejected";

export async function recordSecurityEvent(
  prisma: PrismaClient,
  kind: SecurityEventKind,
  detail: Record<string, string | number | boolean | null>,
  ip: string | null,
): Promise<void> {
  try {
    await prisma.securityEvent.create({ data: { kind, detail, ip } });
  } catch {
    // Deliberately ignored: see the module comment.
  }
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
