/**
 * The SLO arithmetic, pure: service level indicators, error budgets, burn rates, the
 * multi-window multi-burn-rate alert state and percentiles from histogram rollups.
 *
 * Invariants kept:
 * - An SLI is good events over valid events. Excluded events (failures the customer caused,
 *   cancellations) are not valid: they count neither for nor against the objective. A window
 *   without valid events has no SLI (null), spends no budget and burns at rate 0.
 * - The error budget is the share of valid events allowed to be bad: 1 - target. Budget remaining
 *   is 1 - bad / (budget × valid): 1 untouched, 0 spent, negative overspent.
 * - Burn rate over a window is the bad share divided by the budget share: 1 spends exactly the
 *   budget over the SLO window, 14.4 spends a 30-day budget in about two days.
 * - Alerts follow the common SRE practice (Google SRE workbook, "Alerting on SLOs"): each rule
 *   names the share of the whole window's budget that may burn within a long window; it fires
 *   when both the long window and its short window (1/12 of it) burn at or above
 *   threshold = share × SLO window / long window. The short window makes an alert stop soon
 *   after the burning stops.
 * - Percentiles interpolate linearly inside the histogram bucket holding the rank (as
 *   Prometheus's histogram_quantile does); a rank in the overflow bucket answers the last bound.
 */

export interface Counts {
  good: number;
  valid: number;
}

export const EMPTY_COUNTS: Counts = { good: 0, valid: 0 };

export function addCounts(a: Counts, b: Counts): Counts {
  return { good: a.good + b.good, valid: a.valid + b.valid };
}

/** good / valid, or null when nothing valid happened. */
export function sliOf(c: Counts): number | null {
  return c.valid === 0 ? null : c.good / c.valid;
}

function checkTarget(target: number): void {
  if (!(target > 0 && target < 1)) throw new RangeError(`an SLO target must be strictly between 0 and 1, got ${target}`);
}

/** Share of the error budget left: 1 untouched, 0 spent, negative overspent. 1 when nothing valid happened. */
export function budgetRemaining(c: Counts, target: number): number {
  checkTarget(target);
  if (c.valid === 0) return 1;
  const bad = c.valid - c.good;
  return 1 - bad / ((1 - target) * c.valid);
}

/** Bad events the window may still absorb before the budget is spent (negative when overspent). */
export function badEventsLeft(c: Counts, target: number): number {
  checkTarget(target);
  return (1 - target) * c.valid - (c.valid - c.good);
}

/** How fast the budget burns in a window: bad share / budget share. 0 when nothing valid happened. */
export function burnRate(c: Counts, target: number): number {
  checkTarget(target);
  if (c.valid === 0) return 0;
  return (c.valid - c.good) / c.valid / (1 - target);
}

export type AlertLevel = "ok" | "ticket" | "page";
export const ALERT_LEVELS: readonly AlertLevel[] = ["ok", "ticket", "page"];

export function alertRank(level: AlertLevel): number {
  return ALERT_LEVELS.indexOf(level);
}

export interface AlertRule {
  severity: Exclude<AlertLevel, "ok">;
  /** The long window, in minutes. */
  longMinutes: number;
  /** The short window, in minutes (1/12 of the long one). */
  shortMinutes: number;
  /** Share of the SLO window's budget allowed to burn within the long window. */
  budgetShare: number;
}

/**
 * The SRE workbook's recommended rules: page on 2% of the budget in an hour or 5% in six hours;
 * ticket on 10% in a day or 10% in three days.
 */
export const ALERT_RULES: readonly AlertRule[] = [
  { severity: "page", longMinutes: 60, shortMinutes: 5, budgetShare: 0.02 },
  { severity: "page", longMinutes: 360, shortMinutes: 30, budgetShare: 0.05 },
  { severity: "ticket", longMinutes: 1440, shortMinutes: 120, budgetShare: 0.1 },
  { severity: "ticket", longMinutes: 4320, shortMinutes: 360, budgetShare: 0.1 },
];

/** Every window (in minutes) the alert rules read, ascending. */
export const ALERT_WINDOWS_MINUTES: readonly number[] = [...new Set(ALERT_RULES.flatMap((r) => [r.longMinutes, r.shortMinutes]))].sort((a, b) => a - b);

/** The burn-rate threshold of a rule for an SLO whose window is `windowMinutes`. */
export function burnThreshold(rule: AlertRule, windowMinutes: number): number {
  return (rule.budgetShare * windowMinutes) / rule.longMinutes;
}

export interface RuleEvaluation {
  rule: AlertRule;
  threshold: number;
  longBurn: number;
  shortBurn: number;
  isFiring: boolean;
}

export interface AlertEvaluation {
  level: AlertLevel;
  rules: RuleEvaluation[];
}

/**
 * The alert state from the counts of each alert window (by minutes; see ALERT_WINDOWS_MINUTES):
 * the most severe firing rule, or ok. A window missing from `byWindow` counts as empty.
 */
export function evaluateAlerts(byWindow: ReadonlyMap<number, Counts>, target: number, windowMinutes: number, rules: readonly AlertRule[] = ALERT_RULES): AlertEvaluation {
  let level: AlertLevel = "ok";
  const evaluated = rules.map((rule) => {
    const threshold = burnThreshold(rule, windowMinutes);
    const longBurn = burnRate(byWindow.get(rule.longMinutes) ?? EMPTY_COUNTS, target);
    const shortBurn = burnRate(byWindow.get(rule.shortMinutes) ?? EMPTY_COUNTS, target);
    const isFiring = longBurn >= threshold && shortBurn >= threshold;
    if (isFiring && alertRank(rule.severity) > alertRank(level)) level = rule.severity;
    return { rule, threshold, longBurn, shortBurn, isFiring };
  });
  return { level, rules: evaluated };
}

/**
 * The q-quantile (0 < q < 1) of a histogram: `bounds` are the ascending upper bounds of the finite
 * buckets, `counts` has one more entry for the overflow bucket (above the last bound). The first
 * bucket starts at 0. Null when the histogram is empty.
 */
export function quantileFromHistogram(bounds: readonly number[], counts: readonly number[], q: number): number | null {
  if (!(q > 0 && q < 1)) throw new RangeError(`a quantile must be strictly between 0 and 1, got ${q}`);
  if (counts.length !== bounds.length + 1) throw new RangeError(`a histogram with ${bounds.length} bounds needs ${bounds.length + 1} counts, got ${counts.length}`);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n > 0 && seen + n >= rank) {
      if (i === bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return bounds[bounds.length - 1]!;
}

/** How many histogram entries are at or below `bound`, which must be one of `bounds` (exact, no interpolation). */
export function countAtOrBelow(bounds: readonly number[], counts: readonly number[], bound: number): number {
  const i = bounds.indexOf(bound);
  if (i < 0) throw new RangeError(`${bound} is not a histogram bound (${bounds.join(", ")})`);
  let n = 0;
  for (let j = 0; j <= i; j++) n += counts[j]!;
  return n;
}

export interface BurnDownPoint {
  at: Date;
  /** Share of the window's budget left at this point, counting from the start of the window. */
  budgetRemaining: number;
}

/**
 * The budget burn-down over a window: the bad events so far against the budget of the events so
 * far (event-based SLOs grow their budget with their traffic). Points follow `series` in time
 * order.
 */
export function burnDown(series: readonly { at: Date; counts: Counts }[], target: number): BurnDownPoint[] {
  checkTarget(target);
  let acc = EMPTY_COUNTS;
  return series.map((p) => {
    acc = addCounts(acc, p.counts);
    return { at: p.at, budgetRemaining: budgetRemaining(acc, target) };
  });
}

/** A rollup bucket: the minute the events are attributed to (a transfer's creation minute). */
export interface MinuteCounts {
  minute: Date;
  counts: Counts;
}

/**
 * Sums minute buckets into trailing windows ending at `now` (exclusive): for each window length
 * in minutes, the buckets whose minute is in [now - length, now). Buckets are keyed by the minute
 * the events belong to, so an outcome that arrives late changes its own minute's bucket and
 * therefore only the windows that contain that minute.
 */
export function sumTrailingWindows(buckets: readonly MinuteCounts[], now: Date, windowsMinutes: readonly number[]): Map<number, Counts> {
  const out = new Map<number, Counts>(windowsMinutes.map((w) => [w, EMPTY_COUNTS]));
  const end = now.getTime();
  for (const b of buckets) {
    const t = b.minute.getTime();
    if (t >= end) continue;
    for (const w of windowsMinutes) {
      if (t >= end - w * 60_000) out.set(w, addCounts(out.get(w)!, b.counts));
    }
  }
  return out;
}
