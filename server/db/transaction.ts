/**
 * One way to run a multi-statement transaction on a raw pg client: BEGIN, the caller's work,
 * COMMIT. Domains that must change their own rows and move money atomically (transfers,
 * approvals) use it with executeLedgerCommandInTransaction.
 *
 * Invariants kept:
 * - On any failure the transaction is rolled back (or the connection discarded when the server
 *   dropped it) before the error leaves this function.
 * - Serialization failures, deadlocks and unique violations of idempotency keys raced by a
 *   concurrent transaction are retried (bounded, jittered), so callers never see them: on the
 *   retry the caller's own checks find the committed winner.
 * - A lost database surfaces as DB_UNAVAILABLE (retryable); nothing else is translated here.
 */
import type pg from "pg";
import { toAppError } from "../errors/db-errors";
import { acquireClient, releaseClient } from "./connection";

/**
 * BEGIN for the hot write transactions (ledger writes, transfer transitions, webhook and partner
 * bookkeeping), whose statements only ever reach rows by key. Every statement on the hot path is a
 * named prepared statement whose plan is cached for the life of the connection; planned while a
 * table was young (a fresh database, a restore, autovacuum behind), such a plan can be a
 * sequential scan or a hash join over a whole table and stay so while the table grows — measured
 * on a fresh database: several milliseconds per transfer after a few thousand. Inside these
 * transactions, scans and joins that ignore the keys are priced out, so the plans cached there use
 * the indexes whatever the statistics say. With that settled, the generic plan is also the right
 * one, so it is always used: left to choose, PostgreSQL re-planned the array-parameter statements
 * on every execution (1.4 ms of planning per transfer, measured). SET LOCAL ends with the
 * transaction; the settings go in the same round trip as BEGIN.
 */
export const BEGIN_KEYED =
  "BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL plan_cache_mode = force_generic_plan";

export interface TransactionOptions {
  /** Statements reach rows only by key: begin with BEGIN_KEYED. */
  isKeyed?: boolean;
}

const MAX_ATTEMPTS = 8;
const SERIALIZATION_FAILURES = new Set(["40001", "40P01"]);
/** Unique constraints on idempotency keys: a concurrent twin committed first; retry to find it. */
const RETRYABLE_UNIQUE = /idempotency|_key_key$/;

/** A serialization failure or a deadlock: the same transaction may succeed if run again. */
export function isSerializationFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && SERIALIZATION_FAILURES.has(code);
}

function isRetryable(e: unknown): boolean {
  if (isSerializationFailure(e)) return true;
  const err = e as { code?: unknown; constraint?: unknown } | null;
  return err?.code === "23505" && typeof err.constraint === "string" && RETRYABLE_UNIQUE.test(err.constraint);
}

/**
 * The one retry loop for transactions. Runs `attempt` (which opens and commits its own
 * transaction) on a pooled client; on failure rolls back (or discards a connection the server
 * dropped) and runs it again while `shouldRetry` says so, up to MAX_ATTEMPTS times with jittered
 * backoff. Resolves with the value, or with the last failure for the caller to explain; an
 * exhausted pool throws DB_UNAVAILABLE.
 */
export async function retryTransaction<T>(
  pool: pg.Pool,
  attempt: (client: pg.PoolClient) => Promise<T>,
  shouldRetry: (e: unknown) => boolean = isSerializationFailure,
): Promise<{ ok: true; value: T } | { ok: false; failure: unknown }> {
  for (let n = 1; ; n++) {
    const client = await acquireClient(pool);
    let failure: unknown;
    try {
      const value = await attempt(client);
      releaseClient(client);
      return { ok: true, value };
    } catch (e) {
      failure = e;
      let isBroken = toAppError(e)?.code === "DB_UNAVAILABLE";
      if (!isBroken) await client.query("ROLLBACK").catch(() => (isBroken = true));
      releaseClient(client, isBroken);
    }
    if (!shouldRetry(failure) || n >= MAX_ATTEMPTS) return { ok: false, failure };
    await new Promise((r) => setTimeout(r, Math.random() * 5 * n + 1));
  }
}

/**
 * Runs `fn` inside BEGIN ... COMMIT on a pooled connection, retrying the whole function on
 * serialization failures, deadlocks and raced idempotency keys.
 *
 * Errors: whatever `fn` throws (after rollback); DB_UNAVAILABLE when the database cannot be
 * reached or the pool is exhausted.
 */
export async function runTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  const run = await retryTransaction(
    pool,
    async (client) => {
      await client.query(opts.isKeyed ? BEGIN_KEYED : "BEGIN");
      const value = await fn(client);
      await client.query("COMMIT");
      return value;
    },
    isRetryable,
  );
  if (run.ok) return run.value;
  throw toAppError(run.failure) ?? run.failure;
}

/** runTransaction for the hot write paths whose statements reach rows only by key (BEGIN_KEYED). */
export function runKeyedTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return runTransaction(pool, fn, { isKeyed: true });
}
