/**
 * The one place a transfer changes state. Each transition runs inside one database transaction
 * (the caller's, from runTransaction) that locks the transfer row, checks the edge, applies the
 * state's ledger effect through the ledger's write path, records the event and an outbox message,
 * and audits human and service actions. One exception, for the hot path: a new transfer's first
 * edge (created → reserved) is written by its creating statement (./create.ts: the row already
 * reserved, both events, the reserved message), and its ledger effect, the hold, is placed here by
 * placeReservationHolds in the same transaction.
 *
 * Invariants kept:
 * - A transition happens only along EDGES (server/transfers/state-machine.ts); the database trigger
 *   transfers_guard refuses any other, whoever writes.
 * - Ledger effects use idempotency keys derived from the transfer id and the effect
 *   (`transfer:<id>:reserve|settle|void|return`), so no code path can place, post or release a
 *   transfer's hold twice, even after a crash between steps.
 * - A priced transfer's hold reserves amount + fee, and settling posts it as the one entry that
 *   also books the fee and any conversion (server/transfers/pricing.ts); a return reverses that
 *   whole entry.
 * - The event row, the outbox message and the state change commit together or not at all.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { executeLedgerCommandInTransaction } from "../ledger/write-path";
import { TRANSFERS_ACTOR } from "../core/actor";
import { preparedQuery } from "../db/prepared";
import type { LedgerItem } from "../ledger/types";
import { accountIdByCode, partnerAccountCode } from "./accounts";
import { holdAmountOf, holdCreditAccountCode, settlementLedgerPostings } from "./pricing";
import { canTransition, isTerminal, type TransferState } from "./state-machine";
import { rowToTransfer, TRANSFER_COLUMNS, transferPayload, type Transfer, type TransferPayloadFields, type TransferRowRaw } from "./types";
import { sqlParams } from "../core/sql-params";

/** How long a transfer's hold lives: far beyond any rail's settlement time. */
export const HOLD_LIFETIME_MS = 30 * 24 * 3600 * 1000;

export interface TransitionCause {
  /** Machine-readable cause: "reserve", "partner.accepted", "webhook.settled", "operator.cancel", ... */
  cause: string;
  actor: AuditActor;
  /** A person's reason (operator actions); required for them by the callers. */
  reason?: string | null;
  partnerMessageId?: string | null;
  detail?: Record<string, unknown> | null;
  requestId?: string | null;
}

export interface TransitionPatch {
  partnerRef?: string | null;
  attentionReason?: string | null;
  lastError?: string | null;
}

/** Locks and reads one transfer. Errors: NOT_FOUND. */
export async function lockTransfer(client: pg.PoolClient, transferId: string): Promise<Transfer> {
  const res = await client.query<TransferRowRaw>(`SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1 FOR UPDATE`, [transferId]);
  const row = res.rows[0];
  if (!row) throw new AppError("NOT_FOUND", `transfer ${transferId} does not exist`, { details: { transferId } });
  return rowToTransfer(row);
}

export { partnerAccountCode };

export interface TransitionRequest {
  /** The transfer as locked by the caller (its first request); later requests for it continue from the result. */
  transfer: Transfer;
  to: TransferState;
  cause: TransitionCause;
  patch?: TransitionPatch;
}

/** One written transition: the row before and after, why, and when. */
interface TransitionStep {
  before: Transfer;
  after: Transfer;
  cause: TransitionCause;
  at: Date;
}

interface LedgerRefs {
  holdId: string | null;
  settlementEntryId: string | null;
  returnEntryId: string | null;
}

/**
 * The transfer after moving to `to` (pure): every bookkeeping column follows the same rules
 * wherever a transition is written. Reaching settled or a final state clears the attention flag;
 * leaving reserved clears the retry schedule and the lease.
 */
export function nextTransfer(t: Transfer, to: TransferState, now: Date, patch: TransitionPatch, refs: LedgerRefs): Transfer {
  const isEnd = isTerminal(to) || to === "settled";
  const clearsSchedule = isEnd || to === "submitted" || to === "acknowledged";
  return {
    ...t,
    state: to,
    stateChangedAt: now,
    version: t.version + 1,
    ...refs,
    partnerRef: patch.partnerRef ?? t.partnerRef,
    attentionReason: "attentionReason" in patch || isEnd ? (patch.attentionReason ?? null) : t.attentionReason,
    lastError: "lastError" in patch ? (patch.lastError ?? null) : t.lastError,
    nextAttemptAt: clearsSchedule ? null : t.nextAttemptAt,
    leaseUntil: clearsSchedule ? null : t.leaseUntil,
  };
}

/**
 * Moves a locked transfer to `to`, applying the ledger effect of the new state.
 *
 * Errors, in order: ILLEGAL_TRANSITION (not an edge, or the transfer is terminal); NOT_FOUND (the
 * partner settlement account is missing); then the ledger's own errors (INSUFFICIENT_FUNDS,
 * ACCOUNT_FROZEN, HOLD_EXPIRED, ...) for the reserve, settle, void or return.
 */
export async function applyTransition(
  client: pg.PoolClient,
  t: Transfer,
  to: TransferState,
  c: TransitionCause,
  now: Date,
  patch: TransitionPatch = {},
): Promise<Transfer> {
  return (await applyTransitions(client, [{ transfer: t, to, cause: c, patch }], now)).get(t.id)!;
}

/**
 * Applies many transitions on transfers the caller has locked (several per transfer, in order),
 * in a handful of statements whatever their number: the ledger effects of all of them as one
 * ledger batch (each operation under its own key `transfer:<id>:<effect>`), then one UPDATE per
 * round of steps and one INSERT each for their events and outbox messages. Returns each
 * transfer's final row.
 *
 * Errors: as applyTransition. With more than one ledger effect, a ledger refusal arrives as
 * BATCH_ITEM_FAILED naming the item; either way nothing may be committed: the caller's
 * transaction must be rolled back.
 */
export async function applyTransitions(client: pg.PoolClient, requests: readonly TransitionRequest[], now: Date): Promise<Map<string, Transfer>> {
  const current = new Map<string, Transfer>();
  const steps: TransitionStep[] = [];
  const pendingHolds = await pendingHoldIds(client, requests);
  const ledger = new LedgerEffects(client, now);
  for (const r of requests) {
    const t = current.get(r.transfer.id) ?? r.transfer;
    if (!canTransition(t.state, r.to)) {
      throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} is ${t.state}${isTerminal(t.state) ? " (final)" : ""} and cannot become ${r.to}`, {
        details: { transferId: t.id, from: t.state, to: r.to },
      });
    }
    const refs = await ledger.effectOf(t, r.to, r.cause, pendingHolds);
    const after = nextTransfer(t, r.to, now, r.patch ?? {}, refs);
    steps.push({ before: t, after, cause: r.cause, at: now });
    current.set(t.id, after);
  }
  const entryIds = await ledger.flush();
  // Entry ids only known after the ledger ran are filled in now (settlement and return entries).
  for (const step of steps) {
    step.after = { ...step.after, settlementEntryId: resolveRef(step.after.settlementEntryId, entryIds), returnEntryId: resolveRef(step.after.returnEntryId, entryIds) };
  }
  for (const step of steps) current.set(step.after.id, step.after);
  await writeTransitions(client, steps);
  return current;
}

/**
 * The ledger effect of created → reserved for new transfers their creating statement wrote
 * already reserved (./create.ts), the hold id on the row: each hold placed under its key
 * `transfer:<id>:reserve`, all of them as one ledger command, exactly as applyTransitions would.
 * Call it last in the transaction (the holds' balance rows stay locked until the commit).
 *
 * Errors: the ledger's (INSUFFICIENT_FUNDS, ACCOUNT_FROZEN, ...; BATCH_ITEM_FAILED naming the item
 * for several); the caller's transaction must then be rolled back, and the rows go with it.
 */
export async function placeReservationHolds(client: pg.PoolClient, created: readonly { transfer: Transfer; requestId?: string | null }[], now: Date): Promise<void> {
  const ledger = new LedgerEffects(client, now);
  for (const { transfer: t, requestId } of created) {
    if (t.state !== "reserved" || !t.holdId || t.version !== 1) throw new Error(`transfer ${t.id} was not written as a new reservation (${t.state}, version ${t.version})`);
    await ledger.effectOf(t, "reserved", { cause: "reserve", actor: TRANSFERS_ACTOR, requestId }, new Set());
  }
  await ledger.flush();
}

/**
 * The `transfer.<state>` outbox message of a transition (its payload, as JSON): the one shape for
 * both writers of a transition, writeTransitions and a create's insert (./create.ts).
 */
export function transitionMessage(after: TransferPayloadFields, fromState: TransferState, cause: string): string {
  return JSON.stringify({ ...transferPayload(after), fromState, cause });
}

const LATER = "later:";

function resolveRef(ref: string | null, entryIds: Map<string, string>): string | null {
  if (!ref?.startsWith(LATER)) return ref;
  const id = entryIds.get(ref.slice(LATER.length));
  if (!id) throw new Error(`ledger returned no entry for ${ref.slice(LATER.length)}`);
  return id;
}

/** Holds of these transfers that are still pending (a fail or cancel voids only a pending hold). */
async function pendingHoldIds(client: pg.PoolClient, requests: readonly TransitionRequest[]): Promise<Set<string>> {
  const ids = [...new Set(requests.filter((r) => (r.to === "failed" || r.to === "cancelled") && r.transfer.holdId).map((r) => r.transfer.holdId!))];
  if (ids.length === 0) return new Set();
  const res = await preparedQuery<{ id: string }>(client, `SELECT id::text AS id FROM holds WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [ids]);
  return new Set(res.rows.map((r) => r.id));
}

/**
 * Collects the ledger operations of a set of transitions and runs them as one command. A
 * settlement entry's id is known only after the ledger ran: until then a step refers to it as
 * `later:<key>`. A return of an entry settled in the same call runs the collected operations
 * first, so that the entry exists.
 */
class LedgerEffects {
  private items: LedgerItem[] = [];
  private keys: string[] = [];
  private actors: AuditActor[] = [];
  private requestIds: (string | null)[] = [];
  private entryIds = new Map<string, string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly now: Date,
  ) {}

  async effectOf(t: Transfer, to: TransferState, c: TransitionCause, pendingHolds: Set<string>): Promise<LedgerRefs> {
    const refs: LedgerRefs = { holdId: t.holdId, settlementEntryId: t.settlementEntryId, returnEntryId: t.returnEntryId };
    const key = (effect: string) => `transfer:${t.id}:${effect}`;
    if (to === "reserved") {
      const creditAccountId = await accountIdByCode(this.client, holdCreditAccountCode(t));
      refs.holdId = t.holdId ?? randomUUID();
      pendingHolds.add(refs.holdId);
      this.add(key("reserve"), c, {
        type: "place_hold",
        holdId: refs.holdId,
        debitAccountId: t.sourceAccountId,
        creditAccountId,
        amountMinor: holdAmountOf(t),
        currency: t.currency,
        expiresAt: new Date(this.now.getTime() + HOLD_LIFETIME_MS),
        reference: `transfer:${t.id}`,
        description: `transfer ${t.id} to ${t.counterpartyName}`,
      });
    } else if (to === "settled") {
      if (!t.holdId) throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} has no hold to settle`);
      const postings = await settlementLedgerPostings(this.client, t);
      this.add(key("settle"), c, { type: "post_hold", holdId: t.holdId, description: `transfer ${t.id} settled`, ...(postings ? { postings } : {}) });
      refs.settlementEntryId = `${LATER}${key("settle")}`;
    } else if (to === "failed" || to === "cancelled") {
      if (t.holdId && pendingHolds.has(t.holdId)) {
        this.add(key("void"), c, { type: "void_hold", holdId: t.holdId });
        pendingHolds.delete(t.holdId);
      }
    } else if (to === "returned") {
      if (!t.settlementEntryId) throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} has no settlement entry to reverse`);
      let entryId = t.settlementEntryId;
      if (entryId.startsWith(LATER)) {
        await this.flush();
        entryId = resolveRef(entryId, this.entryIds)!;
      }
      this.add(key("return"), c, { type: "reverse_entry", entryId, description: `transfer ${t.id} returned by the partner` });
      refs.returnEntryId = `${LATER}${key("return")}`;
    }
    return refs;
  }

  private add(key: string, c: TransitionCause, item: LedgerItem): void {
    this.items.push(item);
    this.keys.push(key);
    this.actors.push(c.actor);
    this.requestIds.push(c.requestId ?? null);
  }

  /** The actor the ledger records for a batch: the steps' own when they share one. */
  private batchActor(): AuditActor {
    const first = this.actors[0]!;
    return this.actors.every((a) => a.type === first.type && a.id === first.id && a.label === first.label) ? first : TRANSFERS_ACTOR;
  }

  /** Runs what was collected; returns every entry id by its key so far. */
  async flush(): Promise<Map<string, string>> {
    if (this.items.length === 0) return this.entryIds;
    const [items, keys] = [this.items, this.keys];
    // One operation keeps exactly the single-command behaviour (its own idempotency record);
    // several run as one batch, each under its own key.
    const result =
      items.length === 1
        ? await executeLedgerCommandInTransaction(this.client, this.actors[0]!, items[0]!, { idempotencyKey: keys[0]!, requestId: this.requestIds[0], now: this.now })
        : await executeLedgerCommandInTransaction(this.client, this.batchActor(), { type: "batch", items, itemKeys: keys }, { idempotencyKey: `transfers:${randomUUID()}`, requestId: null, now: this.now });
    for (const e of result.entries) this.entryIds.set(e.idempotencyKey, e.entryId);
    this.items = [];
    this.keys = [];
    this.actors = [];
    this.requestIds = [];
    return this.entryIds;
  }
}


/**
 * Writes transitions: one statement per round (a transfer's n-th step is in round n, so the guard
 * trigger sees every edge) that updates the rows and inserts their events and outbox messages.
 * Each UPDATE matches the version the caller read under its lock, so a caller that did not lock
 * fails loudly instead of overwriting a concurrent change.
 */
async function writeTransitions(client: pg.PoolClient, steps: readonly TransitionStep[]): Promise<void> {
  if (steps.length === 0) return;
  const rounds: TransitionStep[][] = [];
  const seen = new Map<string, number>();
  for (const step of steps) {
    const n = seen.get(step.before.id) ?? 0;
    seen.set(step.before.id, n + 1);
    (rounds[n] ??= []).push(step);
  }
  const detailOf = (c: TransitionCause) => (c.detail ? JSON.stringify({ ...c.detail, ...(c.reason ? { reason: c.reason } : {}) }) : c.reason ? JSON.stringify({ reason: c.reason }) : null);
  for (const round of rounds) {
    const col = <T>(f: (s: TransitionStep) => T) => round.map(f);
    const res = await preparedQuery<{ n: number }>(
      client,
      `WITH u AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[],
                              $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[])
             AS u(id, version, state, at, hold_id, settlement_entry_id, return_entry_id, partner_ref, attention_reason, last_error, next_attempt_at, lease_until,
                  from_state, cause, actor_type, actor_id, actor_label, message_id, detail, payload)),
       changed AS (
         UPDATE transfers t SET state = u.state::transfer_state, state_changed_at = u.at, version = t.version + 1, hold_id = u.hold_id,
                settlement_entry_id = u.settlement_entry_id, return_entry_id = u.return_entry_id, partner_ref = u.partner_ref,
                attention_reason = u.attention_reason, last_error = u.last_error, next_attempt_at = u.next_attempt_at, lease_until = u.lease_until
           FROM u WHERE t.id = u.id AND t.version = u.version
         RETURNING t.id),
       events AS (
         INSERT INTO transfer_events (transfer_id, from_state, to_state, cause, actor_type, actor_id, actor_label, partner_message_id, detail, created_at)
         SELECT u.id, u.from_state::transfer_state, u.state::transfer_state, u.cause, u.actor_type, u.actor_id, u.actor_label, u.message_id, u.detail::jsonb, u.at
           FROM u JOIN changed c ON c.id = u.id),
       messages AS (
         INSERT INTO outbox_events (topic, aggregate_id, payload, created_at)
         SELECT 'transfer.' || u.state, u.id::text, u.payload::jsonb, u.at FROM u JOIN changed c ON c.id = u.id)
       SELECT count(*)::int AS n FROM changed`,
      [
        col((s) => s.after.id),
        col((s) => s.before.version),
        col((s) => s.after.state),
        col((s) => s.after.stateChangedAt),
        col((s) => s.after.holdId),
        col((s) => s.after.settlementEntryId),
        col((s) => s.after.returnEntryId),
        col((s) => s.after.partnerRef),
        col((s) => s.after.attentionReason),
        col((s) => s.after.lastError),
        col((s) => s.after.nextAttemptAt),
        col((s) => s.after.leaseUntil),
        col((s) => s.before.state),
        col((s) => s.cause.cause),
        col((s) => s.cause.actor.type),
        col((s) => s.cause.actor.id),
        col((s) => s.cause.actor.label),
        col((s) => s.cause.partnerMessageId ?? null),
        col((s) => detailOf(s.cause)),
        col((s) => transitionMessage(s.after, s.before.state, s.cause.cause)),
      ],
    );
    if (res.rows[0]!.n !== round.length) {
      throw new Error(`writing ${round.length} transfer transitions matched ${res.rows[0]!.n} rows: a transfer changed although it was locked`);
    }
  }
  for (const s of steps) {
    if (s.cause.actor.type === "system") continue;
    await appendAudit(pgRunner(client), {
      actor: s.cause.actor,
      action: `transfer.${s.cause.cause}`,
      targetType: "transfer",
      targetId: s.before.id,
      reason: s.cause.reason ?? null,
      before: { state: s.before.state },
      after: { state: s.after.state, ...(s.cause.detail ?? {}) },
      requestId: s.cause.requestId ?? null,
      at: s.at,
    });
  }
}

/** Changes bookkeeping columns of a locked transfer without a state change (no event). */
export async function patchTransfer(client: pg.PoolClient, transferId: string, patch: TransitionPatch & { nextAttemptAt?: Date | null; leaseUntil?: Date | null }): Promise<Transfer> {
  const sets: string[] = [];
  const { values: params, add: p } = sqlParams([transferId]);
  const set = (col: string, v: unknown) => sets.push(`${col} = ${p(v)}`);
  if ("partnerRef" in patch) set("partner_ref", patch.partnerRef);
  if ("attentionReason" in patch) set("attention_reason", patch.attentionReason);
  if ("lastError" in patch) set("last_error", patch.lastError);
  if ("nextAttemptAt" in patch) set("next_attempt_at", patch.nextAttemptAt);
  if ("leaseUntil" in patch) set("lease_until", patch.leaseUntil);
  sets.push("version = version + 1");
  const res = await client.query<TransferRowRaw>(`UPDATE transfers t SET ${sets.join(", ")} WHERE t.id = $1 RETURNING ${TRANSFER_COLUMNS}`, params);
  if (!res.rows[0]) throw new AppError("NOT_FOUND", `transfer ${transferId} does not exist`);
  return rowToTransfer(res.rows[0]);
}
