/**
 * The reconciliation objectives' indicators (server/recon is installed), and what the overview,
 * the weekly report and /api/metrics show of reconciliation.
 *
 * Invariants kept:
 * - Match rate: per UTC day, the last completed run of each source on that day (as
 *   reconciliation's own run series counts it): statement lines matched over lines, summed over
 *   sources. A day's figures land in the bucket of the day's start, so an alert window shorter
 *   than a day sees today's figure once today has a run.
 * - Break age: breaks by the minute they were opened; good when resolved within the threshold,
 *   bad when resolved later or still open past it; a break still open and younger than the
 *   threshold is not counted yet.
 * - Amounts are bigint minor units per currency; nothing is converted.
 */
import type pg from "pg";
import type { Counts } from "./math";

type Runner = Pick<pg.Pool | pg.PoolClient, "query">;

export interface RatePoint {
  at: Date;
  counts: Counts;
}

/** Statement lines matched over lines per step, from each source's last completed run of each UTC day in [from, to). */
export async function readMatchRateSeries(db: Runner, from: Date, to: Date, stepMinutes: number): Promise<RatePoint[]> {
  const res = await db.query<{ at: Date; good: string; valid: string }>(
    `WITH last_runs AS (
       SELECT DISTINCT ON (r.source_id, (r.started_at AT TIME ZONE 'UTC')::date)
              ((r.started_at AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC') AS day, r.summary
         FROM recon_runs r
        WHERE r.status = 'completed' AND r.started_at >= date_trunc('day', $1::timestamptz, 'UTC') AND r.started_at < $2
        ORDER BY r.source_id, (r.started_at AT TIME ZONE 'UTC')::date, r.started_at DESC)
     SELECT date_bin(make_interval(mins => $3), day, '2000-01-03T00:00:00Z'::timestamptz) AS at,
            sum(coalesce((summary->>'matchedLines')::bigint, 0))::text AS good, sum(coalesce((summary->>'lines')::bigint, 0))::text AS valid
       FROM last_runs GROUP BY 1 ORDER BY 1`,
    [from, to, stepMinutes],
  );
  return res.rows.map((r) => ({ at: r.at, counts: { good: Number(r.good), valid: Number(r.valid) } }));
}

/** Breaks opened in [from, to) per step: resolved within `thresholdMs` (good) among those resolved or open past it (valid). */
export async function readBreakAgeSeries(db: Runner, from: Date, to: Date, stepMinutes: number, thresholdMs: number, now: Date): Promise<RatePoint[]> {
  const res = await db.query<{ at: Date; good: string; valid: string }>(
    `SELECT date_bin(make_interval(mins => $3), date_trunc('minute', b.opened_at), '2000-01-03T00:00:00Z'::timestamptz) AS at,
            count(*) FILTER (WHERE b.resolved_at IS NOT NULL AND b.resolved_at - b.opened_at <= make_interval(secs => $4::float8 / 1000))::text AS good,
            count(*) FILTER (WHERE b.resolved_at IS NOT NULL OR $5::timestamptz - b.opened_at > make_interval(secs => $4::float8 / 1000))::text AS valid
       FROM recon_breaks b WHERE b.opened_at >= $1 AND b.opened_at < $2
      GROUP BY 1 ORDER BY 1`,
    [from, to, stepMinutes, thresholdMs, now],
  );
  return res.rows.map((r) => ({ at: r.at, counts: { good: Number(r.good), valid: Number(r.valid) } }));
}

export interface ReconSummary {
  openBreaks: number;
  /** Open breaks' amounts per currency, exact. */
  unreconciled: { currency: string; amountMinor: bigint }[];
}

/** Breaks not resolved (open, or accepted as a timing difference) and their amounts per currency (the overview's figure). */
export async function readReconSummary(db: Runner): Promise<ReconSummary> {
  const res = await db.query<{ currency: string; n: string; total: string }>(
    `SELECT currency, count(*)::text AS n, sum(amount_minor)::text AS total FROM recon_breaks WHERE status <> 'resolved' GROUP BY currency ORDER BY currency`,
  );
  return {
    openBreaks: res.rows.reduce((a, r) => a + Number(r.n), 0),
    unreconciled: res.rows.map((r) => ({ currency: r.currency.trim(), amountMinor: BigInt(r.total) })),
  };
}

export interface OpenBreak {
  id: string;
  type: string;
  amountMinor: bigint;
  currency: string;
  openedAt: Date;
}

/** The largest open breaks by amount (within a currency's minor units; the report lists them per currency). */
export async function readLargestOpenBreaks(db: Runner, limit = 5): Promise<OpenBreak[]> {
  const res = await db.query<{ id: string; type: string; amount_minor: string; currency: string; opened_at: Date }>(
    `SELECT id, type::text AS type, amount_minor::text AS amount_minor, currency, opened_at FROM recon_breaks WHERE status <> 'resolved'
      ORDER BY abs(amount_minor) DESC, opened_at LIMIT $1`,
    [limit],
  );
  return res.rows.map((r) => ({ id: r.id, type: r.type, amountMinor: BigInt(r.amount_minor), currency: r.currency.trim(), openedAt: r.opened_at }));
}
