/**
 * Applying what a partner reports (a verified webhook, or a replay of a stored one) to the
 * transfer it concerns.
 *
 * Invariants kept:
 * - Idempotent: applying the same event again changes nothing (the transfer is already there).
 * - Never backwards: a report behind the transfer's state (a late acknowledgement after the
 *   settlement) is recorded by the caller and ignored; a report ahead of it walks the transfer
 *   forward through every state it implies, each a recorded event, in one transaction.
 * - A report that contradicts a final state (settled at the partner, failed here) cannot change
 *   anything automatically; it flags the transfer for an operator.
 */
import type { DbHandles } from "../db/client";
import { runKeyedTransaction, runTransaction } from "../db/transaction";
import { AppError } from "../errors/app-error";
import { componentLogger } from "../observability/logger";
import type { AuditActor } from "../audit/audit-log";
import type { PartnerEvent } from "../partners/types";
import { forwardPath, isTerminal, type TransferState } from "./state-machine";
import { applyTransitions, patchTransfer, type TransitionRequest } from "./transition";
import { preparedQuery } from "../db/prepared";
import type pg from "pg";
import { rowToTransfer, TRANSFER_COLUMNS, type Transfer, type TransferRowRaw } from "./types";

export type PartnerEventEffect = "applied" | "duplicate_state" | "ignored_backwards" | "ignored_terminal" | "unknown_transfer";

export interface PartnerEventResult {
  effect: PartnerEventEffect;
  transferId: string | null;
  fromState: TransferState | null;
  toState: TransferState | null;
}

const log = componentLogger("partner-events");

const WEBHOOK_ACTOR: AuditActor = { type: "system", id: null, label: "partner-webhook" };

/**
 * Applies one partner event. Errors: DB_UNAVAILABLE; ledger errors are not expected (the hold
 * was placed at creation) and surface if the ledger refuses, so the event stays unprocessed.
 */
export async function applyPartnerEvent(db: Pick<DbHandles, "pool">, e: PartnerEvent, opts: { webhookEventId: string | null; actor?: AuditActor; now?: Date }): Promise<PartnerEventResult> {
  const [result] = await runKeyedTransaction(db.pool, (client) => applyPartnerEventsInTransaction(client, [{ event: e, webhookEventId: opts.webhookEventId }], opts.now ?? new Date(), opts.actor));
  return result!;
}

/** An event to apply in a batch, with the stored webhook it came from. */
export interface BatchedPartnerEvent {
  event: PartnerEvent;
  webhookEventId: string | null;
}

/**
 * Applies many partner events in one transaction on the caller's client, with the same rules and
 * results as applyPartnerEvent one by one in the given order (events of one transfer must be given
 * in arrival order): the transfers are locked together (in id order), all their transitions are
 * written by applyTransitions (one ledger batch, a few statements) and contradictions flag the
 * transfer afterwards. Returns one result per event, in order.
 *
 * Errors: DB_UNAVAILABLE; a ledger refusal (BATCH_ITEM_FAILED or the ledger's own code). Either way
 * the caller rolls back and may apply the events one by one to isolate the failing one.
 */
export async function applyPartnerEventsInTransaction(
  client: pg.PoolClient,
  items: readonly BatchedPartnerEvent[],
  now: Date,
  actor: AuditActor = WEBHOOK_ACTOR,
): Promise<PartnerEventResult[]> {
  const keys = [...new Set(items.map((i) => i.event.idempotencyKey))];
  const locked = await preparedQuery<TransferRowRaw>(client, `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.idempotency_key = ANY($1::text[]) ORDER BY t.id FOR UPDATE`, [keys]);
  const byKey = new Map<string, Transfer>();
  for (const row of locked.rows) byKey.set(row.idempotency_key, rowToTransfer(row));
  const stateOf = new Map<string, TransferState>();
  const requests: TransitionRequest[] = [];
  const attention: { transferId: string; reason: string }[] = [];
  const results = items.map(({ event: e, webhookEventId }): PartnerEventResult => {
    const t = byKey.get(e.idempotencyKey);
    if (!t || t.partner !== e.partner) return { effect: "unknown_transfer", transferId: null, fromState: null, toState: null };
    const from = stateOf.get(t.id) ?? t.state;
    const result = (effect: PartnerEventEffect, to: TransferState | null = null): PartnerEventResult => ({ effect, transferId: t.id, fromState: from, toState: to });
    const target: TransferState = e.type;
    if (from === target) return result("duplicate_state", from);
    const path = from === "created" ? null : forwardPath(from, target);
    if (!path) {
      if (isTerminal(from) || (from === "settled" && target === "failed")) {
        const contradicts = (from === "failed" || from === "cancelled") && (target === "settled" || target === "acknowledged" || target === "returned");
        if (contradicts) attention.push({ transferId: t.id, reason: `partner reported ${target} (event ${e.eventId}) but the transfer is ${from}` });
        return result("ignored_terminal");
      }
      return result("ignored_backwards");
    }
    for (const s of path) {
      const isImplied = s !== target;
      requests.push({
        transfer: t,
        to: s,
        cause: {
          cause: isImplied ? `webhook.${e.type}.implies_${s}` : `webhook.${e.type}`,
          actor,
          partnerMessageId: e.eventId,
          detail: { webhookEventId, occurredAt: e.occurredAt.toISOString(), ...(e.reason ? { partnerReason: e.reason } : {}) },
        },
        patch: { partnerRef: e.partnerRef, ...(target === "failed" ? { lastError: `failed by ${e.partner}: ${e.reason ?? "no reason given"}` } : {}) },
      });
      stateOf.set(t.id, s);
    }
    return result("applied", target);
  });
  await applyTransitions(client, requests, now);
  for (const a of attention) await patchTransfer(client, a.transferId, { attentionReason: a.reason });
  return results;
}

/** Longest failure text kept on a transfer. */
const MAX_FAILURE_TEXT = 1_000;

/**
 * Records on the transfer why a partner event cannot be applied, when the failure is typed and
 * will not go away by itself (a ledger refusal, an internal idempotency conflict): the transfer
 * gets the error as last_error and an attention reason, so the stuck queue says why it does not
 * move, and the failure is logged as an error. Retryable failures (the database down) and events
 * for unknown transfers change nothing. Returns the transfer flagged, or null.
 */
export async function flagUnappliedPartnerEvent(db: Pick<DbHandles, "pool">, e: PartnerEvent, error: unknown): Promise<string | null> {
  if (!(error instanceof AppError) || error.isRetryable) return null;
  const transferId = await runTransaction(db.pool, async (client) => {
    const row = (await client.query<{ id: string }>(`SELECT id FROM transfers WHERE partner = $1 AND idempotency_key = $2 FOR UPDATE`, [e.partner, e.idempotencyKey])).rows[0];
    if (!row) return null;
    await patchTransfer(client, row.id, {
      lastError: `partner event ${e.eventId} (${e.type}) cannot be applied: ${error.code}: ${error.message}`.slice(0, MAX_FAILURE_TEXT),
      attentionReason: `${e.partner} reported ${e.type}, which cannot be booked (${error.code}); see the last error`.slice(0, MAX_FAILURE_TEXT),
    });
    return row.id;
  });
  if (transferId) log.error({ transferId, eventId: e.eventId, code: error.code, details: error.details, err: error.message }, "a partner event cannot be applied to its transfer");
  return transferId;
}
