/**
 * One ledger transaction's work, for one command or a group of them: read and lock (state.ts),
 * decide (rules.ts), plan (planner.ts), write (writer.ts). The caller opens the transaction and
 * claims the idempotency keys first (write-path.ts).
 *
 * Invariants kept: those of the modules it composes. In a group, each command is checked against
 * the locked balances plus the commands accepted before it; a refused command is left out and
 * answered with its own error while the others are written.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { AuditActor } from "../audit/audit-log";
import { accountIdsOf, decide, deltasOf, emptyDeltas, entryIdsToReverse, holdIdsToLock, type Deltas, type RuleContext } from "./rules";
import { lockAccounts, lockHolds, readEntriesToReverse, type AccountRow } from "./state";
import { mergePlans, planCommand, type WritePlan } from "./planner";
import { writePlan } from "./writer";
import { itemsOf } from "./validate";
import type { LedgerCommand, LedgerResult } from "./types";

export interface ApplyOptions {
  idempotencyKey: string;
  /** The caller's debit limits, for a limited service key (rules.ts checkDebitLimits). */
  assertMayDebit?: RuleContext["assertMayDebit"];
  expectedVersions?: Record<string, bigint>;
  dryRun?: boolean;
  requestId?: string | null;
  now?: Date;
}

function contextOf(command: LedgerCommand, opts: ApplyOptions): RuleContext {
  const isBatch = command.type === "batch";
  return {
    command,
    items: itemsOf(command),
    now: opts.now ?? new Date(),
    keyOf: (i) => (isBatch ? (command.itemKeys?.[i] ?? `${opts.idempotencyKey}#${i}`) : opts.idempotencyKey),
    assertMayDebit: opts.assertMayDebit,
  };
}

/**
 * Checks one command in the documented order and writes it; returns its result and the accounts
 * it touched (for a dry run's balances). Throws the first failing check's AppError.
 */
export async function applyCommand(client: pg.ClientBase, actor: AuditActor, command: LedgerCommand, opts: ApplyOptions, requestHash: string): Promise<{ result: LedgerResult; accountIds: string[] }> {
  const ctx = contextOf(command, opts);
  const placed = new Map<number, string>();
  ctx.items.forEach((it, i) => {
    if (it.type === "place_hold") placed.set(i, (it.holdId ?? randomUUID()).toLowerCase());
  });
  const holds = await lockHolds(client, holdIdsToLock(ctx.items, placed));
  const entries = await readEntriesToReverse(client, entryIdsToReverse(ctx.items));
  const wholeIds = Object.keys(opts.expectedVersions ?? {}).map((s) => s.toLowerCase());
  const accountIds = accountIdsOf(ctx.items, holds, entries, wholeIds);
  const accounts = await lockAccounts(client, accountIds, wholeIds);
  const accountOf = (id: string) => accounts.get(id.toLowerCase())!;
  const { effects, deltas } = decide(ctx, { placed, holds, entries, accounts, wholeIds }, opts.expectedVersions, randomUUID);

  const { result, plan } = planCommand({
    ctx,
    effects,
    deltas,
    accountOf,
    holdsBefore: holds,
    actor,
    idempotencyKey: opts.idempotencyKey,
    requestHash,
    isDryRun: opts.dryRun === true,
    requestId: opts.requestId ?? null,
  });
  await writePlan(client, plan);
  return { result, accountIds: [...accountIds].sort() };
}

/** A command of a group: a single transfer or entry, with its caller's options. */
export interface GroupMember {
  actor: AuditActor;
  command: Extract<LedgerCommand, { type: "transfer" | "post_entry" }>;
  opts: ApplyOptions;
  requestHash: string;
}

export type Outcome = { result: LedgerResult } | { error: unknown };

/**
 * Checks every member in order against the locked balances and the members accepted before it,
 * and writes the accepted ones in one statement. Members already answered (`answered[i]`: a
 * stored key's replay or conflict) are skipped. Returns one outcome per member; writes nothing
 * when none is accepted.
 */
export async function applyGroup(client: pg.ClientBase, members: readonly GroupMember[], answered: readonly (Outcome | null)[]): Promise<{ outcomes: Outcome[]; isWritten: boolean }> {
  const ctxs = members.map((m) => contextOf(m.command, m.opts));
  const none = new Map();
  const accountIds = new Set<string>();
  ctxs.forEach((ctx, i) => {
    if (!answered[i]) for (const id of accountIdsOf(ctx.items, none, none, [])) accountIds.add(id);
  });
  const accounts = accountIds.size > 0 ? await lockAccounts(client, accountIds, []) : new Map<string, AccountRow>();
  const accountOf = (id: string) => accounts.get(id.toLowerCase())!;

  let deltas: Deltas = emptyDeltas();
  const plans: WritePlan[] = [];
  const outcomes = members.map((m, i): Outcome => {
    const done = answered[i];
    if (done) return done;
    const ctx = ctxs[i]!;
    try {
      const { effects, deltas: after } = decide(ctx, { placed: none, holds: none, entries: none, accounts, wholeIds: [] }, undefined, randomUUID, deltas);
      const { result, plan } = planCommand({
        ctx,
        effects,
        // The plan writes this member's own changes; `after` carries them forward to the next.
        deltas: deltasOf(effects, accountOf),
        accountOf,
        holdsBefore: none,
        actor: m.actor,
        idempotencyKey: m.opts.idempotencyKey,
        requestHash: m.requestHash,
        isDryRun: false,
        requestId: m.opts.requestId ?? null,
      });
      deltas = after;
      plans.push(plan);
      return { result };
    } catch (error) {
      return { error };
    }
  });
  if (plans.length === 0) return { outcomes, isWritten: false };
  await writePlan(client, mergePlans(plans));
  return { outcomes, isWritten: true };
}
