/**
 * Fee schedules in the database: which version is in force, the versions of a schedule, and the
 * difference between two versions. New versions are written only by the fee_schedule_version
 * approval kind (server/pricing/approval-kinds.ts).
 *
 * Invariants kept:
 * - The version in force for a rail at time t is the one with the newest effective_from <= t
 *   (ties: the higher version). Versions are append-only and never take effect before an earlier
 *   one (database trigger), so the answer for a past t never changes.
 * - A stored definition is compiled with the same compileFeeSchedule that validated it when it
 *   was proposed; compiled versions are cached by version id (rows never change), at most
 *   COMPILED_CACHE_MAX of them.
 */
import { canonicalJson } from "../core/canonical-json";
import type { SqlRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { compileFeeSchedule, type CompiledFeeSchedule, type FeeRuleDefinition, type ScheduleRef } from "./fees";

const COMPILED_CACHE_MAX = 1_000;
const compiledCache = new Map<string, CompiledFeeSchedule>();

export interface ScheduleVersion {
  scheduleId: string;
  scheduleCode: string;
  scheduleName: string;
  rail: string;
  versionId: string;
  version: number;
  effectiveFrom: Date;
  proposalId: string | null;
  createdBy: string;
  createdAt: Date;
  compiled: CompiledFeeSchedule;
}

interface VersionRow {
  schedule_id: string;
  code: string;
  name: string;
  rail: string;
  version_id: string;
  version: number;
  effective_from: Date;
  proposal_id: string | null;
  created_by: string;
  created_at: Date;
  definition: unknown;
}

const VERSION_SELECT = `SELECT s.id AS schedule_id, s.code, s.name, s.rail, v.id AS version_id, v.version, v.effective_from, v.proposal_id, v.created_by, v.created_at, v.definition
  FROM fee_schedule_versions v JOIN fee_schedules s ON s.id = v.schedule_id`;

function compiledFor(versionId: string, definition: unknown): CompiledFeeSchedule {
  let c = compiledCache.get(versionId);
  if (!c) {
    c = compileFeeSchedule(definition);
    if (compiledCache.size >= COMPILED_CACHE_MAX) compiledCache.delete(compiledCache.keys().next().value!);
    compiledCache.set(versionId, c);
  }
  return c;
}

function toVersion(r: VersionRow): ScheduleVersion {
  return {
    scheduleId: r.schedule_id, scheduleCode: r.code, scheduleName: r.name, rail: r.rail, versionId: r.version_id, version: r.version,
    effectiveFrom: r.effective_from, proposalId: r.proposal_id, createdBy: r.created_by, createdAt: r.created_at,
    compiled: compiledFor(r.version_id, r.definition),
  };
}

export function scheduleRefOf(v: ScheduleVersion): ScheduleRef {
  return { scheduleCode: v.scheduleCode, version: v.version, versionId: v.versionId, rail: v.rail };
}

/** The version in force on `rail` at `at`, or null when the rail has no schedule (or none in force yet). */
export async function findVersionInForce(sql: SqlRunner, rail: string, at: Date): Promise<ScheduleVersion | null> {
  const rows = await sql.query<VersionRow>(`${VERSION_SELECT} WHERE s.rail = $1 AND v.effective_from <= $2 ORDER BY v.effective_from DESC, v.version DESC LIMIT 1`, [rail, at]);
  return rows[0] ? toVersion(rows[0]) : null;
}

/** MOST_VERSIONS_AHEAD: versions due after `at` that versionsFrom reads (more is not a real schedule). */
const MOST_VERSIONS_AHEAD = 100;

/**
 * The version in force on `rail` at `at` followed by every later one (at most MOST_VERSIONS_AHEAD),
 * ascending by effective_from then version: what the pricing cache keeps (cache.ts).
 */
export async function versionsFrom(sql: SqlRunner, rail: string, at: Date): Promise<ScheduleVersion[]> {
  const rows = await sql.query<VersionRow>(
    `(${VERSION_SELECT} WHERE s.rail = $1 AND v.effective_from <= $2 ORDER BY v.effective_from DESC, v.version DESC LIMIT 1)
     UNION ALL
     (${VERSION_SELECT} WHERE s.rail = $1 AND v.effective_from > $2 ORDER BY v.effective_from, v.version LIMIT ${MOST_VERSIONS_AHEAD})`,
    [rail, at],
  );
  return rows.map(toVersion).sort((a, b) => a.effectiveFrom.getTime() - b.effectiveFrom.getTime() || a.version - b.version);
}

/** One version by id. NOT_FOUND when it does not exist. */
export async function getScheduleVersion(sql: SqlRunner, versionId: string): Promise<ScheduleVersion> {
  const rows = await sql.query<VersionRow>(`${VERSION_SELECT} WHERE v.id = $1`, [versionId]);
  if (!rows[0]) throw new AppError("NOT_FOUND", `fee schedule version ${versionId} does not exist`, { details: { versionId } });
  return toVersion(rows[0]);
}

/** A schedule's versions, newest first (at most 200). NOT_FOUND when the schedule does not exist. */
export async function listScheduleVersions(sql: SqlRunner, scheduleCode: string): Promise<ScheduleVersion[]> {
  const rows = await sql.query<VersionRow>(`${VERSION_SELECT} WHERE s.code = $1 ORDER BY v.version DESC LIMIT 200`, [scheduleCode]);
  if (rows.length === 0) {
    const s = await sql.query(`SELECT 1 FROM fee_schedules WHERE code = $1`, [scheduleCode]);
    if (s.length === 0) throw new AppError("NOT_FOUND", `fee schedule ${scheduleCode} does not exist`, { details: { scheduleCode } });
  }
  return rows.map(toVersion);
}

export interface ScheduleSummary {
  id: string;
  code: string;
  name: string;
  rail: string;
  latestVersion: number;
  versionInForce: number | null;
  inForceSince: Date | null;
  nextVersion: { version: number; effectiveFrom: Date } | null;
}

/** Every schedule (one per rail, so few) with its latest version and the one in force at `at`. */
export async function listSchedules(sql: SqlRunner, at: Date): Promise<ScheduleSummary[]> {
  const rows = await sql.query<{
    id: string; code: string; name: string; rail: string; latest: number | null; in_force: number | null; in_force_since: Date | null; next_version: number | null; next_from: Date | null;
  }>(
    `SELECT s.id, s.code, s.name, s.rail,
            (SELECT max(version) FROM fee_schedule_versions WHERE schedule_id = s.id) AS latest,
            f.version AS in_force, f.effective_from AS in_force_since, n.version AS next_version, n.effective_from AS next_from
       FROM fee_schedules s
       LEFT JOIN LATERAL (SELECT version, effective_from FROM fee_schedule_versions WHERE schedule_id = s.id AND effective_from <= $1 ORDER BY effective_from DESC, version DESC LIMIT 1) f ON true
       LEFT JOIN LATERAL (SELECT version, effective_from FROM fee_schedule_versions WHERE schedule_id = s.id AND effective_from > $1 ORDER BY effective_from, version LIMIT 1) n ON true
      ORDER BY s.rail LIMIT 100`,
    [at],
  );
  return rows.map((r) => ({
    id: r.id, code: r.code, name: r.name, rail: r.rail, latestVersion: r.latest ?? 0, versionInForce: r.in_force, inForceSince: r.in_force_since,
    nextVersion: r.next_version === null ? null : { version: r.next_version, effectiveFrom: r.next_from! },
  }));
}

export interface RuleChange {
  ruleId: string;
  change: "added" | "removed" | "changed";
  /**
   * For "changed": each field that differs, before -> after (canonical JSON text: a definition read
   * back from jsonb has its keys in another order than the one proposed, which is no change).
   */
  fields: { field: string; before: string; after: string }[];
}

type RuleDef = FeeRuleDefinition & Record<string, unknown>;

/** What changes from `before` to `after`, rule by rule (matched by rule id). */
export function diffScheduleDefinitions(before: { rules: readonly FeeRuleDefinition[] } | null, after: { rules: readonly FeeRuleDefinition[] }): RuleChange[] {
  const old = new Map((before?.rules ?? []).map((r) => [r.id, r as RuleDef]));
  const neu = new Map(after.rules.map((r) => [r.id, r as RuleDef]));
  const out: RuleChange[] = [];
  for (const [id, r] of neu) {
    const o = old.get(id);
    if (!o) {
      out.push({ ruleId: id, change: "added", fields: [] });
      continue;
    }
    const keys = [...new Set([...Object.keys(o), ...Object.keys(r)])].sort();
    const fields = keys
      .map((k) => ({ field: k, before: canonicalJson(o[k] ?? null), after: canonicalJson(r[k] ?? null) }))
      .filter((f) => f.before !== f.after);
    if (fields.length > 0) out.push({ ruleId: id, change: "changed", fields });
  }
  for (const id of old.keys()) if (!neu.has(id)) out.push({ ruleId: id, change: "removed", fields: [] });
  return out;
}
