/**
 * Jobs the worker runs on a schedule: expiring due holds and pruning old idempotency records.
 * Both go through the same rules as interactive writes (hold expiry through the write path).
 */
import type { DbHandles } from "../db/client";
import { SYSTEM_ACTOR } from "../core/actor";
import { isAppError } from "../errors/app-error";
import { executeLedgerCommand } from "./write-path";

/** Default retention of idempotency records; callers may keep them longer. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

/**
 * Expires up to `limit` pending holds whose deadline is at or before `now`, each in its own
 * transaction through the write path (key `expire:<holdId>`, so concurrent workers expire a hold
 * once). Returns the ids expired by this call.
 */
export async function expireDueHolds(db: Pick<DbHandles, "pool">, now: Date, limit = 100): Promise<string[]> {
  const due = await db.pool.query<{ id: string }>(
    `SELECT id FROM holds WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`,
    [now, Math.min(Math.max(limit, 1), 10_000)],
  );
  const expired: string[] = [];
  for (const { id } of due.rows) {
    try {
      const r = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "expire_hold", holdId: id }, { idempotencyKey: `expire:${id}`, now });
      if (!r.isReplay) expired.push(id);
    } catch (e) {
      // Posted or voided meanwhile by someone else: nothing to expire.
      if (isAppError(e) && e.code === "HOLD_NOT_PENDING") continue;
      throw e;
    }
  }
  return expired;
}

/** Deletes idempotency records created before `olderThan`, in bounded chunks. Returns the count. */
export async function pruneIdempotencyRecords(db: Pick<DbHandles, "pool">, olderThan: Date = new Date(Date.now() - IDEMPOTENCY_RETENTION_MS), chunk = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await db.pool.query(
      `DELETE FROM idempotency_records WHERE key IN (SELECT key FROM idempotency_records WHERE created_at < $1 LIMIT $2)`,
      [olderThan, chunk],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < chunk) return total;
  }
}
