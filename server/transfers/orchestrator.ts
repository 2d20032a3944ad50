/**
 * Drives transfers forward in the worker: reserve, submit to the partner, retry with backoff,
 * resolve unknown outcomes by asking the partner. Runs as the handler of the transfer-advance
 * queue (pg-boss); any number of workers may run it at once.
 *
 * Invariants kept:
 * - Partner calls carry the transfer's idempotency key, so a repeated submission (a crash between
 *   the call and recording its result, a retry after a timeout) never executes twice at a partner
 *   that honours keys, as every adapter must.
 * - One worker at a time talks to the partner about a transfer: it takes a lease (lease_until)
 *   in a short transaction before the call; a crashed worker's lease simply runs out.
 * - Every call is recorded in partner_requests before it is made and completed after.
 * - Retryable failures (certainly not executed) back off exponentially with jitter up to the
 *   rail's limit, then fail the transfer (hold voided). Unknown outcomes (timeouts) are retried
 *   the same way; when the limit is reached the partner is asked for the status and, if it cannot
 *   say, the transfer waits for an operator (attention_reason) rather than guessing.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runTransaction } from "../db/transaction";
import { isAppError } from "../errors/app-error";
import { enqueue, prepareSender, QUEUES } from "../jobs/queues";
import { componentLogger } from "../observability/logger";
import type { PartnerAdapter, StatusOutcome, SubmitOutcome } from "../partners/types";
import { forwardPath, type TransferState } from "./state-machine";
import { applyTransition, lockTransfer, patchTransfer, type TransitionCause } from "./transition";
import { backoffMs, getRailPolicy, type RailPolicy } from "./rail-policies";
import { rowToTransfer, TRANSFER_COLUMNS, type Transfer, type TransferRowRaw } from "./types";

const log = componentLogger("transfers");

export const WORKER_ACTOR = { type: "system", id: null, label: "worker" } as const;

export interface OrchestratorDeps {
  adapterFor(partner: string): PartnerAdapter;
  now?: () => Date;
}

export type AdvanceOutcome =
  | { action: "none"; state: TransferState }
  | { action: "busy" }
  | { action: "waiting"; until: Date }
  | { action: "submitted"; state: TransferState }
  | { action: "retry_scheduled"; at: Date; attempt: number }
  | { action: "failed"; reason: string }
  | { action: "needs_attention"; reason: string };

async function load(db: Pick<DbHandles, "pool">, transferId: string): Promise<Transfer | null> {
  const res = await db.pool.query<TransferRowRaw>(`SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1`, [transferId]);
  return res.rows[0] ? rowToTransfer(res.rows[0]) : null;
}

const cause = (name: string, extra: Partial<TransitionCause> = {}): TransitionCause => ({ cause: name, actor: WORKER_ACTOR, ...extra });

/**
 * Takes one step for a transfer, whatever state it is in; safe to call any number of times.
 * Errors: DB_UNAVAILABLE (the job is retried by pg-boss); partner problems never throw.
 */
export async function advanceTransfer(db: Pick<DbHandles, "pool">, transferId: string, deps: OrchestratorDeps): Promise<AdvanceOutcome> {
  const now = deps.now ?? (() => new Date());
  await prepareSender(db);
  let t = await load(db, transferId);
  if (!t) return { action: "none", state: "failed" };
  if (t.state === "created") {
    t = await runTransaction(db.pool, async (client) => {
      const locked = await lockTransfer(client, transferId);
      if (locked.state !== "created") return locked;
      return reserveOrFail(client, locked, now());
    });
  }
  if (t.state !== "reserved") return { action: "none", state: t.state };
  if (t.attentionReason) return { action: "needs_attention", reason: t.attentionReason };
  if (t.nextAttemptAt && t.nextAttemptAt.getTime() > now().getTime()) {
    await enqueue(db, QUEUES.transferAdvance, { transferId }, { startAfter: t.nextAttemptAt });
    return { action: "waiting", until: t.nextAttemptAt };
  }
  const policy = await getRailPolicy(db, t.partner, t.rail);
  return submit(db, t, policy, deps, now);
}

async function reserveOrFail(client: pg.PoolClient, t: Transfer, now: Date): Promise<Transfer> {
  await client.query("SAVEPOINT reserve");
  try {
    return await applyTransition(client, t, "reserved", cause("reserve"), now);
  } catch (e) {
    if (!isAppError(e) || e.code === "DB_UNAVAILABLE") throw e;
    await client.query("ROLLBACK TO SAVEPOINT reserve");
    return applyTransition(client, t, "failed", cause("reserve_refused", { detail: { code: e.code, message: e.message } }), now, { lastError: `${e.code}: ${e.message}` });
  }
}

/** Claims the lease and counts the attempt in one statement; null when another worker holds it. */
async function claim(db: Pick<DbHandles, "pool">, t: Transfer, policy: RailPolicy, now: Date): Promise<{ attempt: number; requestId: string } | null> {
  const leaseUntil = new Date(now.getTime() + policy.submitTimeoutMs + 10_000);
  const request = {
    rail: t.rail,
    amountMinor: t.amountMinor.toString(),
    currency: t.currency,
    counterpartyName: t.counterpartyName,
    counterpartyAccount: t.counterpartyAccount,
    reference: t.reference,
    idempotencyKey: t.idempotencyKey,
  };
  const res = await db.pool.query<{ attempts: number; request_id: string }>(
    `WITH c AS (
       UPDATE transfers SET lease_until = $2, attempts = attempts + 1
        WHERE id = $1 AND state = 'reserved' AND attention_reason IS NULL
          AND (lease_until IS NULL OR lease_until < $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
        RETURNING id, partner, attempts)
     INSERT INTO partner_requests (transfer_id, partner, kind, attempt, request, started_at)
     SELECT id, partner, 'submit', attempts, $4, $3 FROM c
     RETURNING attempt AS attempts, id::text AS request_id`,
    [t.id, leaseUntil, now, JSON.stringify(request)],
  );
  const row = res.rows[0];
  return row ? { attempt: row.attempts, requestId: row.request_id } : null;
}

async function recordResponse(
  sql: Pick<pg.Pool | pg.PoolClient, "query">,
  requestId: string,
  outcome: { kind: string; raw?: unknown; httpStatus?: number | null; reason?: string },
  durationMs: number,
): Promise<void> {
  await sql.query(
    `UPDATE partner_requests SET response = $2, outcome = $3, http_status = $4, error = $5, finished_at = now(), duration_ms = $6 WHERE id = $1`,
    [requestId, JSON.stringify(outcome.raw ?? null), outcome.kind, outcome.httpStatus ?? null, outcome.reason ?? null, durationMs],
  );
}

async function submit(db: Pick<DbHandles, "pool">, t: Transfer, policy: RailPolicy, deps: OrchestratorDeps, now: () => Date): Promise<AdvanceOutcome> {
  const claimed = await claim(db, t, policy, now());
  if (!claimed) return { action: "busy" };
  const adapter = deps.adapterFor(t.partner);
  const started = Date.now();
  let outcome: SubmitOutcome;
  try {
    outcome = await adapter.submit(
      {
        transferId: t.id,
        idempotencyKey: t.idempotencyKey,
        rail: t.rail,
        amountMinor: t.amountMinor,
        currency: t.currency,
        counterpartyName: t.counterpartyName,
        counterpartyAccount: t.counterpartyAccount,
        reference: t.reference,
      },
      AbortSignal.timeout(policy.submitTimeoutMs),
    );
  } catch (e) {
    // An adapter must not throw, but if one does we cannot know whether the partner executed.
    outcome = { kind: "unknown", reason: `adapter error: ${(e as Error).message}`, raw: null };
  }
  const finishedAt = Date.now();

  let status: StatusOutcome | null = null;
  const isLast = claimed.attempt >= policy.maxSubmitAttempts;
  if (outcome.kind === "unknown" && isLast) status = await queryPartner(db, t, adapter, policy, claimed.attempt);

  return runTransaction(db.pool, async (client) => {
    // The call's record commits with the decision it led to (one commit, not two).
    await recordResponse(client, claimed.requestId, outcome, finishedAt - started);
    const cur = await lockTransfer(client, t.id);
    if (cur.state !== "reserved") {
      // A webhook overtook the response and already moved the transfer on; nothing left to do.
      return { action: "none", state: cur.state } as AdvanceOutcome;
    }
    const at = now();
    switch (outcome.kind) {
      case "accepted": {
        const msg = { partnerRef: outcome.partnerRef, detail: { attempt: claimed.attempt, httpStatus: outcome.httpStatus } };
        let next = await applyTransition(client, cur, "submitted", cause("partner.accepted", msg), at, { partnerRef: outcome.partnerRef, lastError: null });
        if (outcome.status === "acknowledged") next = await applyTransition(client, next, "acknowledged", cause("partner.acknowledged_on_submit", msg), at);
        return { action: "submitted", state: next.state } as AdvanceOutcome;
      }
      case "rejected":
        await applyTransition(client, cur, "failed", cause("partner.rejected", { detail: { reason: outcome.reason, httpStatus: outcome.httpStatus } }), at, { lastError: `rejected by ${t.partner}: ${outcome.reason}` });
        return { action: "failed", reason: outcome.reason } as AdvanceOutcome;
      case "retryable":
      case "unknown": {
        const reason = `${outcome.kind === "unknown" ? "outcome unknown" : "partner unavailable"} on attempt ${claimed.attempt}: ${outcome.reason}`;
        if (!isLast) {
          const retryAt = new Date(at.getTime() + backoffMs(policy, claimed.attempt));
          await patchTransfer(client, t.id, { nextAttemptAt: retryAt, leaseUntil: null, lastError: reason });
          await enqueue(db, QUEUES.transferAdvance, { transferId: t.id }, { startAfter: retryAt, client });
          return { action: "retry_scheduled", at: retryAt, attempt: claimed.attempt } as AdvanceOutcome;
        }
        if (outcome.kind === "retryable") {
          const why = `partner ${t.partner} unavailable after ${claimed.attempt} attempts: ${outcome.reason}`;
          await applyTransition(client, cur, "failed", cause("retries_exhausted", { detail: { attempts: claimed.attempt } }), at, { lastError: why });
          return { action: "failed", reason: why } as AdvanceOutcome;
        }
        return resolveUnknown(client, cur, status, claimed.attempt, at);
      }
    }
  });
}

/** Asks the partner what happened to a transfer, recording the call. */
export async function queryPartner(db: Pick<DbHandles, "pool">, t: Transfer, adapter: PartnerAdapter, policy: RailPolicy, attempt: number): Promise<StatusOutcome> {
  const ins = await db.pool.query<{ id: string }>(
    `INSERT INTO partner_requests (transfer_id, partner, kind, attempt, request, started_at) VALUES ($1, $2, 'query', $3, $4, now()) RETURNING id::text`,
    [t.id, t.partner, attempt, JSON.stringify({ idempotencyKey: t.idempotencyKey })],
  );
  const started = Date.now();
  let status: StatusOutcome;
  try {
    status = await adapter.queryStatus(t.idempotencyKey, AbortSignal.timeout(policy.submitTimeoutMs));
  } catch (e) {
    status = { kind: "unavailable", reason: `adapter error: ${(e as Error).message}`, raw: null };
  }
  await recordResponse(db.pool, ins.rows[0]!.id, status.kind === "ok" ? { kind: `status:${status.status}`, raw: status.raw } : { kind: "unavailable", raw: status.raw, reason: status.reason }, Date.now() - started);
  return status;
}

/**
 * Applies what the partner says about a transfer whose submission outcome was unknown: not found
 * means it never executed (fail, releasing the hold); a known status moves it forward; no answer
 * leaves it for an operator.
 */
export async function resolveUnknown(client: pg.PoolClient, cur: Transfer, status: StatusOutcome | null, attempts: number, at: Date): Promise<AdvanceOutcome> {
  if (!status || status.kind === "unavailable") {
    const reason = `outcome unknown after ${attempts} attempts and the partner could not confirm the status${status ? `: ${status.reason}` : ""}`;
    await patchTransfer(client, cur.id, { attentionReason: reason, leaseUntil: null, lastError: reason });
    log.warn({ transferId: cur.id, reason }, "transfer needs an operator");
    return { action: "needs_attention", reason };
  }
  if (status.status === "not_found") {
    const why = `partner has no record of the payment after ${attempts} attempts`;
    await applyTransition(client, cur, "failed", cause("partner.not_found"), at, { lastError: why });
    return { action: "failed", reason: why };
  }
  const target: TransferState = status.status;
  const path = forwardPath(cur.state, target) ?? [];
  let next = cur;
  for (const s of path) {
    next = await applyTransition(client, next, s, cause("partner.status", { detail: { partnerStatus: status.status } }), at, { partnerRef: status.partnerRef, lastError: null });
  }
  return { action: "submitted", state: next.state };
}

/**
 * Asks the partner about a submitted or acknowledged transfer and moves it forward along what the
 * partner reports (the safety net when its webhooks never arrive). A partner that does not answer
 * or has no record changes nothing here: the transfer stays stuck for an operator.
 * Returns the state after, or null when the transfer is not waiting on the partner.
 */
export async function pollPartnerStatus(db: Pick<DbHandles, "pool">, transferId: string, deps: OrchestratorDeps): Promise<TransferState | null> {
  const now = deps.now ?? (() => new Date());
  const t = await load(db, transferId);
  if (!t || (t.state !== "submitted" && t.state !== "acknowledged")) return null;
  const policy = await getRailPolicy(db, t.partner, t.rail);
  const status = await queryPartner(db, t, deps.adapterFor(t.partner), policy, t.attempts);
  if (status.kind !== "ok" || status.status === "not_found") return t.state;
  const target: TransferState = status.status;
  const partnerRef = status.partnerRef;
  return runTransaction(db.pool, async (client) => {
    let next = await lockTransfer(client, transferId);
    for (const s of forwardPath(next.state, target) ?? []) {
      next = await applyTransition(client, next, s, cause("partner.status_poll", { detail: { partnerStatus: target } }), now(), { partnerRef });
    }
    return next.state;
  });
}
