/**
 * What a ledger transaction reads before it decides: the holds it changes (locked), the entries it
 * reverses, and the balance rows of every account it touches (locked). Reading only; the rules
 * (rules.ts) decide and the writer (writer.ts) writes.
 *
 * Invariants kept:
 * - Waiting locks are taken in one global order: holds by id, then whole balance rows by account id
 *   and slot. A free-slot lock never waits; only when every slot of an account is busy does a writer
 *   wait, on a random slot, in account order.
 * - A no-overdraft account has one balance row, locked FOR UPDATE by every writer, so its figures
 *   are exact. An account named in expectedVersions is locked whole (every slot). Any other account
 *   contributes the one free slot this transaction writes, whose figures are not the account's.
 */
import type pg from "pg";
import { preparedQuery } from "../db/prepared";
import { fromRow, type RowOf } from "../core/rows";
import type { HoldResult, NormalSide, PostingResult } from "./types";

/** Balance rows per account without a balance limit. Fixed: accounts are created with this many. */
export const BALANCE_SLOTS = 16;

export interface AccountRow {
  id: string;
  code: string;
  currency: string;
  normalSide: NormalSide;
  status: "active" | "frozen";
  isNoOverdraft: boolean;
  /** Exact only for locked-whole accounts (no-overdraft, or named in expectedVersions). */
  postedMinor: bigint;
  pendingMinor: bigint;
  version: bigint;
  isWhole: boolean;
  /** The slot this transaction writes. */
  slot: number;
}

export interface HoldRow {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  amountPostedMinor: bigint;
  currency: string;
  status: HoldResult["status"];
  expiresAt: Date;
  postedEntryId: string | null;
  isNew: boolean;
  isChanged: boolean;
  reference: string | null;
  description: string;
  idempotencyKey: string;
}

export interface EntryRef {
  id: string;
  reversesEntryId: string | null;
  reversedById: string | null;
  postings: PostingResult[];
}

/** A stored hold as a row: amounts come back as text. */
export type HoldDbRow = RowOf<Omit<HoldRow, "amountMinor" | "amountPostedMinor" | "isNew" | "isChanged">> & { amount_minor: string; amount_posted_minor: string };

/** The columns holdFromRow reads. */
export const HOLD_COLUMNS = `id, debit_account_id, credit_account_id, amount_minor::text, amount_posted_minor::text, currency, status,
  expires_at, posted_entry_id, reference, description, idempotency_key`;

/** A stored hold, as read (neither new nor changed by this transaction). */
export function holdFromRow(r: HoldDbRow): HoldRow {
  return { ...fromRow<Omit<HoldRow, "amountMinor" | "amountPostedMinor" | "isNew" | "isChanged">>(r), amountMinor: BigInt(r.amount_minor), amountPostedMinor: BigInt(r.amount_posted_minor), isNew: false, isChanged: false };
}

/** Locks the holds (FOR UPDATE, in id order) and returns those that exist. */
export async function lockHolds(client: pg.ClientBase, holdIds: readonly string[]): Promise<Map<string, HoldRow>> {
  const holds = new Map<string, HoldRow>();
  if (holdIds.length === 0) return holds;
  const res = await preparedQuery<HoldDbRow>(client, `SELECT ${HOLD_COLUMNS} FROM holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [holdIds]);
  for (const r of res.rows) holds.set(r.id, holdFromRow(r));
  return holds;
}

/** The entries to reverse, with their postings and whether they were reversed already. */
export async function readEntriesToReverse(client: pg.ClientBase, entryIds: readonly string[]): Promise<Map<string, EntryRef>> {
  const entries = new Map<string, EntryRef>();
  if (entryIds.length === 0) return entries;
  const res = await preparedQuery(
    client,
    `SELECT e.id, e.reverses_entry_id, r.id AS reversed_by, p.account_id, p.side, p.amount_minor::text, p.currency
       FROM journal_entries e
       LEFT JOIN journal_entries r ON r.reverses_entry_id = e.id
       JOIN postings p ON p.entry_id = e.id
      WHERE e.id = ANY($1::uuid[]) ORDER BY p.id`,
    [entryIds],
  );
  for (const r of res.rows) {
    let ref = entries.get(r.id);
    if (!ref) {
      ref = { id: r.id, reversesEntryId: r.reverses_entry_id, reversedById: r.reversed_by, postings: [] };
      entries.set(r.id, ref);
    }
    ref.postings.push({ accountId: r.account_id, side: r.side, amountMinor: BigInt(r.amount_minor), currency: r.currency });
  }
  return entries;
}

/**
 * Locks the balance rows of the given accounts and returns them with their account data. Whole
 * accounts (no-overdraft: their one row; or named in wholeIds: every slot) are locked waiting, in
 * (account id, slot) order; every other account takes one free slot. Accounts that do not exist
 * are absent from the result.
 */
export async function lockAccounts(client: pg.ClientBase, accountIds: Set<string>, wholeIds: string[]): Promise<Map<string, AccountRow>> {
  const slot = Math.floor(Math.random() * BALANCE_SLOTS);
  // Every account other than a whole one takes one FREE slot (SKIP LOCKED, starting from a random
  // one), so concurrent writers to a hot account spread over its slots instead of queueing on a
  // busy one; only if all its slots are busy does the writer wait, on a random slot (the fallback).
  const cols = `b.account_id, b.slot, b.posted_minor::text, b.pending_minor::text, b.version::text,
            a.code, a.currency, a.normal_side, a.status, a.is_no_overdraft`;
  const lockSql = `WITH w AS (
      SELECT ${cols} FROM account_balances b JOIN ledger_accounts a ON a.id = b.account_id
       WHERE b.account_id = ANY($1::uuid[]) AND (b.is_no_overdraft OR b.account_id = ANY($3::uuid[]))
       ORDER BY b.account_id, b.slot FOR UPDATE OF b),
    f AS (
      SELECT x.* FROM unnest($1::uuid[]) AS acc(id) CROSS JOIN LATERAL (
        SELECT ${cols} FROM account_balances b JOIN ledger_accounts a ON a.id = b.account_id
         WHERE b.account_id = acc.id AND NOT b.is_no_overdraft AND NOT (b.account_id = ANY($3::uuid[]))
         ORDER BY (b.slot + $2::int) % ${BALANCE_SLOTS} LIMIT 1 FOR UPDATE OF b SKIP LOCKED) x)
    SELECT * FROM w UNION ALL SELECT * FROM f`;
  const lockRes = await preparedQuery(client, lockSql, [[...accountIds], slot, wholeIds]);
  const lockedIds = new Set(lockRes.rows.map((r) => r.account_id));
  const busy = [...accountIds].filter((id) => !lockedIds.has(id)).sort();
  if (busy.length > 0) {
    // Every slot of these accounts is busy (or the account does not exist): wait for a random one.
    const more = await preparedQuery(
      client,
      `SELECT ${cols} FROM account_balances b JOIN ledger_accounts a ON a.id = b.account_id
        WHERE b.account_id = ANY($1::uuid[]) AND b.slot = $2 AND NOT b.is_no_overdraft ORDER BY b.account_id FOR UPDATE OF b`,
      [busy, slot],
    );
    lockRes.rows.push(...more.rows);
  }
  const accounts = new Map<string, AccountRow>();
  const wholeSet = new Set(wholeIds);
  for (const r of lockRes.rows) {
    const cur = accounts.get(r.account_id);
    if (cur) {
      cur.postedMinor += BigInt(r.posted_minor);
      cur.pendingMinor += BigInt(r.pending_minor);
      cur.version += BigInt(r.version);
      continue;
    }
    accounts.set(r.account_id, {
      id: r.account_id,
      code: r.code,
      currency: r.currency,
      normalSide: r.normal_side,
      status: r.status,
      isNoOverdraft: r.is_no_overdraft,
      postedMinor: BigInt(r.posted_minor),
      pendingMinor: BigInt(r.pending_minor),
      version: BigInt(r.version),
      isWhole: r.is_no_overdraft || wholeSet.has(r.account_id),
      // The slot this transaction writes: the no-overdraft row, the free slot it locked, or (for
      // a whole multi-slot account, all of whose slots it holds) the random one.
      slot: r.is_no_overdraft ? 0 : wholeSet.has(r.account_id) ? slot : r.slot,
    });
  }
  return accounts;
}
