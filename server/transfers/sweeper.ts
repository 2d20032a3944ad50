/**
 * The safety net under orchestration: finds transfers whose driving job was lost (a worker killed
 * between committing a change and enqueueing, a job that exhausted its retries) and enqueues them
 * again. Handlers are idempotent, so a spurious extra job costs one read.
 */
import type { DbHandles } from "../db/client";
import { BOSS_SCHEMA, enqueueMany, QUEUES } from "../jobs/queues";
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

/**
 * Re-enqueues created and reserved transfers that nothing has touched within the grace period and
 * that have no job waiting or running. Without that last condition a backlog longer than the grace
 * period (an overload, a slow partner) had every waiting transfer enqueued again every sweep, up to
 * SWEEP_LIMIT at a time: duplicate jobs the workers then fetched and discarded while the real ones
 * waited behind them, the retransmission storm of a congestion collapse.
 */
export async function sweepTransfers(db: Pick<DbHandles, "pool">, now = new Date()): Promise<{ enqueued: number }> {
  const cutoff = new Date(now.getTime() - SWEEP_GRACE_MS);
  const res = await db.pool.query<{ id: string }>(
    `SELECT t.id FROM transfers t
      WHERE t.state IN ('created', 'reserved') AND t.attention_reason IS NULL
        AND (t.lease_until IS NULL OR t.lease_until < $1)
        AND COALESCE(t.next_attempt_at, t.state_changed_at) < $2
        AND t.id::text NOT IN (
          SELECT j.data->>'transferId' FROM ${BOSS_SCHEMA}.job j
           WHERE j.name = $4 AND j.state IN ('created', 'retry', 'active') AND j.data->>'transferId' IS NOT NULL)
      ORDER BY t.state_changed_at LIMIT $3`,
    [now, cutoff, SWEEP_LIMIT, QUEUES.transferAdvance],
  );
  if (res.rows.length > 0) await enqueueMany(db, QUEUES.transferAdvance, res.rows.map((r) => ({ transferId: r.id, swept: true })));
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
