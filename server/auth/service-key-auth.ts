/**
 * Authenticating a service by its Bearer secret.
 *
 * Invariants kept:
 * - A key is looked up by the SHA-256 of the presented secret, as one prepared statement on the
 *   pool. A valid key's lookup is reused for up to SERVICE_KEY_CACHE_MS (service-key-cache.ts):
 *   a key revoked in this process is refused from the very next request, in another process
 *   within that time. Unknown and revoked secrets are looked up every time.
 * - A refused key writes a security_events row ("service_key_rejected") with the key's id or the
 *   presented prefix, never the secret.
 * - last_used_at is written at most once a minute per key, so a busy service does not turn every
 *   read into a write.
 * - The actor's permissions are the stored scopes that are still grantable: a scope removed from
 *   SERVICE_KEY_SCOPES stops working without a data migration.
 * - A key whose activation waits for a second person's approval (activated_at null: it holds a
 *   money-moving scope) is refused like a revoked one, with its own reason in the security event.
 * - The actor carries the key's creator (what it proposes counts as theirs) and its debit limits
 *   (server/core/debit-limits.ts).
 */
import type { DbHandles } from "../db/client";
import { env } from "../env";
import { preparedQuery } from "../db/prepared";
import { cachedKey, keyCacheGeneration, rememberKey, type CachedKey } from "./service-key-cache";
import { hashServiceKeySecret, isGrantableScope, prefixOfSecret } from "./service-key-secret";
import { serviceActor, type Actor } from "../core/actor";
import { recordSecurityEvent } from "./security-events";

const LAST_USED_INTERVAL_MS = 60_000;
const lastUsedWrittenAt = new Map<string, number>();

/** A key as looked up: what the cache keeps, and whether it works (revoked, activated). */
interface KeyRow extends CachedKey {
  activatedAt: Date | null;
  revokedAt: Date | null;
}

async function findKey(db: Pick<DbHandles, "pool">, secret: string): Promise<KeyRow | null> {
  const secretHash = hashServiceKeySecret(secret);
  const cached = cachedKey(secretHash);
  if (cached) return { ...cached, revokedAt: null, activatedAt: new Date(0) };
  const generation = keyCacheGeneration();
  const res = await preparedQuery<KeyRow>(
    db.pool,
    `SELECT id, name, prefix, scopes, created_by_id AS "createdById", coalesce(debit_account_prefixes, '{}') AS "debitAccountPrefixes",
            coalesce(debit_currencies, '{}') AS "debitCurrencies", activated_at AS "activatedAt", revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"
       FROM service_keys WHERE secret_hash = $1`,
    [secretHash],
  );
  const row = res.rows[0] ?? null;
  if (row && !row.revokedAt && row.activatedAt) {
    const { activatedAt: _activatedAt, revokedAt: _revokedAt, ...key } = row;
    rememberKey(secretHash, key, generation, env().SERVICE_KEY_CACHE_MS);
  }
  return row;
}

export async function authenticateServiceKey(db: Pick<DbHandles, "prisma" | "pool">, secret: string, ip: string | null): Promise<Actor | null> {
  const prisma = db.prisma;
  const key = secret.length > 0 && secret.length <= 200 ? await findKey(db, secret) : null;
  if (!key || key.revokedAt || !key.activatedAt) {
    await recordSecurityEvent(
      prisma,
      "service_key_rejected",
      key ? { reason: key.revokedAt ? "revoked" : "pending_approval", keyId: key.id, prefix: key.prefix } : { reason: "unknown", prefix: prefixOfSecret(secret) },
      ip,
    );
    return null;
  }
  await touchLastUsed(prisma, key.id, key.lastUsedAt);
  return serviceActor({
    id: key.id,
    name: key.name,
    scopes: key.scopes.filter(isGrantableScope),
    createdById: key.createdById,
    debitLimits: { accountCodePrefixes: key.debitAccountPrefixes, currencies: key.debitCurrencies },
  });
}

async function touchLastUsed(prisma: DbHandles["prisma"], keyId: string, lastUsedAt: Date | null): Promise<void> {
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
