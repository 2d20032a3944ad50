/**
 * Outbox housekeeping: retention and the figures the worker exports.
 *
 * Invariants kept:
 * - Only finished deliveries (delivered, skipped, cancelled) are pruned; pending and dead ones are
 *   work still owed (the database refuses deleting them). An event is pruned only once it was
 *   fanned out before the cut-off and no delivery row points at it any more.
 * - Bounded: at most `batchSize` rows per statement and `maxBatches` statements per table per run;
 *   the rest waits for the next run.
 */
import type { DbHandles } from "../db/client";

export interface PruneResult {
  deliveries: number;
  events: number;
}

/** Deletes finished deliveries and fanned-out events older than `olderThan`. */
export async function pruneOutbox(db: DbHandles, olderThan: Date, opts: { batchSize?: number; maxBatches?: number } = {}): Promise<PruneResult> {
  const batchSize = opts.batchSize ?? 5_000;
  const maxBatches = opts.maxBatches ?? 20;
  const out: PruneResult = { deliveries: 0, events: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const res = await db.pool.query(
      `DELETE FROM outbox_deliveries WHERE id IN (
         SELECT id FROM outbox_deliveries WHERE status IN ('delivered', 'skipped', 'cancelled') AND finished_at < $1 LIMIT $2)`,
      [olderThan, batchSize],
    );
    out.deliveries += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < batchSize) break;
  }
  for (let i = 0; i < maxBatches; i++) {
    const res = await db.pool.query(
      `DELETE FROM outbox_events WHERE id IN (
         SELECT e.id FROM outbox_events e
          WHERE e.delivered_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = e.id)
          ORDER BY e.delivered_at LIMIT $2)`,
      [olderThan, batchSize],
    );
    out.events += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < batchSize) break;
  }
  return out;
}

export interface OutboxStats {
  /**
   * Age in seconds of the oldest event not yet delivered: not fanned out yet, or pending for an
   * active subscription (including deliveries blocked behind a dead one). 0 when nothing waits.
   */
  lagSeconds: number;
  /** Pending deliveries of active subscriptions. */
  pending: number;
  /** Dead deliveries (each blocks its aggregate until redelivered or skipped). */
  dead: number;
}

/** The relay's health figures; cheap (index lookups per active subscription). */
export async function readOutboxStats(db: DbHandles): Promise<OutboxStats> {
  // Delivery ids grow in event order (fan-out is serialised and inserts in event order), so the
  // lowest pending id of a subscription is its oldest pending event.
  const res = await db.pool.query<{ lag: string | null; pending: string; dead: string }>(
    `SELECT extract(epoch FROM now() - least(
              (SELECT created_at FROM outbox_events WHERE delivered_at IS NULL ORDER BY id LIMIT 1),
              (SELECT min(e.created_at) FROM outbox_subscriptions s
                 CROSS JOIN LATERAL (SELECT d.event_id FROM outbox_deliveries d
                                      WHERE d.subscription_id = s.id AND d.status = 'pending' ORDER BY d.id LIMIT 1) h
                 JOIN outbox_events e ON e.id = h.event_id
                WHERE s.status = 'active')))::text AS lag,
            (SELECT count(*) FROM outbox_deliveries d JOIN outbox_subscriptions s ON s.id = d.subscription_id
              WHERE d.status = 'pending' AND s.status = 'active')::text AS pending,
            (SELECT count(*) FROM outbox_deliveries WHERE status = 'dead')::text AS dead`,
  );
  const r = res.rows[0]!;
  return { lagSeconds: r.lag === null ? 0 : Math.max(0, Number(r.lag)), pending: Number(r.pending), dead: Number(r.dead) };
}
