/**
 * Evaluating objectives: each indicator's good and valid counts over time, the window's SLI and
 * budget, the burn rates over the alert windows and the alert state; and the worker's job that
 * records the state and publishes every change as an outbox event.
 *
 * Invariants kept:
 * - Counts come only from the rollups and minute samples (server/slo/rollup.ts), plus, for latency,
 *   the transfers still moving past the threshold (already late), so every figure reads a bounded
 *   number of rows whatever the traffic.
 * - An indicator without a data source (a reader not registered) is reported as unavailable,
 *   never as perfect. Reconciliation's two are read from its runs and breaks (recon-indicators.ts).
 * - An alert state change and its outbox event (topic `slo.alert.<level>`, aggregate the SLO key)
 *   commit together, under the state row's lock, so two workers never publish the same change.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { ALERT_WINDOWS_MINUTES, addCounts, badEventsLeft, budgetRemaining, burnRate, EMPTY_COUNTS, evaluateAlerts, quantileFromHistogram, sliOf, sumTrailingWindows, countAtOrBelow, type AlertEvaluation, type AlertLevel, type Counts } from "./math";
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, readOutcomeSeries, readOutcomeTotal, readOverdueSeries, readSampleSeries, type OutcomeBucket, type RollupScope } from "./rollup";
import type { SLO_ALERT_TOPICS } from "../outbox/topics";
import { readBreakAgeSeries, readMatchRateSeries } from "./recon-indicators";
import { INDICATORS, listSloDefinitions, type IndicatorKind, type SloDefinition } from "./definitions";

type Runner = Pick<pg.Pool | pg.PoolClient, "query">;

export interface IndicatorPoint {
  at: Date;
  counts: Counts;
  /** Settlement latency histogram of the step (latency indicators only). */
  latencyCounts?: number[];
}

/** Reads an indicator's counts in [from, to) per step of `stepMinutes`; null when it has no data source. */
export type IndicatorReader = (db: Runner, def: SloDefinition, from: Date, to: Date, stepMinutes: number, now: Date) => Promise<IndicatorPoint[]>;

const readers = new Map<IndicatorKind, IndicatorReader>();

/** Registers the reader of an indicator (reconciliation registers its two when it is installed). */
export function registerIndicatorReader(kind: IndicatorKind, reader: IndicatorReader): void {
  readers.set(kind, reader);
}

const scopeOf = (def: SloDefinition) => ({ rail: def.rail, partner: def.partner });

/** Outcomes per step; a step as long as the range is one exact total (a window's figure). */
async function outcomePoints(db: Runner, from: Date, to: Date, step: number, scope: RollupScope, withLatency: boolean): Promise<OutcomeBucket[]> {
  if (step * 60_000 >= to.getTime() - from.getTime()) return [{ at: from, ...(await readOutcomeTotal(db, from, to, scope, { withLatency })) }];
  return readOutcomeSeries(db, from, to, step, scope, { withLatency });
}

registerIndicatorReader("transfer_success", async (db, def, from, to, step) =>
  (await outcomePoints(db, from, to, step, scopeOf(def), false)).map((b) => ({ at: b.at, counts: { good: b.settled, valid: b.settled + b.failed } })),
);

registerIndicatorReader("settlement_latency", async (db, def, from, to, step, now) => {
  const threshold = def.thresholdMs!;
  const [outcomes, overdue] = await Promise.all([outcomePoints(db, from, to, step, scopeOf(def), true), readOverdueSeries(db, from, to, step, threshold, now, scopeOf(def))]);
  const byTime = new Map<number, IndicatorPoint>();
  for (const b of outcomes) {
    byTime.set(b.at.getTime(), { at: b.at, counts: { good: countAtOrBelow(LATENCY_BOUNDS_MS, b.latencyCounts, threshold), valid: b.settled }, latencyCounts: b.latencyCounts });
  }
  for (const o of overdue) {
    const p = byTime.get(o.at.getTime()) ?? { at: o.at, counts: EMPTY_COUNTS, latencyCounts: new Array<number>(LATENCY_BUCKETS).fill(0) };
    byTime.set(o.at.getTime(), { ...p, counts: addCounts(p.counts, { good: 0, valid: o.overdue }) });
  }
  return [...byTime.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
});

registerIndicatorReader("stuck_transfers", async (db, def, from, to, step) =>
  (await readSampleSeries(db, from, to, step, { stuckCount: def.thresholdCount })).map((s) => ({ at: s.at, counts: { good: s.stuckOk, valid: s.sampled } })),
);

registerIndicatorReader("webhook_lag", async (db, def, from, to, step) =>
  (await readSampleSeries(db, from, to, step, { lagMs: def.thresholdMs })).map((s) => ({ at: s.at, counts: { good: s.lagOk, valid: s.sampled } })),
);

registerIndicatorReader("recon_match_rate", (db, _def, from, to, step) => readMatchRateSeries(db, from, to, step));

registerIndicatorReader("recon_break_age", (db, def, from, to, step, now) => readBreakAgeSeries(db, from, to, step, def.thresholdMs!, now));

/** Whether the indicator has a data source in this installation. */
export function isIndicatorAvailable(kind: IndicatorKind): boolean {
  return readers.has(kind);
}

/** The indicator's series, or null when it has no data source. */
export async function readIndicatorSeries(db: Runner, def: SloDefinition, from: Date, to: Date, stepMinutes: number, now: Date): Promise<IndicatorPoint[] | null> {
  const reader = readers.get(def.indicator);
  return reader ? reader(db, def, from, to, stepMinutes, now) : null;
}

export interface SloStatus {
  definition: SloDefinition;
  indicatorLabel: string;
  isAvailable: boolean;
  windowFrom: Date;
  windowTo: Date;
  counts: Counts;
  sli: number | null;
  budgetRemaining: number;
  badEventsLeft: number;
  /** Burn rate per alert window, keyed by its length ("5m", "1h", "3d"). */
  burnRates: Record<string, number>;
  alert: AlertEvaluation;
  /** Settlement latency percentiles over the window (ms), latency indicators only. */
  latency: { p50: number | null; p95: number | null; p99: number | null } | null;
}

/** "5m", "1h", "3d" for a window in minutes. */
export function windowLabel(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

const MINUTE = 60_000;
/** Alert windows up to this long (minutes) are summed from per-minute counts; longer ones are read as totals. */
const SHORT_WINDOW_LIMIT = 360;

/** The objective's state at `now`: window SLI and budget, burn rates, alert level. */
export async function evaluateSlo(db: Runner, def: SloDefinition, now: Date): Promise<SloStatus> {
  const windowMinutes = def.windowDays * 1440;
  const end = new Date(Math.floor(now.getTime() / MINUTE) * MINUTE + MINUTE); // through the current minute
  const windowFrom = new Date(end.getTime() - windowMinutes * MINUTE);
  // The short alert windows (up to 6 h) from per-minute counts; the long ones (1 d, 3 d) as exact
  // totals, which read whole hours from the hourly rollup: a few hundred rows in all.
  const shortWindows = ALERT_WINDOWS_MINUTES.filter((w) => w <= SHORT_WINDOW_LIMIT);
  const longWindows = ALERT_WINDOWS_MINUTES.filter((w) => w > SHORT_WINDOW_LIMIT);
  const [whole, recent, ...longs] = await Promise.all([
    readIndicatorSeries(db, def, windowFrom, end, windowMinutes, now),
    readIndicatorSeries(db, def, new Date(end.getTime() - Math.max(...shortWindows) * MINUTE), end, 1, now),
    ...longWindows.map((w) => readIndicatorSeries(db, def, new Date(end.getTime() - w * MINUTE), end, w, now)),
  ]);
  const base = { definition: def, indicatorLabel: INDICATORS[def.indicator].label, windowFrom, windowTo: end };
  if (!whole || !recent || longs.some((l) => !l)) {
    return { ...base, isAvailable: false, counts: EMPTY_COUNTS, sli: null, budgetRemaining: 1, badEventsLeft: 0, burnRates: {}, alert: { level: "ok", rules: [] }, latency: null };
  }
  const counts = whole.reduce((acc, p) => addCounts(acc, p.counts), EMPTY_COUNTS);
  const byWindow = sumTrailingWindows(
    recent.map((p) => ({ minute: p.at, counts: p.counts })),
    end,
    shortWindows,
  );
  longWindows.forEach((w, i) => byWindow.set(w, longs[i]!.reduce((acc, p) => addCounts(acc, p.counts), EMPTY_COUNTS)));
  const burnRates = Object.fromEntries(ALERT_WINDOWS_MINUTES.map((w) => [windowLabel(w), burnRate(byWindow.get(w)!, def.target)]));
  let latency: SloStatus["latency"] = null;
  if (def.indicator === "settlement_latency") {
    const hist = new Array<number>(LATENCY_BUCKETS).fill(0);
    for (const p of whole) p.latencyCounts?.forEach((n, i) => (hist[i] = hist[i]! + n));
    latency = { p50: quantileFromHistogram(LATENCY_BOUNDS_MS, hist, 0.5), p95: quantileFromHistogram(LATENCY_BOUNDS_MS, hist, 0.95), p99: quantileFromHistogram(LATENCY_BOUNDS_MS, hist, 0.99) };
  }
  return {
    ...base,
    isAvailable: true,
    counts,
    sli: sliOf(counts),
    budgetRemaining: budgetRemaining(counts, def.target),
    badEventsLeft: badEventsLeft(counts, def.target),
    burnRates,
    alert: evaluateAlerts(byWindow, def.target, windowMinutes),
    latency,
  };
}

export interface AlertChange {
  key: string;
  from: AlertLevel | null;
  to: AlertLevel;
}

/** The outbox topic of an alert state change (one of SLO_ALERT_TOPICS). */
export function alertTopic(level: AlertLevel): (typeof SLO_ALERT_TOPICS)[number] {
  return `slo.alert.${level}`;
}

/**
 * Evaluates every enabled objective and records its alert state; a change of level (including the
 * first evaluation when it is not ok) is published as an outbox event in the same transaction.
 * Returns the changes.
 */
export async function evaluateAndPublish(db: Pick<DbHandles, "pool">, now: Date): Promise<AlertChange[]> {
  const changes: AlertChange[] = [];
  // Evaluated together (reads only), then recorded one by one, each with its outbox event.
  const defs = await listSloDefinitions(db, { isEnabledOnly: true });
  const statuses = await Promise.all(defs.map((def) => evaluateSlo(db.pool, def, now)));
  for (const [i, def] of defs.entries()) {
    const status = statuses[i]!;
    const change = await runTransaction(db.pool, async (c) => {
      const prev = (await c.query<{ level: AlertLevel; since: Date }>(`SELECT level, since FROM slo_alert_states WHERE slo_id = $1 FOR UPDATE`, [def.id])).rows[0];
      const level = status.alert.level;
      const isChange = prev ? prev.level !== level : level !== "ok";
      const since = isChange || !prev ? now : prev.since;
      const detail = {
        isAvailable: status.isAvailable,
        sli: status.sli,
        budgetRemaining: status.budgetRemaining,
        burnRates: status.burnRates,
        good: status.counts.good,
        valid: status.counts.valid,
        firing: status.alert.rules.filter((r) => r.isFiring).map((r) => ({ severity: r.rule.severity, window: windowLabel(r.rule.longMinutes), threshold: r.threshold, longBurn: r.longBurn, shortBurn: r.shortBurn })),
      };
      await c.query(
        `INSERT INTO slo_alert_states (slo_id, level, since, evaluated_at, detail) VALUES ($1, $2, $3, $4, $5::jsonb)
         ON CONFLICT (slo_id) DO UPDATE SET level = excluded.level, since = excluded.since, evaluated_at = excluded.evaluated_at, detail = excluded.detail`,
        [def.id, level, since, now, JSON.stringify(detail)],
      );
      if (!isChange) return null;
      const payload = { slo: def.key, name: def.name, from: prev?.level ?? null, to: level, at: now.toISOString(), target: def.target, windowDays: def.windowDays, ...detail };
      await c.query(`INSERT INTO outbox_events (topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3::jsonb, $4)`, [alertTopic(level), `slo:${def.key}`, JSON.stringify(payload), now]);
      return { key: def.key, from: prev?.level ?? null, to: level };
    });
    if (change) changes.push(change);
  }
  return changes;
}

export interface StoredSloState {
  key: string;
  name: string;
  level: AlertLevel;
  since: Date;
  evaluatedAt: Date;
  sli: number | null;
  budgetRemaining: number;
  burnRates: Record<string, number>;
}

/** The last evaluated state of every enabled objective (for metrics and the overview; cheap). */
export async function readStoredSloStates(db: Runner): Promise<StoredSloState[]> {
  const res = await db.query<{ key: string; name: string; level: AlertLevel; since: Date; evaluated_at: Date; detail: { sli: number | null; budgetRemaining: number; burnRates: Record<string, number> } }>(
    `SELECT d.key, d.name, s.level, s.since, s.evaluated_at, s.detail FROM slo_definitions d JOIN slo_alert_states s ON s.slo_id = d.id
      WHERE d.is_enabled ORDER BY d.key`,
  );
  return res.rows.map((r) => ({ key: r.key, name: r.name, level: r.level, since: r.since, evaluatedAt: r.evaluated_at, sli: r.detail.sli ?? null, budgetRemaining: r.detail.budgetRemaining ?? 1, burnRates: r.detail.burnRates ?? {} }));
}
