/**
 * Verifies the audit log's hash chains.
 *
 * Invariants checked, per lane, in lane_seq order:
 * - Sequence numbers run 1, 2, 3, ... with no gap (a removed row shows as a gap).
 * - Each record's prev_hash equals the stored hash of the record before it (GENESIS_HASH for the
 *   first), so a record cannot be replaced or inserted without breaking the next link.
 * - Each record's hash equals hashRecord() recomputed from its stored content, so an edited row is
 *   caught even when its successor still links to it.
 * - The lane head in audit_lanes names the last record's sequence number and hash, so removing or
 *   rewriting the newest records of a lane is caught too.
 *
 * Memory stays bounded: rows are read per lane in keyset batches of VERIFY_BATCH_SIZE. With a pool
 * the walk runs in one REPEATABLE READ snapshot, so appends that commit meanwhile do not make a
 * lane head look ahead of its rows.
 */
import pg from "pg";
import { pgRunner, type SqlRunner } from "../db/sql";
import { fromRow, type RowOf } from "../core/rows";
import { GENESIS_HASH, hashRecord, type HashableRecord } from "./audit-log";

export const VERIFY_BATCH_SIZE = 1000;

export interface ChainBreak {
  /** The id of the first record that does not verify (for a head mismatch, the lane's last record). */
  id: string | null;
  lane: number;
  laneSeq: string | null;
  problem: string;
}

export interface LaneReport {
  lane: number;
  checkedCount: number;
  lastSeq: string;
  isIntact: boolean;
}

export interface AuditVerification {
  isIntact: boolean;
  checkedCount: number;
  lanes: LaneReport[];
  /** The earliest break (lowest record id) over all lanes, or null when every lane verifies. */
  firstBreak: ChainBreak | null;
}

/** A record as the walk reads it; created_at comes back as text through some runners. */
type LogRow = RowOf<Omit<HashableRecord, "createdAt">> & { id: string; hash: string; created_at: Date | string };

interface HeadRow {
  lane: number;
  last_seq: string;
  last_hash: string;
}

function asDate(v: Date | string): Date {
  return v instanceof Date ? v : new Date(v);
}

/** Walks one lane; returns how many records were checked and the lane's first break, if any. */
async function verifyLane(sql: SqlRunner, head: HeadRow, batchSize: number): Promise<{ report: LaneReport; brk: ChainBreak | null }> {
  let expectedSeq = 1n;
  let prevHash = GENESIS_HASH;
  let lastId: string | null = null;
  let checked = 0;
  const fail = (id: string | null, laneSeq: string | null, problem: string) => ({
    report: { lane: head.lane, checkedCount: checked, lastSeq: (expectedSeq - 1n).toString(), isIntact: false },
    brk: { id, lane: head.lane, laneSeq, problem },
  });

  for (;;) {
    // Order by the bigint column, not the text alias: "10" sorts before "2" as text.
    const rows: LogRow[] = await sql.query<LogRow>(
      `SELECT id::text AS id, lane, lane_seq::text AS lane_seq, actor_type, actor_id, actor_label, action,
              target_type, target_id, reason, before, after, request_id, created_at, prev_hash, hash
         FROM audit_log WHERE lane = $1 AND lane_seq >= $2::bigint
        ORDER BY audit_log.lane_seq LIMIT $3`,
      [head.lane, expectedSeq.toString(), batchSize],
    );
    for (const r of rows) {
      const seq = BigInt(r.lane_seq);
      if (seq !== expectedSeq) {
        return fail(r.id, r.lane_seq, `sequence gap in lane ${head.lane}: expected ${expectedSeq}, found ${seq} (records removed)`);
      }
      if (r.prev_hash !== prevHash) {
        return fail(r.id, r.lane_seq, `prev_hash does not match the hash of the record before it${lastId ? ` (id ${lastId})` : " (genesis)"}`);
      }
      const recomputed = hashRecord({ ...fromRow<Omit<HashableRecord, "createdAt">>(r), createdAt: asDate(r.created_at) });
      if (recomputed !== r.hash) return fail(r.id, r.lane_seq, "content does not match its hash (record edited)");
      checked++;
      prevHash = r.hash;
      lastId = r.id;
      expectedSeq = seq + 1n;
    }
    if (rows.length < batchSize) break;
  }

  const lastSeq = expectedSeq - 1n;
  if (BigInt(head.last_seq) !== lastSeq) {
    return fail(lastId, lastSeq === 0n ? null : lastSeq.toString(), `lane head says sequence ${head.last_seq} but the last record is ${lastSeq} (records removed or head edited)`);
  }
  if (head.last_hash !== prevHash) {
    return fail(lastId, lastSeq === 0n ? null : lastSeq.toString(), "lane head hash does not match the last record's hash (last record replaced or head edited)");
  }
  return { report: { lane: head.lane, checkedCount: checked, lastSeq: lastSeq.toString(), isIntact: true }, brk: null };
}

/** Walks every lane with the given runner (the caller controls the transaction, if any). */
export async function verifyAuditChainWith(sql: SqlRunner, opts: { batchSize?: number } = {}): Promise<AuditVerification> {
  const batchSize = opts.batchSize ?? VERIFY_BATCH_SIZE;
  const heads = await sql.query<HeadRow>(`SELECT lane, last_seq::text AS last_seq, last_hash FROM audit_lanes ORDER BY lane`);
  const lanes: LaneReport[] = [];
  let firstBreak: ChainBreak | null = null;
  let checkedCount = 0;
  for (const head of heads) {
    const { report, brk } = await verifyLane(sql, head, batchSize);
    lanes.push(report);
    checkedCount += report.checkedCount;
    if (brk && (!firstBreak || isEarlier(brk, firstBreak))) firstBreak = brk;
  }
  // Records in a lane that has no head can never be verified: report them as a break.
  const orphan = await sql.query<{ id: string; lane: number; lane_seq: string }>(
    `SELECT id::text AS id, lane, lane_seq::text AS lane_seq FROM audit_log
      WHERE lane NOT IN (SELECT lane FROM audit_lanes) ORDER BY id LIMIT 1`,
  );
  const o = orphan[0];
  if (o) {
    const brk: ChainBreak = { id: o.id, lane: o.lane, laneSeq: o.lane_seq, problem: `record in lane ${o.lane}, which has no head in audit_lanes` };
    if (!firstBreak || isEarlier(brk, firstBreak)) firstBreak = brk;
  }
  return { isIntact: firstBreak === null, checkedCount, lanes, firstBreak };
}

function isEarlier(a: ChainBreak, b: ChainBreak): boolean {
  if (a.id === null) return false;
  if (b.id === null) return true;
  return BigInt(a.id) < BigInt(b.id);
}

/**
 * Verifies every lane of the audit log. With a pool or client, the walk runs in one read-only
 * REPEATABLE READ transaction (a consistent snapshot); with a SqlRunner it uses the caller's.
 */
export async function verifyAuditChain(db: pg.Pool | pg.ClientBase | SqlRunner, opts: { batchSize?: number } = {}): Promise<AuditVerification> {
  if (!(db instanceof pg.Pool) && !isPgClient(db)) return verifyAuditChainWith(db, opts);
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      return await verifyAuditChainWith(pgRunner(client), opts);
    } finally {
      await client.query("ROLLBACK");
    }
  } finally {
    if (db instanceof pg.Pool) (client as pg.PoolClient).release();
  }
}

function isPgClient(db: unknown): db is pg.ClientBase {
  return db instanceof pg.Client || (typeof db === "object" && db !== null && "release" in db && "query" in db && "connect" in db);
}
