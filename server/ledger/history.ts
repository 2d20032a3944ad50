/**
 * Reads of the journal: entries and postings of an account with keyset pagination (on the posting
 * id, served by the (account_id, id) index so deep pages stay fast), and single entries.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { assertUuid } from "../core/validate";
import type { HoldResult, Side } from "./types";
import { HOLD_COLUMNS, holdFromRow, type HoldDbRow } from "./state";
import { toHoldResult } from "./planner";
import { sqlParams } from "../core/sql-params";

export interface PostingRow {
  id: bigint;
  entryId: string;
  accountId: string;
  side: Side;
  amountMinor: bigint;
  currency: string;
  effectiveAt: Date;
  description: string;
}

export interface ListPostingsInput {
  accountId: string;
  /** Keyset cursor: the smallest posting id of the previous page (newest first). */
  beforeId?: bigint;
  side?: Side;
  effectiveFrom?: Date;
  effectiveTo?: Date;
  limit?: number;
}

/** Postings of an account, newest first. Errors: BAD_INPUT. */
export async function listPostings(db: Pick<DbHandles, "pool">, input: ListPostingsInput): Promise<{ items: PostingRow[]; nextCursor: bigint | null }> {
  const accountId = assertUuid(input.accountId, "accountId");
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 500);
  const { values: params, add: p } = sqlParams([accountId]);
  const where = ["p.account_id = $1"];
  const add = (cond: string, v: unknown) => where.push(cond.replace("?", p(v)));
  if (input.beforeId !== undefined) add("p.id < ?::bigint", input.beforeId.toString());
  if (input.side) add("p.side = ?::posting_side", input.side);
  if (input.effectiveFrom) add("e.effective_at >= ?", input.effectiveFrom);
  if (input.effectiveTo) add("e.effective_at < ?", input.effectiveTo);
  params.push(limit + 1);
  const rows = await pgRunner(db.pool).query<{ id: string; entry_id: string; account_id: string; side: Side; amount_minor: string; currency: string; effective_at: Date; description: string }>(
    `SELECT p.id::text, p.entry_id, p.account_id, p.side, p.amount_minor::text, p.currency, e.effective_at, e.description
       FROM postings p JOIN journal_entries e ON e.id = p.entry_id
      WHERE ${where.join(" AND ")} ORDER BY p.id DESC LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, limit).map((r) => ({
    id: BigInt(r.id),
    entryId: r.entry_id,
    accountId: r.account_id,
    side: r.side,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    effectiveAt: r.effective_at,
    description: r.description,
  }));
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

export interface EntryDetail {
  id: string;
  idempotencyKey: string;
  description: string;
  effectiveAt: Date;
  createdAt: Date;
  reversesEntryId: string | null;
  reversedByEntryId: string | null;
  metadata: Record<string, unknown>;
  postings: { id: bigint; accountId: string; accountCode: string; side: Side; amountMinor: bigint; currency: string }[];
}

/** One entry with its postings and its reversal, if any. Errors: BAD_INPUT, NOT_FOUND. */
export async function getEntry(db: Pick<DbHandles, "pool">, entryId: string): Promise<EntryDetail> {
  const id = assertUuid(entryId, "entryId");
  const sql = pgRunner(db.pool);
  const rows = await sql.query<{ id: string; idempotency_key: string; description: string; effective_at: Date; created_at: Date; reverses_entry_id: string | null; reversed_by: string | null; metadata: Record<string, unknown> }>(
    `SELECT e.id, e.idempotency_key, e.description, e.effective_at, e.created_at, e.reverses_entry_id, r.id AS reversed_by, e.metadata
       FROM journal_entries e LEFT JOIN journal_entries r ON r.reverses_entry_id = e.id WHERE e.id = $1`,
    [id],
  );
  const e = rows[0];
  if (!e) throw new AppError("NOT_FOUND", `entry ${entryId} does not exist`, { details: { entryId } });
  const postings = await sql.query<{ id: string; account_id: string; code: string; side: Side; amount_minor: string; currency: string }>(
    `SELECT p.id::text, p.account_id, a.code, p.side, p.amount_minor::text, p.currency FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
      WHERE p.entry_id = $1 ORDER BY p.id`,
    [id],
  );
  return {
    id: e.id,
    idempotencyKey: e.idempotency_key,
    description: e.description,
    effectiveAt: e.effective_at,
    createdAt: e.created_at,
    reversesEntryId: e.reverses_entry_id,
    reversedByEntryId: e.reversed_by,
    metadata: e.metadata,
    postings: postings.map((p) => ({ id: BigInt(p.id), accountId: p.account_id, accountCode: p.code, side: p.side, amountMinor: BigInt(p.amount_minor), currency: p.currency })),
  };
}

export interface EntrySummary {
  id: string;
  description: string;
  effectiveAt: Date;
  reversesEntryId: string | null;
  /** The account's postings in this entry, summed on the account's normal side. */
  netMinor: bigint;
  lastPostingId: bigint;
}

/** Entries touching an account, newest first, keyset on the latest posting id. Errors: BAD_INPUT. */
export async function listEntries(db: Pick<DbHandles, "pool">, input: { accountId: string; beforePostingId?: bigint; limit?: number }): Promise<{ items: EntrySummary[]; nextCursor: bigint | null }> {
  const accountId = assertUuid(input.accountId, "accountId");
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
  const rows = await pgRunner(db.pool).query<{ id: string; description: string; effective_at: Date; reverses_entry_id: string | null; net: string; last_id: string }>(
    `SELECT e.id, e.description, e.effective_at, e.reverses_entry_id, x.net::text, x.last_id::text
       FROM (SELECT p.entry_id, max(p.id) AS last_id,
                    sum(CASE WHEN p.side::text = a.normal_side::text THEN p.amount_minor ELSE -p.amount_minor END) AS net
               FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
              WHERE p.account_id = $1 AND ($2::bigint IS NULL OR p.id < $2::bigint)
                AND p.entry_id IN (SELECT entry_id FROM postings WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3)
              GROUP BY p.entry_id) x
       JOIN journal_entries e ON e.id = x.entry_id
      ORDER BY x.last_id DESC LIMIT $3`,
    [accountId, input.beforePostingId?.toString() ?? null, limit + 1],
  );
  const items = rows.slice(0, limit).map((r) => ({ id: r.id, description: r.description, effectiveAt: r.effective_at, reversesEntryId: r.reverses_entry_id, netMinor: BigInt(r.net), lastPostingId: BigInt(r.last_id) }));
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.lastPostingId : null };
}

/** Holds of an account (either side), newest first. */
export async function listHolds(db: Pick<DbHandles, "pool">, input: { accountId: string; status?: HoldResult["status"]; limit?: number }): Promise<HoldResult[]> {
  const accountId = assertUuid(input.accountId, "accountId");
  const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
  const rows = await pgRunner(db.pool).query<HoldDbRow>(
    `SELECT ${HOLD_COLUMNS}
       FROM holds WHERE (debit_account_id = $1 OR credit_account_id = $1) AND ($2::hold_status IS NULL OR status = $2::hold_status)
      ORDER BY created_at DESC, id LIMIT $3`,
    [accountId, input.status ?? null, limit],
  );
  return rows.map((r) => toHoldResult(holdFromRow(r)));
}
