/**
 * The console's account list: one page of accounts ordered by code, filtered, with current
 * balances, paged in both directions by keyset on the code (Next and Previous).
 *
 * Invariants kept:
 * - Balances come from readBalances for the whole page in one query (exact: the sum of the
 *   account's balance slots), never one query per row.
 * - Keyset on code (unique): the (currency, code), (type, code) and (status, code) indexes and the
 *   unique code index serve every filter combination without OFFSET.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { readBalances } from "./balances";
import type { AccountWithBalance } from "./accounts";
import type { AccountStatus, AccountType, NormalSide } from "./types";

export const ACCOUNT_PAGE_MAX = 200;

export interface AccountPageInput {
  currency?: string;
  type?: AccountType;
  status?: AccountStatus;
  codePrefix?: string;
  /** Rows with a code after this one (Next). */
  afterCode?: string;
  /** Rows with a code before this one (Previous). Not together with afterCode. */
  beforeCode?: string;
  limit?: number;
}

export interface AccountPage {
  items: AccountWithBalance[];
  /** Pass as afterCode for the next page; null on the last page. */
  nextCursor: string | null;
  /** Pass as beforeCode for the previous page; null on the first page. */
  prevCursor: string | null;
}

interface Row {
  id: string;
  code: string;
  name: string;
  currency: string;
  normal_side: NormalSide;
  type: AccountType;
  is_no_overdraft: boolean;
  status: AccountStatus;
  metadata: Record<string, unknown>;
  created_at: Date;
}

/**
 * A page of accounts with balances, ordered by code.
 * Errors: BAD_INPUT (both afterCode and beforeCode given).
 */
export async function listAccountPage(db: Pick<DbHandles, "pool">, input: AccountPageInput = {}): Promise<AccountPage> {
  if (input.afterCode && input.beforeCode) throw new AppError("BAD_INPUT", "give afterCode or beforeCode, not both");
  const limit = Math.min(Math.max(input.limit ?? 50, 1), ACCOUNT_PAGE_MAX);
  const isBackward = Boolean(input.beforeCode);
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    params.push(v);
    where.push(cond.replace("?", `$${params.length}`));
  };
  if (input.currency) add("currency = ?", input.currency);
  if (input.type) add("type = ?::account_type", input.type);
  if (input.status) add("status = ?::account_status", input.status);
  if (input.codePrefix) add("code LIKE ?", `${input.codePrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (input.afterCode) add("code > ?", input.afterCode);
  if (input.beforeCode) add("code < ?", input.beforeCode);
  params.push(limit + 1);
  const sql = pgRunner(db.pool);
  const rows = await sql.query<Row>(
    `SELECT id, code, name, currency, normal_side, type, is_no_overdraft, status, metadata, created_at
       FROM ledger_accounts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY code ${isBackward ? "DESC" : "ASC"} LIMIT $${params.length}`,
    params,
  );
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (isBackward) page.reverse();
  const balances = new Map((await readBalances(sql, page.map((r) => r.id))).map((b) => [b.accountId, b]));
  const items: AccountWithBalance[] = page.map((r) => ({
    id: r.id,
    code: r.code,
    name: r.name,
    currency: r.currency,
    normalSide: r.normal_side,
    type: r.type,
    isNoOverdraft: r.is_no_overdraft,
    status: r.status,
    metadata: r.metadata,
    createdAt: r.created_at,
    balance: balances.get(r.id)!,
  }));
  const first = items[0]?.code ?? null;
  const last = items[items.length - 1]?.code ?? null;
  return isBackward
    ? { items, nextCursor: last, prevCursor: hasMore ? first : null }
    : { items, nextCursor: hasMore ? last : null, prevCursor: input.afterCode ? first : null };
}
