/**
 * Incidents and the blast radius of a bad interval.
 *
 * Invariants kept:
 * - An incident has a title, a severity (sev1 most severe), a start, an end once resolved, the
 *   partner, rail or component it concerns, notes, and the transfers it hit (at most
 *   MAX_LINKED_TRANSFERS, linked once each). Never deleted (the database refuses it).
 * - Opening, changing and resolving are audited and published to the outbox (incident.opened |
 *   updated | resolved) in the same transaction; changes carry the version they were based on.
 * - The blast radius of an interval is computed, never stored as figures: the transfers created in
 *   it (in the scope) that failed through our or the partner's fault, settled later than the
 *   threshold, or are still moving past it; their count and total per currency (bigint minor units,
 *   exact). An interval is at most MAX_BLAST_RADIUS_HOURS long; lists are keyset-paginated.
 * - Monthly figures (count, time to resolve) are computed from the incidents themselves.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { pgRunner } from "../db/sql";
import { appendAudit } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../core/actor";
import { checkReason } from "../core/reasons";
import { AppError } from "../errors/app-error";
import { assertCleanText } from "../core/text";
import type { INCIDENT_TOPICS } from "../outbox/topics";

export const SEVERITIES = ["sev1", "sev2", "sev3", "sev4"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const MAX_LINKED_TRANSFERS = 10_000;
export const MAX_BLAST_RADIUS_HOURS = 24;
export const BLAST_PAGE_MAX = 200;
export const INCIDENT_PAGE_MAX = 100;
/** Transfers settled later than this are late when no threshold is given (the instant rail's default objective). */
export const DEFAULT_LATE_MS = 30_000;

export interface Incident {
  id: string;
  title: string;
  severity: Severity;
  status: "open" | "resolved";
  startedAt: Date;
  endedAt: Date | null;
  partner: string | null;
  rail: string | null;
  component: string | null;
  sloKey: string | null;
  notes: string;
  openedBy: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  linkedTransfers: number;
}

interface Row {
  id: string;
  title: string;
  severity: Severity;
  status: "open" | "resolved";
  started_at: Date;
  ended_at: Date | null;
  partner: string | null;
  rail: string | null;
  component: string | null;
  slo_key: string | null;
  notes: string;
  opened_by: string;
  created_at: Date;
  updated_at: Date;
  version: number;
  linked: string;
}

const COLUMNS = `i.id, i.title, i.severity, i.status, i.started_at, i.ended_at, i.partner, i.rail, i.component, i.slo_key, i.notes, i.opened_by, i.created_at, i.updated_at, i.version,
  (SELECT count(*) FROM incident_transfers it WHERE it.incident_id = i.id)::text AS linked`;

function toIncident(r: Row): Incident {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    partner: r.partner,
    rail: r.rail,
    component: r.component,
    sloKey: r.slo_key,
    notes: r.notes,
    openedBy: r.opened_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
    linkedTransfers: Number(r.linked),
  };
}

const bad = (field: string, message: string) => new AppError("BAD_INPUT", `${field} ${message}`, { details: { field } });

export interface BlastScope {
  from: Date;
  to: Date;
  partner?: string | null;
  rail?: string | null;
  /** Settled later than this (ms after creation) counts as hit; default DEFAULT_LATE_MS. */
  lateAfterMs?: number | null;
  /**
   * What counts as hit: failures through our or the partner's fault (the success objective's bad
   * events), lateness (settled late or still moving past the threshold: a latency objective's), or
   * either (default; time-slice objectives and incidents opened by hand).
   */
  hit?: BlastHit | null;
}

export const BLAST_HITS = ["failed", "late", "both"] as const;
export type BlastHit = (typeof BLAST_HITS)[number];

function checkInterval(from: Date, to: Date, maxHours: number | null): void {
  if (Number.isNaN(from.getTime())) throw bad("from", "is not a date");
  if (Number.isNaN(to.getTime())) throw bad("to", "is not a date");
  if (to.getTime() <= from.getTime()) throw bad("to", "must be after from");
  if (maxHours !== null && to.getTime() - from.getTime() > maxHours * 3600_000) throw bad("to", `must be at most ${maxHours} hours after from`);
}

/**
 * The transfers of an interval that were hit (see the module comment), as SQL over `t`, with
 * $1..$6 = from, to, partner, rail, late ms, what counts (failed | late | both). The event checks
 * are scalar subqueries (LIMIT 1), not EXISTS: the planner turned EXISTS into a hash semi-join over
 * every settled event of the table, 0.9-1.2 s for the last hour's totals over 10 million events
 * (bench:slo); a scalar subquery runs per transfer of the interval through transfer_events' index.
 */
const HIT_SQL = `t.created_at >= $1 AND t.created_at < $2 AND ($3::text IS NULL OR t.partner = $3) AND ($4::text IS NULL OR t.rail = $4)
  AND (
    ($6::text <> 'late' AND t.state = 'failed' AND (SELECT 1 FROM transfer_events e WHERE e.transfer_id = t.id AND e.to_state = 'failed' AND NOT slo_is_customer_failure(e.cause, e.detail) LIMIT 1) IS NOT NULL)
    OR ($6::text <> 'failed' AND t.state IN ('settled', 'returned') AND (SELECT 1 FROM transfer_events e WHERE e.transfer_id = t.id AND e.to_state = 'settled' AND e.created_at - t.created_at > make_interval(secs => $5::float8 / 1000) LIMIT 1) IS NOT NULL)
    OR ($6::text <> 'failed' AND t.state IN ('created', 'reserved', 'submitted', 'acknowledged') AND now() - t.created_at > make_interval(secs => $5::float8 / 1000))
  )`;

function blastParams(s: BlastScope): unknown[] {
  return [s.from, s.to, s.partner ?? null, s.rail ?? null, s.lateAfterMs ?? DEFAULT_LATE_MS, s.hit ?? "both"];
}

export interface BlastRadius {
  from: Date;
  to: Date;
  count: number;
  /** Count and exact total per currency, largest count first. */
  byCurrency: { currency: string; count: number; totalMinor: bigint }[];
  byState: Record<string, number>;
}

/** The blast radius of an interval: how many transfers were hit and how much money, per currency. Errors: BAD_INPUT. */
export async function readBlastRadius(db: Pick<pg.Pool | pg.PoolClient, "query">, s: BlastScope): Promise<BlastRadius> {
  checkInterval(s.from, s.to, MAX_BLAST_RADIUS_HOURS);
  const res = await db.query<{ currency: string; state: string; n: string; total: string }>(
    `SELECT t.currency, t.state::text AS state, count(*)::text AS n, sum(t.amount_minor)::text AS total FROM transfers t WHERE ${HIT_SQL} GROUP BY t.currency, t.state`,
    blastParams(s),
  );
  const byCurrency = new Map<string, { currency: string; count: number; totalMinor: bigint }>();
  const byState: Record<string, number> = {};
  let count = 0;
  for (const r of res.rows) {
    const c = r.currency.trim();
    const cur = byCurrency.get(c) ?? { currency: c, count: 0, totalMinor: 0n };
    cur.count += Number(r.n);
    cur.totalMinor += BigInt(r.total);
    byCurrency.set(c, cur);
    byState[r.state] = (byState[r.state] ?? 0) + Number(r.n);
    count += Number(r.n);
  }
  return { from: s.from, to: s.to, count, byCurrency: [...byCurrency.values()].sort((a, b) => b.count - a.count || a.currency.localeCompare(b.currency)), byState };
}

export interface HitTransfer {
  id: string;
  createdAt: Date;
  state: string;
  amountMinor: bigint;
  currency: string;
  rail: string;
  partner: string;
  reference: string;
  lastError: string | null;
}

/** The hit transfers of an interval, newest first, keyset-paginated by (created_at, id). Errors: BAD_INPUT. */
export async function listBlastRadius(
  db: Pick<pg.Pool | pg.PoolClient, "query">,
  s: BlastScope & { limit?: number; after?: { createdAt: Date; id: string } | null },
): Promise<{ items: HitTransfer[]; next: { createdAt: Date; id: string } | null }> {
  checkInterval(s.from, s.to, MAX_BLAST_RADIUS_HOURS);
  const limit = s.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > BLAST_PAGE_MAX) throw bad("limit", `must be 1 to ${BLAST_PAGE_MAX}`);
  const res = await db.query<{ id: string; created_at: Date; state: string; amount_minor: string; currency: string; rail: string; partner: string; reference: string; last_error: string | null }>(
    `SELECT t.id, t.created_at, t.state::text AS state, t.amount_minor::text AS amount_minor, t.currency, t.rail, t.partner, t.reference, t.last_error
       FROM transfers t WHERE ${HIT_SQL} AND ($7::timestamptz IS NULL OR (t.created_at, t.id) < ($7::timestamptz, $8::uuid))
      ORDER BY t.created_at DESC, t.id DESC LIMIT $9`,
    [...blastParams(s), s.after?.createdAt ?? null, s.after?.id ?? null, limit + 1],
  );
  const items = res.rows.slice(0, limit).map((r) => ({ id: r.id, createdAt: r.created_at, state: r.state, amountMinor: BigInt(r.amount_minor), currency: r.currency.trim(), rail: r.rail, partner: r.partner, reference: r.reference, lastError: r.last_error }));
  const last = items[items.length - 1];
  return { items, next: res.rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}

export interface OpenIncidentInput {
  title: string;
  severity: string;
  startedAt: Date;
  endedAt?: Date | null;
  partner?: string | null;
  rail?: string | null;
  component?: string | null;
  sloKey?: string | null;
  notes?: string;
  /** Link the transfers hit in [startedAt, blastTo) (the bad interval's blast radius). */
  linkBlastRadius?: { to: Date; lateAfterMs?: number | null; hit?: BlastHit | null } | null;
}

function checkFields(input: { title?: string; severity?: string; notes?: string; partner?: string | null; rail?: string | null; component?: string | null }): void {
  if (input.title !== undefined) {
    const t = input.title.trim();
    if (t.length === 0 || t.length > 200) throw bad("title", "must be 1 to 200 characters");
    assertCleanText(t, "title");
  }
  if (input.severity !== undefined && !(SEVERITIES as readonly string[]).includes(input.severity)) throw bad("severity", `must be one of ${SEVERITIES.join(", ")}`);
  if (input.notes !== undefined) {
    if (input.notes.length > 10_000) throw bad("notes", "must be at most 10000 characters");
    assertCleanText(input.notes, "notes");
  }
  for (const k of ["partner", "rail", "component"] as const) {
    const v = input[k];
    if (v !== undefined && v !== null && (v.trim().length === 0 || v.length > 64)) throw bad(k, "must be 1 to 64 characters, or empty");
  }
}

function requireManage(actor: Actor): void {
  if (!actor.permissions.has("incidents:manage")) throw new AppError("FORBIDDEN", "permission incidents:manage is required to open or change incidents");
}

async function publish(c: pg.PoolClient, topic: (typeof INCIDENT_TOPICS)[number], i: Incident, at: Date): Promise<void> {
  const payload = { id: i.id, title: i.title, severity: i.severity, status: i.status, startedAt: i.startedAt.toISOString(), endedAt: i.endedAt?.toISOString() ?? null, partner: i.partner, rail: i.rail, component: i.component, sloKey: i.sloKey, linkedTransfers: i.linkedTransfers };
  await c.query(`INSERT INTO outbox_events (topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3::jsonb, $4)`, [topic, `incident:${i.id}`, JSON.stringify(payload), at]);
}

async function readIncident(c: Pick<pg.PoolClient, "query">, id: string, lock = false): Promise<Incident> {
  const res = await c.query<Row>(`SELECT ${COLUMNS} FROM incidents i WHERE i.id = $1 ${lock ? "FOR UPDATE OF i" : ""}`, [id]);
  if (!res.rows[0]) throw new AppError("NOT_FOUND", `incident ${id} does not exist`, { details: { incidentId: id } });
  return toIncident(res.rows[0]);
}

/**
 * Opens an incident, by hand or from a bad interval (linking the interval's blast radius).
 * Errors, in order: FORBIDDEN; BAD_INPUT (title, severity, notes, scope, dates, the interval for
 * the blast radius at most MAX_BLAST_RADIUS_HOURS).
 */
export async function openIncident(db: Pick<DbHandles, "pool">, actor: Actor, input: OpenIncidentInput, opts: { requestId?: string | null; now?: Date } = {}): Promise<Incident> {
  requireManage(actor);
  checkFields(input);
  const now = opts.now ?? new Date();
  if (Number.isNaN(input.startedAt.getTime())) throw bad("startedAt", "is not a date");
  if (input.startedAt.getTime() > now.getTime() + 60_000) throw bad("startedAt", "is in the future");
  if (input.endedAt && input.endedAt.getTime() < input.startedAt.getTime()) throw bad("endedAt", "must not be before startedAt");
  if (input.linkBlastRadius) checkInterval(input.startedAt, input.linkBlastRadius.to, MAX_BLAST_RADIUS_HOURS);
  const who = toAuditActor(actor);
  return runTransaction(db.pool, async (c) => {
    const id = (
      await c.query<{ id: string }>(
        `INSERT INTO incidents (id, title, severity, status, started_at, ended_at, partner, rail, component, slo_key, notes, opened_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
        [input.title.trim(), input.severity, input.endedAt ? "resolved" : "open", input.startedAt, input.endedAt ?? null, input.partner ?? null, input.rail ?? null, input.component ?? null, input.sloKey ?? null, input.notes ?? "", who.label, now],
      )
    ).rows[0]!.id;
    if (input.linkBlastRadius) {
      await c.query(
        `INSERT INTO incident_transfers (incident_id, transfer_id, linked_at)
         SELECT $7::uuid, t.id, $8 FROM transfers t WHERE ${HIT_SQL} ORDER BY t.created_at, t.id LIMIT $9 ON CONFLICT DO NOTHING`,
        [
          ...blastParams({ from: input.startedAt, to: input.linkBlastRadius.to, partner: input.partner, rail: input.rail, lateAfterMs: input.linkBlastRadius.lateAfterMs, hit: input.linkBlastRadius.hit }),
          id,
          now,
          MAX_LINKED_TRANSFERS,
        ],
      );
    }
    const incident = await readIncident(c, id);
    await appendAudit(pgRunner(c), { actor: who, action: "incident.open", targetType: "incident", targetId: id, after: auditView(incident), requestId: opts.requestId ?? null, at: now });
    await publish(c, incident.status === "resolved" ? "incident.resolved" : "incident.opened", incident, now);
    return incident;
  });
}

export interface IncidentChanges {
  title?: string;
  severity?: string;
  notes?: string;
  startedAt?: Date;
  partner?: string | null;
  rail?: string | null;
  component?: string | null;
  /** Resolve at this time (must not be before the start). */
  endedAt?: Date | null;
}

/**
 * Changes an incident: its fields, or resolves it (endedAt) or reopens it (endedAt null).
 * Errors, in order: FORBIDDEN; BAD_INPUT (fields, reason); NOT_FOUND; VERSION_CONFLICT; BAD_INPUT
 * (the end before the start).
 */
export async function updateIncident(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { incidentId: string; expectedVersion: number; reason: string; changes: IncidentChanges },
  opts: { requestId?: string | null; now?: Date } = {},
): Promise<Incident> {
  requireManage(actor);
  checkFields(input.changes);
  const reason = checkReason(input.reason);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const cur = await readIncident(c, input.incidentId, true);
    if (cur.version !== input.expectedVersion) throw new AppError("VERSION_CONFLICT", `incident ${cur.id} is at version ${cur.version}, not ${input.expectedVersion}; reload and try again`, { details: { version: cur.version } });
    const ch = input.changes;
    const startedAt = ch.startedAt ?? cur.startedAt;
    const endedAt = "endedAt" in ch ? (ch.endedAt ?? null) : cur.endedAt;
    if (endedAt && endedAt.getTime() < startedAt.getTime()) throw bad("endedAt", "must not be before startedAt");
    await c.query(
      `UPDATE incidents SET title = $2, severity = $3, notes = $4, started_at = $5, ended_at = $6, status = $7, partner = $8, rail = $9, component = $10,
              updated_at = $11, version = version + 1 WHERE id = $1`,
      [cur.id, ch.title?.trim() ?? cur.title, ch.severity ?? cur.severity, ch.notes ?? cur.notes, startedAt, endedAt, endedAt ? "resolved" : "open", "partner" in ch ? ch.partner : cur.partner, "rail" in ch ? ch.rail : cur.rail, "component" in ch ? ch.component : cur.component, now],
    );
    const next = await readIncident(c, cur.id);
    await appendAudit(pgRunner(c), {
      actor: toAuditActor(actor),
      action: next.status === "resolved" && cur.status === "open" ? "incident.resolve" : "incident.update",
      targetType: "incident",
      targetId: cur.id,
      reason,
      before: auditView(cur),
      after: auditView(next),
      requestId: opts.requestId ?? null,
      at: now,
    });
    await publish(c, next.status === "resolved" && cur.status === "open" ? "incident.resolved" : "incident.updated", next, now);
    return next;
  });
}

function auditView(i: Incident): Record<string, unknown> {
  return { title: i.title, severity: i.severity, status: i.status, startedAt: i.startedAt.toISOString(), endedAt: i.endedAt?.toISOString() ?? null, partner: i.partner, rail: i.rail, component: i.component, sloKey: i.sloKey, notes: i.notes, linkedTransfers: i.linkedTransfers };
}

/** One incident. Errors: NOT_FOUND. */
export function getIncident(db: Pick<DbHandles, "pool">, id: string): Promise<Incident> {
  return readIncident(db.pool, id);
}

/** Incidents overlapping [from, to) (or all), newest start first, keyset-paginated; open ones with `isOpenOnly`. */
export async function listIncidents(
  db: Pick<pg.Pool | pg.PoolClient, "query">,
  input: { from?: Date | null; to?: Date | null; isOpenOnly?: boolean; limit?: number; after?: { startedAt: Date; id: string } | null },
): Promise<{ items: Incident[]; next: { startedAt: Date; id: string } | null }> {
  const limit = input.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > INCIDENT_PAGE_MAX) throw bad("limit", `must be 1 to ${INCIDENT_PAGE_MAX}`);
  const res = await db.query<Row>(
    `SELECT ${COLUMNS} FROM incidents i
      WHERE ($1::timestamptz IS NULL OR coalesce(i.ended_at, 'infinity') >= $1) AND ($2::timestamptz IS NULL OR i.started_at < $2)
        AND ($3::boolean IS NOT TRUE OR i.status = 'open')
        AND ($4::timestamptz IS NULL OR (i.started_at, i.id) < ($4::timestamptz, $5::uuid))
      ORDER BY i.started_at DESC, i.id DESC LIMIT $6`,
    [input.from ?? null, input.to ?? null, input.isOpenOnly ?? false, input.after?.startedAt ?? null, input.after?.id ?? null, limit + 1],
  );
  const items = res.rows.slice(0, limit).map(toIncident);
  const last = items[items.length - 1];
  return { items, next: res.rows.length > limit && last ? { startedAt: last.startedAt, id: last.id } : null };
}

/** The transfers linked to an incident, keyset-paginated by transfer id. */
export async function listIncidentTransfers(db: Pick<pg.Pool | pg.PoolClient, "query">, incidentId: string, input: { limit?: number; after?: string | null } = {}): Promise<{ items: HitTransfer[]; next: string | null }> {
  const limit = input.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > BLAST_PAGE_MAX) throw bad("limit", `must be 1 to ${BLAST_PAGE_MAX}`);
  const res = await db.query<{ id: string; created_at: Date; state: string; amount_minor: string; currency: string; rail: string; partner: string; reference: string; last_error: string | null }>(
    `SELECT t.id, t.created_at, t.state::text AS state, t.amount_minor::text AS amount_minor, t.currency, t.rail, t.partner, t.reference, t.last_error
       FROM incident_transfers it JOIN transfers t ON t.id = it.transfer_id
      WHERE it.incident_id = $1 AND ($2::uuid IS NULL OR it.transfer_id > $2::uuid) ORDER BY it.transfer_id LIMIT $3`,
    [incidentId, input.after ?? null, limit + 1],
  );
  const items = res.rows.slice(0, limit).map((r) => ({ id: r.id, createdAt: r.created_at, state: r.state, amountMinor: BigInt(r.amount_minor), currency: r.currency.trim(), rail: r.rail, partner: r.partner, reference: r.reference, lastError: r.last_error }));
  return { items, next: res.rows.length > limit ? items[items.length - 1]!.id : null };
}

export interface MonthlyIncidents {
  /** First day of the month (UTC). */
  month: Date;
  count: number;
  bySeverity: Record<string, number>;
  resolved: number;
  /** Mean and longest time to resolve of the month's resolved incidents (seconds), or null. */
  meanSecondsToResolve: number | null;
  maxSecondsToResolve: number | null;
}

/** Incidents started per month (UTC) over the last `months` months, oldest first, months without incidents included. */
export async function readMonthlyIncidents(db: Pick<pg.Pool | pg.PoolClient, "query">, now: Date, months = 12): Promise<MonthlyIncidents[]> {
  if (!Number.isInteger(months) || months < 1 || months > 36) throw bad("months", "must be 1 to 36");
  const res = await db.query<{ month: Date; count: string; resolved: string; mean_s: number | null; max_s: number | null; by_severity: Record<string, number> | null }>(
    `WITH m AS (SELECT generate_series(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') - make_interval(months => $2 - 1), date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC'), interval '1 month') AT TIME ZONE 'UTC' AS month)
     SELECT m.month, count(i.id)::text AS count, count(i.ended_at)::text AS resolved,
            avg(extract(epoch FROM i.ended_at - i.started_at))::float8 AS mean_s, max(extract(epoch FROM i.ended_at - i.started_at))::float8 AS max_s,
            (SELECT jsonb_object_agg(x.severity, x.n) FROM (SELECT severity, count(*) AS n FROM incidents j WHERE j.started_at >= m.month AND j.started_at < m.month + interval '1 month' GROUP BY severity) x) AS by_severity
       FROM m LEFT JOIN incidents i ON i.started_at >= m.month AND i.started_at < m.month + interval '1 month'
      GROUP BY m.month ORDER BY m.month`,
    [now, months],
  );
  return res.rows.map((r) => ({ month: r.month, count: Number(r.count), resolved: Number(r.resolved), meanSecondsToResolve: r.mean_s, maxSecondsToResolve: r.max_s, bySeverity: r.by_severity ?? {} }));
}
