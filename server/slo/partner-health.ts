/**
 * Partner health per partner and rail: submission success, latency, timeout and error rates from
 * the partner calls we made, the outage state detected from those rates (not from the sandbox's
 * switch, which a real bank does not have), and its history.
 *
 * Invariants kept:
 * - The worker samples partner_requests per minute into slo_partner_minutes (job slo-minute),
 *   re-sampling the last RESAMPLE_MINUTES so calls that finish after the minute are counted; the
 *   sample is an upsert, so sampling twice changes nothing.
 * - The state is a pure function of the counts (classifyHealth): outage when most calls fail,
 *   degraded when a noticeable share fails or times out, idle without calls; thresholds below.
 * - Reads are bounded by a time range over the table's primary key.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS } from "./rollup";
import { quantileFromHistogram } from "./math";

/** Minutes re-sampled at every run (calls finishing late, a worker that missed a minute). */
export const RESAMPLE_MINUTES = 5;
/** The window the current state is judged over. */
export const HEALTH_WINDOW_MINUTES = 5;
/** Fewer calls than this in the window: not enough to call an outage (degraded at most). */
export const MIN_CALLS_FOR_OUTAGE = 5;
export const OUTAGE_FAILURE_SHARE = 0.5;
export const DEGRADED_FAILURE_SHARE = 0.1;
export const DEGRADED_TIMEOUT_SHARE = 0.05;

export type HealthState = "ok" | "degraded" | "outage" | "idle";

export interface CallCounts {
  calls: number;
  accepted: number;
  rejected: number;
  /** Certainly not executed: 5xx, the bank's outage answer, a refused connection. */
  retryable: number;
  /** Timeouts and lost connections: the outcome is unknown. */
  unknown: number;
  latencyMsSum: number;
  latencyMsMax: number;
  latencyCounts: number[];
}

export const NO_CALLS: CallCounts = { calls: 0, accepted: 0, rejected: 0, retryable: 0, unknown: 0, latencyMsSum: 0, latencyMsMax: 0, latencyCounts: new Array<number>(LATENCY_BUCKETS).fill(0) };

export function addCalls(a: CallCounts, b: CallCounts): CallCounts {
  return {
    calls: a.calls + b.calls,
    accepted: a.accepted + b.accepted,
    rejected: a.rejected + b.rejected,
    retryable: a.retryable + b.retryable,
    unknown: a.unknown + b.unknown,
    latencyMsSum: a.latencyMsSum + b.latencyMsSum,
    latencyMsMax: Math.max(a.latencyMsMax, b.latencyMsMax),
    latencyCounts: a.latencyCounts.map((n, i) => n + (b.latencyCounts[i] ?? 0)),
  };
}

export interface HealthRates {
  /** Accepted over answered-or-not calls (rejections are the bank's verdict on a request, not a fault). */
  successRate: number | null;
  /** Retryable (5xx, outage) over calls. */
  errorRate: number | null;
  /** Unknown outcomes (timeouts, lost connections) over calls. */
  timeoutRate: number | null;
  rejectRate: number | null;
  latencyMsP50: number | null;
  latencyMsP95: number | null;
  latencyMsAvg: number | null;
}

export function ratesOf(c: CallCounts): HealthRates {
  const share = (n: number) => (c.calls === 0 ? null : n / c.calls);
  return {
    successRate: share(c.accepted),
    errorRate: share(c.retryable),
    timeoutRate: share(c.unknown),
    rejectRate: share(c.rejected),
    latencyMsP50: c.calls === 0 ? null : quantileFromHistogram(LATENCY_BOUNDS_MS, c.latencyCounts, 0.5),
    latencyMsP95: c.calls === 0 ? null : quantileFromHistogram(LATENCY_BOUNDS_MS, c.latencyCounts, 0.95),
    latencyMsAvg: c.calls === 0 ? null : c.latencyMsSum / c.calls,
  };
}

/**
 * The state of a partner rail from its calls over a window (pure): idle without calls; outage
 * when at least MIN_CALLS_FOR_OUTAGE calls were made and at least half failed (retryable or
 * unknown); degraded when at least 10% failed or 5% timed out; ok otherwise.
 */
export function classifyHealth(c: CallCounts): HealthState {
  if (c.calls === 0) return "idle";
  const failed = (c.retryable + c.unknown) / c.calls;
  if (c.calls >= MIN_CALLS_FOR_OUTAGE && failed >= OUTAGE_FAILURE_SHARE) return "outage";
  if (failed >= DEGRADED_FAILURE_SHARE || c.unknown / c.calls >= DEGRADED_TIMEOUT_SHARE) return "degraded";
  return "ok";
}

export interface HealthInterval {
  state: Exclude<HealthState, "ok" | "idle">;
  from: Date;
  to: Date;
}

/**
 * Intervals of outage and degradation from a per-minute series (pure): each minute is judged over
 * the trailing window of `windowMinutes` (so one bad minute among many good ones does not flap),
 * consecutive minutes in the same state are merged. `to` is the end of the last minute.
 */
export function healthIntervals(series: readonly { minute: Date; counts: CallCounts }[], windowMinutes = HEALTH_WINDOW_MINUTES): HealthInterval[] {
  const out: HealthInterval[] = [];
  const sorted = [...series].sort((a, b) => a.minute.getTime() - b.minute.getTime());
  // A sliding window over the minutes: only the counts the state needs (no histogram).
  let first = 0;
  let calls = 0;
  let failed = 0;
  let unknown = 0;
  for (let i = 0; i < sorted.length; i++) {
    const end = sorted[i]!.minute.getTime();
    const c = sorted[i]!.counts;
    calls += c.calls;
    failed += c.retryable + c.unknown;
    unknown += c.unknown;
    for (; sorted[first]!.minute.getTime() <= end - windowMinutes * 60_000; first++) {
      const o = sorted[first]!.counts;
      calls -= o.calls;
      failed -= o.retryable + o.unknown;
      unknown -= o.unknown;
    }
    const state = classifyHealth({ ...NO_CALLS, calls, retryable: failed - unknown, unknown });
    if (state !== "outage" && state !== "degraded") continue;
    const from = sorted[i]!.minute;
    const to = new Date(end + 60_000);
    const last = out[out.length - 1];
    if (last && last.state === state && last.to.getTime() >= from.getTime()) last.to = to;
    else out.push({ state, from, to });
  }
  return out;
}

/** Samples the partner calls started in the last RESAMPLE_MINUTES whole minutes before `now`. Idempotent. */
export async function samplePartnerMinutes(db: Pick<DbHandles, "pool">, now: Date, minutes = RESAMPLE_MINUTES): Promise<number> {
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const from = new Date(end.getTime() - minutes * 60_000);
  return backfillPartnerMinutes(db.pool, from, end);
}

/** Samples partner calls started in [from, to) into per-minute rows (upsert). Returns the rows written. */
export async function backfillPartnerMinutes(db: Pick<pg.Pool | pg.PoolClient, "query">, from: Date, to: Date): Promise<number> {
  const buckets = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `count(*) FILTER (WHERE slo_latency_bucket(coalesce(p.duration_ms, 0)) = ${i})::int`).join(", ");
  const res = await db.query(
    `INSERT INTO slo_partner_minutes (minute, partner, rail, calls, accepted, rejected, retryable, unknown, latency_ms_sum, latency_ms_max, latency_counts)
     SELECT date_trunc('minute', p.started_at), p.partner, t.rail, count(*)::int,
            count(*) FILTER (WHERE p.outcome = 'accepted')::int, count(*) FILTER (WHERE p.outcome = 'rejected')::int,
            count(*) FILTER (WHERE p.outcome = 'retryable')::int, count(*) FILTER (WHERE p.outcome = 'unknown')::int,
            coalesce(sum(p.duration_ms), 0)::bigint, coalesce(max(p.duration_ms), 0)::int, ARRAY[${buckets}]
       FROM partner_requests p JOIN transfers t ON t.id = p.transfer_id
      WHERE p.kind = 'submit' AND p.started_at >= $1 AND p.started_at < $2 AND p.outcome IS NOT NULL
      GROUP BY 1, 2, 3
     ON CONFLICT (minute, partner, rail) DO UPDATE SET calls = excluded.calls, accepted = excluded.accepted, rejected = excluded.rejected,
       retryable = excluded.retryable, unknown = excluded.unknown, latency_ms_sum = excluded.latency_ms_sum, latency_ms_max = excluded.latency_ms_max,
       latency_counts = excluded.latency_counts`,
    [from, to],
  );
  return res.rowCount ?? 0;
}

export interface PartnerMinute {
  minute: Date;
  partner: string;
  rail: string;
  counts: CallCounts;
}

/** The per-minute samples in [from, to), per partner and rail (or one of each). */
export async function readPartnerMinutes(db: Pick<pg.Pool | pg.PoolClient, "query">, from: Date, to: Date, scope: { partner?: string | null; rail?: string | null } = {}): Promise<PartnerMinute[]> {
  const res = await db.query<{ minute: Date; partner: string; rail: string; calls: number; accepted: number; rejected: number; retryable: number; unknown: number; latency_ms_sum: string; latency_ms_max: number; latency_counts: number[] }>(
    `SELECT minute, partner, rail, calls, accepted, rejected, retryable, unknown, latency_ms_sum::text AS latency_ms_sum, latency_ms_max, latency_counts
       FROM slo_partner_minutes WHERE minute >= $1 AND minute < $2 AND ($3::text IS NULL OR partner = $3) AND ($4::text IS NULL OR rail = $4)
      ORDER BY minute, partner, rail`,
    [from, to, scope.partner ?? null, scope.rail ?? null],
  );
  return res.rows.map((r) => ({
    minute: r.minute,
    partner: r.partner,
    rail: r.rail,
    counts: { calls: r.calls, accepted: r.accepted, rejected: r.rejected, retryable: r.retryable, unknown: r.unknown, latencyMsSum: Number(r.latency_ms_sum), latencyMsMax: r.latency_ms_max, latencyCounts: r.latency_counts },
  }));
}

export interface PartnerHealth {
  partner: string;
  rail: string;
  state: HealthState;
  /** Rates over the last HEALTH_WINDOW_MINUTES. */
  current: HealthRates & { calls: number };
  /** Rates over the whole range asked for. */
  range: HealthRates & { calls: number };
  /** Outage and degradation intervals within the range. */
  history: HealthInterval[];
}

/** Health of every partner rail seen in [from, now]: current state and rates, the range's rates, the history of bad intervals. */
export async function readPartnerHealth(db: Pick<pg.Pool | pg.PoolClient, "query">, from: Date, now: Date): Promise<PartnerHealth[]> {
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);
  const rows = await readPartnerMinutes(db, from, end);
  const groups = new Map<string, PartnerMinute[]>();
  for (const r of rows) {
    const k = `${r.partner}\u0000${r.rail}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const recentFrom = end.getTime() - HEALTH_WINDOW_MINUTES * 60_000;
  return [...groups.values()].map((g) => {
    const all = g.reduce((acc, r) => addCalls(acc, r.counts), NO_CALLS);
    const recent = g.filter((r) => r.minute.getTime() >= recentFrom).reduce((acc, r) => addCalls(acc, r.counts), NO_CALLS);
    return {
      partner: g[0]!.partner,
      rail: g[0]!.rail,
      state: classifyHealth(recent),
      current: { ...ratesOf(recent), calls: recent.calls },
      range: { ...ratesOf(all), calls: all.calls },
      history: healthIntervals(g.map((r) => ({ minute: r.minute, counts: r.counts }))),
    };
  });
}
