/**
 * The ledger's idempotency: claiming keys, and answering from stored results.
 *
 * Invariants kept:
 * - A key is served by at most one transaction at a time. Every ledger transaction claims its
 *   key (a transaction-level advisory lock, ledger_lock_keys in migration
 *   20261202010000_idempotency_key_claims) before it reads any state, so a duplicate that arrives
 *   while the first is in flight waits for it and then gets its stored result. It never sees the
 *   first one's effects without seeing its record too, which is what once answered an applied
 *   transfer with INSUFFICIENT_FUNDS. A wait longer than KEY_WAIT_MS is refused with the retryable
 *   IDEMPOTENCY_IN_PROGRESS.
 * - The same key and request return the stored result (isReplay); the same key with another
 *   request is IDEMPOTENCY_CONFLICT. A stored key answers before any state-dependent check.
 * - Failed requests store nothing, so a failed request may be retried with the same key.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { acquireClient, releaseClient } from "../db/connection";
import { idempotencyConflict } from "../core/idempotency";
import { decodeResult, type StoredResult } from "./codec";
import { preparedQuery } from "../db/prepared";
import type { LedgerResult } from "./types";

/** The advisory-lock class of idempotency keys ("LDG1"); migration 20261202010000 uses it too. */
export const KEY_LOCK_CLASS = 1279543089;

/** How long a duplicate waits for the request it duplicates before IDEMPOTENCY_IN_PROGRESS. */
export const KEY_WAIT_MS = 5_000;

export interface StoredRecord<R = StoredResult> {
  key: string;
  request_hash: string;
  response: R;
}

/** The advisory lock id of a stored key: 32 bits of its SHA-256, as a signed int4. */
export function keyLockId(key: string): number {
  return createHash("sha256").update(key).digest().readInt32BE(0);
}

/**
 * SQL that claims the keys, for the simple-query round trip that opens a transaction (only
 * integers are interpolated).
 */
export function lockKeysStatement(keys: readonly string[]): string {
  return `SELECT ledger_lock_keys('{${keys.map(keyLockId).join(",")}}'::int4[], ${KEY_WAIT_MS})`;
}

/** Claims the keys on an open transaction and returns the records already stored for them. */
export async function claimKeys<R = StoredResult>(client: pg.ClientBase, keys: readonly string[]): Promise<Map<string, StoredRecord<R>>> {
  const res = await preparedQuery<StoredRecord<R>>(client, `SELECT key, request_hash, response FROM ledger_claim_keys($1::text[], $2::int4[], $3::int4)`, [
    keys,
    keys.map(keyLockId),
    KEY_WAIT_MS,
  ]);
  return new Map(res.rows.map((r) => [r.key, r]));
}

/** The stored record of a key, read outside any transaction (after a failed attempt). */
export async function findStored(db: pg.Pool | pg.ClientBase, key: string): Promise<StoredRecord | undefined> {
  const res = await preparedQuery<StoredRecord>(db, `SELECT key, request_hash, response FROM idempotency_records WHERE key = $1`, [key]);
  return res.rows[0];
}

/** What a stored record answers to a request with this hash: its result, or IDEMPOTENCY_CONFLICT. */
export function answerFromStored(stored: StoredRecord, requestHash: string): LedgerResult {
  if (stored.request_hash !== requestHash) throw idempotencyConflict(stored.key);
  return decodeResult(stored.response);
}

/** The error for a duplicate that waited longer than KEY_WAIT_MS (SQLSTATE LG010). */
export function inProgressError(key: string, cause?: unknown): AppError {
  return new AppError("IDEMPOTENCY_IN_PROGRESS", `a request with idempotency key ${key} is still in progress; retry with the same key`, {
    cause,
    isRetryable: true,
    details: { idempotencyKey: key, retryAfterMs: KEY_WAIT_MS },
  });
}

/**
 * Runs `fn` while holding the claim of `key` for the whole run, for operations that span several
 * transactions (a proposal computes its preview in one and stores itself in another). The claim
 * is a session-level advisory lock on a connection of its own, in the same lock space as the
 * ledger's claims; it ends when `fn` settles, or with the connection if the process dies.
 * Errors: IDEMPOTENCY_IN_PROGRESS when another holder keeps the key past KEY_WAIT_MS;
 * DB_UNAVAILABLE; whatever `fn` throws.
 */
export async function withKeyClaimed<T>(pool: pg.Pool, key: string, fn: () => Promise<T>): Promise<T> {
  const client = await acquireClient(pool);
  const lockId = keyLockId(key);
  let isLocked = false;
  let isBroken = false;
  try {
    const tried = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${KEY_LOCK_CLASS}, $1::int4) AS ok`, [lockId]);
    isLocked = tried.rows[0]?.ok === true;
    if (!isLocked) {
      await client.query(`SET lock_timeout = ${KEY_WAIT_MS}`);
      try {
        await client.query(`SELECT pg_advisory_lock(${KEY_LOCK_CLASS}, $1::int4)`, [lockId]);
        isLocked = true;
      } catch (e) {
        if ((e as { code?: unknown }).code === "55P03") throw inProgressError(key, e);
        throw toAppError(e) ?? e;
      } finally {
        await client.query("RESET lock_timeout").catch(() => (isBroken = true));
      }
    }
    return await fn();
  } catch (e) {
    throw toAppError(e) ?? e;
  } finally {
    if (isLocked) await client.query(`SELECT pg_advisory_unlock(${KEY_LOCK_CLASS}, $1::int4)`, [lockId]).catch(() => (isBroken = true));
    releaseClient(client, isBroken);
  }
}
