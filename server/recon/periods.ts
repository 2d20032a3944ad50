/**
 * Period close: when a source's period is reconciled (no open breaks left in it; timing
 * differences accepted count as reconciled), an operator closes it for the source's ledger
 * account. From then on the database refuses any posting on that account whose entry's effective
 * time falls inside the period (trigger postings_check_closed_period, SQLSTATE RC001, mapped to
 * PERIOD_CLOSED), whatever path writes it. Reopening is a four-eyes proposal
 * (recon_period_reopen, server/recon/adjustment-kinds.ts).
 *
 * Invariants kept:
 * - A closed period never overlaps another closed period of the same account.
 * - A closed period changes once, to reopened, and only through an approved proposal.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { fromRow, type RowOf } from "../core/rows";
import { checkPeriod } from "./matching";
import { getSource } from "./sources";

export interface PeriodClose {
  id: string;
  sourceId: string;
  ledgerAccountId: string;
  periodFrom: string;
  periodTo: string;
  status: "closed" | "reopened";
  reason: string;
  closedAt: Date;
  closedBy: string;
  reopenedAt: Date | null;
  reopenProposalId: string | null;
}

type Raw = RowOf<PeriodClose>;

const COLUMNS = "id, source_id, ledger_account_id, period_from::text, period_to::text, status, reason, closed_at, closed_by, reopened_at, reopen_proposal_id";

const toClose = fromRow<PeriodClose>;

export async function listPeriodCloses(db: Pick<DbHandles, "pool">, sourceId?: string): Promise<PeriodClose[]> {
  return (await db.pool.query<Raw>(`SELECT ${COLUMNS} FROM recon_period_closes WHERE ($1::uuid IS NULL OR source_id = $1) ORDER BY period_to DESC LIMIT 500`, [sourceId ?? null])).rows.map(toClose);
}

export async function getPeriodClose(q: pg.Pool | pg.ClientBase, id: string, opts: { isLocked?: boolean } = {}): Promise<PeriodClose> {
  const r = (await q.query<Raw>(`SELECT ${COLUMNS} FROM recon_period_closes WHERE id = $1 ${opts.isLocked ? "FOR UPDATE" : ""}`, [id])).rows[0];
  if (!r) throw new AppError("NOT_FOUND", `closed period ${id} does not exist`, { details: { id } });
  return toClose(r);
}

/**
 * Closes a source's period. Errors, in order: BAD_INPUT (period, reason); NOT_FOUND (source);
 * CONFLICT (the source's statements do not reach the period's end; open breaks remain in it —
 * their number is given; it overlaps a closed period of the account).
 */
export async function closePeriod(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { sourceId: string; periodFrom: string; periodTo: string; reason: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<PeriodClose> {
  checkPeriod(input.periodFrom, input.periodTo);
  const reason = input.reason.trim();
  if (reason.length < 3) throw new AppError("BAD_INPUT", "a reason of at least 3 characters is required");
  const now = opts.now ?? new Date();
  const source = await getSource(db, input.sourceId);
  return runTransaction(db.pool, async (c) => {
    // Serialise with matching and imports of the source, and with other closes of the account.
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [source.id]);
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:close:' || $1, 0))`, [source.ledgerAccountId]);
    const covered = (await c.query<{ to: string | null }>(`SELECT max(period_to)::text AS to FROM recon_statements WHERE source_id = $1`, [source.id])).rows[0]!.to;
    if (covered === null || covered < input.periodTo) {
      throw new AppError("CONFLICT", `source ${source.name}'s statements reach ${covered ?? "no date yet"}, not the period's end ${input.periodTo}; import them first`);
    }
    const open = Number(
      (await c.query<{ n: string }>(`SELECT count(*) AS n FROM recon_breaks WHERE source_id = $1 AND status = 'open' AND occurred_on BETWEEN $2::date AND $3::date`, [source.id, input.periodFrom, input.periodTo])).rows[0]!.n,
    );
    if (open > 0) throw new AppError("CONFLICT", `${open} open break${open === 1 ? "" : "s"} remain in ${input.periodFrom} to ${input.periodTo}; resolve them or accept them as timing differences first`, { details: { openBreaks: open } });
    const overlap = (
      await c.query<{ id: string; period_from: string; period_to: string }>(
        `SELECT id, period_from::text, period_to::text FROM recon_period_closes WHERE ledger_account_id = $1 AND status = 'closed' AND period_from <= $3::date AND period_to >= $2::date LIMIT 1`,
        [source.ledgerAccountId, input.periodFrom, input.periodTo],
      )
    ).rows[0];
    if (overlap) throw new AppError("CONFLICT", `${source.ledgerAccountCode} is already closed for ${overlap.period_from} to ${overlap.period_to}`);
    const row = (
      await c.query<Raw>(
        `INSERT INTO recon_period_closes (source_id, ledger_account_id, period_from, period_to, status, reason, closed_at, closed_by) VALUES ($1, $2, $3, $4, 'closed', $5, $6, $7) RETURNING ${COLUMNS}`,
        [source.id, source.ledgerAccountId, input.periodFrom, input.periodTo, reason, now, actor.label],
      )
    ).rows[0]!;
    await appendAudit(pgRunner(c), { actor, action: "recon.period.close", targetType: "recon_period_close", targetId: row.id, reason, after: toClose(row), requestId: opts.requestId ?? null, at: now });
    return toClose(row);
  });
}

/** Reopens a closed period (inside the approval's transaction). Errors: NOT_FOUND; CONFLICT (not closed). */
export async function reopenPeriodInTransaction(c: pg.PoolClient, input: { closeId: string; proposalId: string; now: Date }): Promise<PeriodClose> {
  const p = await getPeriodClose(c, input.closeId, { isLocked: true });
  if (p.status !== "closed") throw new AppError("CONFLICT", `period ${p.periodFrom} to ${p.periodTo} is already ${p.status}`);
  const row = (await c.query<Raw>(`UPDATE recon_period_closes SET status = 'reopened', reopened_at = $2, reopen_proposal_id = $3 WHERE id = $1 RETURNING ${COLUMNS}`, [p.id, input.now, input.proposalId])).rows[0]!;
  return toClose(row);
}
