/**
 * Balance history: an account's posted balance at evenly spaced instants (bucket ends) over a
 * range, for the account page's chart.
 *
 * Invariants kept:
 * - Each point is exact: the signed sum (normal side positive) of the account's postings whose
 *   entry's effective_at is at or before the point's instant, the same rule as
 *   getBalances(..., { asOf }). It is computed in SQL (bucket sums plus a running window sum) as
 *   NUMERIC and returned as a decimal integer string, never as a JS number.
 * - Bucket ends are whole milliseconds (what a JS Date can carry), so a point's `at` can be handed
 *   back to getBalances as asOf and gives the same figure.
 * - At most MAX_HISTORY_POINTS points; the first is the balance at `from`, the last at `to`.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { assertUuid } from "../core/validate";

export const MAX_HISTORY_POINTS = 500;
export const DEFAULT_HISTORY_POINTS = 120;

export interface BalanceHistoryPoint {
  /** The bucket end: the balance includes everything effective at or before it. */
  at: Date;
  /** Exact posted balance in minor units, as a decimal integer string ("-1250"). */
  postedMinor: string;
}

export interface BalanceHistory {
  accountId: string;
  currency: string;
  from: Date;
  to: Date;
  points: BalanceHistoryPoint[];
}

export interface BalanceHistoryOptions {
  /** Start of the range; default: the account's earliest effective posting (or a day before `to`). */
  from?: Date;
  /** End of the range; default now. */
  to?: Date;
  /** Number of points, 2..MAX_HISTORY_POINTS; default DEFAULT_HISTORY_POINTS. */
  points?: number;
}

function isValidDate(d: unknown): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

const DAY_MS = 86_400_000;

/**
 * The posted balance of one account at `points` evenly spaced instants from `from` to `to`.
 * Errors, in order: BAD_INPUT (account id not a UUID; from/to not valid times; from not before
 * to; points not a whole number in 2..500), NOT_FOUND (no such account).
 */
export async function getBalanceHistory(db: Pick<DbHandles, "pool">, accountId: string, opts: BalanceHistoryOptions = {}): Promise<BalanceHistory> {
  const id = assertUuid(accountId, "accountId");
  if (opts.from !== undefined && !isValidDate(opts.from)) throw new AppError("BAD_INPUT", "from must be a valid time");
  if (opts.to !== undefined && !isValidDate(opts.to)) throw new AppError("BAD_INPUT", "to must be a valid time");
  const requested = opts.points ?? DEFAULT_HISTORY_POINTS;
  if (!Number.isInteger(requested) || requested < 2 || requested > MAX_HISTORY_POINTS) {
    throw new AppError("BAD_INPUT", `points must be a whole number from 2 to ${MAX_HISTORY_POINTS}, got ${String(requested)}`);
  }
  const to = opts.to ?? new Date();
  if (opts.from !== undefined && opts.from.getTime() >= to.getTime()) {
    throw new AppError("BAD_INPUT", `from (${opts.from.toISOString()}) must be before to (${to.toISOString()})`, { details: { from: opts.from.toISOString(), to: to.toISOString() } });
  }

  const sql = pgRunner(db.pool);
  const accounts = await sql.query<{ currency: string; first_at: Date | null }>(
    `SELECT a.currency,
            (SELECT min(e.effective_at) FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE p.account_id = a.id) AS first_at
       FROM ledger_accounts a WHERE a.id = $1`,
    [id],
  );
  const account = accounts[0];
  if (!account) throw new AppError("NOT_FOUND", `account ${accountId} does not exist`, { details: { accountId } });

  let from = opts.from;
  if (!from) {
    // "All time": start just before the first posting so the chart opens at zero.
    const first = account.first_at ? account.first_at.getTime() - 1 : to.getTime() - DAY_MS;
    from = new Date(Math.min(first, to.getTime() - 1));
  }
  const fromMs = from.getTime();
  const spanMs = to.getTime() - fromMs;
  // Never more points than milliseconds in the range, so bucket ends stay distinct.
  const n = Math.min(requested, spanMs + 1);

  // Bucket k ends at fromMs + floor(spanMs * k / (n - 1)) ms. A posting effective at t µs belongs
  // to the first bucket whose end is >= t: with c = ceil(t / 1000) - fromMs (> 0 inside the range),
  // that is k = ceil(c * (n - 1) / spanMs). Postings at or before `from` all fall in bucket 0.
  // All arithmetic is exact NUMERIC; the running sum is a window over at most n bucket rows.
  const rows = await sql.query<{ k: number; end_ms: string; posted: string }>(
    `WITH acct AS (SELECT id, normal_side FROM ledger_accounts WHERE id = $1),
          moves AS (
            SELECT CASE WHEN e.effective_at <= $2::timestamptz THEN 0
                        ELSE div((div(extract(epoch FROM e.effective_at) * 1000000 + 999, 1000) - $3::numeric) * ($5::numeric - 1) + $4::numeric - 1, $4::numeric)
                   END AS k,
                   CASE WHEN p.side::text = acct.normal_side::text THEN p.amount_minor ELSE -p.amount_minor END::numeric AS delta
              FROM acct JOIN postings p ON p.account_id = acct.id
              JOIN journal_entries e ON e.id = p.entry_id
             WHERE e.effective_at <= $6::timestamptz
          ),
          buckets AS (SELECT k, sum(delta) AS delta FROM moves GROUP BY k)
     SELECT g.k::int AS k,
            ($3::numeric + div($4::numeric * g.k, $5::numeric - 1))::text AS end_ms,
            (sum(coalesce(b.delta, 0)) OVER (ORDER BY g.k ROWS UNBOUNDED PRECEDING))::text AS posted
       FROM generate_series(0, $5::int - 1) AS g(k)
       LEFT JOIN buckets b ON b.k = g.k
      ORDER BY g.k`,
    [id, from, String(fromMs), String(spanMs), n, to],
  );
  return {
    accountId: id,
    currency: account.currency,
    from,
    to,
    // end_ms is a whole number of milliseconds well inside Date's range, so Number() is exact.
    points: rows.map((r) => ({ at: new Date(Number(r.end_ms)), postedMinor: r.posted })),
  };
}
