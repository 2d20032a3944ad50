/**
 * Fan-out: turns new outbox events into one delivery row per matching subscription.
 *
 * Invariants kept:
 * - `outbox_events.delivered_at` means "fanned out": a delivery row exists for every
 *   subscription (active or paused) that matched the event's topic when it was fanned out. An
 *   event no subscription matches is marked too, so unmatched events never pile up as work.
 * - One fan-out round at a time across all workers (transaction-level advisory lock
 *   OUTBOX_FANOUT_LOCK, tried without waiting); rounds take events in id order. Writers of one
 *   aggregate serialise on its row (a transfer, a hold), so an aggregate's events commit in id
 *   order and a later event is never fanned out before an earlier one of the same aggregate.
 * - Subscription changes take the same lock, so a round sees a consistent set of subscriptions.
 * - Bounded: at most `limit` events per round; idempotent: (event, subscription) is unique and the
 *   insert skips pairs that exist.
 */
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { OUTBOX_FANOUT_LOCK } from "./subscriptions";
import { matchesAnyTopic } from "./topics";

export interface FanOutEvent {
  id: string;
  topic: string;
  aggregateId: string;
}

export interface FanOutSubscription {
  id: string;
  topics: readonly string[];
}

export interface PlannedDelivery {
  eventId: string;
  subscriptionId: string;
  topic: string;
  aggregateId: string;
}

export interface FanOutResult {
  /** Events marked as fanned out this round. */
  events: number;
  /** Delivery rows created. */
  deliveries: number;
  /** False when another worker's round (or a subscription change) held the lock. */
  hasRun: boolean;
}

/** The deliveries a batch of events needs: every (event, subscription) whose pattern matches. */
export function planFanOut(events: readonly FanOutEvent[], subscriptions: readonly FanOutSubscription[]): PlannedDelivery[] {
  const out: PlannedDelivery[] = [];
  for (const e of events) {
    for (const s of subscriptions) {
      if (matchesAnyTopic(s.topics, e.topic)) out.push({ eventId: e.id, subscriptionId: s.id, topic: e.topic, aggregateId: e.aggregateId });
    }
  }
  return out;
}

/**
 * Fans out up to `limit` events, oldest first.
 * Errors: DB_UNAVAILABLE (database unreachable).
 */
export async function fanOutEvents(db: DbHandles, opts: { limit: number }): Promise<FanOutResult> {
  return runTransaction(db.pool, async (c) => {
    const lock = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock($1::bigint) AS ok`, [OUTBOX_FANOUT_LOCK.toString()]);
    if (!lock.rows[0]?.ok) return { events: 0, deliveries: 0, hasRun: false };
    const events = await c.query<{ id: string; topic: string; aggregate_id: string }>(
      `SELECT id::text AS id, topic, aggregate_id FROM outbox_events WHERE delivered_at IS NULL ORDER BY id LIMIT $1`,
      [opts.limit],
    );
    if (events.rows.length === 0) return { events: 0, deliveries: 0, hasRun: true };
    const subs = await c.query<{ id: string; topics: string[] }>(`SELECT id::text AS id, topics FROM outbox_subscriptions WHERE status IN ('active', 'paused')`);
    const planned = planFanOut(
      events.rows.map((e) => ({ id: e.id, topic: e.topic, aggregateId: e.aggregate_id })),
      subs.rows,
    );
    let deliveries = 0;
    if (planned.length > 0) {
      const res = await c.query(
        `INSERT INTO outbox_deliveries (event_id, subscription_id, topic, aggregate_id)
         SELECT e, s, t, a FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[]) AS x(e, s, t, a) ORDER BY e
         ON CONFLICT (event_id, subscription_id) DO NOTHING`,
        [planned.map((p) => p.eventId), planned.map((p) => p.subscriptionId), planned.map((p) => p.topic), planned.map((p) => p.aggregateId)],
      );
      deliveries = res.rowCount ?? 0;
    }
    await c.query(`UPDATE outbox_events SET delivered_at = now() WHERE id = ANY($1::bigint[])`, [events.rows.map((e) => e.id)]);
    return { events: events.rows.length, deliveries, hasRun: true };
  });
}
