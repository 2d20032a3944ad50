/**
 * Runs as a history, and the three ways a run starts: after an import (for the period the import
 * covers), on a schedule (the worker's recon-run job: every active source over the last
 * SCHEDULE_LOOKBACK_DAYS days), or by hand.
 *
 * Invariants kept:
 * - Lists are bounded (RUN_PAGE_MAX) and keyset-paged by (started_at, id), newest first.
 * - A scheduled tick does at most MAX_SOURCES_PER_TICK sources; a failing source is recorded as a
 *   failed run and does not stop the others.
 */
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { decodeKeysetCursor, encodeKeysetCursor } from "../core/keyset-cursor";
import { componentLogger } from "../observability/logger";
import { importStatement, type ImportInput, type ImportOutcome } from "./import";
import type { RunResult, RunSummary } from "./matching";
import { runTracedReconciliation } from "./run-trace";

const log = componentLogger("recon");

export const RUN_PAGE_MAX = 200;
export const SCHEDULE_LOOKBACK_DAYS = 7;
export const MAX_SOURCES_PER_TICK = 50;

export interface RunListItem {
  id: string;
  sourceId: string;
  sourceName: string;
  periodFrom: string;
  periodTo: string;
  trigger: string;
  ruleSetVersion: number;
  status: string;
  summary: RunSummary | Record<string, never>;
  error: string | null;
  actorLabel: string;
  startedAt: Date;
  finishedAt: Date | null;
}

interface RunRaw {
  id: string;
  source_id: string;
  source_name: string;
  period_from: string;
  period_to: string;
  trigger: string;
  rule_set_version: number;
  status: string;
  summary: RunSummary;
  error: string | null;
  actor_label: string;
  started_at: Date;
  finished_at: Date | null;
}

const toRun = (r: RunRaw): RunListItem => ({
  id: r.id,
  sourceId: r.source_id,
  sourceName: r.source_name,
  periodFrom: r.period_from,
  periodTo: r.period_to,
  trigger: r.trigger,
  ruleSetVersion: r.rule_set_version,
  status: r.status,
  summary: r.summary,
  error: r.error,
  actorLabel: r.actor_label,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

const RUN_SELECT = `SELECT r.id, r.source_id, s.name AS source_name, r.period_from::text, r.period_to::text, r.trigger, r.rule_set_version, r.status, r.summary, r.error, r.actor_label, r.started_at, r.finished_at
  FROM recon_runs r JOIN recon_sources s ON s.id = r.source_id`;

/** Runs, newest first. Errors: BAD_INPUT (malformed cursor). */
export async function listRuns(db: Pick<DbHandles, "pool">, input: { sourceId?: string; cursor?: string; limit?: number } = {}): Promise<{ items: RunListItem[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(input.limit ?? 50, 1), RUN_PAGE_MAX);
  const after = input.cursor ? decodeKeysetCursor(input.cursor, "timestamp") : null;
  const rows = (
    await db.pool.query<RunRaw>(
      `${RUN_SELECT} WHERE ($1::uuid IS NULL OR r.source_id = $1) AND ($2::timestamptz IS NULL OR (r.started_at, r.id) < ($2::timestamptz, $3::uuid))
        ORDER BY r.started_at DESC, r.id DESC LIMIT $4`,
      [input.sourceId ?? null, after?.v ?? null, after?.id ?? null, limit + 1],
    )
  ).rows;
  const items = rows.slice(0, limit).map(toRun);
  const last = rows.length > limit ? items.at(-1) : undefined;
  return { items, nextCursor: last ? encodeKeysetCursor({ v: last.startedAt.toISOString(), id: last.id }) : null };
}

export async function getRun(db: Pick<DbHandles, "pool">, runId: string): Promise<RunListItem> {
  if (!/^[0-9a-f-]{36}$/i.test(runId)) throw new AppError("NOT_FOUND", `run ${runId} does not exist`);
  const r = (await db.pool.query<RunRaw>(`${RUN_SELECT} WHERE r.id = $1`, [runId])).rows[0];
  if (!r) throw new AppError("NOT_FOUND", `run ${runId} does not exist`);
  return toRun(r);
}

export interface ImportAndRunOutcome extends ImportOutcome {
  run: RunResult | null;
}

/**
 * Imports a file and, when it brought new lines, runs matching for the period they cover (plus the
 * widest rule window around it, inside the run), traced (run-trace.ts). Errors: as importStatement,
 * then as runReconciliation.
 */
export async function importAndReconcile(db: Pick<DbHandles, "pool">, actor: AuditActor, input: ImportInput, opts: { requestId?: string | null; now?: Date } = {}): Promise<ImportAndRunOutcome> {
  const outcome = await importStatement(db, actor, input, opts);
  if (outcome.status !== "imported" || !outcome.sourceId || !outcome.periodFrom || !outcome.periodTo) return { ...outcome, run: null };
  const run = await runTracedReconciliation(db, actor, { sourceId: outcome.sourceId, periodFrom: outcome.periodFrom, periodTo: outcome.periodTo, trigger: "import" }, opts);
  return { ...outcome, run };
}

const dayOf = (d: Date, back = 0) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back)).toISOString().slice(0, 10);

/** The scheduled run: every active source over the last SCHEDULE_LOOKBACK_DAYS days. */
export async function runScheduledReconciliation(db: Pick<DbHandles, "pool">, now: Date): Promise<{ sources: number; failed: number }> {
  const sources = (await db.pool.query<{ id: string; name: string }>(`SELECT id, name FROM recon_sources WHERE is_active ORDER BY name LIMIT $1`, [MAX_SOURCES_PER_TICK])).rows;
  const actor: AuditActor = { type: "system", id: null, label: "recon-schedule" };
  let failed = 0;
  for (const s of sources) {
    try {
      await runTracedReconciliation(db, actor, { sourceId: s.id, periodFrom: dayOf(now, SCHEDULE_LOOKBACK_DAYS), periodTo: dayOf(now), trigger: "schedule" }, { now });
    } catch (e) {
      failed++;
      log.error({ source: s.name, err: (e as Error).message }, "scheduled reconciliation run failed");
    }
  }
  return { sources: sources.length, failed };
}

export interface SeriesPoint {
  /** YYYY-MM-DD */
  date: string;
  lines: number;
  matchedLines: number;
  matchRateBps: number;
  /** Open breaks' amounts per currency at the day's last run (minor units, integer strings). */
  unreconciledMinorByCurrency: Record<string, string>;
}

/**
 * Match rate and unreconciled amount per day, from the last completed run of each source on each
 * day (summed over sources, or one source). Errors: BAD_INPUT (dates; more than 366 days).
 */
export async function runSeries(db: Pick<DbHandles, "pool">, input: { sourceId?: string; from: string; to: string }): Promise<SeriesPoint[]> {
  const days = (Date.parse(`${input.to}T00:00:00Z`) - Date.parse(`${input.from}T00:00:00Z`)) / 86_400_000;
  if (!Number.isFinite(days) || days < 0 || days > 366) throw new AppError("BAD_INPUT", `series ${input.from} to ${input.to}: give a range of at most 366 days, start before end`);
  const rows = (
    await db.pool.query<{ d: string; summary: RunSummary }>(
      `SELECT DISTINCT ON (r.source_id, (r.started_at AT TIME ZONE 'UTC')::date) (r.started_at AT TIME ZONE 'UTC')::date::text AS d, r.summary
         FROM recon_runs r
        WHERE r.status = 'completed' AND ($1::uuid IS NULL OR r.source_id = $1)
          AND r.started_at >= ($2::date::timestamp AT TIME ZONE 'UTC') AND r.started_at < (($3::date + 1)::timestamp AT TIME ZONE 'UTC')
        ORDER BY r.source_id, (r.started_at AT TIME ZONE 'UTC')::date, r.started_at DESC
        LIMIT 50000`,
      [input.sourceId ?? null, input.from, input.to],
    )
  ).rows;
  const byDay = new Map<string, { lines: number; matched: number; amounts: Map<string, bigint> }>();
  for (const r of rows) {
    const p = byDay.get(r.d) ?? { lines: 0, matched: 0, amounts: new Map<string, bigint>() };
    byDay.set(r.d, p);
    p.lines += r.summary.lines ?? 0;
    p.matched += r.summary.matchedLines ?? 0;
    for (const [c, v] of Object.entries(r.summary.unreconciledMinorByCurrency ?? {})) p.amounts.set(c, (p.amounts.get(c) ?? 0n) + BigInt(v));
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([d, p]) => ({
      date: d,
      lines: p.lines,
      matchedLines: p.matched,
      matchRateBps: p.lines === 0 ? 10_000 : Math.floor((p.matched * 10_000) / p.lines),
      unreconciledMinorByCurrency: Object.fromEntries([...p.amounts.entries()].map(([c, v]) => [c, v.toString()])),
    }));
}
