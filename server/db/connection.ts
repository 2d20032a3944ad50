/**
 * Checking connections out of the pool for the ledger's explicit transactions.
 *
 * Invariants kept:
 * - A checked-out client always has an 'error' listener. pg emits 'error' on a client whose server
 *   goes away between queries (restart, failover, admin shutdown); the pool listens only while the
 *   client is idle, so without ours such an event would crash the process. The next query on that
 *   client fails with a connection error, which the caller maps to DB_UNAVAILABLE.
 * - A client that saw a connection error is destroyed on release, never reused.
 * - An exhausted pool fails after the acquire timeout with DB_UNAVAILABLE naming the pool, not a hang.
 */
import type pg from "pg";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";

const brokenClients = new WeakSet<pg.PoolClient>();

function onClientError(this: pg.PoolClient): void {
  brokenClients.add(this);
}

/** The error for a failed checkout: a saturated pool says so; an unreachable server is DB_UNAVAILABLE. */
export function connectError(pool: pg.Pool, e: unknown): AppError {
  const max = pool.options.max ?? 10;
  if (/timeout exceeded when trying to connect/i.test((e as Error | null)?.message ?? "") && pool.totalCount >= max) {
    const waitMs = pool.options.connectionTimeoutMillis ?? 0;
    return new AppError("DB_UNAVAILABLE", `the connection pool is exhausted: all ${max} connections stayed busy for ${waitMs} ms; retry with the same idempotency key`, {
      cause: e,
      isRetryable: true,
      details: { reason: "pool_exhausted", poolMax: max, acquireTimeoutMs: waitMs, waiting: pool.waitingCount },
    });
  }
  return toAppError(e) ?? new AppError("DB_UNAVAILABLE", "could not get a database connection; retry with the same idempotency key", { cause: e, isRetryable: true });
}

export async function acquireClient(pool: pg.Pool): Promise<pg.PoolClient> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw connectError(pool, e);
  }
  client.on("error", onClientError);
  return client;
}

/** Returns the client to the pool, or destroys it when it is (or may be) broken. */
export function releaseClient(client: pg.PoolClient, isBroken = false): void {
  client.off("error", onClientError);
  client.release(isBroken || brokenClients.has(client));
}
