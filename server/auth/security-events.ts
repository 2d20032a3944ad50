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
import type { PrismaClient } from "../db/generated/client";

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

/** The caller's address as the reverse proxy reports it (first hop of X-Forwarded-For). */
export function clientIpOf(headers: { get(name: string): string | null } | Record<string, unknown> | undefined): string | null {
  if (!headers) return null;
  const raw =
    typeof (headers as { get?: unknown }).get === "function"
      ? (headers as { get(name: string): string | null }).get("x-forwarded-for") ?? (headers as { get(name: string): string | null }).get("x-real-ip")
      : ((headers as Record<string, unknown>)["x-forwarded-for"] ?? (headers as Record<string, unknown>)["x-real-ip"]);
  if (typeof raw !== "string" || raw.length === 0) return null;
  const first = raw.split(",")[0]!.trim();
  return first.length > 0 && first.length <= 64 ? first : null;
}
