/**
 * Ledger accounts: open, read, list, freeze and unfreeze.
 *
 * Invariants kept:
 * - An account's code, currency, type, normal side and no-overdraft flag never change (DB trigger).
 * - A no-overdraft account gets exactly one balance row; any other account gets BALANCE_SLOTS rows,
 *   created with the account in one transaction, so writers never have to insert balance rows.
 * - Every change is audited in its own transaction and is idempotent under its key.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../core/actor";
import { AppError } from "../errors/app-error";
import { currencyExponent } from "../money/currencies";
import { hashRequest } from "./codec";
import { assertUuid } from "../core/validate";
import { fromRow, type RowOf } from "../core/rows";
import { idempotencyConflict, storedIdempotencyKey } from "../core/idempotency";
import { assertCleanText, findBadText } from "../core/text";
import { claimKeys, inProgressError, type StoredRecord } from "./idempotency";
import { runTransaction } from "../db/transaction";
import { BALANCE_SLOTS } from "./state";
import { readBalances } from "./balances";
import type { AccountStatus, AccountType, Balance, NormalSide } from "./types";
import { sqlParams } from "../core/sql-params";

export interface Account {
  id: string;
  code: string;
  name: string;
  currency: string;
  normalSide: NormalSide;
  type: AccountType;
  isNoOverdraft: boolean;
  status: AccountStatus;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface AccountWithBalance extends Account {
  balance: Balance;
}

export interface CreateAccountInput {
  code: string;
  name: string;
  currency: string;
  type: AccountType;
  isNoOverdraft?: boolean;
  metadata?: Record<string, unknown>;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9:_.-]{0,199}$/;

export function normalSideOf(type: AccountType): NormalSide {
  return type === "asset" || type === "expense" ? "debit" : "credit";
}


type AccountRowDb = RowOf<Account>;

const ACCOUNT_COLUMNS = `id, code, name, currency, normal_side, type, is_no_overdraft, status, metadata, created_at`;

const toAccount = fromRow<Account>;

/**
 * Runs fn in a transaction under an idempotency key, with the ledger's own scheme
 * (server/ledger/idempotency.ts): the key is claimed first, a stored key answers with its value
 * (same request) or IDEMPOTENCY_CONFLICT, and the record is written with the change.
 */
async function withIdempotency<T>(
  db: Pick<DbHandles, "pool">,
  key: string,
  commandType: string,
  request: unknown,
  fn: (client: pg.PoolClient) => Promise<T>,
  codec: { encode(v: T): unknown; decode(v: unknown): T },
): Promise<T> {
  const hash = hashRequest({ commandType, request });
  return runTransaction(db.pool, async (client) => {
    let stored: StoredRecord<unknown> | undefined;
    try {
      stored = (await claimKeys<unknown>(client, [key])).get(key);
    } catch (e) {
      if ((e as { code?: unknown }).code === "LG010") throw inProgressError(key, e);
      throw e;
    }
    if (stored) {
      if (stored.request_hash !== hash) throw idempotencyConflict(key);
      return codec.decode(stored.response);
    }
    const value = await fn(client);
    await client.query(`INSERT INTO idempotency_records (key, request_hash, command_type, response) VALUES ($1, $2, $3, $4::jsonb)`, [
      key,
      hash,
      commandType,
      JSON.stringify(codec.encode(value)),
    ]);
    return value;
  });
}

const accountCodec = {
  encode: (a: Account) => ({ ...a, createdAt: a.createdAt.toISOString() }),
  decode: (v: unknown) => {
    const o = v as Account & { createdAt: string };
    return { ...o, createdAt: new Date(o.createdAt) } as Account;
  },
};

/**
 * Opens an account with zero balances.
 * Errors, in order: BAD_INPUT (code, name, type, key, metadata), UNKNOWN_CURRENCY,
 * IDEMPOTENCY_CONFLICT (IDEMPOTENCY_IN_PROGRESS while a duplicate runs), CONFLICT (the code exists).
 */
export async function createAccount(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: CreateAccountInput,
  opts: { idempotencyKey: string; requestId?: string | null },
): Promise<Account> {
  if (typeof input.code !== "string" || !CODE.test(input.code)) throw new AppError("BAD_INPUT", `account code ${JSON.stringify(input.code)} must be 1-200 characters of letters, digits and : _ . -`);
  if (typeof input.name !== "string" || input.name.trim().length === 0 || input.name.length > 200) throw new AppError("BAD_INPUT", "account name must be 1-200 characters");
  if (!["asset", "liability", "equity", "revenue", "expense"].includes(input.type)) throw new AppError("BAD_INPUT", `account type ${JSON.stringify(input.type)} is not one of asset, liability, equity, revenue, expense`);
  assertCleanText(input.name, "name");
  currencyExponent(input.currency);
  const badMetadata = input.metadata === undefined ? null : findBadText(input.metadata, "metadata");
  if (badMetadata) throw new AppError("BAD_INPUT", `${badMetadata.path} ${badMetadata.reason}`, { details: { field: badMetadata.path } });
  const key = storedIdempotencyKey(actor, opts.idempotencyKey);
  const request = { ...input, isNoOverdraft: input.isNoOverdraft ?? false, metadata: input.metadata ?? {} };
  return withIdempotency(db, key, "create_account", request, async (client) => {
    let row: AccountRowDb;
    try {
      const res = await client.query<AccountRowDb>(
        `INSERT INTO ledger_accounts (id, code, name, currency, normal_side, type, is_no_overdraft, metadata)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING ${ACCOUNT_COLUMNS}`,
        [input.code, input.name.trim(), input.currency, normalSideOf(input.type), input.type, request.isNoOverdraft, JSON.stringify(request.metadata)],
      );
      row = res.rows[0]!;
    } catch (e) {
      if ((e as { code?: string }).code === "23505") throw new AppError("CONFLICT", `account code ${input.code} already exists`, { details: { code: input.code } });
      throw e;
    }
    const slots = row.is_no_overdraft ? 1 : BALANCE_SLOTS;
    await client.query(`INSERT INTO account_balances (account_id, slot, is_no_overdraft) SELECT $1, g, $2 FROM generate_series(0, $3::int - 1) g`, [row.id, row.is_no_overdraft, slots]);
    const account = toAccount(row);
    await appendAudit(pgRunner(client), {
      actor: toAuditActor(actor),
      action: "ledger.account.create",
      targetType: "ledger_account",
      targetId: account.id,
      after: account,
      requestId: opts.requestId ?? null,
    });
    await client.query(`INSERT INTO outbox_events (topic, aggregate_id, payload) VALUES ('ledger.account.created', $1, $2::jsonb)`, [account.id, JSON.stringify(accountCodec.encode(account))]);
    return account;
  }, accountCodec);
}

/**
 * Freezes or unfreezes an account: a frozen account refuses postings and new holds. Unfreezing
 * undoes a control, so the API never calls this for it directly: an unfreeze is a four-eyes
 * proposal (server/approvals/account-kinds.ts) that applies setAccountStatusInTransaction.
 * Errors, in order: BAD_INPUT (id, reason, key), IDEMPOTENCY_CONFLICT, NOT_FOUND.
 */
export async function setAccountStatus(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: { accountId: string; status: AccountStatus; reason: string },
  opts: { idempotencyKey: string; requestId?: string | null },
): Promise<Account> {
  const id = assertUuid(input.accountId, "accountId");
  if (input.status !== "active" && input.status !== "frozen") throw new AppError("BAD_INPUT", "status must be active or frozen");
  if (typeof input.reason !== "string" || input.reason.trim().length < 3 || input.reason.length > 500) throw new AppError("BAD_INPUT", "a reason of 3-500 characters is required");
  assertCleanText(input.reason, "reason");
  const key = storedIdempotencyKey(actor, opts.idempotencyKey);
  return withIdempotency(db, key, "set_account_status", { id, status: input.status, reason: input.reason }, (client) =>
    setAccountStatusInTransaction(client, actor, { accountId: id, status: input.status, reason: input.reason }, { requestId: opts.requestId ?? null }),
  accountCodec);
}

/**
 * The status change itself on the caller's open transaction: locks the account, updates it, and
 * writes its audit record and outbox event. Errors: NOT_FOUND.
 */
export async function setAccountStatusInTransaction(
  client: pg.PoolClient,
  actor: Actor | AuditActor,
  input: { accountId: string; status: AccountStatus; reason: string },
  opts: { requestId: string | null; now?: Date },
): Promise<Account> {
  const id = input.accountId;
  const before = await client.query<AccountRowDb>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1 FOR UPDATE`, [id]);
  const prev = before.rows[0];
  if (!prev) throw new AppError("NOT_FOUND", `account ${id} does not exist`, { details: { accountId: id } });
  const res = await client.query<AccountRowDb>(`UPDATE ledger_accounts SET status = $2 WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`, [id, input.status]);
  const account = toAccount(res.rows[0]!);
  await appendAudit(pgRunner(client), {
    actor: toAuditActor(actor),
    action: input.status === "frozen" ? "ledger.account.freeze" : "ledger.account.unfreeze",
    targetType: "ledger_account",
    targetId: id,
    reason: input.reason,
    before: { status: prev.status },
    after: { status: account.status },
    requestId: opts.requestId,
    ...(opts.now ? { at: opts.now } : {}),
  });
  await client.query(`INSERT INTO outbox_events (topic, aggregate_id, payload) VALUES ($1, $2, $3::jsonb)`, [
    `ledger.account.${input.status === "frozen" ? "frozen" : "unfrozen"}`, id, JSON.stringify({ accountId: id, status: account.status, reason: input.reason }),
  ]);
  return account;
}

/** One account with its current balance. Errors: BAD_INPUT, NOT_FOUND. */
export async function getAccount(db: Pick<DbHandles, "pool">, idOrCode: { id?: string; code?: string }): Promise<AccountWithBalance> {
  const sql = pgRunner(db.pool);
  let rows: AccountRowDb[];
  if (idOrCode.id) rows = await sql.query<AccountRowDb>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1`, [assertUuid(idOrCode.id, "id")]);
  else if (idOrCode.code) rows = await sql.query<AccountRowDb>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = $1`, [idOrCode.code]);
  else throw new AppError("BAD_INPUT", "give an account id or code");
  const row = rows[0];
  if (!row) throw new AppError("NOT_FOUND", `account ${idOrCode.id ?? idOrCode.code} does not exist`);
  const [balance] = await readBalances(sql, [row.id]);
  return { ...toAccount(row), balance: balance! };
}

export const ACCOUNT_PAGE_MAX = 200;

export interface ListAccountsInput {
  currency?: string;
  type?: AccountType;
  status?: AccountStatus;
  codePrefix?: string;
  /** Keyset cursor: rows with a code after this one (Next). */
  afterCode?: string;
  /** Keyset cursor: rows with a code before this one (Previous). Not together with afterCode. */
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

/**
 * A page of accounts ordered by code with current balances, paged in both directions by keyset on
 * the (unique) code; the (currency, code), (type, code) and (status, code) indexes serve every
 * filter without OFFSET. Balances for the whole page come from one readBalances query.
 * Errors: BAD_INPUT (both afterCode and beforeCode given).
 */
export async function listAccounts(db: Pick<DbHandles, "pool">, input: ListAccountsInput = {}): Promise<AccountPage> {
  if (input.afterCode && input.beforeCode) throw new AppError("BAD_INPUT", "give afterCode or beforeCode, not both");
  const limit = Math.min(Math.max(input.limit ?? 50, 1), ACCOUNT_PAGE_MAX);
  const isBackward = Boolean(input.beforeCode);
  const where: string[] = [];
  const { values: params, add: p } = sqlParams();
  const add = (cond: string, v: unknown) => where.push(cond.replace("?", p(v)));
  if (input.currency) add("currency = ?", input.currency);
  if (input.type) add("type = ?::account_type", input.type);
  if (input.status) add("status = ?::account_status", input.status);
  if (input.codePrefix) add("code LIKE ?", `${input.codePrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (input.afterCode) add("code > ?", input.afterCode);
  if (input.beforeCode) add("code < ?", input.beforeCode);
  params.push(limit + 1);
  const sql = pgRunner(db.pool);
  const rows = await sql.query<AccountRowDb>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY code ${isBackward ? "DESC" : "ASC"} LIMIT $${params.length}`,
    params,
  );
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (isBackward) page.reverse();
  const balances = new Map((await readBalances(sql, page.map((r) => r.id))).map((b) => [b.accountId, b]));
  const items = page.map((r) => ({ ...toAccount(r), balance: balances.get(r.id)! }));
  const first = items[0]?.code ?? null;
  const last = items[items.length - 1]?.code ?? null;
  return isBackward
    ? { items, nextCursor: last, prevCursor: hasMore ? first : null }
    : { items, nextCursor: hasMore ? last : null, prevCursor: input.afterCode ? first : null };
}
