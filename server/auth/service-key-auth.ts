/**
 * Authenticating a service by its Bearer secret.
 *
 * Invariants kept:
 * - A key is looked up by the SHA-256 of the presented secret on every request (no cache), so a
 *   revoked key is refused from the very next request.
 * - A refused key writes a security_events row ("service_key_rejected") with the key's id or the
 *   presented prefix, never the secret.
 * - last_used_at is written at most once a minute per key, so a busy service does not turn every
 *   read into a write.
 * - The actor's permissions are the stored scopes that are still grantable: a scope removed from
 *   SERVICE_KEY_SCOPES stops working without a data migration.
 */
import type { PrismaClient } from "../db/generated/client";
import { hashServiceKeySecret, isGrantableScope, prefixOfSecret } from "../admin/service-keys";
import { serviceActor, type Actor } from "./actor";
import { recordSecurityEvent } from "./security-events";

const LAST_USED_INTERVAL_MS = 60_000;
const lastUsedWrittenAt = new Map<string, number>();

export async function authenticateServiceKey(prisma: PrismaClient, secret: string, ip: string | null): Promise<Actor | null> {
  const key = secret.length > 0 && secret.length <= 200
    ? await prisma.serviceKey.findUnique({
        where: { secretHash: hashServiceKeySecret(secret) },
        select: { id: true, name: true, prefix: true, scopes: true, revokedAt: true, lastUsedAt: true },
      })
    : null;
  if (!key || key.revokedAt) {
    await recordSecurityEvent(
      prisma,
      "service_key_rejected",
      key ? { reason: "revoked", keyId: key.id, prefix: key.prefix } : { reason: "unknown", prefix: prefixOfSecret(secret) },
      ip,
    );
    return null;
  }
  await touchLastUsed(prisma, key.id, key.lastUsedAt);
  return serviceActor({ id: key.id, name: key.name, scopes: key.scopes.filter(isGrantableScope) });
}

async function touchLastUsed(prisma: PrismaClient, keyId: string, lastUsedAt: Date | null): Promise<void> {
  const now = Date.now();
  const seen = Math.max(lastUsedAt?.getTime() ?? 0, lastUsedWrittenAt.get(keyId) ?? 0);
  if (now - seen < LAST_USED_INTERVAL_MS) return;
  lastUsedWrittenAt.set(keyId, now);
  if (lastUsedWrittenAt.size > 10_000) lastUsedWrittenAt.clear();
  // The condition keeps several web processes from all writing within the same minute.
  await prisma.serviceKey.updateMany({
    where: { id: keyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - LAST_USED_INTERVAL_MS) } }] },
    data: { lastUsedAt: new Date(now) },
  });
}
