/**
 * The safety net for transfers already at the partner: asks about those over their state's time
 * budget, whose webhooks may have been lost. (Transfers before submission need no sweep: a due
 * transfer is its own place in the submission queue, ./submission-queue.ts, and a crashed
 * worker's claim runs out with its lease.)
 */
import type { DbHandles } from "../db/client";
import { componentLogger } from "../observability/logger";
import { pollPartnerStatus, type OrchestratorDeps } from "./orchestrator";
import { stuckSql } from "./queries";

const log = componentLogger("transfers");
/** Transfers over budget in submitted/acknowledged whose partner is asked per sweep, at most. */
export const POLL_LIMIT = 20;
/** How long after a status query the same transfer is not asked again. */
export const POLL_INTERVAL_SECONDS = 60;

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
