/**
 * Balance reads. Current balances sum an account's balance slots (exact: every write updates
 * exactly one slot per account in the same transaction as its postings); historical balances are
 * recomputed from postings and holds.
 *
 * Invariants kept:
 * - posted = the signed sum of the account's postings (normal side positive).
 * - pending = the amounts of pending holds that would decrease the account.
 * - available = posted - pending; never negative for a no-overdraft account.
 */
import type { SqlRunner } from "../db/sql";
import { pgRunner } from "../db/sql";
import type { DbHandles } from "../db/client";
import { AppError } from "../errors/app-error";
import { assertUuid } from "../core/validate";
import type { Balance } from "./types";

interface BalanceRow {
  account_id: string;
  currency: string;
  posted: string;
  pending: string;
  version: string;
}

/** Current balances of the given accounts (missing accounts are left out). */
export async function readBalances(sql: SqlRunner, accountIds: string[]): Promise<Balance[]> {
  if (accountIds.length === 0) return [];
  const rows = await sql.query<BalanceRow>(
    `SELECT b.account_id, a.currency, sum(b.posted_minor)::text AS posted, sum(b.pending_minor)::text AS pending, sum(b.version)::text AS version
       FROM account_balances b JOIN ledger_accounts a ON a.id = b.account_id
      WHERE b.account_id = ANY($1::uuid[])
      GROUP BY b.account_id, a.currency ORDER BY b.account_id`,
    [accountIds],
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    currency: r.currency,
    postedMinor: BigInt(r.posted),
    pendingMinor: BigInt(r.pending),
    availableMinor: BigInt(r.posted) - BigInt(r.pending),
    version: BigInt(r.version),
  }));
}

/**
 * Posted, pending and available balance of one account, now or as of a past effective time.
 * Errors: BAD_INPUT (not a UUID), NOT_FOUND.
 */
export async function getBalances(db: Pick<DbHandles, "pool">, accountId: string, opts: { asOf?: Date } = {}): Promise<Balance> {
  const id = assertUuid(accountId, "accountId");
  const sql = pgRunner(db.pool);
  if (!opts.asOf) {
    const [b] = await readBalances(sql, [id]);
    if (!b) throw new AppError("NOT_FOUND", `account ${accountId} does not exist`, { details: { accountId } });
    return b;
  }
  const asOf = opts.asOf;
  const rows = await sql.query<{ currency: string; posted: string; pending: string }>(
    `SELECT a.currency,
            coalesce((SELECT sum(CASE WHEN p.side::text = a.normal_side::text THEN p.amount_minor ELSE -p.amount_minor END)
                        FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                       WHERE p.account_id = a.id AND e.effective_at <= $2), 0)::text AS posted,
            coalesce((SELECT sum(h.amount_minor) FROM holds h
                       WHERE h.created_at <= $2 AND (h.ended_at IS NULL OR h.ended_at > $2)
                         AND ((h.debit_account_id = a.id AND a.normal_side = 'credit') OR (h.credit_account_id = a.id AND a.normal_side = 'debit'))), 0)::text AS pending
       FROM ledger_accounts a WHERE a.id = $1`,
    [id, asOf],
  );
  const r = rows[0];
  if (!r) throw new AppError("NOT_FOUND", `account ${accountId} does not exist`, { details: { accountId } });
  return {
    accountId: id,
    currency: r.currency,
    postedMinor: BigInt(r.posted),
    pendingMinor: BigInt(r.pending),
    availableMinor: BigInt(r.posted) - BigInt(r.pending),
    version: null,
  };
}
