/**
 * The one place a transfer changes state. Each transition runs inside one database transaction
 * (the caller's, from runTransaction) that locks the transfer row, checks the edge, applies the
 * state's ledger effect through the ledger's write path, records the event and an outbox message,
 * and audits human and service actions.
 *
 * Invariants kept:
 * - A transition happens only along EDGES (server/transfers/state-machine.ts); the database trigger
 *   transfers_guard refuses any other, whoever writes.
 * - Ledger effects use idempotency keys derived from the transfer id and the effect
 *   (`transfer:<id>:reserve|settle|void|return`), so no code path can place, post or release a
 *   transfer's hold twice, even after a crash between steps.
 * - The event row, the outbox message and the state change commit together or not at all.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { executeLedgerCommandInTransaction } from "../ledger/write-path";
import { canTransition, isTerminal, type TransferState } from "./state-machine";
import { rowToTransfer, TRANSFER_COLUMNS, transferPayload, type Transfer, type TransferRowRaw } from "./types";

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

/** The ledger account a partner's money moves through: an asset, our balance at the partner. */
export function partnerAccountCode(partner: string, currency: string): string {
  return `partner:${partner}:settlement:${currency}`;
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
  if (!canTransition(t.state, to)) {
    throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} is ${t.state}${isTerminal(t.state) ? " (final)" : ""} and cannot become ${to}`, {
      details: { transferId: t.id, from: t.state, to },
    });
  }
  let holdId = t.holdId;
  let settlementEntryId = t.settlementEntryId;
  let returnEntryId = t.returnEntryId;
  const ledgerOpts = (effect: string) => ({ idempotencyKey: `transfer:${t.id}:${effect}`, requestId: c.requestId ?? null, now });

  if (to === "reserved") {
    const partnerAccountId = await findAccountId(client, partnerAccountCode(t.partner, t.currency));
    const id = holdId ?? randomUUID();
    const result = await executeLedgerCommandInTransaction(
      client,
      c.actor,
      {
        type: "place_hold",
        holdId: id,
        debitAccountId: t.sourceAccountId,
        creditAccountId: partnerAccountId,
        amountMinor: t.amountMinor,
        currency: t.currency,
        expiresAt: new Date(now.getTime() + HOLD_LIFETIME_MS),
        reference: `transfer:${t.id}`,
        description: `transfer ${t.id} to ${t.counterpartyName}`,
      },
      ledgerOpts("reserve"),
    );
    holdId = result.holds[0]?.holdId ?? id;
  } else if (to === "settled") {
    if (!holdId) throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} has no hold to settle`);
    const result = await executeLedgerCommandInTransaction(client, c.actor, { type: "post_hold", holdId, description: `transfer ${t.id} settled` }, ledgerOpts("settle"));
    settlementEntryId = result.entries[0]?.entryId ?? null;
  } else if (to === "failed" || to === "cancelled") {
    if (holdId && (await holdStatus(client, holdId)) === "pending") {
      await executeLedgerCommandInTransaction(client, c.actor, { type: "void_hold", holdId }, ledgerOpts("void"));
    }
  } else if (to === "returned") {
    if (!settlementEntryId) throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} has no settlement entry to reverse`);
    const result = await executeLedgerCommandInTransaction(
      client,
      c.actor,
      { type: "reverse_entry", entryId: settlementEntryId, description: `transfer ${t.id} returned by the partner` },
      ledgerOpts("return"),
    );
    returnEntryId = result.entries[0]?.entryId ?? null;
  }

  const isEnd = isTerminal(to) || to === "settled";
  const res = await client.query<TransferRowRaw>(
    `UPDATE transfers t SET state = $2, state_changed_at = $3, version = version + 1, hold_id = $4, settlement_entry_id = $5,
            return_entry_id = $6, partner_ref = COALESCE($7, partner_ref),
            attention_reason = CASE WHEN $8::boolean THEN $9 ELSE attention_reason END,
            last_error = CASE WHEN $10::boolean THEN $11 ELSE last_error END,
            next_attempt_at = CASE WHEN $12::boolean THEN NULL ELSE next_attempt_at END,
            lease_until = CASE WHEN $12::boolean THEN NULL ELSE lease_until END
      WHERE t.id = $1 RETURNING ${TRANSFER_COLUMNS}`,
    [
      t.id,
      to,
      now,
      holdId,
      settlementEntryId,
      returnEntryId,
      patch.partnerRef ?? null,
      "attentionReason" in patch || isEnd,
      patch.attentionReason ?? null,
      "lastError" in patch,
      patch.lastError ?? null,
      isEnd || to === "submitted" || to === "acknowledged",
    ],
  );
  const updated = rowToTransfer(res.rows[0]!);
  await client.query(
    `INSERT INTO transfer_events (transfer_id, from_state, to_state, cause, actor_type, actor_id, actor_label, partner_message_id, detail, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [t.id, t.state, to, c.cause, c.actor.type, c.actor.id, c.actor.label, c.partnerMessageId ?? null, c.detail ? JSON.stringify({ ...c.detail, ...(c.reason ? { reason: c.reason } : {}) }) : c.reason ? JSON.stringify({ reason: c.reason }) : null, now],
  );
  await client.query(`INSERT INTO outbox_events (topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3, $4)`, [
    `transfer.${to}`,
    t.id,
    JSON.stringify({ ...transferPayload(updated), fromState: t.state, cause: c.cause }),
    now,
  ]);
  if (c.actor.type !== "system") {
    await appendAudit(pgRunner(client), {
      actor: c.actor,
      action: `transfer.${c.cause}`,
      targetType: "transfer",
      targetId: t.id,
      reason: c.reason ?? null,
      before: { state: t.state },
      after: { state: to, ...(c.detail ?? {}) },
      requestId: c.requestId ?? null,
      at: now,
    });
  }
  return updated;
}

/** Changes bookkeeping columns of a locked transfer without a state change (no event). */
export async function patchTransfer(client: pg.PoolClient, transferId: string, patch: TransitionPatch & { nextAttemptAt?: Date | null; leaseUntil?: Date | null }): Promise<Transfer> {
  const sets: string[] = [];
  const params: unknown[] = [transferId];
  const set = (col: string, v: unknown) => {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  };
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

async function findAccountId(client: pg.PoolClient, code: string): Promise<string> {
  const res = await client.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = $1`, [code]);
  if (!res.rows[0]) throw new AppError("NOT_FOUND", `ledger account ${code} does not exist`, { details: { code } });
  return res.rows[0].id;
}

async function holdStatus(client: pg.PoolClient, holdId: string): Promise<string | null> {
  const res = await client.query<{ status: string }>(`SELECT status FROM holds WHERE id = $1`, [holdId]);
  return res.rows[0]?.status ?? null;
}
