/**
 * SLO definitions: the objectives the product is judged on, kept in the database and changed by
 * admins, each change audited with its before and after in the same transaction.
 *
 * Invariants kept:
 * - An objective has a target strictly between 0 and 1 and a window of 1 to 90 days; its
 *   indicator decides which threshold it needs (a latency bound of the histogram, a lag, a
 *   count). The database checks the shape again (migration 20261202410000_slo).
 * - Changes carry the version they were based on (VERSION_CONFLICT otherwise) and a reason.
 * - Objectives are never deleted, only disabled; their history stays readable.
 * - Indicators are an extension point (INDICATORS, and a reader each in evaluate.ts): an indicator
 *   without a reader answers "no data source". Reconciliation's match rate and break age read its
 *   runs and breaks (recon-indicators.ts).
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { pgRunner } from "../db/sql";
import { appendAudit } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../core/actor";
import { checkReason } from "../core/reasons";
import { AppError } from "../errors/app-error";
import { LATENCY_BOUNDS_MS } from "./rollup";

export const INDICATOR_KINDS = ["transfer_success", "settlement_latency", "stuck_transfers", "webhook_lag", "recon_match_rate", "recon_break_age"] as const;
export type IndicatorKind = (typeof INDICATOR_KINDS)[number];

export interface IndicatorInfo {
  label: string;
  /** What one good event is, in plain words. */
  good: string;
  /** event: counted per transfer or line; time-slice: counted per sampled minute. */
  style: "event" | "time_slice";
  threshold: "none" | "latency_bound" | "milliseconds" | "count";
}

export const INDICATORS: Readonly<Record<IndicatorKind, IndicatorInfo>> = {
  transfer_success: { label: "Transfer success rate", good: "a finished transfer that settled (failures the customer caused are not counted)", style: "event", threshold: "none" },
  settlement_latency: { label: "Create-to-settled latency", good: "a transfer settled within the threshold after it was created", style: "event", threshold: "latency_bound" },
  stuck_transfers: { label: "Stuck transfers", good: "a minute with at most the threshold of stuck transfers", style: "time_slice", threshold: "count" },
  webhook_lag: { label: "Webhook processing lag", good: "a minute in which no partner webhook waited longer than the threshold", style: "time_slice", threshold: "milliseconds" },
  recon_match_rate: { label: "Reconciliation automatic match rate", good: "a statement line matched automatically", style: "event", threshold: "none" },
  recon_break_age: { label: "Reconciliation break age", good: "a break resolved within the threshold", style: "event", threshold: "milliseconds" },
};

export interface SloDefinition {
  id: string;
  key: string;
  name: string;
  description: string;
  indicator: IndicatorKind;
  target: number;
  windowDays: number;
  thresholdMs: number | null;
  thresholdCount: number | null;
  rail: string | null;
  partner: string | null;
  isEnabled: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  id: string;
  key: string;
  name: string;
  description: string;
  indicator: IndicatorKind;
  target: string;
  window_days: number;
  threshold_ms: string | null;
  threshold_count: number | null;
  rail: string | null;
  partner: string | null;
  is_enabled: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, key, name, description, indicator, target::text AS target, window_days, threshold_ms::text AS threshold_ms, threshold_count, rail, partner, is_enabled, version, created_at, updated_at`;

function toDefinition(r: Row): SloDefinition {
  return {
    id: r.id,
    key: r.key,
    name: r.name,
    description: r.description,
    indicator: r.indicator,
    target: Number(r.target),
    windowDays: r.window_days,
    thresholdMs: r.threshold_ms === null ? null : Number(r.threshold_ms),
    thresholdCount: r.threshold_count,
    rail: r.rail,
    partner: r.partner,
    isEnabled: r.is_enabled,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Most objectives kept (a console page lists them all). */
export const MAX_SLOS = 100;

/** Every objective, enabled first, by key. */
export async function listSloDefinitions(db: Pick<DbHandles, "pool">, opts: { isEnabledOnly?: boolean } = {}): Promise<SloDefinition[]> {
  const res = await db.pool.query<Row>(`SELECT ${COLUMNS} FROM slo_definitions WHERE ($1::boolean IS NOT TRUE OR is_enabled) ORDER BY is_enabled DESC, key LIMIT ${MAX_SLOS}`, [
    opts.isEnabledOnly ?? false,
  ]);
  return res.rows.map(toDefinition);
}

/** One objective by key. Errors: NOT_FOUND. */
export async function getSloDefinition(db: Pick<DbHandles, "pool">, key: string): Promise<SloDefinition> {
  const res = await db.pool.query<Row>(`SELECT ${COLUMNS} FROM slo_definitions WHERE key = $1`, [key]);
  if (!res.rows[0]) throw new AppError("NOT_FOUND", `SLO ${JSON.stringify(key.slice(0, 64))} does not exist`, { details: { key } });
  return toDefinition(res.rows[0]);
}

export interface SloFields {
  name: string;
  description: string;
  target: number;
  windowDays: number;
  thresholdMs: number | null;
  thresholdCount: number | null;
  rail: string | null;
  partner: string | null;
  isEnabled: boolean;
}

const KEY_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const bad = (field: string, message: string) => new AppError("BAD_INPUT", `${field} ${message}`, { details: { field } });

/**
 * Checks an objective's fields against its indicator (pure). Errors: BAD_INPUT naming the field:
 * name (1-120 characters), description (at most 1000), target (strictly between 0 and 1, at most
 * six decimals), windowDays (1-90), the threshold the indicator needs (a latency bound of the
 * histogram; a lag of 1 ms to 7 days; a count of 0-100000) and no other, rail and partner (at most
 * 64 characters).
 */
export function checkSloFields(indicator: IndicatorKind, f: SloFields): SloFields {
  const name = f.name.trim();
  if (name.length === 0 || name.length > 120) throw bad("name", "must be 1 to 120 characters");
  if (f.description.length > 1000) throw bad("description", "must be at most 1000 characters");
  if (!(Number.isFinite(f.target) && f.target > 0 && f.target < 1)) throw bad("target", `must be strictly between 0 and 1 (for example 0.995 for 99.5%), got ${f.target}`);
  if (Math.abs(Math.round(f.target * 1e6) - f.target * 1e6) > 1e-6) throw bad("target", "must have at most six decimals (0.0001%)");
  if (!Number.isInteger(f.windowDays) || f.windowDays < 1 || f.windowDays > 90) throw bad("windowDays", "must be a whole number of days from 1 to 90");
  const needs = INDICATORS[indicator].threshold;
  if (needs === "latency_bound") {
    if (f.thresholdMs === null || !LATENCY_BOUNDS_MS.includes(f.thresholdMs)) {
      throw bad("thresholdMs", `must be one of the latency histogram's bounds: ${LATENCY_BOUNDS_MS.join(", ")} ms`);
    }
  } else if (needs === "milliseconds") {
    if (f.thresholdMs === null || !Number.isInteger(f.thresholdMs) || f.thresholdMs < 1 || f.thresholdMs > 7 * 86_400_000) throw bad("thresholdMs", "must be a whole number of milliseconds from 1 to 7 days");
  } else if (f.thresholdMs !== null) {
    throw bad("thresholdMs", `is not used by ${indicator}; leave it empty`);
  }
  if (needs === "count") {
    if (f.thresholdCount === null || !Number.isInteger(f.thresholdCount) || f.thresholdCount < 0 || f.thresholdCount > 100_000) throw bad("thresholdCount", "must be a whole number from 0 to 100000");
  } else if (f.thresholdCount !== null) {
    throw bad("thresholdCount", `is not used by ${indicator}; leave it empty`);
  }
  for (const k of ["rail", "partner"] as const) {
    const v = f[k];
    if (v !== null && (v.trim().length === 0 || v.length > 64)) throw bad(k, "must be 1 to 64 characters, or empty for every one");
  }
  return { ...f, name, rail: f.rail?.trim() ?? null, partner: f.partner?.trim() ?? null };
}

function requireManage(actor: Actor): void {
  if (!actor.permissions.has("slo:manage")) throw new AppError("FORBIDDEN", "permission slo:manage is required to change SLOs");
}

/**
 * Creates an objective (admins). Errors, in order: FORBIDDEN; BAD_INPUT (key shape, indicator,
 * fields as checkSloFields, reason); CONFLICT (the key exists).
 */
export async function createSloDefinition(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: SloFields & { key: string; indicator: string; reason: string },
  opts: { requestId?: string | null; now?: Date } = {},
): Promise<SloDefinition> {
  requireManage(actor);
  if (!KEY_RE.test(input.key)) throw bad("key", "must be 1-63 lower-case letters, digits and hyphens, starting with a letter or digit");
  if (!(INDICATOR_KINDS as readonly string[]).includes(input.indicator)) throw bad("indicator", `must be one of ${INDICATOR_KINDS.join(", ")}`);
  const indicator = input.indicator as IndicatorKind;
  const f = checkSloFields(indicator, input);
  const reason = checkReason(input.reason);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const res = await c.query<Row>(
      `INSERT INTO slo_definitions (id, key, name, description, indicator, target, window_days, threshold_ms, threshold_count, rail, partner, is_enabled, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
       ON CONFLICT (key) DO NOTHING RETURNING ${COLUMNS}`,
      [input.key, f.name, f.description, indicator, f.target.toFixed(6), f.windowDays, f.thresholdMs, f.thresholdCount, f.rail, f.partner, f.isEnabled, now],
    );
    if (!res.rows[0]) throw new AppError("CONFLICT", `SLO ${input.key} already exists`, { details: { key: input.key } });
    const created = toDefinition(res.rows[0]);
    await appendAudit(pgRunner(c), { actor: toAuditActor(actor), action: "slo.create", targetType: "slo", targetId: created.id, reason, after: auditView(created), requestId: opts.requestId ?? null, at: now });
    return created;
  });
}

/**
 * Changes an objective (admins): any of its fields, against the version it was based on.
 * Errors, in order: FORBIDDEN; BAD_INPUT (fields as checkSloFields, reason); NOT_FOUND;
 * VERSION_CONFLICT (changed since `expectedVersion`).
 */
export async function updateSloDefinition(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { key: string; expectedVersion: number; reason: string; changes: Partial<SloFields> },
  opts: { requestId?: string | null; now?: Date } = {},
): Promise<SloDefinition> {
  requireManage(actor);
  const reason = checkReason(input.reason);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const current = await lockDefinition(c, input.key);
    const f = checkSloFields(current.indicator, { ...fieldsOf(current), ...input.changes });
    if (current.version !== input.expectedVersion) {
      throw new AppError("VERSION_CONFLICT", `SLO ${input.key} is at version ${current.version}, not ${input.expectedVersion}; reload and try again`, {
        details: { key: input.key, version: current.version },
      });
    }
    const res = await c.query<Row>(
      `UPDATE slo_definitions SET name = $2, description = $3, target = $4, window_days = $5, threshold_ms = $6, threshold_count = $7, rail = $8, partner = $9,
              is_enabled = $10, version = version + 1, updated_at = $11
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [current.id, f.name, f.description, f.target.toFixed(6), f.windowDays, f.thresholdMs, f.thresholdCount, f.rail, f.partner, f.isEnabled, now],
    );
    const updated = toDefinition(res.rows[0]!);
    await appendAudit(pgRunner(c), {
      actor: toAuditActor(actor),
      action: "slo.update",
      targetType: "slo",
      targetId: updated.id,
      reason,
      before: auditView(current),
      after: auditView(updated),
      requestId: opts.requestId ?? null,
      at: now,
    });
    return updated;
  });
}

async function lockDefinition(c: pg.PoolClient, key: string): Promise<SloDefinition> {
  const res = await c.query<Row>(`SELECT ${COLUMNS} FROM slo_definitions WHERE key = $1 FOR UPDATE`, [key]);
  if (!res.rows[0]) throw new AppError("NOT_FOUND", `SLO ${JSON.stringify(key.slice(0, 64))} does not exist`, { details: { key } });
  return toDefinition(res.rows[0]);
}

function fieldsOf(d: SloDefinition): SloFields {
  return { name: d.name, description: d.description, target: d.target, windowDays: d.windowDays, thresholdMs: d.thresholdMs, thresholdCount: d.thresholdCount, rail: d.rail, partner: d.partner, isEnabled: d.isEnabled };
}

function auditView(d: SloDefinition): Record<string, unknown> {
  return { key: d.key, version: d.version, ...fieldsOf(d), indicator: d.indicator };
}

/** The objectives every installation starts with (the worker creates the missing ones at start; admins change them). */
export const DEFAULT_SLOS: readonly (SloFields & { key: string; indicator: IndicatorKind })[] = [
  {
    key: "transfer-success",
    indicator: "transfer_success",
    name: "Transfers succeed",
    description: "Finished transfers that settled, over those that settled or failed through our or the partner's fault.",
    target: 0.995,
    windowDays: 28,
    thresholdMs: null,
    thresholdCount: null,
    rail: null,
    partner: null,
    isEnabled: true,
  },
  {
    key: "instant-settled-30s",
    indicator: "settlement_latency",
    name: "Instant transfers settle within 30 seconds",
    description: "Instant-rail transfers settled within 30 s of creation; one still moving after 30 s already counts as late.",
    target: 0.99,
    windowDays: 28,
    thresholdMs: 30_000,
    thresholdCount: null,
    rail: "instant",
    partner: null,
    isEnabled: true,
  },
  {
    key: "batch-settled-1d",
    indicator: "settlement_latency",
    name: "Batch transfers settle within a day",
    description: "Batch-rail transfers settled within a day of creation: the rail settles at its cut-off, so minutes are normal and a day is late.",
    target: 0.99,
    windowDays: 28,
    thresholdMs: 86_400_000,
    thresholdCount: null,
    rail: "batch",
    partner: null,
    isEnabled: true,
  },
  {
    key: "few-stuck-transfers",
    indicator: "stuck_transfers",
    name: "Few transfers stuck",
    description: "Minutes in which at most 10 transfers were stuck (over their state's time budget or waiting for an operator).",
    target: 0.99,
    windowDays: 28,
    thresholdMs: null,
    thresholdCount: 10,
    rail: null,
    partner: null,
    isEnabled: true,
  },
  {
    key: "webhook-lag-30s",
    indicator: "webhook_lag",
    name: "Partner webhooks applied within 30 seconds",
    description: "Minutes in which no stored partner webhook waited more than 30 s to be applied.",
    target: 0.999,
    windowDays: 28,
    thresholdMs: 30_000,
    thresholdCount: null,
    rail: null,
    partner: null,
    isEnabled: true,
  },
  {
    key: "recon-auto-match",
    indicator: "recon_match_rate",
    name: "Statement lines match automatically",
    description: "Bank and partner statement lines matched by the rules, over lines imported (each source's last run of each day).",
    target: 0.95,
    windowDays: 28,
    thresholdMs: null,
    thresholdCount: null,
    rail: null,
    partner: null,
    isEnabled: true,
  },
  {
    key: "recon-breaks-3d",
    indicator: "recon_break_age",
    name: "Breaks resolved within three days",
    description: "Reconciliation breaks resolved within three days of being opened; one still open after three days counts as late.",
    target: 0.9,
    windowDays: 28,
    thresholdMs: 259_200_000,
    thresholdCount: null,
    rail: null,
    partner: null,
    isEnabled: true,
  },
];

/** Creates the default objectives that do not exist yet (idempotent; by key). Returns how many were created. */
export async function ensureDefaultSlos(db: Pick<DbHandles, "pool">): Promise<number> {
  let created = 0;
  for (const d of DEFAULT_SLOS) {
    const res = await db.pool.query(
      `INSERT INTO slo_definitions (id, key, name, description, indicator, target, window_days, threshold_ms, threshold_count, rail, partner, is_enabled)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (key) DO NOTHING`,
      [d.key, d.name, d.description, d.indicator, d.target.toFixed(6), d.windowDays, d.thresholdMs, d.thresholdCount, d.rail, d.partner, d.isEnabled],
    );
    created += res.rowCount ?? 0;
  }
  return created;
}
