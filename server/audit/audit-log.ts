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

export type ActorType = "user" | "service" | "system";

export interface AuditActor {
  type: ActorType;
  /** User id, service key id, or the name of the system component. */
  id: string | null;
  /** Human-readable: an email, a key name, "worker". */
  label: string;
}

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

export interface AuditRecord {
  id: string;
  lane: number;
  laneSeq: string;
  actorType: ActorType;
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

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

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

interface LaneRow {
  lane: number;
  last_seq: string;
  last_hash: string;
}

/**
 * Appends one record inside the caller's transaction. The lane head stays locked until that
 * transaction ends, so call this late in the transaction to keep the lock short.
 */
export async function appendAudit(sql: SqlRunner, input: AuditInput): Promise<{ id: string; hash: string }> {
  let lanes = await sql.query<LaneRow>(
    `SELECT lane, last_seq::text AS last_seq, last_hash FROM audit_lanes
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED`,
  );
  if (lanes.length === 0) {
    // Every lane is busy: wait for a random one rather than spin.
    lanes = await sql.query<LaneRow>(
      `SELECT lane, last_seq::text AS last_seq, last_hash FROM audit_lanes WHERE lane = $1 FOR UPDATE`,
      [Math.floor(Math.random() * AUDIT_LANES)],
    );
  }
  const head = lanes[0];
  if (!head) throw new Error("audit_lanes is empty: the foundation migration did not run");
  const rec: HashableRecord = {
    lane: head.lane,
    laneSeq: (BigInt(head.last_seq) + 1n).toString(),
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
    prevHash: head.last_hash,
  };
  const hash = hashRecord(rec);
  const rows = await sql.query<{ id: string }>(
    `INSERT INTO audit_log (lane, lane_seq, actor_type, actor_id, actor_label, action, target_type, target_id,
       reason, before, after, request_id, created_at, prev_hash, hash)
     VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15)
     RETURNING id::text AS id`,
    [
      rec.lane, rec.laneSeq, rec.actorType, rec.actorId, rec.actorLabel, rec.action, rec.targetType, rec.targetId,
      rec.reason, rec.before === null ? null : JSON.stringify(rec.before), rec.after === null ? null : JSON.stringify(rec.after),
      rec.requestId, rec.createdAt, rec.prevHash, hash,
    ],
  );
  await sql.query(`UPDATE audit_lanes SET last_seq = $2::bigint, last_hash = $3 WHERE lane = $1`, [rec.lane, rec.laneSeq, hash]);
  return { id: rows[0]!.id, hash };
}
