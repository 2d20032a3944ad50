/**
 * What pricing reads on a transfer's and a quote's hot path, cached per process for
 * PRICING_CACHE_TTL_MS: the fee schedule versions of a rail, a source account's customer and
 * segment, and for quotes a customer's segment, the spread of a pair and the pair's reference
 * rates (cachedLookup). A transfer or a quote is then priced without a database round trip in the
 * steady state.
 *
 * Invariants kept:
 * - Versions: an entry holds, as read at time L, the version in force on the rail at L and every
 *   later one, and is used only until L + TTL. Versions are append-only and a version approved at A
 *   takes effect no sooner than A + TTL + 1 s (approval-kinds.ts, VERSION_ACTIVATION_DELAY), so no
 *   version missing from an entry can be in force while the entry is used: the version chosen
 *   from the cache is the one the database would give. A time before the entry's first version,
 *   or after its expiry, is read from the database.
 * - Customers: a source account's customer id (its metadata.customerId, else its code) and that
 *   customer's segment are at most TTL old. A segment change therefore prices transfers created
 *   within TTL after it with the old segment (documented in docs/runbooks/pricing.md).
 * - Quotes' lookups: a segment or spread is at most TTL old in another process (the process that
 *   changed it forgets its own at once); rates are immutable, a newly stored day is seen within TTL.
 * - Entries are per pool (a WeakMap), so two databases (tests) never share one; each map is
 *   bounded (MAX_ENTRIES, emptied when full). A missing account and a failed read are never cached.
 */
import type pg from "pg";
import { pgRunner } from "../db/sql";
import { preparedQuery } from "../db/prepared";
import { env } from "../env";
import { findVersionInForce, versionsFrom, type ScheduleVersion } from "./schedules";

const MAX_ENTRIES = 10_000;

interface VersionsEntry {
  expiresAt: number;
  /** Ascending by effective_from, version: the one in force at load time, then every later one. */
  versions: ScheduleVersion[];
}

interface CustomerEntry {
  expiresAt: number;
  context: PricingCustomer;
}

export interface PricingCustomer {
  accountId: string;
  accountCode: string;
  currency: string;
  customerId: string;
  segment: string | null;
}

interface LookupEntry {
  expiresAt: number;
  value: Promise<unknown>;
}

interface PoolCache {
  versions: Map<string, VersionsEntry>;
  customers: Map<string, CustomerEntry>;
  /** Quotes' reads (cachedLookup), keyed by kind and arguments. */
  lookups: Map<string, LookupEntry>;
}

const caches = new WeakMap<pg.Pool, PoolCache>();

function cacheOf(pool: pg.Pool): PoolCache {
  let c = caches.get(pool);
  if (!c) caches.set(pool, (c = { versions: new Map(), customers: new Map(), lookups: new Map() }));
  return c;
}

/** What a quote reads besides the schedule: a customer's segment, a spread, a pair's rate history. */
export type LookupKind = "segment" | "spread" | "rates";

/**
 * `load()`'s answer for `key`, read at most once per TTL per process (concurrent callers share the
 * read in flight). Answers that say "none" (no segment, no spread) are answers and are kept; a
 * failed read is not kept. A spread or segment changed in this process is seen at once
 * (forgetLookups); other processes see it within the TTL, as they see a segment for transfers.
 * Reference rates never change once stored; a new day's rates are seen within the TTL.
 */
export async function cachedLookup<V>(pool: pg.Pool, kind: LookupKind, key: string, load: () => Promise<V>, now = Date.now()): Promise<V> {
  const ttl = env().PRICING_CACHE_TTL_MS;
  if (ttl === 0) return load();
  const map = cacheOf(pool).lookups;
  const k = `${kind}\u0000${key}`;
  const hit = map.get(k);
  if (hit && hit.expiresAt > now) return hit.value as Promise<V>;
  const value = load();
  put(map, k, { expiresAt: now + ttl, value });
  value.catch(() => {
    if (map.get(k)?.value === value) map.delete(k);
  });
  return value;
}

/** Drops this process's cached lookups of `kind` (after a change of spreads or segments). */
export function forgetLookups(pool: pg.Pool, kind: LookupKind): void {
  const c = caches.get(pool);
  if (!c) return;
  for (const k of c.lookups.keys()) if (k.startsWith(`${kind}\u0000`)) c.lookups.delete(k);
  // Transfers' customers carry their segment too.
  if (kind === "segment") c.customers.clear();
}

function put<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_ENTRIES) map.clear();
  map.set(key, value);
}

/** The newest version with effective_from <= at among versions sorted ascending, or null. */
function pick(versions: readonly ScheduleVersion[], at: Date): ScheduleVersion | null {
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.effectiveFrom <= at) return versions[i]!;
  return null;
}

/**
 * The version in force on `rail` at `at` (see the module comment for when the cache answers).
 * Same answer as findVersionInForce.
 */
export async function cachedVersionInForce(pool: pg.Pool, rail: string, at: Date, now = Date.now()): Promise<ScheduleVersion | null> {
  const ttl = env().PRICING_CACHE_TTL_MS;
  if (ttl === 0) return findVersionInForce(pgRunner(pool), rail, at);
  const cache = cacheOf(pool).versions;
  let entry = cache.get(rail);
  if (!entry || entry.expiresAt <= now) {
    const loadedAt = new Date(now);
    entry = { expiresAt: now + ttl, versions: await versionsFrom(pgRunner(pool), rail, loadedAt) };
    put(cache, rail, entry);
  }
  const first = entry.versions[0];
  // No version loaded means none was in force at load time and none is due: nothing was ever in
  // force before either. A time before the first loaded version needs the older ones.
  const isCovered = at.getTime() < entry.expiresAt && (!first || first.effectiveFrom <= at);
  return isCovered ? pick(entry.versions, at) : findVersionInForce(pgRunner(pool), rail, at);
}

/**
 * The customer a transfer from `accountId` is priced for, with the customer's segment; null when
 * the account does not exist. One statement on a miss (the account joined to its segment).
 */
export async function cachedPricingCustomer(pool: pg.Pool, accountId: string, now = Date.now()): Promise<PricingCustomer | null> {
  const ttl = env().PRICING_CACHE_TTL_MS;
  const cache = cacheOf(pool).customers;
  const hit = ttl > 0 ? cache.get(accountId) : undefined;
  if (hit && hit.expiresAt > now) return hit.context;
  // The customer id rule of customerIdOf (transfer-pricing.ts), in SQL so the segment comes in the same statement.
  const res = await preparedQuery<{ id: string; code: string; currency: string; customer_id: string; segment: string | null }>(
    pool,
    `SELECT a.id::text AS id, a.code, a.currency, c.customer_id, pc.segment
       FROM ledger_accounts a
       CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(a.metadata -> 'customerId') = 'string' AND length(a.metadata ->> 'customerId') BETWEEN 1 AND 128
                                       THEN a.metadata ->> 'customerId' ELSE a.code END AS customer_id) c
       LEFT JOIN pricing_customers pc ON pc.customer_id = c.customer_id
      WHERE a.id = $1`,
    [accountId],
  );
  const r = res.rows[0];
  if (!r) return null;
  const context: PricingCustomer = { accountId: r.id, accountCode: r.code, currency: r.currency.trim(), customerId: r.customer_id, segment: r.segment };
  if (ttl > 0) put(cache, accountId, { expiresAt: now + ttl, context });
  return context;
}
