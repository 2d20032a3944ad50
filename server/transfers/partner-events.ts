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
import { runTransaction } from "../db/transaction";
import type { AuditActor } from "../audit/audit-log";
import type { PartnerEvent } from "../partners/types";
import { forwardPath, isTerminal, type TransferState } from "./state-machine";
import { applyTransition, lockTransfer, patchTransfer } from "./transition";

export type PartnerEventEffect = "applied" | "duplicate_state" | "ignored_backwards" | "ignored_terminal" | "unknown_transfer";

export interface PartnerEventResult {
  effect: PartnerEventEffect;
  transferId: string | null;
  fromState: TransferState | null;
  toState: TransferState | null;
}

const WEBHOOK_ACTOR: AuditActor = { type: "system", id: null, label: "partner-webhook" };

/**
 * Applies one partner event. Errors: DB_UNAVAILABLE; ledger errors are not expected (the hold
 * was placed at creation) and surface if the ledger refuses, so the event stays unprocessed.
 */
export async function applyPartnerEvent(db: Pick<DbHandles, "pool">, e: PartnerEvent, opts: { webhookEventId: string | null; actor?: AuditActor; now?: Date }): Promise<PartnerEventResult> {
  const found = await db.pool.query<{ id: string }>(`SELECT id FROM transfers WHERE idempotency_key = $1 AND partner = $2`, [e.idempotencyKey, e.partner]);
  const transferId = found.rows[0]?.id;
  if (!transferId) return { effect: "unknown_transfer", transferId: null, fromState: null, toState: null };
  return runTransaction(db.pool, async (client) => {
    const t = await lockTransfer(client, transferId);
    const from = t.state;
    const result = (effect: PartnerEventEffect, to: TransferState | null = null): PartnerEventResult => ({ effect, transferId, fromState: from, toState: to });
    const target: TransferState = e.type;
    if (from === target) return result("duplicate_state", from);
    const now = opts.now ?? new Date();
    // Reports only make sense once we have handed the payment over (reserved or later).
    const path = from === "created" ? null : forwardPath(from, target);
    if (!path) {
      if (isTerminal(from) || (from === "settled" && target === "failed")) {
        const contradicts = (from === "failed" || from === "cancelled") && (target === "settled" || target === "acknowledged" || target === "returned");
        if (contradicts) {
          await patchTransfer(client, t.id, { attentionReason: `partner reported ${target} (event ${e.eventId}) but the transfer is ${from}` });
        }
        return result("ignored_terminal");
      }
      // Behind the current state (a late acknowledgement), or nothing it could move forward.
      return result("ignored_backwards");
    }
    let cur = t;
    for (const s of path) {
      const isImplied = s !== target;
      cur = await applyTransition(
        client,
        cur,
        s,
        {
          cause: isImplied ? `webhook.${e.type}.implies_${s}` : `webhook.${e.type}`,
          actor: opts.actor ?? WEBHOOK_ACTOR,
          partnerMessageId: e.eventId,
          detail: { webhookEventId: opts.webhookEventId, occurredAt: e.occurredAt.toISOString(), ...(e.reason ? { partnerReason: e.reason } : {}) },
        },
        now,
        { partnerRef: e.partnerRef, ...(target === "failed" ? { lastError: `failed by ${e.partner}: ${e.reason ?? "no reason given"}` } : {}) },
      );
    }
    return result("applied", cur.state);
  });
}
