/**
 * The safety net under orchestration: finds transfers whose driving job was lost (a worker killed
 * between committing a change and enqueueing, a job that exhausted its retries) and enqueues them
 * again. Handlers are idempotent, so a spurious extra job costs one read.
 */
import type { DbHandles } from "../db/client";
import { enqueue, QUEUES } from "../jobs/queues";
import { componentLogger } from "../observability/logger";
import { pollPartnerStatus, type OrchestratorDeps } from "./orchestrator";
import { stuckSql } from "./queries";

const log = componentLogger("transfers");
/** Transfers over budget in submitted/acknowledged whose partner is asked per sweep, at most. */
export const POLL_LIMIT = 20;
/** How long after a status query the same transfer is not asked again. */
export const POLL_INTERVAL_SECONDS = 60;

export const SWEEP_GRACE_MS = 20_000;
export const SWEEP_LIMIT = 500;

/** Re-enqueues created and reserved transfers that nothing has touched within the grace period. */
export async function sweepTransfers(db: Pick<DbHandles, "pool">, now = new Date()): Promise<{ enqueued: number }> {
  const cutoff = new Date(now.getTime() - SWEEP_GRACE_MS);
  const res = await db.pool.query<{ id: string }>(
    `SELECT id FROM transfers
      WHERE state IN ('created', 'reserved') AND attention_reason IS NULL
        AND (lease_until IS NULL OR lease_until < $1)
        AND COALESCE(next_attempt_at, state_changed_at) < $2
      ORDER BY state_changed_at LIMIT $3`,
    [now, cutoff, SWEEP_LIMIT],
  );
  for (const r of res.rows) await enqueue(db, QUEUES.transferAdvance, { transferId: r.id, swept: true });
  return { enqueued: res.rows.length };
}

/**
 * Asks the partner about submitted and acknowledged transfers that are over their budget (their
 * webhooks may have been lost), at most POLL_LIMIT per run and once a minute per transfer.
 */
export async function pollOverdueTransfers(db: Pick<DbHandles, "pool">, deps: OrchestratorDeps, now = new Date()): Promise<{ polled: number; moved: number }> {
  const res = await db.pool.query<{ id: string; state: string }>(
    `SELECT t.id, t.state FROM transfers t
      WHERE t.state IN ('submitted', 'acknowledged') AND ${stuckSql("$1")}
        AND NOT EXISTS (SELECT 1 FROM partner_requests q WHERE q.transfer_id = t.id AND q.kind = 'query' AND q.started_at > $1::timestamptz - make_interval(secs => $2))
      ORDER BY t.state_changed_at LIMIT $3`,
    [now, POLL_INTERVAL_SECONDS, POLL_LIMIT],
  );
  let moved = 0;
  for (const r of res.rows) {
    try {
      const after = await pollPartnerStatus(db, r.id, deps);
      if (after && after !== r.state) moved++;
    } catch (e) {
      log.warn({ transferId: r.id, err: (e as Error).message }, "status poll failed");
    }
  }
  return { polled: res.rows.length, moved };
}
