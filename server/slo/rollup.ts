/**
 * Reading the SLO rollups: transfer outcomes and settlement latency by creation minute
 * (slo_transfer_minutes plus the deltas the worker has not folded yet), the worker's minute
 * samples (stuck transfers, webhook lag), and the fold job itself.
 *
 * Invariants kept:
 * - Outcomes are counted in the minute their transfer was created: a settlement a day late
 *   changes that day's minute, never today's (the trigger transfer_events_slo_rollup, migration
 *   20261202410000_slo). Readers always add the unfolded deltas, so a fold never changes a figure.
 * - Every read is bounded by a time range over the primary keys (minute first); a chart over 28
 *   days reads at most one row per minute and rail and partner.
 * - Steps are aligned to the UTC clock (origin Monday 2000-01-03 00:00 UTC): a 15-minute step
 *   starts at :00, :15, :30, :45 and a day at midnight, whatever the range asked for.
 * - LATENCY_BOUNDS_MS and CUSTOMER_FAILURE_REASONS equal their SQL twins in the migration
 *   (test/unit/slo-rollup.test.ts reads the migration).
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";

/** Upper bounds (ms) of the settlement-latency histogram's finite buckets; one more bucket holds the rest. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000,
  28_800_000, 43_200_000, 86_400_000, 172_800_000, 259_200_000, 604_800_000,
];
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** The bank's failure reasons that the customer caused (excluded from the success objective), besides a refused hold. */
export const CUSTOMER_FAILURE_REASONS: readonly string[] = ["beneficiary_account_closed", "beneficiary_name_mismatch", "compliance_hold_rejected"];

/** Whether a failure was the customer's (pure twin of slo_is_customer_failure). */
export function isCustomerFailure(cause: string, detail: { partnerReason?: unknown } | null): boolean {
  if (cause === "reserve_refused") return true;
  return cause.startsWith("webhook.failed") && typeof detail?.partnerReason === "string" && CUSTOMER_FAILURE_REASONS.includes(detail.partnerReason);
}

export interface TransferOutcomes {
  settled: number;
  /** Failures that were ours or the partner's. */
  failed: number;
  /** Failures the customer caused (excluded from the success SLI). */
  failedExcluded: number;
  cancelled: number;
  /** Settlements per latency bucket (LATENCY_BUCKETS entries). */
  latencyCounts: number[];
}

export interface OutcomeBucket extends TransferOutcomes {
  /** Start of the bucket (a creation minute, or the start of a step). */
  at: Date;
}

export interface RollupScope {
  rail?: string | null;
  partner?: string | null;
}

type Runner = Pick<pg.Pool | pg.PoolClient, "query">;

const latencySums = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `sum(x.latency_counts[${i + 1}])::bigint`).join(", ");

interface OutcomeRow {
  at: Date;
  settled: string;
  failed: string;
  failed_excluded: string;
  cancelled: string;
  latency_counts: string[];
}

function toBucket(r: OutcomeRow): OutcomeBucket {
  return {
    at: r.at,
    settled: Number(r.settled),
    failed: Number(r.failed),
    failedExcluded: Number(r.failed_excluded),
    cancelled: Number(r.cancelled),
    latencyCounts: r.latency_counts.map(Number),
  };
}

const COLS = "rail, partner, settled, failed, failed_excluded, cancelled, latency_counts";
const SCOPE = "($3::text IS NULL OR rail = $3) AND ($4::text IS NULL OR partner = $4)";

/**
 * The rollup rows for [from, to) and a scope, as `minute` plus the counts, at a resolution:
 * - "minute": the folded minutes and the unfolded deltas;
 * - "hour": the folded hours (from the hour holding `from`) and the unfolded deltas by their hour,
 *   a sixtieth of the rows (charts over days and weeks);
 * - "exact": [from, to) exactly, reading hours where whole hours fit and minutes at both ends (a
 *   window's total). $5 and $6 are then the first and last whole hour of the range.
 */
function rollupSource(resolution: "minute" | "hour" | "exact"): string {
  const deltas = `SELECT minute, ${COLS} FROM slo_transfer_deltas WHERE minute >= $1::timestamptz AND minute < $2::timestamptz AND ${SCOPE}`;
  if (resolution === "minute") return `(SELECT minute, ${COLS} FROM slo_transfer_minutes WHERE minute >= $1 AND minute < $2 AND ${SCOPE} UNION ALL ${deltas}) x`;
  if (resolution === "hour") {
    return `(SELECT hour AS minute, ${COLS} FROM slo_transfer_hours WHERE hour >= date_trunc('hour', $1::timestamptz, 'UTC') AND hour < $2 AND ${SCOPE}
             UNION ALL SELECT date_trunc('hour', minute, 'UTC') AS minute, ${COLS} FROM slo_transfer_deltas
              WHERE minute >= date_trunc('hour', $1::timestamptz, 'UTC') AND minute < $2 AND ${SCOPE}) x`;
  }
  return `(SELECT minute, ${COLS} FROM slo_transfer_minutes WHERE minute >= $1::timestamptz AND minute < least($2::timestamptz, $5::timestamptz) AND ${SCOPE}
           UNION ALL SELECT hour AS minute, ${COLS} FROM slo_transfer_hours WHERE hour >= $5::timestamptz AND hour < $6::timestamptz AND ${SCOPE}
           UNION ALL SELECT minute, ${COLS} FROM slo_transfer_minutes WHERE minute >= greatest($5::timestamptz, $6::timestamptz) AND minute < $2::timestamptz AND ${SCOPE}
           UNION ALL ${deltas}) x`;
}

const HOUR = 3_600_000;

/**
 * Transfer outcomes in [from, to) summed per step of `stepMinutes` (1 = per minute), by creation
 * time, oldest first; steps without transfers are left out. Steps of whole hours read the hourly
 * rollup (their first step is the whole UTC hour holding `from`). Without `withLatency` the
 * histogram is not summed (left empty): the success rate does not need it.
 */
export async function readOutcomeSeries(db: Runner, from: Date, to: Date, stepMinutes: number, scope: RollupScope = {}, opts: { withLatency?: boolean } = {}): Promise<OutcomeBucket[]> {
  const latency = opts.withLatency === false ? "'{}'::bigint[]" : `ARRAY[${latencySums}]`;
  const res = await db.query<OutcomeRow>(
    `SELECT date_bin(make_interval(mins => $5), x.minute, '2000-01-03T00:00:00Z'::timestamptz) AS at,
            sum(x.settled)::bigint AS settled, sum(x.failed)::bigint AS failed, sum(x.failed_excluded)::bigint AS failed_excluded,
            sum(x.cancelled)::bigint AS cancelled, ${latency} AS latency_counts
       FROM ${rollupSource(stepMinutes % 60 === 0 ? "hour" : "minute")}
      GROUP BY 1 ORDER BY 1`,
    [from, to, scope.rail ?? null, scope.partner ?? null, stepMinutes],
  );
  return res.rows.map(toBucket);
}

/** Transfer outcomes in exactly [from, to), one total (whole hours from the hourly rollup). */
export async function readOutcomeTotal(db: Runner, from: Date, to: Date, scope: RollupScope = {}, opts: { withLatency?: boolean } = {}): Promise<TransferOutcomes> {
  const firstHour = new Date(Math.ceil(from.getTime() / HOUR) * HOUR);
  const lastHour = new Date(Math.max(firstHour.getTime(), Math.floor(to.getTime() / HOUR) * HOUR));
  const latency =
    opts.withLatency === false
      ? "'{}'::bigint[]"
      : `ARRAY[${Array.from({ length: LATENCY_BUCKETS }, (_, i) => `coalesce(sum(x.latency_counts[${i + 1}]), 0)::bigint`).join(", ")}]`;
  const res = await db.query<OutcomeRow>(
    `SELECT $1::timestamptz AS at, coalesce(sum(x.settled), 0)::bigint AS settled, coalesce(sum(x.failed), 0)::bigint AS failed,
            coalesce(sum(x.failed_excluded), 0)::bigint AS failed_excluded, coalesce(sum(x.cancelled), 0)::bigint AS cancelled, ${latency} AS latency_counts
       FROM ${rollupSource("exact")}`,
    [from, to, scope.rail ?? null, scope.partner ?? null, firstHour, lastHour],
  );
  const { at: _at, ...totals } = toBucket(res.rows[0]!);
  return totals;
}

export interface BreakdownRow extends TransferOutcomes {
  rail: string;
  partner: string;
}

/** Transfer outcomes in exactly [from, to) per rail and partner. */
export async function readOutcomeBreakdown(db: Runner, from: Date, to: Date): Promise<BreakdownRow[]> {
  const firstHour = new Date(Math.ceil(from.getTime() / HOUR) * HOUR);
  const lastHour = new Date(Math.max(firstHour.getTime(), Math.floor(to.getTime() / HOUR) * HOUR));
  const res = await db.query<OutcomeRow & { rail: string; partner: string }>(
    `SELECT $1::timestamptz AS at, x.rail, x.partner, sum(x.settled)::bigint AS settled, sum(x.failed)::bigint AS failed,
            sum(x.failed_excluded)::bigint AS failed_excluded, sum(x.cancelled)::bigint AS cancelled, ARRAY[${latencySums}] AS latency_counts
       FROM ${rollupSource("exact")}
      GROUP BY x.rail, x.partner ORDER BY x.rail, x.partner`,
    [from, to, null, null, firstHour, lastHour],
  );
  return res.rows.map((r) => {
    const { at: _at, ...b } = toBucket(r);
    return { ...b, rail: r.rail, partner: r.partner };
  });
}

/**
 * Transfers created in [from, to) that are still moving although older than `thresholdMs` at
 * `now`: already late for the latency objective, counted as bad before they settle. Per step.
 */
export async function readOverdueSeries(db: Runner, from: Date, to: Date, stepMinutes: number, thresholdMs: number, now: Date, scope: RollupScope = {}): Promise<{ at: Date; overdue: number }[]> {
  const lateBefore = new Date(Math.min(to.getTime(), now.getTime() - thresholdMs));
  if (lateBefore.getTime() <= from.getTime()) return [];
  const res = await db.query<{ at: Date; n: string }>(
    `SELECT date_bin(make_interval(mins => $5), date_trunc('minute', t.created_at), '2000-01-03T00:00:00Z'::timestamptz) AS at, count(*)::bigint AS n
       FROM transfers t
      WHERE t.state IN ('created', 'reserved', 'submitted', 'acknowledged') AND t.created_at >= $1 AND t.created_at < $2
        AND ($3::text IS NULL OR t.rail = $3) AND ($4::text IS NULL OR t.partner = $4)
      GROUP BY 1 ORDER BY 1`,
    [from, lateBefore, scope.rail ?? null, scope.partner ?? null, stepMinutes],
  );
  return res.rows.map((r) => ({ at: r.at, overdue: Number(r.n) }));
}

export interface SampleBucket {
  at: Date;
  /** Minutes sampled in the step. */
  sampled: number;
  /** Minutes whose stuck count was at most the threshold (when one is given). */
  stuckOk: number;
  /** Minutes whose webhook lag was at most the threshold (when one is given). */
  lagOk: number;
  /** The largest stuck count and webhook lag seen in the step. */
  stuckMax: number;
  lagMaxMs: number;
}

/** The worker's minute samples in [from, to) per step, judged against the thresholds. */
export async function readSampleSeries(db: Runner, from: Date, to: Date, stepMinutes: number, thresholds: { stuckCount?: number | null; lagMs?: number | null }): Promise<SampleBucket[]> {
  const res = await db.query<{ at: Date; sampled: string; stuck_ok: string; lag_ok: string; stuck_max: number; lag_max: string }>(
    `SELECT date_bin(make_interval(mins => $3), s.minute, '2000-01-03T00:00:00Z'::timestamptz) AS at, count(*)::bigint AS sampled,
            count(*) FILTER (WHERE s.stuck_count <= coalesce($4::int, 2147483647))::bigint AS stuck_ok,
            count(*) FILTER (WHERE s.webhook_lag_ms <= coalesce($5::bigint, 9223372036854775807))::bigint AS lag_ok,
            max(s.stuck_count) AS stuck_max, max(s.webhook_lag_ms)::bigint AS lag_max
       FROM slo_minute_samples s WHERE s.minute >= $1 AND s.minute < $2
      GROUP BY 1 ORDER BY 1`,
    [from, to, stepMinutes, thresholds.stuckCount ?? null, thresholds.lagMs ?? null],
  );
  return res.rows.map((r) => ({ at: r.at, sampled: Number(r.sampled), stuckOk: Number(r.stuck_ok), lagOk: Number(r.lag_ok), stuckMax: r.stuck_max, lagMaxMs: Number(r.lag_max) }));
}

/** Most deltas folded per call of the fold job. */
export const FOLD_BATCH = 20_000;

/** Folds unfolded deltas into the minutes table until none are left (bounded per call). Returns how many were folded. */
export async function foldRollups(db: Pick<DbHandles, "pool">, maxRounds = 10): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxRounds; i++) {
    const n = (await db.pool.query<{ n: number }>(`SELECT slo_fold_deltas($1) AS n`, [FOLD_BATCH])).rows[0]!.n;
    total += n;
    if (n < FOLD_BATCH) break;
  }
  return total;
}

/**
 * Records what the worker sees in the minute that just ended: stuck transfers (the one definition,
 * stuckSql), the webhook backlog, and the worst webhook lag (the oldest event still waiting, or
 * the slowest one applied during the minute). Idempotent per minute.
 */
export async function sampleMinute(db: Pick<DbHandles, "pool">, now: Date, stuckCount: number): Promise<void> {
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000 - 60_000);
  await db.pool.query(
    `WITH pending AS (
       SELECT count(*)::int AS n, min(received_at) AS oldest FROM webhook_events WHERE processed_at IS NULL AND NOT is_duplicate),
     applied AS (
       SELECT max(processed_at - received_at) AS slowest FROM webhook_events
        WHERE processed_at >= $1 AND processed_at < $1 + interval '1 minute' AND NOT is_duplicate)
     INSERT INTO slo_minute_samples (minute, stuck_count, webhook_lag_ms, webhook_backlog, sampled_at)
     SELECT $1, $2, greatest(
              coalesce((extract(epoch FROM ($3::timestamptz - pending.oldest)) * 1000)::bigint, 0),
              coalesce((extract(epoch FROM applied.slowest) * 1000)::bigint, 0)), pending.n, $3
       FROM pending, applied
     ON CONFLICT (minute) DO UPDATE SET stuck_count = excluded.stuck_count, webhook_lag_ms = excluded.webhook_lag_ms,
       webhook_backlog = excluded.webhook_backlog, sampled_at = excluded.sampled_at`,
    [minute, stuckCount, now],
  );
}
