/**
 * What operators (and services) may do to a transfer by hand: cancel it before submission, retry
 * it now, ask the partner for its status, mark it failed before the partner has it, and, with the
 * approver role, settle or fail it after submission on evidence. Every action takes a reason,
 * is recorded as a transfer event and an audit record, and is idempotent by its key.
 *
 * Invariants kept:
 * - Nothing that might contradict the partner is done on one person's word: once a submission
 *   may have reached the partner (an accepted, unknown or unfinished call), cancel and mark-failed
 *   are refused until the partner has been asked; settling or failing after submission needs the
 *   approver role (the four-eyes approvals flow wraps these).
 * - A repeated request with the same idempotency key returns the transfer as it is and changes
 *   nothing.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { toAuditActor, type Actor } from "../core/actor";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { assertUuid } from "../core/validate";
import { assertIdempotencyKey, storedIdempotencyKey } from "../core/idempotency";
import { checkReason } from "../core/reasons";
import type { PartnerAdapter } from "../partners/types";
import { forwardPath, isTerminal } from "./state-machine";
import { applyTransition, lockTransfer, patchTransfer, type TransitionPatch } from "./transition";
import { signalSubmissionDue } from "./submission-queue";
import { notFoundFinalAt, queryPartner, resolveUnknown } from "./orchestrator";
import { getRailPolicy, type RailPolicy } from "./rail-policies";
import type { Transfer } from "./types";

export const MAX_BULK_RETRY = 100;
export const MAX_REASON_LENGTH = 500;

export interface OperationInput {
  transferId: string;
  reason: string;
  idempotencyKey: string;
  requestId?: string | null;
  now?: Date;
}

/** The transfer id, the trimmed reason and the key as stored (a caller's in its own scope). */
function checkInput(actor: Actor | AuditActor, input: OperationInput): { id: string; reason: string; key: string } {
  const id = assertUuid(input.transferId, "transferId");
  const key = storedIdempotencyKey(actor, input.idempotencyKey);
  const reason = checkReason(input.reason, { what: "a reason", min: 3, max: MAX_REASON_LENGTH });
  return { id, reason, key };
}

/** True when an earlier action with this key already ran on the transfer. */
async function isReplay(client: pg.PoolClient, transferId: string, key: string): Promise<boolean> {
  const res = await client.query(`SELECT 1 FROM transfer_events WHERE transfer_id = $1 AND detail->>'idempotencyKey' = $2 LIMIT 1`, [transferId, key]);
  if (res.rowCount) return true;
  const audit = await client.query(`SELECT 1 FROM audit_log WHERE target_type = 'transfer' AND target_id = $1 AND after->>'idempotencyKey' = $2 LIMIT 1`, [transferId, key]);
  return (audit.rowCount ?? 0) > 0;
}

/**
 * Whether the partner may hold this payment: a submission was accepted, timed out, or never
 * finished recording (a crash mid-call). Only certain refusals and outages are safe to undo.
 */
async function mayBeAtPartner(client: pg.PoolClient, t: Transfer, policy: RailPolicy, now: Date): Promise<boolean> {
  if (t.leaseUntil && t.leaseUntil.getTime() > now.getTime()) return true;
  const res = await client.query(
    `SELECT 1 FROM partner_requests WHERE transfer_id = $1 AND kind = 'submit' AND (outcome IS NULL OR outcome IN ('accepted', 'unknown')) LIMIT 1`,
    [t.id],
  );
  if (!res.rowCount) return false;
  // A later status query that found nothing settles the question, if it was asked late enough
  // after the last submission that may have executed to be believed (notFoundFinalAt): one asked
  // sooner (a stale operator query, the worker's own early one) may describe a request the
  // partner is still processing.
  const q = await client.query<{ outcome: string | null; started_at: Date }>(
    `SELECT outcome, started_at FROM partner_requests WHERE transfer_id = $1 AND kind = 'query' ORDER BY id DESC LIMIT 1`,
    [t.id],
  );
  if (q.rows[0]?.outcome !== "status:not_found") return true;
  const finalAt = await notFoundFinalAt(client, t.id, policy);
  return finalAt !== null && q.rows[0].started_at.getTime() < finalAt.getTime();
}

async function audit(client: pg.PoolClient, actor: AuditActor, action: string, t: Transfer, reason: string, after: Record<string, unknown>, requestId: string | null | undefined, at: Date) {
  await appendAudit(pgRunner(client), { actor, action, targetType: "transfer", targetId: t.id, reason, before: { state: t.state }, after, requestId: requestId ?? null, at });
}

/**
 * Cancels a transfer that has not reached the partner (created or reserved), voiding its hold.
 * Errors: BAD_INPUT; NOT_FOUND; ILLEGAL_TRANSITION (already submitted or final); CONFLICT (a
 * submission may have reached the partner: query the partner first).
 */
export async function cancelTransfer(db: Pick<DbHandles, "pool">, actor: Actor | AuditActor, input: OperationInput): Promise<Transfer> {
  return stopBeforeSubmission(db, actor, input, { to: "cancelled", cause: "operator.cancel", whenSubmitted: "only created or reserved transfers can be cancelled", queryFirst: "before cancelling" });
}

/**
 * Marks a transfer failed before the partner has it, voiding the hold.
 * Errors: as cancelTransfer. After submission this needs markFailedAfterSubmission (approver).
 */
export async function markTransferFailed(db: Pick<DbHandles, "pool">, actor: Actor | AuditActor, input: OperationInput): Promise<Transfer> {
  return stopBeforeSubmission(db, actor, input, {
    to: "failed",
    cause: "operator.mark_failed",
    whenSubmitted: "after submission failing it needs an approver",
    queryFirst: "first",
    patch: (reason) => ({ lastError: `marked failed: ${reason}` }),
  });
}

/**
 * One operator's stop of a transfer the partner does not have: under the transfer's lock, a replay
 * of the key returns it as it is; a transfer past reserved is ILLEGAL_TRANSITION (`whenSubmitted`
 * says why) and one whose submission may have reached the partner is CONFLICT; otherwise it moves
 * `to` its final state, voiding the hold, with the key in its event.
 */
async function stopBeforeSubmission(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: OperationInput,
  stop: { to: "cancelled" | "failed"; cause: string; whenSubmitted: string; queryFirst: string; patch?: (reason: string) => TransitionPatch },
): Promise<Transfer> {
  const { id, reason, key } = checkInput(actor, input);
  return runTransaction(db.pool, async (client) => {
    const t = await lockTransfer(client, id);
    if (await isReplay(client, id, key)) return t;
    const now = input.now ?? new Date();
    if (t.state !== "created" && t.state !== "reserved") {
      throw new AppError("ILLEGAL_TRANSITION", `transfer ${id} is ${t.state}; ${stop.whenSubmitted}`, { details: { transferId: id, state: t.state } });
    }
    if (await mayBeAtPartner(client, t, await getRailPolicy(db, t.partner, t.rail), now)) {
      throw new AppError("CONFLICT", `transfer ${id} may already be at ${t.partner}; query the partner for its status ${stop.queryFirst}`, { details: { transferId: id } });
    }
    return applyTransition(client, t, stop.to, { cause: stop.cause, actor: toAuditActor(actor), reason, detail: { idempotencyKey: key }, requestId: input.requestId }, now, stop.patch?.(reason) ?? {});
  });
}

/**
 * Settles (posts the hold) or fails (voids it) a transfer the partner already has, on evidence,
 * inside the caller's transaction. Only the approvals flow calls it (kinds transfer_force_settle
 * and transfer_force_fail in ./adjustment-kinds.ts): this decides money after submission and is
 * never one person's decision.
 * Errors: BAD_INPUT (no evidence); NOT_FOUND; ILLEGAL_TRANSITION (not submitted/acknowledged).
 */
export async function forceTransferOutcomeInTransaction(
  client: pg.PoolClient,
  actor: Actor | AuditActor,
  input: OperationInput & { outcome: "settled" | "failed"; evidence: string; proposalId: string },
): Promise<Transfer> {
  const { id, reason, key } = checkInput(actor, input);
  const evidence = input.evidence.trim();
  if (evidence.length < 3 || evidence.length > 2000) throw new AppError("BAD_INPUT", "evidence (a link, a partner message id, a statement line) of 3 to 2000 characters is required");
  const t = await lockTransfer(client, id);
  if (t.state !== "submitted" && t.state !== "acknowledged") {
    throw new AppError("ILLEGAL_TRANSITION", `transfer ${id} is ${t.state}; only submitted or acknowledged transfers can be forced to ${input.outcome}`, { details: { transferId: id, state: t.state } });
  }
  return applyTransition(
    client,
    t,
    input.outcome,
    { cause: `approved.force_${input.outcome}`, actor: toAuditActor(actor), reason, detail: { idempotencyKey: key, evidence, proposalId: input.proposalId }, requestId: input.requestId },
    input.now ?? new Date(),
    input.outcome === "failed" ? { lastError: `forced failed on approved proposal ${input.proposalId}: ${reason}` } : { attentionReason: null },
  );
}

/**
 * Retries now: a created or reserved transfer is submitted again at once (same idempotency key,
 * so the partner cannot execute it twice), clearing its backoff and any wait for an operator.
 * A submitted or acknowledged transfer is already at the partner: ask it (queryTransferAtPartner).
 * Errors: BAD_INPUT; NOT_FOUND; ILLEGAL_TRANSITION (already at the partner, settled or final).
 */
export async function retryTransfer(db: Pick<DbHandles, "pool">, actor: Actor | AuditActor, input: OperationInput): Promise<Transfer> {
  const { id, reason, key } = checkInput(actor, input);
  const t = await runTransaction(db.pool, async (client) => {
    const cur = await lockTransfer(client, id);
    if (await isReplay(client, id, key)) return cur;
    const now = input.now ?? new Date();
    if (cur.state !== "created" && cur.state !== "reserved") {
      const hint = cur.state === "submitted" || cur.state === "acknowledged" ? "it is already at the partner; query the partner instead" : "there is nothing to retry";
      throw new AppError("ILLEGAL_TRANSITION", `transfer ${id} is ${cur.state}; ${hint}`, { details: { transferId: id, state: cur.state } });
    }
    await audit(client, toAuditActor(actor), "transfer.retry", cur, reason, { idempotencyKey: key, attentionCleared: cur.attentionReason }, input.requestId, now);
    // Due at once: a worker claims it from the submission queue (./submission-queue.ts).
    return patchTransfer(client, id, { nextAttemptAt: null, attentionReason: null });
  });
  signalSubmissionDue(db);
  return t;
}

/** Retries a selection; each is its own action, so one refusal does not stop the rest. */
export async function bulkRetryTransfers(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: { transferIds: string[]; reason: string; idempotencyKey: string; requestId?: string | null },
): Promise<{ transferId: string; ok: boolean; state?: string; error?: { code: string; message: string } }[]> {
  if (input.transferIds.length === 0 || input.transferIds.length > MAX_BULK_RETRY) throw new AppError("BAD_INPUT", `select 1 to ${MAX_BULK_RETRY} transfers`);
  // Each transfer's retry gets a key of its own derived from the request's (short enough for any
  // key the caller may send); retryTransfer stores it in the caller's scope.
  const bulkKey = createHash("sha256").update(assertIdempotencyKey(input.idempotencyKey)).digest("hex").slice(0, 32);
  const out = [];
  for (const transferId of [...new Set(input.transferIds)]) {
    try {
      const t = await retryTransfer(db, actor, { transferId, reason: input.reason, idempotencyKey: `bulk:${bulkKey}:${transferId}`, requestId: input.requestId });
      out.push({ transferId, ok: true, state: t.state });
    } catch (e) {
      if (!(e instanceof AppError) || e.code === "DB_UNAVAILABLE") throw e;
      out.push({ transferId, ok: false, error: { code: e.code, message: e.message } });
    }
  }
  return out;
}

/**
 * Asks the partner for the transfer's status and applies what it says: forward moves along the
 * state machine; for a reserved transfer whose submission outcome was unknown, "not found" fails
 * it and releases the hold.
 *
 * The answer describes the moment it was asked. It is applied only if the transfer's attempt count
 * and version are what they were when the question was asked: a worker that submitted again in
 * between (a new attempt that may have executed) or any other change makes the answer stale, and
 * a stale "not found" must not release money the new attempt may have paid. A stale answer is
 * audited and returned with `isApplied: false`; nothing else changes (ask again).
 *
 * Idempotent by key like the other operations: a repeat with the key (sequential, or a duplicate
 * that was in flight at the same time and reaches the row lock second) gets the first query's
 * answer (its audit record: partner status and whether it was applied) with the transfer as it is
 * now, and writes nothing.
 * Errors: BAD_INPUT; NOT_FOUND; ILLEGAL_TRANSITION (created or final; a repeat of an answered
 * query is answered first).
 */
export async function queryTransferAtPartner(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: OperationInput,
  adapterFor: (partner: string) => PartnerAdapter,
): Promise<{ transfer: Transfer; partnerStatus: string; isApplied: boolean }> {
  const { id, reason, key } = checkInput(actor, input);
  const { first, stored } = await runTransaction(db.pool, async (c) => ({ first: await lockTransfer(c, id), stored: await storedQueryAnswer(c, id, key) }));
  if (stored) return { transfer: first, ...stored };
  if (first.state === "created" || isTerminal(first.state)) {
    throw new AppError("ILLEGAL_TRANSITION", `transfer ${id} is ${first.state}; the partner has nothing to say about it`, { details: { transferId: id, state: first.state } });
  }
  const policy = await getRailPolicy(db, first.partner, first.rail);
  const status = await queryPartner(db, first, adapterFor(first.partner), policy, first.attempts);
  let isApplied = false;
  let replayed: { partnerStatus: string; isApplied: boolean } | null = null;
  const transfer = await runTransaction(db.pool, async (client) => {
    const cur = await lockTransfer(client, id);
    // A duplicate that asked the partner at the same time as the first: the first's answer stands.
    replayed = await storedQueryAnswer(client, id, key);
    if (replayed) return cur;
    const now = input.now ?? new Date();
    const isStale = cur.attempts !== first.attempts || cur.version !== first.version;
    // A "not found" too soon after a submission that may have executed is not believed (see
    // notFoundFinalAt): the partner may still be processing it.
    const finalAt = status.kind === "ok" && status.status === "not_found" && cur.state === "reserved" ? await notFoundFinalAt(client, id, policy) : null;
    const isTooSoon = finalAt !== null && finalAt.getTime() > now.getTime();
    isApplied = status.kind === "ok" && !isStale && !isTooSoon;
    await audit(
      client,
      toAuditActor(actor),
      "transfer.query_partner",
      cur,
      reason,
      {
        idempotencyKey: key,
        partnerStatus: status.kind === "ok" ? status.status : `unavailable: ${status.reason}`,
        isApplied,
        ...(isStale ? { notApplied: `the transfer changed while the partner was asked (attempts ${first.attempts} -> ${cur.attempts}, version ${first.version} -> ${cur.version})` } : {}),
        ...(!isStale && isTooSoon ? { notApplied: `the partner's "not found" is not believed before ${finalAt!.toISOString()}: its last submission may still be in process` } : {}),
      },
      input.requestId,
      now,
    );
    if (!isApplied || status.kind !== "ok") return cur;
    if (cur.state === "reserved") {
      const isInFlight = cur.leaseUntil !== null && cur.leaseUntil.getTime() > now.getTime();
      if (status.status === "not_found" && isInFlight) return cur;
      await resolveUnknown(client, cur, status, cur.attempts, now);
      const after = await lockTransfer(client, id);
      return after.attentionReason && after.state !== "reserved" ? patchTransfer(client, id, { attentionReason: null }) : after;
    }
    if (status.status === "not_found") return patchTransfer(client, id, { attentionReason: `partner ${cur.partner} has no record of this ${cur.state} transfer` });
    let next = cur;
    for (const s of forwardPath(cur.state, status.status) ?? []) {
      next = await applyTransition(client, next, s, { cause: "operator.query_partner", actor: toAuditActor(actor), reason, detail: { partnerStatus: status.status }, requestId: input.requestId }, now, { partnerRef: status.partnerRef });
    }
    return next;
  });
  if (replayed) return { transfer, ...(replayed as { partnerStatus: string; isApplied: boolean }) };
  return { transfer, partnerStatus: status.kind === "ok" ? status.status : "unavailable", isApplied };
}

/** The answer of an earlier query of the transfer under this key (from its audit record), or null. */
async function storedQueryAnswer(client: pg.PoolClient, transferId: string, key: string): Promise<{ partnerStatus: string; isApplied: boolean } | null> {
  const res = await client.query<{ after: { partnerStatus?: string; isApplied?: boolean } }>(
    `SELECT after FROM audit_log WHERE target_type = 'transfer' AND target_id = $1 AND action = 'transfer.query_partner' AND after->>'idempotencyKey' = $2 LIMIT 1`,
    [transferId, key],
  );
  const after = res.rows[0]?.after;
  if (!after) return null;
  const partnerStatus = String(after.partnerStatus ?? "unavailable");
  return { partnerStatus: partnerStatus.startsWith("unavailable") ? "unavailable" : partnerStatus, isApplied: after.isApplied === true };
}
