/**
 * The audit log: append-only and hash-chained.
 *
 * Invariants kept:
 * - Every record is appended inside the caller's database transaction, so it exists exactly when
 *   the change it describes does.
 * - Records are spread over AUDIT_LANES independent chains. A writer takes whichever lane head is
 *   free (FOR UPDATE SKIP LOCKED), so concurrent transactions do not queue on one global head. Each
 *   lane is a complete chain: record n carries the hash of record n-1 of its lane and the hash of its
 *   own canonical content, so editing, removing or inserting a row breaks the chain at that point.
 * - The database refuses UPDATE, DELETE and TRUNCATE on audit_log (trigger audit_log_append_only).
 * - Secrets never enter a record: fields named like secrets are redacted before hashing.
 */
import { createHash } from "node:crypto";
import type { SqlRunner } from "../db/sql";

export const AUDIT_LANES = 16;
export const GENESIS_HASH = "0".repeat(64);

import type { ActorType, AuditActor } from "../core/actor";
import { canonicalJson } from "../core/canonical-json";
import { sqlParams } from "../core/sql-params";

export type { ActorType, AuditActor };

export interface AuditInput {
  actor: AuditActor;
  action: string;
  targetType: string;
  targetId: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  /** Defaults to now; tests pass a fixed time. */
  at?: Date;
}

/** What a record's hash covers: everything but its id and its own hash. */
export interface HashableRecord {
  lane: number;
  laneSeq: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  createdAt: Date;
  prevHash: string;
}

export interface AuditRecord extends HashableRecord {
  id: string;
  actorType: ActorType;
  hash: string;
}

const SECRET_KEY = /secret|password|token|totp|recovery|api[_-]?key|authorization/i;

/** Replaces values under secret-looking keys with "[redacted]" and bigints with strings. */
export function redact(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v);
    return out;
  }
  return value;
}

/** The hash of a record: SHA-256 over the previous hash and the record's canonical content. */
export function hashRecord(r: HashableRecord): string {
  const content = canonicalJson({
    lane: r.lane,
    laneSeq: r.laneSeq,
    actorType: r.actorType,
    actorId: r.actorId,
    actorLabel: r.actorLabel,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    reason: r.reason,
    before: r.before,
    after: r.after,
    requestId: r.requestId,
    createdAt: r.createdAt.toISOString(),
  });
  return createHash("sha256").update(r.prevHash).update("\n").update(content).digest("hex");
}

/**
 * The record's canonical JSON (as hashRecord builds it) split around "lane" and "laneSeq", which
 * only the database knows when it picks a lane. Keys sort as action … createdAt < lane < laneSeq <
 * reason … targetType, so prefix + `,"lane":L,"laneSeq":"S",` + suffix equals the full text.
 */
export function canonicalParts(r: Omit<HashableRecord, "lane" | "laneSeq" | "prevHash">): { prefix: string; suffix: string } {
  const head = canonicalJson({
    action: r.action,
    actorId: r.actorId,
    actorLabel: r.actorLabel,
    actorType: r.actorType,
    after: r.after,
    before: r.before,
    createdAt: r.createdAt.toISOString(),
  });
  const tail = canonicalJson({ reason: r.reason, requestId: r.requestId, targetId: r.targetId, targetType: r.targetType });
  return { prefix: head.slice(0, -1), suffix: tail.slice(1) };
}

/** SQL types of audit_append's arguments, in the function's order (auditArgValues gives the values). */
const AUDIT_ARG_TYPES = ["text", "text", "text", "text", "text", "text", "text", "text", "text", "jsonb", "jsonb", "text", "timestamptz"] as const;

/** audit_append's arguments for one record, in the function's order. */
function auditArgValues(input: AuditInput): unknown[] {
  const rec = {
    actorType: input.actor.type,
    actorId: input.actor.id,
    actorLabel: input.actor.label,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId,
    reason: input.reason ?? null,
    before: input.before === undefined ? null : redact(input.before),
    after: input.after === undefined ? null : redact(input.after),
    requestId: input.requestId ?? null,
    // Microsecond column, millisecond JS time: the stored value round-trips exactly.
    createdAt: input.at ?? new Date(),
  };
  const { prefix, suffix } = canonicalParts(rec);
  return [
    prefix, suffix, rec.actorType, rec.actorId, rec.actorLabel, rec.action, rec.targetType, rec.targetId, rec.reason,
    rec.before === null ? null : JSON.stringify(rec.before), rec.after === null ? null : JSON.stringify(rec.after),
    rec.requestId, rec.createdAt.toISOString(),
  ];
}

/**
 * The call `audit_append(...)` for one record, its values added through `param` (which returns the
 * placeholder, e.g. "$7"). Lets a caller fold the append into a larger statement.
 */
export function auditAppendCall(input: AuditInput, param: (value: unknown) => string): string {
  return `audit_append(${auditArgValues(input).map((v, k) => `${param(v)}::${AUDIT_ARG_TYPES[k]}`).join(", ")})`;
}

/**
 * The call `audit_append_many(...)` for several records (migration 20261121160000): one lane for the
 * whole run, the records chained on it in the order given, one insert, one head update. Each
 * argument is an array with one element per record.
 */
export function auditAppendManyCall(inputs: readonly AuditInput[], param: (value: unknown) => string): string {
  const rows = inputs.map(auditArgValues);
  return `audit_append_many(${AUDIT_ARG_TYPES.map((type, k) => `${param(rows.map((r) => r[k]))}::${type}[]`).join(", ")})`;
}

/**
 * Appends one record inside the caller's transaction, in one round trip: the SQL function
 * audit_append (migration 20261121100000_ledger_perf) takes a free lane head (FOR UPDATE SKIP
 * LOCKED), computes the same chain hash as hashRecord, inserts the record and advances the head.
 * The lane head stays locked until the transaction ends, so call this late in the transaction.
 */
export async function appendAudit(sql: SqlRunner, input: AuditInput): Promise<{ id: string; hash: string }> {
  const { values: params, add } = sqlParams();
  const call = auditAppendCall(input, add);
  const rows = await sql.query<{ id: string; hash: string }>(`SELECT id::text AS id, hash FROM ${call}`, params);
  const row = rows[0];
  if (!row) throw new Error("audit_append returned no row");
  return row;
}

/**
 * Appends several records inside the caller's transaction in one round trip (audit_append_many:
 * one lane, chained in the order given). As with appendAudit, the lane head stays locked until the
 * transaction ends.
 */
export async function appendAuditMany(sql: SqlRunner, inputs: readonly AuditInput[]): Promise<void> {
  if (inputs.length === 0) return;
  if (inputs.length === 1) {
    await appendAudit(sql, inputs[0]!);
    return;
  }
  const { values: params, add } = sqlParams();
  const rows = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${auditAppendManyCall(inputs, add)}`, params);
  if (rows[0]?.n !== inputs.length) throw new Error(`audit_append_many wrote ${rows[0]?.n ?? 0} of ${inputs.length} records`);
}
