/**
 * What the SLO pages read: an objective's series over a time range (SLI, target, breaches, budget
 * burn-down, burn rates, latency percentiles, incident bands), the overview ("is money moving?"),
 * and the weekly report for people who are not on call.
 *
 * Invariants kept:
 * - A range is at most MAX_RANGE_DAYS long and yields at most MAX_POINTS points: the step grows
 *   with the range (1 minute up to 2 hours of range, then 5, 15, 60, 240 minutes), so every chart
 *   reads a bounded number of rollup rows.
 * - Figures come from the rollups, the minute samples and the stored alert states; the blast
 *   radius and the overview's queues read their own tables through indexes.
 */
import type { DbHandles } from "../db/client";
import { AppError } from "../errors/app-error";
import { summarizeStuck } from "../transfers/queries";
import { ACTIVE_STATES } from "../transfers/state-machine";
import { addCounts, burnDown, EMPTY_COUNTS, quantileFromHistogram, sliOf, type Counts } from "./math";
import { getSloDefinition, listSloDefinitions, INDICATORS, type SloDefinition } from "./definitions";
import { evaluateSlo, readIndicatorSeries, readStoredSloStates, type SloStatus } from "./evaluate";
import { LATENCY_BOUNDS_MS, readOutcomeBreakdown, readOutcomeTotal, readSampleSeries, type BreakdownRow } from "./rollup";
import { listIncidents, readMonthlyIncidents, type Incident, type MonthlyIncidents } from "./incidents";
import { readPartnerHealth, type PartnerHealth } from "./partner-health";
import { readLargestOpenBreaks, readMatchRateSeries, readReconSummary, type OpenBreak } from "./recon-indicators";

export const MAX_RANGE_DAYS = 90;
export const MAX_POINTS = 1_500;
const STEPS_MINUTES = [1, 5, 15, 60, 240, 1440];

/** The step (minutes) that keeps a range within MAX_POINTS points. */
export function stepFor(from: Date, to: Date): number {
  const minutes = (to.getTime() - from.getTime()) / 60_000;
  return STEPS_MINUTES.find((s) => minutes / s <= MAX_POINTS) ?? 1440;
}

export function checkRange(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime())) throw new AppError("BAD_INPUT", "from is not a date", { details: { field: "from" } });
  if (Number.isNaN(to.getTime())) throw new AppError("BAD_INPUT", "to is not a date", { details: { field: "to" } });
  if (to.getTime() <= from.getTime()) throw new AppError("BAD_INPUT", "to must be after from", { details: { field: "to" } });
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000) throw new AppError("BAD_INPUT", `the range must be at most ${MAX_RANGE_DAYS} days`, { details: { field: "to" } });
}

export interface SeriesPoint {
  at: Date;
  good: number;
  valid: number;
  sli: number | null;
  /** Below target in this step. */
  isBreach: boolean;
  latencyMsP50: number | null;
  latencyMsP95: number | null;
  latencyMsP99: number | null;
}

export interface SloSeries {
  definition: SloDefinition;
  indicatorLabel: string;
  isAvailable: boolean;
  from: Date;
  to: Date;
  stepMinutes: number;
  points: SeriesPoint[];
  /** Consecutive steps below target, merged: the shaded bands. */
  breaches: { from: Date; to: Date; good: number; valid: number }[];
  /** Budget left over the range, step by step. */
  burnDown: { at: Date; budgetRemaining: number }[];
  total: Counts;
  incidents: Incident[];
}

/** An objective's series over [from, to). Errors: BAD_INPUT (range), NOT_FOUND (key). */
export async function readSloSeries(db: Pick<DbHandles, "pool">, key: string, from: Date, to: Date, now: Date): Promise<SloSeries> {
  checkRange(from, to);
  const def = await getSloDefinition(db, key);
  const stepMinutes = stepFor(from, to);
  const [raw, incidents] = await Promise.all([readIndicatorSeries(db.pool, def, from, to, stepMinutes, now), listIncidents(db.pool, { from, to, limit: 100 })]);
  const base = { definition: def, indicatorLabel: INDICATORS[def.indicator].label, from, to, stepMinutes, incidents: incidents.items };
  if (!raw) return { ...base, isAvailable: false, points: [], breaches: [], burnDown: [], total: EMPTY_COUNTS };
  const points = raw.map((p) => {
    const sli = sliOf(p.counts);
    const q = (x: number) => (p.latencyCounts ? quantileFromHistogram(LATENCY_BOUNDS_MS, p.latencyCounts, x) : null);
    return { at: p.at, good: p.counts.good, valid: p.counts.valid, sli, isBreach: sli !== null && sli < def.target, latencyMsP50: q(0.5), latencyMsP95: q(0.95), latencyMsP99: q(0.99) };
  });
  const breaches: SloSeries["breaches"] = [];
  const stepMs = stepMinutes * 60_000;
  for (const p of points) {
    if (!p.isBreach) continue;
    const last = breaches[breaches.length - 1];
    if (last && last.to.getTime() === p.at.getTime()) {
      last.to = new Date(p.at.getTime() + stepMs);
      last.good += p.good;
      last.valid += p.valid;
    } else breaches.push({ from: p.at, to: new Date(p.at.getTime() + stepMs), good: p.good, valid: p.valid });
  }
  const total = raw.reduce((acc, p) => addCounts(acc, p.counts), EMPTY_COUNTS);
  return { ...base, isAvailable: true, points, breaches, burnDown: burnDown(raw.map((p) => ({ at: p.at, counts: p.counts })), def.target), total };
}

/** The worker's minute samples over [from, to) per step: the largest stuck count and webhook lag seen. */
export async function readSamples(db: Pick<DbHandles, "pool">, from: Date, to: Date): Promise<{ stepMinutes: number; points: { at: Date; stuckMax: number; lagMaxMs: number; sampled: number }[] }> {
  checkRange(from, to);
  const stepMinutes = stepFor(from, to);
  const rows = await readSampleSeries(db.pool, from, to, stepMinutes, {});
  return { stepMinutes, points: rows.map((r) => ({ at: r.at, stuckMax: r.stuckMax, lagMaxMs: r.lagMaxMs, sampled: r.sampled })) };
}

/** Every enabled objective evaluated now (live, for the dashboard's header). */
export async function readSloStatuses(db: Pick<DbHandles, "pool">, now: Date): Promise<SloStatus[]> {
  const defs = await listSloDefinitions(db, { isEnabledOnly: true });
  return Promise.all(defs.map((d) => evaluateSlo(db.pool, d, now)));
}

/** Outcomes per rail and partner over [from, to): settled, failed, excluded, cancelled, success rate and p95. */
export async function readBreakdown(db: Pick<DbHandles, "pool">, from: Date, to: Date): Promise<(BreakdownRow & { successRate: number | null; latencyMsP95: number | null })[]> {
  checkRange(from, to);
  return (await readOutcomeBreakdown(db.pool, from, to)).map((r) => ({
    ...r,
    successRate: sliOf({ good: r.settled, valid: r.settled + r.failed }),
    latencyMsP95: quantileFromHistogram(LATENCY_BOUNDS_MS, r.latencyCounts, 0.95),
  }));
}

export interface Overview {
  at: Date;
  slos: { key: string; name: string; level: string; since: Date; sli: number | null; budgetRemaining: number; evaluatedAt: Date }[];
  /** Objectives without a stored state yet (the worker has not evaluated them). */
  notEvaluated: string[];
  stuck: { total: number; byState: Record<string, number>; needsAttention: number };
  activeTransfers: number;
  approvalsWaiting: number;
  partners: PartnerHealth[];
  openIncidents: Incident[];
  /** Reconciliation's breaks not resolved and the amount they leave unreconciled, per currency. */
  reconciliation: { isAvailable: true; openBreaks: number; unreconciled: { currency: string; amountMinor: bigint }[] };
}

/** "Is money moving?": each objective's state and budget, stuck transfers, approvals waiting, partner states, open incidents. */
export async function readOverview(db: Pick<DbHandles, "pool">, now: Date): Promise<Overview> {
  const [states, defs, stuck, active, approvals, partners, incidents, recon] = await Promise.all([
    readStoredSloStates(db.pool),
    listSloDefinitions(db, { isEnabledOnly: true }),
    summarizeStuck(db, now),
    db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM transfers t WHERE t.state = ANY($1::transfer_state[])`, [ACTIVE_STATES]),
    db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM adjustment_proposals WHERE status = 'open' AND expires_at > $1`, [now]),
    readPartnerHealth(db.pool, new Date(now.getTime() - 3600_000), now),
    listIncidents(db.pool, { isOpenOnly: true, limit: 20 }),
    readReconSummary(db.pool),
  ]);
  const evaluated = new Set(states.map((s) => s.key));
  return {
    at: now,
    slos: states.map((s) => ({ key: s.key, name: s.name, level: s.level, since: s.since, sli: s.sli, budgetRemaining: s.budgetRemaining, evaluatedAt: s.evaluatedAt })),
    notEvaluated: defs.filter((d) => !evaluated.has(d.key)).map((d) => d.key),
    stuck,
    activeTransfers: Number(active.rows[0]!.n),
    approvalsWaiting: Number(approvals.rows[0]!.n),
    partners,
    openIncidents: incidents.items,
    reconciliation: { isAvailable: true, ...recon },
  };
}

export interface WeekFigures {
  weekStart: Date;
  /** Settled over settled + failed by us or the partner. */
  successRate: number | null;
  settled: number;
  failed: number;
  latencyMsP50: number | null;
  latencyMsP95: number | null;
  incidents: number;
  /**
   * Reconciliation accuracy: statement lines matched over lines, from each source's last completed
   * run of each day in the week (as the match-rate objective counts them); null without lines.
   */
  reconMatchRate: number | null;
  reconLines: number;
}

export interface WeeklyReport {
  weekStart: Date;
  weekEnd: Date;
  /** This week and the previous ones, oldest first (the trend). */
  weeks: WeekFigures[];
  incidents: (Incident & { blastRadiusCount: number })[];
  monthly: MonthlyIncidents[];
  adjustmentsApproved: { id: string; summary: string; amounts: Record<string, string>; closedAt: Date; closedBy: string | null }[];
  /** Statement lines matched automatically in the week, and the largest breaks still open. */
  reconciliation: { isAvailable: true; matchRate: number | null; lines: number; largestOpenBreaks: OpenBreak[] };
}

/** Monday 00:00 UTC of the week holding `d`. */
export function weekStartOf(d: Date): Date {
  const day = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day));
}

/** The weekly report of the week starting at `weekStart` (a Monday, UTC), with `weeksOfTrend` weeks before it. */
export async function readWeeklyReport(db: Pick<DbHandles, "pool">, weekStart: Date, now: Date, weeksOfTrend = 4): Promise<WeeklyReport> {
  const start = weekStartOf(weekStart);
  const end = new Date(start.getTime() + 7 * 86_400_000);
  const weeks: WeekFigures[] = [];
  // Reconciliation for every week at once: weekly buckets aligned on Mondays (the series' origin).
  const trendFrom = new Date(start.getTime() - weeksOfTrend * 7 * 86_400_000);
  const reconByWeek = new Map((await readMatchRateSeries(db.pool, trendFrom, end, 10_080)).map((p) => [p.at.getTime(), p.counts]));
  for (let i = weeksOfTrend; i >= 0; i--) {
    const ws = new Date(start.getTime() - i * 7 * 86_400_000);
    const we = new Date(ws.getTime() + 7 * 86_400_000);
    const [o, inc] = await Promise.all([readOutcomeTotal(db.pool, ws, we), listIncidents(db.pool, { from: ws, to: we, limit: 100 })]);
    weeks.push({
      weekStart: ws,
      successRate: sliOf({ good: o.settled, valid: o.settled + o.failed }),
      settled: o.settled,
      failed: o.failed,
      latencyMsP50: quantileFromHistogram(LATENCY_BOUNDS_MS, o.latencyCounts, 0.5),
      latencyMsP95: quantileFromHistogram(LATENCY_BOUNDS_MS, o.latencyCounts, 0.95),
      incidents: inc.items.filter((x) => x.startedAt.getTime() >= ws.getTime()).length,
      reconMatchRate: sliOf(reconByWeek.get(ws.getTime()) ?? { good: 0, valid: 0 }),
      reconLines: reconByWeek.get(ws.getTime())?.valid ?? 0,
    });
  }
  const current = weeks.at(-1)!;
  const incidents = (await listIncidents(db.pool, { from: start, to: end, limit: 100 })).items;
  const adjustments = await db.pool.query<{ id: string; summary: string; amounts: Record<string, string>; closed_at: Date; closed_by_label: string | null }>(
    `SELECT id, summary, amounts, closed_at, closed_by_label FROM adjustment_proposals WHERE status = 'applied' AND closed_at >= $1 AND closed_at < $2 ORDER BY closed_at LIMIT 100`,
    [start, end],
  );
  return {
    weekStart: start,
    weekEnd: end,
    weeks,
    incidents: incidents.map((i) => ({ ...i, blastRadiusCount: i.linkedTransfers })),
    monthly: await readMonthlyIncidents(db.pool, now, 6),
    adjustmentsApproved: adjustments.rows.map((r) => ({ id: r.id, summary: r.summary, amounts: r.amounts, closedAt: r.closed_at, closedBy: r.closed_by_label })),
    reconciliation: { isAvailable: true as const, matchRate: current.reconMatchRate, lines: current.reconLines, largestOpenBreaks: await readLargestOpenBreaks(db.pool, 5) },
  };
}
