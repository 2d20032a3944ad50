/**
 * Group commit for the ledger's write path: concurrent single transfers and entries that arrive
 * within a short window share ONE database transaction, so the per-transaction cost (BEGIN, COMMIT
 * and its WAL flush, the lock query, one write statement) is paid once per group, not per command.
 * An internal detail of executeLedgerCommand; callers see exactly what they would see alone.
 *
 * Invariants kept (per command, as in write-path.ts):
 * - Idempotency: each command keeps its own key, request hash and stored result. A key already
 *   stored answers with its stored result (same request) or IDEMPOTENCY_CONFLICT, before any other
 *   state-dependent check. Two commands with the same key never share a group.
 * - Errors in the documented order (NOT_FOUND, CURRENCY_MISMATCH, ACCOUNT_FROZEN,
 *   INSUFFICIENT_FUNDS), evaluated command by command in arrival order against the exact balances
 *   locked for the whole group plus the commands accepted before it. A failing command is left out
 *   of the write and answered with its error; the others commit.
 * - No overdraft under any concurrency: the group locks every no-overdraft row it touches FOR
 *   UPDATE in account-id order (the same lock query as a single command) before checking.
 * - Each accepted command writes its own entry, postings, outbox event, idempotency record and
 *   audit record (the group's records are appended as one run on one audit lane, audit_append_many).
 * - Serialization failures and deadlocks retry the group; DB_UNAVAILABLE reaches every caller; any
 *   other failure of the group's transaction re-runs each command alone, so one bad command cannot
 *   fail the others.
 * - dryRun, expectedVersions, a caller's groupCommit: false, holds, reversals and batches bypass
 *   grouping and run alone.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { env } from "../env";
import { BEGIN_KEYED } from "../db/transaction";
import { MicroBatcher } from "../db/micro-batcher";
import { auditAppendManyCall, type AuditActor, type AuditInput } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { encodeEntry, encodeResult } from "./codec";
import { answerFromStored, claimKeys } from "./idempotency";
import { preparedQuery } from "./prepared";
import type { EntryResult, LedgerCommand, LedgerResult, PostingResult } from "./types";
import {
  executeSingle,
  lockAccounts,
  runWithRetries,
  signedAmount,
  transferPostings,
  type AccountRow,
  type ExecuteOptions,
} from "./write-path";

/** Fewest commands a due group is split down to when several group slots are free (micro-batcher.ts). */
const MIN_SPLIT = 8;

/** Counters for tests and the benchmark: groups committed, commands in them, groups re-run alone. */
export const groupCommitStats = { groups: 0, items: 0, fallbacks: 0 };

type GroupableCommand = Extract<LedgerCommand, { type: "transfer" | "post_entry" }>;

interface GroupItem {
  actor: AuditActor;
  command: GroupableCommand;
  opts: ExecuteOptions;
  requestHash: string;
  resolve: (r: LedgerResult) => void;
  reject: (e: unknown) => void;
}

type Outcome = { result: LedgerResult } | { error: unknown };

interface GroupSettings {
  isEnabled: boolean;
  windowMs: number;
  maxItems: number;
  /** Groups of one pool in flight at once; more arrivals wait and form the next groups. */
  maxInFlight: number;
}

function settings(): GroupSettings {
  const e = env();
  return { isEnabled: e.LEDGER_GROUP_COMMIT, windowMs: e.LEDGER_GROUP_COMMIT_WINDOW_MS, maxItems: e.LEDGER_GROUP_COMMIT_MAX, maxInFlight: e.LEDGER_GROUP_COMMIT_IN_FLIGHT };
}

/** Whether a validated command may share a transaction with others. */
export function isGroupable(command: LedgerCommand, opts: ExecuteOptions): command is GroupableCommand {
  if (command.type !== "transfer" && command.type !== "post_entry") return false;
  if (opts.dryRun || opts.expectedVersions || opts.groupCommit === false) return false;
  return opts.groupCommit === true || settings().isEnabled;
}

const committers = new WeakMap<object, MicroBatcher<GroupItem>>();

/** Submits a groupable command; resolves with exactly what executeSingle would return. */
export function submitToGroup(db: Pick<DbHandles, "pool">, actor: AuditActor, command: GroupableCommand, opts: ExecuteOptions, requestHash: string): Promise<LedgerResult> {
  let committer = committers.get(db.pool);
  if (!committer) {
    const cfg = settings();
    committer = new MicroBatcher<GroupItem>(
      { windowMs: cfg.windowMs, maxItems: cfg.maxItems, maxInFlight: cfg.maxInFlight, minSplit: MIN_SPLIT },
      (it) => it.opts.idempotencyKey,
      (group) => runGroup(db, group),
    );
    committers.set(db.pool, committer);
  }
  const c = committer;
  return new Promise<LedgerResult>((resolve, reject) => {
    // The same key twice in one group would make the group fail on the unique key: the second
    // runs alone and, after the first commits, gets its stored result (or IDEMPOTENCY_CONFLICT).
    if (!c.add({ actor, command, opts, requestHash, resolve, reject })) {
      executeSingle(db, actor, command, opts, requestHash).then(resolve, reject);
    }
  });
}

function runAlone(db: Pick<DbHandles, "pool">, items: GroupItem[]): Promise<void> {
  return Promise.all(items.map((it) => executeSingle(db, it.actor, it.command, it.opts, it.requestHash).then(it.resolve, it.reject))).then(() => undefined);
}

async function runGroup(db: Pick<DbHandles, "pool">, items: GroupItem[]): Promise<void> {
  if (items.length === 1) return runAlone(db, items);
  let run;
  try {
    run = await runWithRetries(db.pool, (client) => runGroupAttempt(client, items));
  } catch (e) {
    for (const it of items) it.reject(e);
    return;
  }
  if (run.ok) {
    groupCommitStats.groups++;
    groupCommitStats.items += items.length;
    items.forEach((it, i) => {
      const o = run.value[i]!;
      if ("result" in o) it.resolve(o.result);
      else it.reject(o.error);
    });
    return;
  }
  const conn = toAppError(run.failure);
  if (conn?.code === "DB_UNAVAILABLE") {
    for (const it of items) it.reject(conn);
    return;
  }
  // Not attributable to the group as a whole (a key stored meanwhile by another transaction, a
  // database rule, an overflow): each command runs alone and gets its own answer.
  groupCommitStats.fallbacks++;
  return runAlone(db, items);
}

function postingsOf(command: GroupableCommand): PostingResult[] {
  if (command.type === "transfer") return transferPostings(command);
  return command.entry.postings.map((p) => ({ accountId: p.accountId.toLowerCase(), side: p.side, amountMinor: p.amountMinor, currency: p.currency }));
}

/** The account ids a command names, in the order its NOT_FOUND check reports them. */
function namedAccountIds(command: GroupableCommand): string[] {
  return command.type === "transfer" ? [command.debitAccountId, command.creditAccountId] : command.entry.postings.map((p) => p.accountId);
}

/** Checks 6, 12, 13 and 15 for one command against the group's locked accounts and accepted deltas. */
function checkItem(command: GroupableCommand, postings: PostingResult[], accounts: Map<string, AccountRow>, postedDelta: Map<string, bigint>): AppError | null {
  for (const id of namedAccountIds(command)) {
    if (!accounts.has(id.toLowerCase())) return new AppError("NOT_FOUND", `account ${id} does not exist`, { details: { accountId: id } });
  }
  const accountOf = (id: string) => accounts.get(id.toLowerCase())!;
  for (const p of postings) {
    const a = accountOf(p.accountId);
    if (a.currency !== p.currency) return new AppError("CURRENCY_MISMATCH", `posting in ${p.currency} to account ${a.code} which holds ${a.currency}`, { details: { accountId: a.id, accountCurrency: a.currency, currency: p.currency } });
  }
  for (const id of new Set(postings.map((p) => p.accountId))) {
    const a = accountOf(id);
    if (a.status === "frozen") return new AppError("ACCOUNT_FROZEN", `account ${a.code} is frozen`, { details: { accountId: a.id, code: a.code } });
  }
  const own = new Map<string, bigint>();
  for (const p of postings) {
    const a = accountOf(p.accountId);
    own.set(a.id, (own.get(a.id) ?? 0n) + signedAmount(a.normalSide, p.side, p.amountMinor));
  }
  for (const [id, delta] of own) {
    const a = accountOf(id);
    const dec = -delta;
    if (!a.isNoOverdraft || dec <= 0n) continue;
    const after = a.postedMinor + (postedDelta.get(id) ?? 0n) + delta - a.pendingMinor;
    const before = after + dec;
    if (after < 0n) {
      return new AppError("INSUFFICIENT_FUNDS", `account ${a.code} has ${before} available, ${dec} requested (${a.currency} minor units)`, {
        details: { accountId: a.id, code: a.code, availableMinor: before.toString(), requestedMinor: dec.toString(), currency: a.currency },
      });
    }
  }
  for (const [id, delta] of own) postedDelta.set(id, (postedDelta.get(id) ?? 0n) + delta);
  return null;
}

async function runGroupAttempt(client: pg.PoolClient, items: GroupItem[]): Promise<Outcome[]> {
  await client.query(BEGIN_KEYED);
  const outcomes: (Outcome | null)[] = items.map(() => null);

  // --- IDEMPOTENCY (5): every key is claimed before any state is read (a duplicate in flight in
  // another transaction is waited for), and a stored key answers first, whatever the state. ------
  const storedByKey = await claimKeys(client, items.map((it) => it.opts.idempotencyKey));
  items.forEach((it, i) => {
    const s = storedByKey.get(it.opts.idempotencyKey);
    if (!s) return;
    try {
      outcomes[i] = { result: answerFromStored(s, it.requestHash) };
    } catch (error) {
      outcomes[i] = { error };
    }
  });

  // --- Lock every account the remaining commands touch, as one command would. -----------------
  const postingsPerItem = items.map((it) => postingsOf(it.command));
  const accountIds = new Set<string>();
  items.forEach((it, i) => {
    if (!outcomes[i]) for (const id of namedAccountIds(it.command)) accountIds.add(id.toLowerCase());
  });
  const accounts = accountIds.size > 0 ? await lockAccounts(client, accountIds, []) : new Map<string, AccountRow>();

  // --- Checks per command, in arrival order; accepted commands' deltas count for later ones. ---
  const postedDelta = new Map<string, bigint>();
  const writesPerAccount = new Map<string, number>();
  const accepted: { index: number; entry: EntryResult; result: LedgerResult; now: Date }[] = [];
  items.forEach((it, i) => {
    if (outcomes[i]) return;
    const postings = postingsPerItem[i]!;
    const error = checkItem(it.command, postings, accounts, postedDelta);
    if (error) {
      outcomes[i] = { error };
      return;
    }
    const now = it.opts.now ?? new Date();
    const c = it.command;
    const entry: EntryResult = {
      entryId: randomUUID(),
      idempotencyKey: it.opts.idempotencyKey,
      description: (c.type === "transfer" ? c.description : c.entry.description) ?? "",
      effectiveAt: (c.type === "transfer" ? c.effectiveAt : c.entry.effectiveAt) ?? now,
      reversesEntryId: null,
      postings,
    };
    const result: LedgerResult = { commandType: c.type, idempotencyKey: it.opts.idempotencyKey, entries: [entry], holds: [], isReplay: false, isDryRun: false };
    for (const id of new Set(postings.map((p) => p.accountId))) writesPerAccount.set(id, (writesPerAccount.get(id) ?? 0) + 1);
    accepted.push({ index: i, entry, result, now });
    outcomes[i] = { result };
  });

  if (accepted.length > 0) {
    await writeGroup(client, items, accepted, accounts, postedDelta, writesPerAccount);
    await client.query("COMMIT");
  } else {
    await client.query("ROLLBACK");
  }
  return outcomes.map((o) => o!);
}

/** One round trip: every accepted command's entry, postings, outbox event, idempotency and audit record, and the summed balance deltas. */
async function writeGroup(
  client: pg.PoolClient,
  items: GroupItem[],
  accepted: { index: number; entry: EntryResult; result: LedgerResult; now: Date }[],
  accounts: Map<string, AccountRow>,
  postedDelta: Map<string, bigint>,
  writesPerAccount: Map<string, number>,
): Promise<void> {
  const metadataOf = (i: number) => {
    const c = items[i]!.command;
    const m = c.type === "transfer" ? c.metadata : c.entry.metadata;
    return JSON.stringify(m && Object.keys(m).length > 0 ? m : {});
  };
  const flat = accepted.flatMap((a) => a.entry.postings.map((x) => ({ entryId: a.entry.entryId, ...x })));
  const balances = [...writesPerAccount.keys()].sort().map((id) => ({ id, slot: accounts.get(id)!.slot, posted: postedDelta.get(id) ?? 0n, writes: writesPerAccount.get(id)! }));

  // One audit record per command, appended as one run on one lane (audit_append_many).
  const audits: AuditInput[] = accepted.map((a) => {
    const it = items[a.index]!;
    return {
      actor: it.actor,
      action: `ledger.${it.command.type}`,
      targetType: "journal_entry",
      targetId: a.entry.entryId,
      before: null,
      after: { entries: [encodeEntry(a.entry)], holds: [] },
      requestId: it.opts.requestId ?? null,
      at: a.now,
    };
  });

  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const entries = accepted.map((a) => a.entry);
  const sql = `WITH e AS (INSERT INTO journal_entries (id, idempotency_key, description, effective_at, created_at, reverses_entry_id, metadata)
      SELECT * FROM unnest(${p(entries.map((e) => e.entryId))}::uuid[], ${p(entries.map((e) => e.idempotencyKey))}::text[],
        ${p(entries.map((e) => e.description))}::text[], ${p(entries.map((e) => e.effectiveAt.toISOString()))}::timestamptz[],
        ${p(accepted.map((a) => a.now.toISOString()))}::timestamptz[], ${p(entries.map(() => null))}::uuid[], ${p(accepted.map((a) => metadataOf(a.index)))}::jsonb[])),
    p AS (INSERT INTO postings (entry_id, account_id, side, amount_minor, currency)
      SELECT * FROM unnest(${p(flat.map((x) => x.entryId))}::uuid[], ${p(flat.map((x) => x.accountId))}::uuid[],
        ${p(flat.map((x) => x.side))}::posting_side[], ${p(flat.map((x) => x.amountMinor.toString()))}::bigint[], ${p(flat.map((x) => x.currency))}::char(3)[])),
    b AS (UPDATE account_balances ab SET posted_minor = ab.posted_minor + d.posted, version = ab.version + d.writes
      FROM unnest(${p(balances.map((x) => x.id))}::uuid[], ${p(balances.map((x) => x.slot))}::int[],
        ${p(balances.map((x) => x.posted.toString()))}::bigint[], ${p(balances.map((x) => x.writes))}::int[]) AS d(account_id, slot, posted, writes)
      WHERE ab.account_id = d.account_id AND ab.slot = d.slot),
    o AS (INSERT INTO outbox_events (topic, aggregate_id, payload, created_at)
      SELECT * FROM unnest(${p(entries.map(() => "ledger.entry.posted"))}::text[], ${p(entries.map((e) => e.entryId))}::text[],
        ${p(entries.map((e) => JSON.stringify(encodeEntry(e))))}::jsonb[], ${p(accepted.map((a) => a.now.toISOString()))}::timestamptz[])),
    i AS (INSERT INTO idempotency_records (key, request_hash, command_type, response, created_at)
      SELECT * FROM unnest(${p(accepted.map((a) => items[a.index]!.opts.idempotencyKey))}::text[], ${p(accepted.map((a) => items[a.index]!.requestHash))}::text[],
        ${p(accepted.map((a) => items[a.index]!.command.type))}::text[], ${p(accepted.map((a) => JSON.stringify(encodeResult(a.result))))}::jsonb[],
        ${p(accepted.map((a) => a.now.toISOString()))}::timestamptz[])),
    au AS (SELECT x.id FROM ${auditAppendManyCall(audits, p)} AS x)
    SELECT count(*) AS audits FROM au`;
  await preparedQuery(client, sql, params);
}
