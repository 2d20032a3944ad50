/**
 * The ledger's one write path. Every change to entries, postings, holds and balances goes through
 * executeLedgerCommand (or, inside another domain's transaction, executeLedgerCommandInTransaction);
 * nothing else in the codebase writes those tables. The path, in order:
 *   validate (validate.ts) → claim the idempotency key (idempotency.ts) → read and lock (state.ts)
 *   → check the rules in order (rules.ts) → plan (planner.ts) → write in one statement (writer.ts)
 *   → commit; concurrent single transfers and entries share the transaction (group-commit.ts).
 *
 * Invariants kept (the database enforces most of them again; see the ledger migration):
 * - Double entry: every entry has two or more postings and balances per currency.
 * - Append only: entries and postings are only inserted; corrections are reversing entries.
 * - Balances are derived: each write changes balance rows by exactly the signed sum of the
 *   postings and hold reservations it writes, in the same transaction.
 * - No-overdraft accounts are checked against exact balances under any concurrency (state.ts).
 * - Idempotency: a key is applied at most once, and claimed before any state is read, so a
 *   duplicate in flight waits for the first and gets its stored result. The same key with the same
 *   request returns the stored result; with a different request, IDEMPOTENCY_CONFLICT. Failed
 *   requests store nothing. A caller's key is stored in the caller's scope
 *   (server/core/idempotency.ts), so it can never be one of the system's keys.
 * - Audit record and outbox event are written in the same transaction as the change.
 * - Serialization failures and deadlocks are retried (retryTransaction) and never reach the caller.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { BEGIN_KEYED, isSerializationFailure, retryTransaction } from "../db/transaction";
import type { AuditActor } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../core/actor";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { env } from "../env";
import { hashRequest } from "./codec";
import { validateCommand } from "./validate";
import { assertUuid } from "../core/validate";
import { assertSystemIdempotencyKey, storedIdempotencyKey } from "../core/idempotency";
import { answerFromStored, claimKeys, inProgressError, lockKeysStatement } from "./idempotency";
import { explainFailure, internalKeyConflict, mapDbRuleError, pgCode, pgConstraint, ReplayResult } from "./failures";
import { applyCommand, applyGroup, type GroupMember, type Outcome } from "./apply";
import { assertMayDebit, hasDebitLimits } from "../core/debit-limits";
import { GroupCommitter, isGroupable, type GroupCommitStats } from "./group-commit";
import { readBalances } from "./balances";
import type { Balance, LedgerCommand, LedgerItem, LedgerResult, TransferInput } from "./types";

export { BALANCE_SLOTS } from "./state";
export { mapDbRuleError } from "./failures";
export { connectError } from "../db/connection";

export interface ExecuteOptions {
  idempotencyKey: string;
  /** Account id → the version the caller last saw; VERSION_CONFLICT if it moved. */
  expectedVersions?: Record<string, bigint>;
  /** Run every check and write, then roll back; the result carries the resulting balances. */
  dryRun?: boolean;
  requestId?: string | null;
  /** The clock for expiry checks and default effective times (tests pass a fixed time). */
  now?: Date;
  /** Group commit: false runs this command in a transaction of its own even when LEDGER_GROUP_COMMIT is on. */
  groupCommit?: boolean;
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
 *  1. BAD_INPUT          malformed command, idempotency key, ids, dates, sizes, text; the same
 *                        account on both sides of a transfer, hold or entry (pure)
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
 * 11a. FORBIDDEN        a service key limited to some accounts or currencies debits outside them
 *                        (server/core/debit-limits.ts; names the account)
 * 12. CURRENCY_MISMATCH  a posting's or hold's currency differs from an account's
 * 13. ACCOUNT_FROZEN     a posting to, or a hold on, a frozen account
 * 14. VERSION_CONFLICT   an account's version differs from expectedVersions
 * 15. INSUFFICIENT_FUNDS a no-overdraft account's available balance would go negative (names the
 *                        account, its available amount and the amount requested)
 * DB_UNAVAILABLE (retryable) when the database cannot be reached.
 */
export async function executeLedgerCommand(db: Pick<DbHandles, "pool">, actor: Actor | AuditActor, command: LedgerCommand, opts: ExecuteOptions): Promise<LedgerResult> {
  // A request's caller (Actor) keeps its keys in its own scope; internal actors use system keys.
  const scoped = {
    ...opts,
    idempotencyKey: storedIdempotencyKey(actor, opts.idempotencyKey),
    // A service key limited to some accounts or currencies is held to them on every write.
    ...(hasDebitLimits(actor) ? { assertMayDebit: (debits: { accountCode: string; currency: string }[]) => assertMayDebit(actor, debits) } : {}),
  };
  validateCommand(command);
  assertExpectedVersions(scoped);
  const member = { actor: toAuditActor(actor), command, opts: scoped, requestHash: hashRequest(requestOf(command, scoped)) };
  const committer = committerFor(db);
  if (isGroupable(command, scoped, committer.isEnabled)) return committer.submit(member as GroupMember);
  return executeSingle(db, member);
}

/** Runs one command in its own transaction; a failure is explained by explainFailure. */
async function executeSingle(db: Pick<DbHandles, "pool">, m: { actor: AuditActor; command: LedgerCommand; opts: ExecuteOptions; requestHash: string }): Promise<LedgerResult> {
  const run = await retryTransaction(db.pool, (client) => runAttempt(client, m.actor, m.command, m.opts, m.requestHash));
  if (run.ok) return run.value;
  const outcome = await explainFailure(db.pool, m.command, m.opts.idempotencyKey, m.requestHash, run.failure);
  if (outcome instanceof ReplayResult) return outcome.result;
  throw outcome;
}

async function runAttempt(client: pg.PoolClient, actor: AuditActor, command: LedgerCommand, opts: ExecuteOptions, requestHash: string): Promise<LedgerResult> {
  // The key is claimed in the same round trip as BEGIN, before any state is read. A dry run writes
  // nothing and claims nothing. (BEGIN stays a round trip of its own: folded into the lock
  // statement it cost the prepared plan, measured slower; docs/performance.md.)
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
 * Same checks, in the same order, as executeLedgerCommand, including a limited service key's debit
 * limits (step 11a) when `actor` is one (an adjustment's preview dry-runs as its proposer; the
 * system's own actors are never limited). The key is one of the system's own
 * (callers' keys come through executeLedgerCommand) and is claimed first: the same key and request
 * return the stored result (isReplay), a different request is IDEMPOTENCY_CONFLICT, a request with
 * the same key still running elsewhere is waited for. A dryRun claims nothing, runs inside a
 * savepoint and rolls back to it. Serialization failures and deadlocks are rethrown as the
 * database reported them so that runTransaction retries the whole transaction; other database
 * rule violations are mapped to domain errors.
 */
export async function executeLedgerCommandInTransaction(client: pg.PoolClient, actor: Actor | AuditActor, command: LedgerCommand, opts: Omit<ExecuteOptions, "groupCommit">): Promise<LedgerResult> {
  assertSystemIdempotencyKey(opts.idempotencyKey);
  validateCommand(command);
  assertExpectedVersions(opts);
  const requestHash = hashRequest(requestOf(command, opts));
  if (!opts.dryRun) {
    let stored;
    try {
      stored = (await claimKeys(client, [opts.idempotencyKey])).get(opts.idempotencyKey);
    } catch (e) {
      if (pgCode(e) === "LG010") throw inProgressError(opts.idempotencyKey, e);
      throw e;
    }
    if (stored) return answerFromStored(stored, requestHash);
  }
  const limited = hasDebitLimits(actor) ? { ...opts, assertMayDebit: (debits: { accountCode: string; currency: string }[]) => assertMayDebit(actor, debits) } : opts;
  try {
    if (opts.dryRun) await client.query("SAVEPOINT ledger_dry_run");
    const { result, accountIds } = await applyCommand(client, toAuditActor(actor), command, limited, requestHash);
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
    if (isSerializationFailure(e) || code === "23505") throw e;
    throw mapDbRuleError(e) ?? toAppError(e) ?? e;
  }
}

function assertExpectedVersions(opts: Pick<ExecuteOptions, "expectedVersions">): void {
  for (const [id, v] of Object.entries(opts.expectedVersions ?? {})) {
    assertUuid(id, "expectedVersions key");
    if (typeof v !== "bigint" || v < 0n) throw new AppError("BAD_INPUT", `expectedVersions[${id}] must be a non-negative bigint`);
  }
}

// --- Group commit: one committer per pool, handed the group and the single runner. -------------

interface Committer {
  isEnabled: boolean;
  submit(member: GroupMember): Promise<LedgerResult>;
  stats: GroupCommitStats;
}

const committers = new WeakMap<object, Committer>();

function committerFor(db: Pick<DbHandles, "pool">): Committer {
  let c = committers.get(db.pool);
  if (!c) {
    const e = env();
    const settings = { isEnabled: e.LEDGER_GROUP_COMMIT, windowMs: e.LEDGER_GROUP_COMMIT_WINDOW_MS, maxItems: e.LEDGER_GROUP_COMMIT_MAX, maxInFlight: e.LEDGER_GROUP_COMMIT_IN_FLIGHT };
    const g = new GroupCommitter<GroupMember>(
      settings,
      (m) => m.opts.idempotencyKey,
      (members) => retryTransaction(db.pool, (client) => runGroupAttempt(client, members)).then((run) => (run.ok ? { ok: true as const, outcomes: run.value } : run)),
      (m) => executeSingle(db, m),
    );
    c = { isEnabled: settings.isEnabled, submit: (m) => g.submit(m), stats: g.stats };
    committers.set(db.pool, c);
  }
  return c;
}

/** The group commit counters of a pool (the benchmark and tests read them). */
export function groupCommitStatsOf(db: Pick<DbHandles, "pool">): GroupCommitStats {
  return committerFor(db).stats;
}

/** One group in one transaction: every key claimed (stored keys answer first), then applyGroup. */
async function runGroupAttempt(client: pg.PoolClient, members: GroupMember[]): Promise<Outcome[]> {
  await client.query(BEGIN_KEYED);
  const stored = await claimKeys(client, members.map((m) => m.opts.idempotencyKey));
  const answered = members.map((m): Outcome | null => {
    const s = stored.get(m.opts.idempotencyKey);
    if (!s) return null;
    try {
      return { result: answerFromStored(s, m.requestHash) };
    } catch (error) {
      return { error };
    }
  });
  const { outcomes, isWritten } = await applyGroup(client, members, answered);
  await client.query(isWritten ? "COMMIT" : "ROLLBACK");
  return outcomes;
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
