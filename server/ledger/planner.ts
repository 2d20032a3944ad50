/**
 * Turns a command's checked effects (rules.ts) into its result and a write plan: the rows the
 * writer (writer.ts) inserts or updates. Pure: no database, clock or randomness.
 *
 * Invariants kept:
 * - Balance rows change by exactly the signed sum of the postings and reservations written, on the
 *   slot the transaction locked for each account; every write bumps the row's version.
 * - Each command has its own idempotency record (its result, for replays), its own audit record
 *   and an outbox event per entry and per hold it changed.
 * - Plans of several commands (a group commit) merge into one plan without changing any of them.
 */
import type { AuditActor, AuditInput } from "../audit/audit-log";
import { encodeEntry, encodeHold, encodeResult, type StoredResult } from "./codec";
import type { Deltas, Effects, RuleContext } from "./rules";
import type { AccountRow, HoldRow } from "./state";
import type { EntryResult, HoldResult, LedgerResult } from "./types";

export interface WritePlan {
  entries: { entry: EntryResult; createdAt: Date; metadata: Record<string, unknown> }[];
  /** Holds placed (isNew) or changed; `at` is their creation or end time. */
  holds: { hold: HoldRow; at: Date }[];
  balances: { accountId: string; slot: number; postedDelta: bigint; pendingDelta: bigint; writes: number }[];
  outbox: { topic: string; aggregateId: string; payload: unknown; createdAt: Date }[];
  idempotency: { key: string; requestHash: string; commandType: string; response: StoredResult; createdAt: Date }[];
  audits: AuditInput[];
}

export interface PlanInput {
  ctx: RuleContext;
  effects: Effects;
  deltas: Deltas;
  accountOf: (id: string) => AccountRow;
  /** The existing holds the command read (their state before it). */
  holdsBefore: ReadonlyMap<string, HoldRow>;
  actor: AuditActor;
  idempotencyKey: string;
  requestHash: string;
  isDryRun: boolean;
  requestId: string | null;
}

export function toHoldResult(h: HoldRow): HoldResult {
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

/** The result a caller gets and the plan that writes it. */
export function planCommand(p: PlanInput): { result: LedgerResult; plan: WritePlan } {
  const { ctx, effects, deltas } = p;
  const now = ctx.now;
  const isBatch = ctx.command.type === "batch";
  const changed = [...effects.holds.values()].filter((h) => h.isChanged);
  const holdResults = changed.map(toHoldResult);
  const result: LedgerResult = {
    commandType: ctx.command.type,
    idempotencyKey: p.idempotencyKey,
    entries: effects.entries,
    holds: holdResults,
    isReplay: false,
    isDryRun: p.isDryRun,
  };
  const touched = [...new Set([...deltas.posted.keys(), ...deltas.pending.keys()])].sort();
  const first = effects.entries[0];
  const target = first ? { type: "journal_entry", id: first.entryId } : { type: "hold", id: holdResults[0]?.holdId ?? null };
  const plan: WritePlan = {
    entries: effects.entries.map((entry) => ({ entry, createdAt: now, metadata: effects.entryMetadata.get(entry.entryId) ?? {} })),
    holds: changed.map((hold) => ({ hold, at: now })),
    balances: touched.map((id) => ({ accountId: id, slot: p.accountOf(id).slot, postedDelta: deltas.posted.get(id) ?? 0n, pendingDelta: deltas.pending.get(id) ?? 0n, writes: 1 })),
    outbox: [
      ...effects.entries.map((e) => ({ topic: "ledger.entry.posted", aggregateId: e.entryId, payload: encodeEntry(e) as unknown, createdAt: now })),
      ...holdResults.map((h) => ({ topic: `ledger.hold.${h.status === "pending" ? "placed" : h.status}`, aggregateId: h.holdId, payload: encodeHold(h) as unknown, createdAt: now })),
    ],
    idempotency: [{ key: p.idempotencyKey, requestHash: p.requestHash, commandType: ctx.command.type, response: encodeResult(result), createdAt: now }],
    audits: [
      {
        actor: p.actor,
        action: `ledger.${ctx.command.type}`,
        targetType: isBatch ? "ledger_batch" : target.type,
        targetId: isBatch ? p.idempotencyKey : target.id,
        before: isBatch ? null : p.holdsBefore.size > 0 ? [...p.holdsBefore.values()].map((h) => ({ holdId: h.id, status: "pending" })) : null,
        after: isBatch
          ? { items: ctx.items.length, entryIds: effects.entries.map((e) => e.entryId), holdIds: holdResults.map((h) => h.holdId) }
          : { entries: effects.entries.map(encodeEntry), holds: holdResults.map(encodeHold) },
        requestId: p.requestId,
        at: now,
      },
    ],
  };
  return { result, plan };
}

/**
 * One plan for several commands' plans, in order: their rows concatenated, and the balance changes
 * of a row (account, slot) summed, with one version bump per command that wrote it.
 */
export function mergePlans(plans: readonly WritePlan[]): WritePlan {
  const balances = new Map<string, WritePlan["balances"][number]>();
  for (const b of plans.flatMap((p) => p.balances)) {
    const k = `${b.accountId}/${b.slot}`;
    const cur = balances.get(k);
    if (cur) {
      cur.postedDelta += b.postedDelta;
      cur.pendingDelta += b.pendingDelta;
      cur.writes += b.writes;
    } else balances.set(k, { ...b });
  }
  return {
    entries: plans.flatMap((p) => p.entries),
    holds: plans.flatMap((p) => p.holds),
    balances: [...balances.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : a.slot - b.slot)),
    outbox: plans.flatMap((p) => p.outbox),
    idempotency: plans.flatMap((p) => p.idempotency),
    audits: plans.flatMap((p) => p.audits),
  };
}
