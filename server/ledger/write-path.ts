/**
 * The ledger's one write path. Every change to entries, postings, holds and balances goes through
 * executeLedgerCommand; nothing else in the codebase writes those tables.
 *
 * Invariants kept (the database enforces most of them again; see the ledger migration):
 * - Double entry: every entry has two or more postings and balances per currency.
 * - Append only: entries and postings are only inserted; corrections are reversing entries.
 * - Balances are derived: each write changes balance rows by exactly the signed sum of the
 *   postings and hold reservations it writes, in the same transaction.
 * - No-overdraft accounts keep one balance row, locked FOR UPDATE by every writer, so
 *   posted - pending >= 0 is checked exactly under any concurrency. Other accounts spread writes
 *   over BALANCE_SLOTS rows: a writer locks one currently free slot per account (SKIP LOCKED), so a
 *   hot account does not serialise traffic; reads sum the slots and stay exact.
 * - Waiting locks are taken in one global order (holds by id, then whole balance rows by account
 *   id and slot); free-slot locks never wait, and the fallback when every slot is busy waits on
 *   rows in account order. The rare deadlock or serialization failure left is retried here and
 *   never reaches the caller.
 * - Idempotency (server/ledger/idempotency.ts): a key is applied at most once, and claimed before
 *   any state is read, so a duplicate in flight waits for the first and gets its stored result.
 *   The same key with the same request returns the stored result; with a different request,
 *   IDEMPOTENCY_CONFLICT. Failed requests store nothing. A caller's key is stored in the caller's
 *   scope (server/core/idempotency.ts), so it can never be one of the system's keys.
 * - Audit record and outbox event are written in the same transaction as the change.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { BEGIN_KEYED } from "../db/transaction";
import { auditAppendCall, type AuditActor, type AuditInput } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../auth/actor";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { encodeEntry, encodeHold, encodeResult, hashRequest, type StoredResult } from "./codec";
import { assertUuid, itemError, itemsOf, validateCommand } from "./validate";
import { assertSystemIdempotencyKey, storedIdempotencyKey } from "../core/idempotency";
import { answerFromStored, claimKeys, findStored, inProgressError, lockKeysStatement, type StoredRecord } from "./idempotency";
import type {
  Balance,
  EntryResult,
  HoldResult,
  LedgerCommand,
  LedgerItem,
  LedgerResult,
  NormalSide,
  PostingResult,
  Side,
  TransferInput,
} from "./types";
import { readBalances } from "./balances";
import { preparedQuery } from "./prepared";
import { acquireClient, releaseClient } from "./connection";
import { isGroupable, submitToGroup } from "./group-commit";

export { connectError } from "./connection";

/** Balance rows per account without a balance limit. Fixed: accounts are created with this many. */
export const BALANCE_SLOTS = 16;
const MAX_ATTEMPTS = 8;

export interface ExecuteOptions {
  idempotencyKey: string;
  /** Account id → the version the caller last saw; VERSION_CONFLICT if it moved. */
  expectedVersions?: Record<string, bigint>;
  /** Run every check and write, then roll back; the result carries the resulting balances. */
  dryRun?: boolean;
  requestId?: string | null;
  /** The clock for expiry checks and default effective times (tests pass a fixed time). */
  now?: Date;
  /**
   * Group commit (server/ledger/group-commit.ts): false runs this command in a transaction of its
   * own even when LEDGER_GROUP_COMMIT is on. Default: the environment's setting.
   */
  groupCommit?: boolean;
}

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
  slot: number;
}

interface HoldRow {
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

interface EntryRef {
  id: string;
  reversesEntryId: string | null;
  reversedById: string | null;
  postings: PostingResult[];
}

interface OutboxRow {
  topic: string;
  aggregateId: string;
  payload: unknown;
}

const RETRYABLE_PG = new Set(["40001", "40P01"]);

function pgCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

function pgConstraint(e: unknown): string | undefined {
  const c = (e as { constraint?: unknown } | null)?.constraint;
  return typeof c === "string" ? c : undefined;
}


function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The change a posting makes to its account's normal-side balance. */
export function signedAmount(normalSide: NormalSide, side: Side, amountMinor: bigint): bigint {
  return side === normalSide ? amountMinor : -amountMinor;
}

/** The accounts a hold reserves from: those that posting it would decrease. */
export function holdReservedAccounts(hold: { debitAccountId: string; creditAccountId: string }, normalSideOf: (id: string) => NormalSide): string[] {
  const out: string[] = [];
  if (normalSideOf(hold.debitAccountId) === "credit") out.push(hold.debitAccountId);
  if (normalSideOf(hold.creditAccountId) === "debit") out.push(hold.creditAccountId);
  return out;
}

/** Builds the request that is hashed for idempotency: the command and the stated versions. */
function requestOf(command: LedgerCommand, opts: ExecuteOptions): unknown {
  return { command, expectedVersions: opts.expectedVersions ?? null };
}

/**
 * Executes one ledger command (post entry, transfer, place/post/void/expire hold, reverse entry,
 * or a batch of those) atomically.
 *
 * Errors, in the order they are checked (the first failing check wins; inside a batch an item's
 * error is wrapped as BATCH_ITEM_FAILED with details.index and details.code, items in order):
 *  1. BAD_INPUT          malformed command, idempotency key, ids, dates, sizes (pure)
 *  2. UNKNOWN_CURRENCY   a currency that is not ISO 4217 (pure)
 *  3. INVALID_AMOUNT     an amount that is not a positive BIGINT (pure)
 *  4. UNBALANCED         an entry with fewer than two postings or debits <> credits (pure)
 *  5. IDEMPOTENCY_CONFLICT  the key was used with a different request (same request: the stored
 *                        result is returned instead of any error below); IDEMPOTENCY_IN_PROGRESS
 *                        (retryable) when a request with the same key is still running after
 *                        KEY_WAIT_MS
 *  6. NOT_FOUND          a hold, an entry to reverse, or an account that does not exist
 *  7. HOLD_NOT_PENDING   the hold was already posted, voided or expired
 *  8. HOLD_EXPIRED       the hold is past its deadline (post or void), or a hold is placed with an
 *                        expiresAt that is not in the future; BAD_INPUT when expiring a hold
 *                        before its deadline
 *  9. INVALID_AMOUNT     posting more than the hold's amount
 * 10. CANNOT_REVERSE_REVERSAL  the entry to reverse is itself a reversal
 * 11. ALREADY_REVERSED   the entry was reversed before
 * 12. CURRENCY_MISMATCH  a posting's or hold's currency differs from an account's
 * 13. ACCOUNT_FROZEN     a posting to, or a hold on, a frozen account
 * 14. VERSION_CONFLICT   an account's version differs from expectedVersions
 * 15. INSUFFICIENT_FUNDS a no-overdraft account's available balance would go negative (names the
 *                        account, its available amount and the amount requested)
 * DB_UNAVAILABLE (retryable) when the database cannot be reached. Serialization failures and
 * deadlocks are retried (MAX_ATTEMPTS, jittered backoff) and never surface.
 */
export async function executeLedgerCommand(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  command: LedgerCommand,
  opts: ExecuteOptions,
): Promise<LedgerResult> {
  // A request's caller (Actor) keeps its keys in its own scope; internal actors use system keys.
  const scoped = { ...opts, idempotencyKey: storedIdempotencyKey(actor, opts.idempotencyKey) };
  validateCommand(command);
  assertExpectedVersions(scoped);
  const requestHash = hashRequest(requestOf(command, scoped));
  const auditActor = toAuditActor(actor);
  if (isGroupable(command, scoped)) return submitToGroup(db, auditActor, command, scoped, requestHash);
  return executeSingle(db, auditActor, command, scoped, requestHash);
}

/**
 * Runs `attempt` in a transaction on a pooled client. On failure it rolls back (or discards a
 * connection the server dropped) and retries serialization failures and deadlocks, up to
 * MAX_ATTEMPTS times with jittered backoff, so callers never see them. Resolves with the value or
 * with the last failure for the caller to explain; an exhausted pool throws DB_UNAVAILABLE.
 */
export async function runWithRetries<T>(pool: pg.Pool, attempt: (client: pg.PoolClient) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; failure: unknown }> {
  for (let n = 1; ; n++) {
    const client = await acquireClient(pool);
    let failure: unknown;
    let isBroken = false;
    try {
      const value = await attempt(client);
      releaseClient(client);
      return { ok: true, value };
    } catch (e) {
      failure = e;
      if (toAppError(e)?.code === "DB_UNAVAILABLE") isBroken = true;
      else await client.query("ROLLBACK").catch(() => { isBroken = true; });
      releaseClient(client, isBroken);
    }
    const code = pgCode(failure);
    if (code && RETRYABLE_PG.has(code) && n < MAX_ATTEMPTS) {
      await sleep(Math.random() * 4 * n + 1);
      continue;
    }
    return { ok: false, failure };
  }
}

/** Runs one command in its own transaction (retrying serialization failures and deadlocks). */
export async function executeSingle(db: Pick<DbHandles, "pool">, auditActor: AuditActor, command: LedgerCommand, opts: ExecuteOptions, requestHash: string): Promise<LedgerResult> {
  const run = await runWithRetries(db.pool, (client) => runAttempt(client, auditActor, command, opts, requestHash));
  if (run.ok) return run.value;
  const outcome = await explainFailure(db, command, opts, requestHash, run.failure);
  if (outcome instanceof ReplayResult) return outcome.result;
  throw outcome;
}

/**
 * Turns a failed attempt into the error the caller sees. An earlier request with the same key
 * takes precedence over any state-dependent error (its stored result, or IDEMPOTENCY_CONFLICT).
 */
export async function explainFailure(db: Pick<DbHandles, "pool">, command: LedgerCommand, opts: ExecuteOptions, requestHash: string, e: unknown): Promise<unknown> {
  const conn = toAppError(e);
  if (conn?.code === "DB_UNAVAILABLE") return conn;
  // The attempt held the key's claim, so whatever else served this key has finished by now.
  let stored: StoredRecord | undefined;
  try {
    stored = await findStored(db.pool, opts.idempotencyKey);
  } catch (lookupErr) {
    return toAppError(lookupErr) ?? lookupErr;
  }
  if (stored) {
    try {
      return new ReplayResult(answerFromStored(stored, requestHash));
    } catch (conflict) {
      return conflict;
    }
  }
  const code = pgCode(e);
  if (code === "LG010") return inProgressError(opts.idempotencyKey, e);
  const constraint = pgConstraint(e);
  if (code === "23505") {
    if (constraint === "journal_entries_reverses_entry_id_key") {
      const id = command.type === "reverse_entry" ? command.entryId : "the entry";
      return new AppError("ALREADY_REVERSED", `entry ${id} was already reversed`);
    }
    if (constraint === "journal_entries_idempotency_key_key" || constraint === "holds_idempotency_key_key" || constraint === "idempotency_records_pkey") {
      return new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${opts.idempotencyKey} was already used (its stored result has been pruned)`, {
        details: { idempotencyKey: opts.idempotencyKey },
      });
    }
  }
  return mapDbRuleError(e) ?? e;
}

/** Marker thrown through explainFailure so the caller gets a value, not an error. */
export class ReplayResult {
  constructor(readonly result: LedgerResult) {}
}

/** Maps the ledger migration's SQLSTATEs and CHECK names to domain errors. */
export function mapDbRuleError(e: unknown): AppError | null {
  if (e instanceof AppError) return e;
  const code = pgCode(e);
  const msg = (e as Error | null)?.message ?? "";
  switch (code) {
    case "LG001":
      return new AppError("CURRENCY_MISMATCH", msg, { cause: e });
    case "LG002":
      return new AppError("ACCOUNT_FROZEN", msg, { cause: e });
    case "LG004":
      return new AppError("UNBALANCED", msg, { cause: e });
    case "LG005":
      return new AppError("CANNOT_REVERSE_REVERSAL", msg, { cause: e });
    case "LG007":
      return new AppError("HOLD_NOT_PENDING", msg, { cause: e });
    case "23514":
      if (pgConstraint(e) === "account_balances_no_overdraft") return new AppError("INSUFFICIENT_FUNDS", "a no-overdraft account would go negative", { cause: e });
      return null;
    case "22003":
      return new AppError("INVALID_AMOUNT", "an amount or balance would exceed the BIGINT range", { cause: e });
    default:
      return null;
  }
}

async function runAttempt(client: pg.PoolClient, actor: AuditActor, command: LedgerCommand, opts: ExecuteOptions, requestHash: string): Promise<LedgerResult> {
  // BEGIN is its own round trip: folding it into the lock statement (simple protocol, literals)
  // was measured slower, because the lock statement then loses its prepared plan and the database
  // is the bottleneck here (docs/performance.md). Every statement here reaches rows by key.
  // The key is claimed in the same round trip as BEGIN, before any state is read. A dry run writes
  // nothing and claims nothing.
  await client.query(opts.dryRun ? BEGIN_KEYED : `${BEGIN_KEYED}; ${lockKeysStatement([opts.idempotencyKey])}`);
  const { result, accountIds } = await applyCommand(client, actor, command, opts, requestHash);
  if (opts.dryRun) {
    // Constraint triggers fire now, so a dry run also proves the commit would succeed.
    await client.query("SET CONSTRAINTS ALL IMMEDIATE");
    result.balances = await readBalances(pgRunner(client), accountIds);
    await client.query("ROLLBACK");
    return result;
  }
  await client.query("COMMIT");
  return result;
}

/**
 * Executes one ledger command inside a transaction the caller opened (runTransaction in
 * server/db/transaction.ts), so that another domain can change its own rows and move money
 * atomically: a transfer's state and its hold, an approved adjustment and its entry. It neither
 * commits nor rolls back; on any error the caller's transaction must be rolled back.
 *
 * Same checks, in the same order, as executeLedgerCommand. The key is one of the system's own
 * (callers' keys come through executeLedgerCommand) and is claimed first: the same key and request
 * return the stored result (isReplay), a different request is IDEMPOTENCY_CONFLICT, a request with
 * the same key still running elsewhere is waited for. A dryRun claims nothing, runs inside a
 * savepoint and rolls back to it.
 * Serialization failures, deadlocks and a concurrent insert of the same key are rethrown as the
 * database reported them so that runTransaction retries the whole transaction; other database
 * rule violations are mapped to domain errors.
 */
export async function executeLedgerCommandInTransaction(
  client: pg.PoolClient,
  actor: Actor | AuditActor,
  command: LedgerCommand,
  opts: Omit<ExecuteOptions, "groupCommit">,
): Promise<LedgerResult> {
  assertSystemIdempotencyKey(opts.idempotencyKey);
  validateCommand(command);
  assertExpectedVersions(opts);
  const requestHash = hashRequest(requestOf(command, opts));
  if (!opts.dryRun) {
    let stored: StoredRecord | undefined;
    try {
      stored = (await claimKeys(client, [opts.idempotencyKey])).get(opts.idempotencyKey);
    } catch (e) {
      if (pgCode(e) === "LG010") throw inProgressError(opts.idempotencyKey, e);
      throw e;
    }
    if (stored) return answerFromStored(stored, requestHash);
  }
  try {
    if (opts.dryRun) await client.query("SAVEPOINT ledger_dry_run");
    const { result, accountIds } = await applyCommand(client, toAuditActor(actor), command, opts, requestHash);
    if (opts.dryRun) {
      await client.query("SET CONSTRAINTS ALL IMMEDIATE");
      result.balances = await readBalances(pgRunner(client), accountIds);
      await client.query("ROLLBACK TO SAVEPOINT ledger_dry_run");
      await client.query("SET CONSTRAINTS ALL DEFERRED");
    }
    return result;
  } catch (e) {
    const code = pgCode(e);
    const constraint = pgConstraint(e);
    // An entry or hold key taken by another request is not a race here (the command's key is
    // claimed, and callers' keys can never be system keys): it is a conflict inside the system,
    // typed and loud, never retried into a raw database error.
    if (code === "23505" && (constraint === "journal_entries_idempotency_key_key" || constraint === "holds_idempotency_key_key")) throw internalKeyConflict(e);
    if (code && (RETRYABLE_PG.has(code) || code === "23505")) throw e;
    throw mapDbRuleError(e) ?? toAppError(e) ?? e;
  }
}

/** IDEMPOTENCY_CONFLICT for a system key already used by another entry or hold (from the 23505). */
function internalKeyConflict(e: unknown): AppError {
  const detail = (e as { detail?: unknown }).detail;
  const key = typeof detail === "string" ? (/=\((.*)\) already exists/.exec(detail)?.[1] ?? "unknown") : "unknown";
  return new AppError("IDEMPOTENCY_CONFLICT", `internal idempotency conflict: ledger key ${key} is already used by another entry or hold`, {
    cause: e,
    details: { idempotencyKey: key, isInternal: true },
  });
}

function assertExpectedVersions(opts: Pick<ExecuteOptions, "expectedVersions">): void {
  for (const [id, v] of Object.entries(opts.expectedVersions ?? {})) {
    assertUuid(id, "expectedVersions key");
    if (typeof v !== "bigint" || v < 0n) throw new AppError("BAD_INPUT", `expectedVersions[${id}] must be a non-negative bigint`);
  }
}

/** Checks and writes one command on an open transaction; see executeLedgerCommand for the order. */
async function applyCommand(
  client: pg.PoolClient,
  actor: AuditActor,
  command: LedgerCommand,
  opts: Omit<ExecuteOptions, "groupCommit">,
  requestHash: string,
): Promise<{ result: LedgerResult; accountIds: string[] }> {
  const now = opts.now ?? new Date();
  const items = itemsOf(command);
  const isBatch = command.type === "batch";
  const keyOf = (i: number) => (isBatch ? (command.itemKeys?.[i] ?? `${opts.idempotencyKey}#${i}`) : opts.idempotencyKey);
  const fail = (i: number, e: AppError): never => {
    throw itemError(command, i, e);
  };

  // --- Lock holds (by id) and read entries to reverse. -----------------------------------------
  const placedIds = new Map<number, string>();
  items.forEach((it, i) => {
    if (it.type === "place_hold") placedIds.set(i, (it.holdId ?? randomUUID()).toLowerCase());
  });
  const placedSet = new Set(placedIds.values());
  const holdIds = [
    ...new Set(
      items.flatMap((it) => (it.type === "post_hold" || it.type === "void_hold" || it.type === "expire_hold" ? [it.holdId.toLowerCase()] : [])).filter((id) => !placedSet.has(id)),
    ),
  ].sort();
  const holds = new Map<string, HoldRow>();
  if (holdIds.length > 0) {
    const res = await preparedQuery(
      client,
      `SELECT id, debit_account_id, credit_account_id, amount_minor::text, amount_posted_minor::text, currency, status,
              expires_at, posted_entry_id, reference, description, idempotency_key
         FROM holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [holdIds],
    );
    for (const r of res.rows) {
      holds.set(r.id, {
        id: r.id,
        debitAccountId: r.debit_account_id,
        creditAccountId: r.credit_account_id,
        amountMinor: BigInt(r.amount_minor),
        amountPostedMinor: BigInt(r.amount_posted_minor),
        currency: r.currency,
        status: r.status,
        expiresAt: r.expires_at,
        postedEntryId: r.posted_entry_id,
        isNew: false,
        isChanged: false,
        reference: r.reference,
        description: r.description,
        idempotencyKey: r.idempotency_key,
      });
    }
  }
  const reverseIds = [...new Set(items.flatMap((it) => (it.type === "reverse_entry" ? [it.entryId.toLowerCase()] : [])))];
  const entriesToReverse = new Map<string, EntryRef>();
  if (reverseIds.length > 0) {
    const res = await preparedQuery(
      client,
      `SELECT e.id, e.reverses_entry_id, r.id AS reversed_by, p.account_id, p.side, p.amount_minor::text, p.currency
         FROM journal_entries e
         LEFT JOIN journal_entries r ON r.reverses_entry_id = e.id
         JOIN postings p ON p.entry_id = e.id
        WHERE e.id = ANY($1::uuid[]) ORDER BY p.id`,
      [reverseIds],
    );
    for (const r of res.rows) {
      let ref = entriesToReverse.get(r.id);
      if (!ref) {
        ref = { id: r.id, reversesEntryId: r.reverses_entry_id, reversedById: r.reversed_by, postings: [] };
        entriesToReverse.set(r.id, ref);
      }
      ref.postings.push({ accountId: r.account_id, side: r.side, amountMinor: BigInt(r.amount_minor), currency: r.currency });
    }
  }

  // --- NOT_FOUND for holds and entries (6). ----------------------------------------------------
  items.forEach((it, i) => {
    if ((it.type === "post_hold" || it.type === "void_hold" || it.type === "expire_hold") && !placedSet.has(it.holdId.toLowerCase()) && !holds.has(it.holdId.toLowerCase())) {
      fail(i, new AppError("NOT_FOUND", `hold ${it.holdId} does not exist`, { details: { holdId: it.holdId } }));
    }
    if (it.type === "reverse_entry" && !entriesToReverse.has(it.entryId.toLowerCase())) {
      fail(i, new AppError("NOT_FOUND", `entry ${it.entryId} does not exist`, { details: { entryId: it.entryId } }));
    }
  });

  // --- Lock balance rows of every account involved, in (account id, slot) order. -------------
  const accountIds = new Set<string>();
  for (const it of items) {
    switch (it.type) {
      case "post_entry":
        for (const p of it.entry.postings) accountIds.add(p.accountId.toLowerCase());
        break;
      case "transfer":
      case "place_hold":
        accountIds.add(it.debitAccountId.toLowerCase());
        accountIds.add(it.creditAccountId.toLowerCase());
        break;
      case "post_hold":
      case "void_hold":
      case "expire_hold": {
        const h = holds.get(it.holdId.toLowerCase());
        if (h) {
          accountIds.add(h.debitAccountId);
          accountIds.add(h.creditAccountId);
        }
        break;
      }
      case "reverse_entry":
        for (const p of entriesToReverse.get(it.entryId.toLowerCase())?.postings ?? []) accountIds.add(p.accountId);
        break;
    }
  }
  const wholeIds = Object.keys(opts.expectedVersions ?? {}).map((s) => s.toLowerCase());
  for (const id of wholeIds) accountIds.add(id);
  const accounts = await lockAccounts(client, accountIds, wholeIds);
  const accountOf = (id: string) => accounts.get(id.toLowerCase())!;

  // --- NOT_FOUND for accounts (6). -------------------------------------------------------------
  const missingIn = (i: number, ids: string[]) => {
    for (const id of ids) if (!accounts.has(id.toLowerCase())) fail(i, new AppError("NOT_FOUND", `account ${id} does not exist`, { details: { accountId: id } }));
  };
  items.forEach((it, i) => {
    if (it.type === "post_entry") missingIn(i, it.entry.postings.map((p) => p.accountId));
    if (it.type === "transfer" || it.type === "place_hold") missingIn(i, [it.debitAccountId, it.creditAccountId]);
  });
  for (const id of wholeIds) {
    if (!accounts.has(id)) throw new AppError("NOT_FOUND", `account ${id} named in expectedVersions does not exist`, { details: { accountId: id } });
  }

  // --- Hold states (7, 8, 9) and reversal rules (10, 11). -------------------------------------
  // Holds placed earlier in the same batch are visible to later items, so simulate in order.
  const simHolds = new Map<string, HoldRow>(holds);
  const placedInBatch = new Map<string, HoldRow>();
  items.forEach((it, i) => {
    if (it.type === "place_hold") {
      const id = placedIds.get(i)!;
      const row: HoldRow = {
        id,
        debitAccountId: it.debitAccountId.toLowerCase(),
        creditAccountId: it.creditAccountId.toLowerCase(),
        amountMinor: it.amountMinor,
        amountPostedMinor: 0n,
        currency: it.currency,
        status: "pending",
        expiresAt: it.expiresAt,
        postedEntryId: null,
        isNew: true,
        isChanged: true,
        reference: it.reference ?? null,
        description: it.description ?? "",
        idempotencyKey: keyOf(i),
      };
      if (simHolds.has(id)) fail(i, new AppError("BAD_INPUT", `hold ${id} is placed twice in this batch`));
      // A hold that is already due could never be posted, yet would reserve money until the
      // expiry job ran.
      if (it.expiresAt.getTime() <= now.getTime()) {
        fail(i, new AppError("HOLD_EXPIRED", `hold would expire at ${it.expiresAt.toISOString()}, which is not after now (${now.toISOString()})`, {
          details: { expiresAt: it.expiresAt.toISOString(), now: now.toISOString() },
        }));
      }
      simHolds.set(id, row);
      placedInBatch.set(id, row);
      return;
    }
    if (it.type === "post_hold" || it.type === "void_hold" || it.type === "expire_hold") {
      const h = simHolds.get(it.holdId.toLowerCase());
      if (!h) return fail(i, new AppError("NOT_FOUND", `hold ${it.holdId} does not exist`));
      if (h.status !== "pending") fail(i, new AppError("HOLD_NOT_PENDING", `hold ${h.id} is already ${h.status}`, { details: { holdId: h.id, status: h.status } }));
      const isDue = h.expiresAt.getTime() <= now.getTime();
      if (it.type === "expire_hold") {
        if (!isDue) fail(i, new AppError("BAD_INPUT", `hold ${h.id} does not expire until ${h.expiresAt.toISOString()}`, { details: { holdId: h.id } }));
      } else if (isDue) {
        fail(i, new AppError("HOLD_EXPIRED", `hold ${h.id} expired at ${h.expiresAt.toISOString()}`, { details: { holdId: h.id, expiresAt: h.expiresAt.toISOString() } }));
      }
      if (it.type === "post_hold" && it.amountMinor !== undefined && it.amountMinor > h.amountMinor) {
        fail(i, new AppError("INVALID_AMOUNT", `cannot post ${it.amountMinor} against hold ${h.id} of ${h.amountMinor}`, {
          details: { holdId: h.id, requestedMinor: it.amountMinor.toString(), holdAmountMinor: h.amountMinor.toString() },
        }));
      }
      h.status = it.type === "post_hold" ? "posted" : it.type === "void_hold" ? "voided" : "expired";
      h.isChanged = true;
      return;
    }
    if (it.type === "reverse_entry") {
      const ref = entriesToReverse.get(it.entryId.toLowerCase())!;
      if (ref.reversesEntryId) fail(i, new AppError("CANNOT_REVERSE_REVERSAL", `entry ${ref.id} is itself a reversal of ${ref.reversesEntryId} and cannot be reversed`));
      if (ref.reversedById) fail(i, new AppError("ALREADY_REVERSED", `entry ${ref.id} was already reversed by entry ${ref.reversedById}`, { details: { reversedBy: ref.reversedById } }));
      if (items.some((o, j) => j < i && o.type === "reverse_entry" && o.entryId.toLowerCase() === ref.id)) {
        fail(i, new AppError("ALREADY_REVERSED", `entry ${ref.id} is reversed twice in this batch`));
      }
    }
  });
  // Reset simulated hold states; the effects pass below re-applies them in order.
  for (const h of holds.values()) {
    h.status = "pending";
    h.isChanged = false;
  }

  // --- Build entries and hold changes (pure from here on, except the final writes). -----------
  const entries: EntryResult[] = [];
  // Caller-supplied metadata per new entry id; stored on the entry, not echoed in results.
  const entryMetadata = new Map<string, Record<string, unknown>>();
  const effectsPerItem: { postings: PostingResult[]; pending: Map<string, bigint>; entryIndex: number | null; holdId: string | null }[] = [];
  const holdsById = new Map<string, HoldRow>([...holds, ...placedInBatch]);
  for (const h of placedInBatch.values()) {
    h.status = "pending";
  }
  const normalSideOf = (id: string) => accountOf(id).normalSide;
  items.forEach((it, i) => {
    const pending = new Map<string, bigint>();
    let postings: PostingResult[] = [];
    let entryMeta: { description: string; effectiveAt: Date; reversesEntryId: string | null } | null = null;
    let metadata: Record<string, unknown> | undefined;
    let holdId: string | null = null;
    switch (it.type) {
      case "post_entry":
        postings = it.entry.postings.map((p) => ({ accountId: p.accountId.toLowerCase(), side: p.side, amountMinor: p.amountMinor, currency: p.currency }));
        entryMeta = { description: it.entry.description ?? "", effectiveAt: it.entry.effectiveAt ?? now, reversesEntryId: null };
        metadata = it.entry.metadata;
        break;
      case "transfer":
        postings = transferPostings(it);
        entryMeta = { description: it.description ?? "", effectiveAt: it.effectiveAt ?? now, reversesEntryId: null };
        metadata = it.metadata;
        break;
      case "place_hold": {
        const h = holdsById.get(placedIds.get(i)!)!;
        holdId = h.id;
        for (const a of holdReservedAccounts(h, normalSideOf)) pending.set(a, (pending.get(a) ?? 0n) + h.amountMinor);
        break;
      }
      case "post_hold":
      case "void_hold":
      case "expire_hold": {
        const h = holdsById.get(it.holdId.toLowerCase())!;
        holdId = h.id;
        for (const a of holdReservedAccounts(h, normalSideOf)) pending.set(a, (pending.get(a) ?? 0n) - h.amountMinor);
        h.isChanged = true;
        if (it.type === "post_hold") {
          const amount = it.amountMinor ?? h.amountMinor;
          h.status = "posted";
          h.amountPostedMinor = amount;
          postings = [
            { accountId: h.debitAccountId, side: "debit", amountMinor: amount, currency: h.currency },
            { accountId: h.creditAccountId, side: "credit", amountMinor: amount, currency: h.currency },
          ];
          entryMeta = { description: it.description ?? h.description, effectiveAt: it.effectiveAt ?? now, reversesEntryId: null };
        } else {
          h.status = it.type === "void_hold" ? "voided" : "expired";
        }
        break;
      }
      case "reverse_entry": {
        const ref = entriesToReverse.get(it.entryId.toLowerCase())!;
        postings = ref.postings.map((p) => ({ ...p, side: p.side === "debit" ? "credit" : "debit" }));
        entryMeta = { description: it.description ?? `reversal of ${ref.id}`, effectiveAt: it.effectiveAt ?? now, reversesEntryId: ref.id };
        break;
      }
    }
    let entryIndex: number | null = null;
    if (entryMeta) {
      entryIndex = entries.length;
      const entryId = randomUUID();
      entries.push({ entryId, idempotencyKey: keyOf(i), ...entryMeta, postings });
      if (metadata && Object.keys(metadata).length > 0) entryMetadata.set(entryId, metadata);
      if (it.type === "post_hold") holdsById.get(it.holdId.toLowerCase())!.postedEntryId = entryId;
    }
    effectsPerItem.push({ postings, pending, entryIndex, holdId });
  });

  // --- CURRENCY_MISMATCH (12) and ACCOUNT_FROZEN (13). ----------------------------------------
  items.forEach((it, i) => {
    const eff = effectsPerItem[i]!;
    for (const p of eff.postings) {
      const a = accountOf(p.accountId);
      if (a.currency !== p.currency) fail(i, new AppError("CURRENCY_MISMATCH", `posting in ${p.currency} to account ${a.code} which holds ${a.currency}`, { details: { accountId: a.id, accountCurrency: a.currency, currency: p.currency } }));
    }
    if (it.type === "place_hold") {
      for (const id of [it.debitAccountId, it.creditAccountId]) {
        const a = accountOf(id);
        if (a.currency !== it.currency) fail(i, new AppError("CURRENCY_MISMATCH", `hold in ${it.currency} on account ${a.code} which holds ${a.currency}`, { details: { accountId: a.id, accountCurrency: a.currency, currency: it.currency } }));
      }
    }
  });
  items.forEach((it, i) => {
    const eff = effectsPerItem[i]!;
    const ids = new Set(eff.postings.map((p) => p.accountId));
    if (it.type === "place_hold") {
      ids.add(it.debitAccountId.toLowerCase());
      ids.add(it.creditAccountId.toLowerCase());
    }
    for (const id of ids) {
      const a = accountOf(id);
      if (a.status === "frozen") fail(i, new AppError("ACCOUNT_FROZEN", `account ${a.code} is frozen`, { details: { accountId: a.id, code: a.code } }));
    }
  });

  // --- VERSION_CONFLICT (14). -----------------------------------------------------------------
  for (const [id, expected] of Object.entries(opts.expectedVersions ?? {})) {
    const a = accountOf(id);
    if (a.version !== expected) {
      throw new AppError("VERSION_CONFLICT", `account ${a.code} is at version ${a.version}, not the expected ${expected}`, {
        details: { accountId: a.id, expectedVersion: expected.toString(), actualVersion: a.version.toString() },
      });
    }
  }

  // --- INSUFFICIENT_FUNDS (15): apply items in order to the exact balances. -------------------
  const postedDelta = new Map<string, bigint>();
  const pendingDelta = new Map<string, bigint>();
  items.forEach((_it, i) => {
    const eff = effectsPerItem[i]!;
    const decrease = new Map<string, bigint>();
    for (const p of eff.postings) {
      const a = accountOf(p.accountId);
      const s = signedAmount(a.normalSide, p.side, p.amountMinor);
      postedDelta.set(a.id, (postedDelta.get(a.id) ?? 0n) + s);
      decrease.set(a.id, (decrease.get(a.id) ?? 0n) - s);
    }
    for (const [id, d] of eff.pending) {
      pendingDelta.set(id, (pendingDelta.get(id) ?? 0n) + d);
      decrease.set(id, (decrease.get(id) ?? 0n) + d);
    }
    for (const [id, dec] of decrease) {
      const a = accountOf(id);
      if (!a.isNoOverdraft || dec <= 0n) continue;
      const after = a.postedMinor + (postedDelta.get(id) ?? 0n) - a.pendingMinor - (pendingDelta.get(id) ?? 0n);
      const before = after + dec;
      if (after < 0n) {
        fail(i, new AppError("INSUFFICIENT_FUNDS", `account ${a.code} has ${before} available, ${dec} requested (${a.currency} minor units)`, {
          details: { accountId: a.id, code: a.code, availableMinor: before.toString(), requestedMinor: dec.toString(), currency: a.currency },
        }));
      }
    }
  });

  // --- Write everything in one statement. -----------------------------------------------------
  const holdResults: HoldResult[] = [...holdsById.values()].filter((h) => h.isChanged).map(toHoldResult);
  const result: LedgerResult = {
    commandType: command.type,
    idempotencyKey: opts.idempotencyKey,
    entries,
    holds: holdResults,
    isReplay: false,
    isDryRun: opts.dryRun === true,
  };
  const touched = new Set<string>([...postedDelta.keys(), ...pendingDelta.keys()]);
  const outbox: OutboxRow[] = [
    ...entries.map((e) => ({ topic: "ledger.entry.posted", aggregateId: e.entryId, payload: encodeEntry(e) })),
    ...holdResults.map((h) => ({ topic: `ledger.hold.${h.status === "pending" ? "placed" : h.status}`, aggregateId: h.holdId, payload: encodeHold(h) })),
  ];
  const writePlan = {
    entries,
    holds: [...holdsById.values()].filter((h) => h.isChanged),
    balances: [...touched].sort().map((id) => ({
      accountId: id,
      slot: accountOf(id).slot,
      postedDelta: postedDelta.get(id) ?? 0n,
      pendingDelta: pendingDelta.get(id) ?? 0n,
    })),
    outbox,
    idempotency: { key: opts.idempotencyKey, requestHash, commandType: command.type, response: encodeResult(result) },
    now,
  };

  // --- Write everything, the audit record included, in one statement (one round trip). The audit
  // append comes last in the transaction, so its lane lock is held only until COMMIT.
  const target = entries[0] ? { type: "journal_entry", id: entries[0].entryId } : { type: "hold", id: holdResults[0]?.holdId ?? null };
  await writeAll(client, {
    ...writePlan,
    entryMetadata,
    audit: {
      actor,
      action: `ledger.${command.type}`,
      targetType: isBatch ? "ledger_batch" : target.type,
      targetId: isBatch ? opts.idempotencyKey : target.id,
      before: isBatch ? null : holds.size > 0 ? [...holds.values()].map((h) => ({ holdId: h.id, status: "pending" })) : null,
      after: isBatch
        ? { items: items.length, entryIds: entries.map((e) => e.entryId), holdIds: holdResults.map((h) => h.holdId) }
        : { entries: entries.map(encodeEntry), holds: holdResults.map(encodeHold) },
      requestId: opts.requestId ?? null,
      at: now,
    },
  });

  return { result, accountIds: [...accountIds].sort() };
}

/**
 * Locks the balance rows of the given accounts and returns them with their account data. Whole
 * accounts (no-overdraft: their one row; or named in wholeIds: every slot) are locked waiting, in
 * (account id, slot) order; every other account takes one free slot. Accounts that do not exist
 * are absent from the result.
 */
export async function lockAccounts(client: pg.PoolClient, accountIds: Set<string>, wholeIds: string[]): Promise<Map<string, AccountRow>> {
  const slot = Math.floor(Math.random() * BALANCE_SLOTS);
  // Whole accounts (no-overdraft: their one row; or named in expectedVersions: every slot) are
  // locked waiting, in (account id, slot) order. Every other account takes one FREE slot
  // (SKIP LOCKED, starting from a random one), so concurrent writers to a hot account spread over
  // its slots instead of queueing on a busy one; only if all its slots are busy does the writer
  // wait, on a random slot (the fallback below).
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

function toHoldResult(h: HoldRow): HoldResult {
  return {
    holdId: h.id,
    debitAccountId: h.debitAccountId,
    creditAccountId: h.creditAccountId,
    amountMinor: h.amountMinor,
    amountPostedMinor: h.amountPostedMinor,
    currency: h.currency,
    status: h.status,
    expiresAt: h.expiresAt,
    postedEntryId: h.postedEntryId,
  };
}

export function transferPostings(t: TransferInput): PostingResult[] {
  return [
    { accountId: t.debitAccountId.toLowerCase(), side: "debit", amountMinor: t.amountMinor, currency: t.currency },
    { accountId: t.creditAccountId.toLowerCase(), side: "credit", amountMinor: t.amountMinor, currency: t.currency },
  ];
}

interface WritePlan {
  entries: EntryResult[];
  entryMetadata?: Map<string, Record<string, unknown>>;
  holds: HoldRow[];
  balances: { accountId: string; slot: number; postedDelta: bigint; pendingDelta: bigint }[];
  outbox: OutboxRow[];
  idempotency: { key: string; requestHash: string; commandType: string; response: StoredResult };
  now: Date;
  audit: AuditInput;
}

/** One round trip: entries, postings, balance deltas, holds, outbox, the idempotency record and the audit record. */
async function writeAll(client: pg.PoolClient, plan: WritePlan): Promise<void> {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const ctes: string[] = [];
  if (plan.entries.length > 0) {
    ctes.push(`e AS (INSERT INTO journal_entries (id, idempotency_key, description, effective_at, created_at, reverses_entry_id, metadata)
      SELECT * FROM unnest(${p(plan.entries.map((e) => e.entryId))}::uuid[], ${p(plan.entries.map((e) => e.idempotencyKey))}::text[],
        ${p(plan.entries.map((e) => e.description))}::text[], ${p(plan.entries.map((e) => e.effectiveAt.toISOString()))}::timestamptz[],
        ${p(plan.entries.map(() => plan.now.toISOString()))}::timestamptz[], ${p(plan.entries.map((e) => e.reversesEntryId))}::uuid[],
        ${p(plan.entries.map((e) => JSON.stringify(plan.entryMetadata?.get(e.entryId) ?? {})))}::jsonb[]))`);
    const flat = plan.entries.flatMap((e) => e.postings.map((x) => ({ entryId: e.entryId, ...x })));
    ctes.push(`p AS (INSERT INTO postings (entry_id, account_id, side, amount_minor, currency)
      SELECT * FROM unnest(${p(flat.map((x) => x.entryId))}::uuid[], ${p(flat.map((x) => x.accountId))}::uuid[],
        ${p(flat.map((x) => x.side))}::posting_side[], ${p(flat.map((x) => x.amountMinor.toString()))}::bigint[], ${p(flat.map((x) => x.currency))}::char(3)[]))`);
  }
  if (plan.balances.length > 0) {
    ctes.push(`b AS (UPDATE account_balances ab SET posted_minor = ab.posted_minor + d.posted, pending_minor = ab.pending_minor + d.pending, version = ab.version + 1
      FROM unnest(${p(plan.balances.map((x) => x.accountId))}::uuid[], ${p(plan.balances.map((x) => x.slot))}::int[],
        ${p(plan.balances.map((x) => x.postedDelta.toString()))}::bigint[], ${p(plan.balances.map((x) => x.pendingDelta.toString()))}::bigint[]) AS d(account_id, slot, posted, pending)
      WHERE ab.account_id = d.account_id AND ab.slot = d.slot)`);
  }
  const newHolds = plan.holds.filter((h) => h.isNew);
  const changedHolds = plan.holds.filter((h) => !h.isNew);
  if (newHolds.length > 0) {
    const ended = (h: HoldRow) => (h.status === "pending" ? null : plan.now.toISOString());
    ctes.push(`hi AS (INSERT INTO holds (id, debit_account_id, credit_account_id, amount_minor, currency, status, amount_posted_minor, expires_at,
        idempotency_key, reference, description, posted_entry_id, created_at, ended_at)
      SELECT * FROM unnest(${p(newHolds.map((h) => h.id))}::uuid[], ${p(newHolds.map((h) => h.debitAccountId))}::uuid[], ${p(newHolds.map((h) => h.creditAccountId))}::uuid[],
        ${p(newHolds.map((h) => h.amountMinor.toString()))}::bigint[], ${p(newHolds.map((h) => h.currency))}::char(3)[], ${p(newHolds.map((h) => h.status))}::hold_status[],
        ${p(newHolds.map((h) => h.amountPostedMinor.toString()))}::bigint[], ${p(newHolds.map((h) => h.expiresAt.toISOString()))}::timestamptz[],
        ${p(newHolds.map((h) => h.idempotencyKey))}::text[], ${p(newHolds.map((h) => h.reference))}::text[], ${p(newHolds.map((h) => h.description))}::text[],
        ${p(newHolds.map((h) => h.postedEntryId))}::uuid[], ${p(newHolds.map(() => plan.now.toISOString()))}::timestamptz[], ${p(newHolds.map(ended))}::timestamptz[]))`);
  }
  if (changedHolds.length > 0) {
    ctes.push(`hu AS (UPDATE holds h SET status = d.status, amount_posted_minor = d.posted, posted_entry_id = d.entry_id, ended_at = d.ended_at
      FROM unnest(${p(changedHolds.map((h) => h.id))}::uuid[], ${p(changedHolds.map((h) => h.status))}::hold_status[],
        ${p(changedHolds.map((h) => h.amountPostedMinor.toString()))}::bigint[], ${p(changedHolds.map((h) => h.postedEntryId))}::uuid[],
        ${p(changedHolds.map(() => plan.now.toISOString()))}::timestamptz[]) AS d(id, status, posted, entry_id, ended_at)
      WHERE h.id = d.id)`);
  }
  if (plan.outbox.length > 0) {
    ctes.push(`o AS (INSERT INTO outbox_events (topic, aggregate_id, payload, created_at)
      SELECT t, a, pl, ${p(plan.now.toISOString())}::timestamptz FROM unnest(${p(plan.outbox.map((x) => x.topic))}::text[], ${p(plan.outbox.map((x) => x.aggregateId))}::text[],
        ${p(plan.outbox.map((x) => JSON.stringify(x.payload)))}::jsonb[]) AS x(t, a, pl))`);
  }
  const i = plan.idempotency;
  const sql = `WITH ${ctes.length > 0 ? `${ctes.join(",\n")},\n` : ""}i AS (INSERT INTO idempotency_records (key, request_hash, command_type, response, created_at)
    VALUES (${p(i.key)}, ${p(i.requestHash)}, ${p(i.commandType)}, ${p(JSON.stringify(i.response))}::jsonb, ${p(plan.now.toISOString())}::timestamptz)),
    au AS (SELECT id FROM ${auditAppendCall(plan.audit, p)})
    SELECT (SELECT id FROM au) AS audit_id`;
  await preparedQuery(client, sql, params);
}

/** The two-leg convenience the transfers domain and the benchmark call: one entry, two postings. */
export async function transfer(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: TransferInput & { idempotencyKey: string; requestId?: string | null; dryRun?: boolean; expectedVersions?: Record<string, bigint>; groupCommit?: boolean },
): Promise<LedgerResult> {
  const { idempotencyKey, requestId, dryRun, expectedVersions, groupCommit, ...t } = input;
  return executeLedgerCommand(db, actor, { type: "transfer", ...t }, { idempotencyKey, requestId, dryRun, expectedVersions, groupCommit });
}

export type { LedgerItem, Balance };
