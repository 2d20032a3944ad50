/**
 * Audit chain verification as a background run. Walking the whole log is expensive (every record
 * is read and re-hashed), so no request does it: the worker runs it on a schedule and on request,
 * one run at a time across all workers, and the API reads the last result.
 *
 * Invariants kept:
 * - At most one run at a time: a run holds a session advisory lock (AUDIT_VERIFY_LOCK) for its
 *   whole walk; a second worker that cannot take it skips, and the open request waits for the next
 *   job.
 * - At most one open request: requestAuditVerification adds a 'requested' row only when none is
 *   requested or running (under a transaction-level advisory lock), so a viewer pressing the
 *   button a hundred times costs one run.
 * - Bounded: the newest RUNS_KEPT finished runs are kept.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { fromRow, type RowOf } from "../core/rows";
import { verifyAuditChain, type AuditVerification, type ChainBreak } from "./verify";

export const AUDIT_VERIFY_LOCK = 7_301_126_014n;
export const RUNS_KEPT = 200;

export interface AuditVerificationRun {
  id: string;
  status: "requested" | "running" | "done" | "failed";
  trigger: "schedule" | "request";
  requestedBy: string | null;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  isIntact: boolean | null;
  checkedCount: number | null;
  firstBreak: ChainBreak | null;
  error: string | null;
}

type RunRow = RowOf<Omit<AuditVerificationRun, "checkedCount">> & { checked_count: string | null };

const COLUMNS = `id::text AS id, status, trigger, requested_by, requested_at, started_at, finished_at, is_intact, checked_count::text AS checked_count, first_break, error`;

function toRun(r: RunRow): AuditVerificationRun {
  return { ...fromRow<Omit<AuditVerificationRun, "checkedCount">>(r), checkedCount: r.checked_count === null ? null : Number(r.checked_count) };
}

export interface AuditVerificationState {
  /** The newest finished run (done or failed), or null before the first. */
  last: AuditVerificationRun | null;
  /** A run is requested or running now. */
  isPending: boolean;
}

/** What the API shows: the last finished run, and whether another is on its way. */
export async function readAuditVerification(db: Pick<DbHandles, "pool">): Promise<AuditVerificationState> {
  const [last, open] = await Promise.all([
    db.pool.query<RunRow>(`SELECT ${COLUMNS} FROM audit_verifications WHERE status IN ('done', 'failed') ORDER BY id DESC LIMIT 1`),
    db.pool.query(`SELECT 1 FROM audit_verifications WHERE status IN ('requested', 'running') LIMIT 1`),
  ]);
  return { last: last.rows[0] ? toRun(last.rows[0]) : null, isPending: (open.rowCount ?? 0) > 0 };
}

/**
 * Asks the worker for a run. Adds a 'requested' row unless one is requested or running, and then
 * calls `wakeWorker` (the caller enqueues the worker's audit-verify job: jobs are a neighbour of
 * this layer). Returns the state after the request.
 */
export async function requestAuditVerification(db: Pick<DbHandles, "pool">, requestedBy: string, wakeWorker: () => Promise<void>): Promise<AuditVerificationState> {
  const client = await db.pool.connect();
  let isNew = false;
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock($1::bigint)`, [AUDIT_VERIFY_LOCK.toString()]);
    const open = await client.query(`SELECT 1 FROM audit_verifications WHERE status IN ('requested', 'running') LIMIT 1`);
    if ((open.rowCount ?? 0) === 0) {
      await client.query(`INSERT INTO audit_verifications (status, trigger, requested_by) VALUES ('requested', 'request', $1)`, [requestedBy.slice(0, 200)]);
      isNew = true;
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
  if (isNew) await wakeWorker();
  return readAuditVerification(db);
}

/**
 * One run, in the worker: takes the run lock (or returns null when another worker holds it),
 * claims the open request (or records a scheduled run), walks every lane, and stores the result.
 */
export async function runAuditVerification(
  db: Pick<DbHandles, "pool">,
  opts: { trigger: "schedule" | "request"; verify?: (pool: pg.Pool) => Promise<AuditVerification> },
): Promise<AuditVerificationRun | null> {
  const lockClient = await db.pool.connect();
  try {
    const got = await lockClient.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS ok`, [AUDIT_VERIFY_LOCK.toString()]);
    if (!got.rows[0]?.ok) return null;
    try {
      // The open request, if any, becomes this run; otherwise the run records itself.
      const claimed = await db.pool.query<{ id: string }>(
        `UPDATE audit_verifications SET status = 'running', started_at = now() WHERE id = (SELECT id FROM audit_verifications WHERE status = 'requested' ORDER BY id LIMIT 1) RETURNING id::text AS id`,
      );
      const id =
        claimed.rows[0]?.id ??
        (await db.pool.query<{ id: string }>(`INSERT INTO audit_verifications (status, trigger, started_at) VALUES ('running', $1, now()) RETURNING id::text AS id`, [opts.trigger])).rows[0]!.id;
      // A run left 'running' by a worker that died is over: only the lock holder runs.
      await db.pool.query(`UPDATE audit_verifications SET status = 'failed', finished_at = now(), error = 'the worker running it stopped' WHERE status = 'running' AND id <> $1`, [id]);
      let row: RunRow;
      try {
        const report = await (opts.verify ?? verifyAuditChain)(db.pool);
        row = (
          await db.pool.query<RunRow>(
            `UPDATE audit_verifications SET status = 'done', finished_at = now(), is_intact = $2, checked_count = $3, first_break = $4::jsonb WHERE id = $1 RETURNING ${COLUMNS}`,
            [id, report.isIntact, report.checkedCount, report.firstBreak ? JSON.stringify(report.firstBreak) : null],
          )
        ).rows[0]!;
      } catch (e) {
        row = (
          await db.pool.query<RunRow>(`UPDATE audit_verifications SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [
            id,
            `the walk failed: ${(e as Error).message}`.slice(0, 500),
          ])
        ).rows[0]!;
      }
      await db.pool.query(
        `DELETE FROM audit_verifications WHERE status IN ('done', 'failed') AND id < (SELECT min(id) FROM (SELECT id FROM audit_verifications WHERE status IN ('done', 'failed') ORDER BY id DESC LIMIT $1) keep)`,
        [RUNS_KEPT],
      );
      return toRun(row);
    } finally {
      await lockClient.query(`SELECT pg_advisory_unlock($1::bigint)`, [AUDIT_VERIFY_LOCK.toString()]);
    }
  } finally {
    lockClient.release();
  }
}
