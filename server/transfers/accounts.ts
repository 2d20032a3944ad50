/**
 * The ledger accounts transfers book to besides the source: a partner's settlement account per
 * currency, and for priced transfers the fee revenue, FX position and FX revenue accounts
 * (server/pricing/transfer-pricing.ts names them).
 *
 * Invariants kept:
 * - An account's id by its code is cached per database for the life of the process: codes never
 *   change and accounts are never deleted (database rules), so a cached id is never wrong. A
 *   missing account is never cached.
 * - Opening is idempotent: the key `open:<code>` and, when the code already exists under another
 *   key (the demo seed opens ops:fees:<C> itself), the existing account is used.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { preparedQuery } from "../db/prepared";
import { TRANSFERS_ACTOR } from "../core/actor";
import { AppError, isAppError } from "../errors/app-error";
import { createAccount } from "../ledger/accounts";
import type { AccountType } from "../ledger/types";

const MAX_CACHED = 10_000;

/** The ledger account a partner's money moves through: an asset, our balance at the partner. */
export function partnerAccountCode(partner: string, currency: string): string {
  return `partner:${partner}:settlement:${currency}`;
}

/** Account ids by code, per database (a connection's host, port and database name). */
const idsByDatabase = new Map<string, Map<string, string>>();
/** Codes known to exist, per pool (what ensureAccount need not open again). */
const ensured = new WeakMap<pg.Pool, Set<string>>();

function idsOf(client: pg.PoolClient): Map<string, string> {
  const key = `${client.host}:${client.port}/${client.database ?? ""}`;
  let m = idsByDatabase.get(key);
  if (!m) idsByDatabase.set(key, (m = new Map()));
  return m;
}

async function readAccountId(client: pg.ClientBase | pg.Pool, code: string): Promise<string | null> {
  const res = await preparedQuery<{ id: string }>(client, `SELECT id::text AS id FROM ledger_accounts WHERE code = $1`, [code]);
  return res.rows[0]?.id ?? null;
}

/**
 * The id of the account with `code`, read through the transaction's `client` on a cache miss.
 * NOT_FOUND when there is none.
 */
export async function accountIdByCode(client: pg.PoolClient, code: string): Promise<string> {
  const cache = idsOf(client);
  const hit = cache.get(code);
  if (hit) return hit;
  const id = await readAccountId(client, code);
  if (!id) throw new AppError("NOT_FOUND", `ledger account ${code} does not exist`, { details: { code } });
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(code, id);
  return id;
}

export interface AccountSpec {
  code: string;
  name: string;
  currency: string;
  type: AccountType;
  metadata?: Record<string, unknown>;
}

/** Opens the account if it does not exist (see the module comment). */
export async function ensureAccount(db: Pick<DbHandles, "pool">, spec: AccountSpec): Promise<void> {
  let seen = ensured.get(db.pool);
  if (!seen) ensured.set(db.pool, (seen = new Set()));
  if (seen.has(spec.code)) return;
  if (!(await readAccountId(db.pool, spec.code))) {
    try {
      await createAccount(
        db,
        TRANSFERS_ACTOR,
        { code: spec.code, name: spec.name, currency: spec.currency, type: spec.type, isNoOverdraft: false, metadata: spec.metadata ?? {} },
        { idempotencyKey: `open:${spec.code}` },
      );
    } catch (e) {
      // Opened meanwhile, or before under another key: use it.
      if (!isAppError(e) || (e.code !== "CONFLICT" && e.code !== "IDEMPOTENCY_CONFLICT")) throw e;
      if (!(await readAccountId(db.pool, spec.code))) throw e;
    }
  }
  if (seen.size >= MAX_CACHED) seen.clear();
  seen.add(spec.code);
}

/** Opens the partner's settlement account for a currency if it does not exist (idempotent). */
export function ensurePartnerAccount(db: Pick<DbHandles, "pool">, partner: string, currency: string): Promise<void> {
  return ensureAccount(db, { code: partnerAccountCode(partner, currency), name: `${partner} settlement ${currency}`, currency, type: "asset", metadata: { partner } });
}
