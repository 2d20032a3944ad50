/**
 * Drives transfers forward in the worker: reserve, submit to the partner, retry with backoff,
 * resolve unknown outcomes by asking the partner. The worker's submission loop
 * (server/worker/submission-loop.ts) claims due transfers straight from the transfers table
 * (./submission-queue.ts), calls the partner for each (submitOne) and records the answers
 * (recordSubmissions); advanceTransfers takes any transfer one
 * step (the loop's rarer cases, jobs an earlier version enqueued, tests). Any number of workers may
 * run at once.
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
 * - The partner's "not found" fails a transfer only once its latest submission that may have
 *   executed (outcome unknown, or never recorded) started at least notFoundFinalAfterMs ago: a
 *   partner may still be processing a request its caller gave up on, and a "not found" asked too
 *   early would release the hold of a payment it executes a moment later. Until then the transfer
 *   waits, and is then asked again rather than submitted again.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { runKeyedTransaction } from "../db/transaction";
import { isAppError } from "../errors/app-error";
import { componentLogger } from "../observability/logger";
import { contextFromTraceParent, runInContext, SpanKind, withSpan, type Context } from "../observability/tracing";
import type { PartnerAdapter, StatusOutcome, SubmitOutcome } from "../partners/types";
import { forwardPath, type TransferState } from "./state-machine";
import { applyTransition, applyTransitions, lockTransfer, patchTransfer, type TransitionCause, type TransitionRequest } from "./transition";
import { preparedQuery } from "../db/prepared";
import { backoffMs, getRailPolicy, type RailPolicy } from "./rail-policies";
import { payoutOf, rowToTransfer, TRANSFER_COLUMNS, type Transfer, type TransferRowRaw } from "./types";

const log = componentLogger("transfers");

export const WORKER_ACTOR = { type: "system", id: null, label: "worker" } as const;

export interface OrchestratorDeps {
  adapterFor(partner: string): PartnerAdapter;
  now?: () => Date;
  /**
   * The trace context a transfer's work continues (its job's span, from the job payload); default
   * the trace of the call that created it (transfers.trace_parent).
   */
  contextOf?(transferId: string): Context | undefined;
}

/** The trace context of a transfer's work (see OrchestratorDeps.contextOf). */
function contextOfTransfer(t: Transfer, deps: OrchestratorDeps): Context {
  return deps.contextOf?.(t.id) ?? contextFromTraceParent(t.traceParent);
}

export type AdvanceOutcome =
  | { action: "none"; state: TransferState }
  | { action: "busy" }
  | { action: "waiting"; until: Date }
  | { action: "submitted"; state: TransferState }
  | { action: "retry_scheduled"; at: Date; attempt: number }
  | { action: "failed"; reason: string }
  | { action: "needs_attention"; reason: string };

async function loadMany(db: Pick<DbHandles, "pool">, transferIds: readonly string[]): Promise<Map<string, Transfer>> {
  const res = await db.pool.query<TransferRowRaw>(`SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = ANY($1::uuid[])`, [transferIds]);
  return new Map(res.rows.map((r) => [r.id, rowToTransfer(r)]));
}

async function load(db: Pick<DbHandles, "pool">, transferId: string): Promise<Transfer | null> {
  return (await loadMany(db, [transferId])).get(transferId) ?? null;
}

const cause = (name: string, extra: Partial<TransitionCause> = {}): TransitionCause => ({ cause: name, actor: WORKER_ACTOR, ...extra });

/** How many of the rail's submit timeouts a partner may still take over a request its caller gave up on. */
export const NOT_FOUND_FINAL_AFTER_TIMEOUTS = 15;
/** ...and never less than this, however short an admin sets the rail's timeout. */
export const NOT_FOUND_FINAL_AFTER_MIN_MS = 30_000;

/** How long after a submission that may have executed the partner's "not found" is believed. */
export function notFoundFinalAfterMs(policy: Pick<RailPolicy, "submitTimeoutMs">): number {
  return Math.max(policy.submitTimeoutMs * NOT_FOUND_FINAL_AFTER_TIMEOUTS, NOT_FOUND_FINAL_AFTER_MIN_MS);
}

/**
 * How a transfer's last_error begins while it waits for a "not found" to become believable: the
 * worker's own mark (an operator's query never writes last_error; any submission or retry
 * overwrites it), which sends it to be asked again rather than submitted again.
 */
export const NOT_FOUND_WAIT_NOTE = "the partner has no record of the payment yet";

/**
 * When the partner's "not found" may be believed for this transfer: notFoundFinalAfterMs after the
 * start of its latest submission whose outcome is unknown or was never recorded; null when there is
 * none (every submission was answered, so "not found" is final at once).
 */
export async function notFoundFinalAt(client: pg.PoolClient, transferId: string, policy: Pick<RailPolicy, "submitTimeoutMs">): Promise<Date | null> {
  const res = await client.query<{ started_at: Date | null }>(
    `SELECT max(started_at) AS started_at FROM partner_requests WHERE transfer_id = $1 AND kind = 'submit' AND (outcome IS NULL OR outcome = 'unknown')`,
    [transferId],
  );
  const started = res.rows[0]!.started_at;
  return started ? new Date(started.getTime() + notFoundFinalAfterMs(policy)) : null;
}

/**
 * Applies the partner's answer about a transfer whose attempts may have executed (resolveUnknown),
 * except a "not found" given too soon after such an attempt: the transfer then waits (its
 * next_attempt_at), and a worker asks the partner again once the answer can be believed
 * (submission-queue.ts, findOtherDueTransfers).
 */
async function resolveOrWait(client: pg.PoolClient, cur: Transfer, policy: RailPolicy, status: StatusOutcome | null, attempts: number, at: Date): Promise<AdvanceOutcome> {
  if (status?.kind === "ok" && status.status === "not_found") {
    const finalAt = await notFoundFinalAt(client, cur.id, policy);
    if (finalAt && finalAt.getTime() > at.getTime()) {
      const why = `${NOT_FOUND_WAIT_NOTE}, but its last submission may still be in process; asking again at ${finalAt.toISOString()}`;
      await patchTransfer(client, cur.id, { nextAttemptAt: finalAt, leaseUntil: null, lastError: why });
      return { action: "waiting", until: finalAt };
    }
  }
  return resolveUnknown(client, cur, status, attempts, at);
}

/**
 * Takes one step for a transfer, whatever state it is in; safe to call any number of times.
 * Errors: DB_UNAVAILABLE (the caller tries again: a lease it took runs out); partner problems never throw.
 */
export async function advanceTransfer(db: Pick<DbHandles, "pool">, transferId: string, deps: OrchestratorDeps): Promise<AdvanceOutcome> {
  return (await advanceTransfers(db, [transferId], deps))[0]!;
}

/**
 * Takes one step for each of many transfers (a batch of jobs): reserves those still created, then
 * claims every transfer due for submission in one statement, calls the partners concurrently and
 * records all their answers and the transitions they lead to in one transaction. Returns one
 * outcome per id, in order (the same id twice gets the same outcome). Safe to call any number of
 * times; a batch whose decision cannot commit is decided again transfer by transfer, so one
 * transfer's problem never holds the others back.
 * Errors: DB_UNAVAILABLE (the caller tries again: a lease it took runs out); partner problems never throw.
 */
export async function advanceTransfers(db: Pick<DbHandles, "pool">, transferIds: readonly string[], deps: OrchestratorDeps): Promise<AdvanceOutcome[]> {
  const now = deps.now ?? (() => new Date());
  const ids = [...new Set(transferIds)];
  const found = await loadMany(db, ids);
  const outcomes = new Map<string, AdvanceOutcome>();
  const due: { t: Transfer; policy: RailPolicy }[] = [];
  for (const id of ids) {
    let t = found.get(id);
    if (!t) {
      outcomes.set(id, { action: "none", state: "failed" });
      continue;
    }
    if (t.state === "created") {
      const created = t;
      t = await runInContext(contextOfTransfer(created, deps), () =>
        runKeyedTransaction(db.pool, async (client) => {
          const locked = await lockTransfer(client, id);
          if (locked.state !== "created") return locked;
          return reserveOrFail(client, locked, now());
        }),
      );
    }
    if (t.state !== "reserved") outcomes.set(id, { action: "none", state: t.state });
    else if (t.attentionReason) outcomes.set(id, { action: "needs_attention", reason: t.attentionReason });
    // A worker claims it when it is due (submission-queue.ts): its row is its place in the queue.
    else if (t.nextAttemptAt && t.nextAttemptAt.getTime() > now().getTime()) outcomes.set(id, { action: "waiting", until: t.nextAttemptAt });
    else {
      const policy = await getRailPolicy(db, t.partner, t.rail);
      // Back after a "not found" that came too soon, or with its attempts spent (a worker died
      // during the last one): the partner is asked, not sent the payment again. An operator's
      // retry clears next_attempt_at and submits again, with the same key.
      const isWaitingOnNotFound = t.lastError?.startsWith(NOT_FOUND_WAIT_NOTE) ?? false;
      if (t.nextAttemptAt !== null && (t.attempts >= policy.maxSubmitAttempts || isWaitingOnNotFound)) outcomes.set(id, await recheckAtPartner(db, t, policy, deps, now));
      else due.push({ t, policy });
    }
  }
  if (due.length > 0) for (const [id, o] of await submitMany(db, due, deps, now)) outcomes.set(id, o);
  return transferIds.map((id) => outcomes.get(id)!);
}

/**
 * Asks the partner about a reserved transfer that waits on an early "not found" or whose submit
 * attempts are spent, under its lease, and applies the answer (resolveOrWait: a "not found" still
 * too soon waits again). Sends no submission.
 */
async function recheckAtPartner(db: Pick<DbHandles, "pool">, t: Transfer, policy: RailPolicy, deps: OrchestratorDeps, now: () => Date): Promise<AdvanceOutcome> {
  const leased = await db.pool.query(
    `UPDATE transfers SET lease_until = $2 WHERE id = $1 AND state = 'reserved' AND attention_reason IS NULL
        AND (lease_until IS NULL OR lease_until < $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3)`,
    [t.id, new Date(now().getTime() + policy.submitTimeoutMs + 10_000), now()],
  );
  if (leased.rowCount === 0) return { action: "busy" };
  const status = await runInContext(contextOfTransfer(t, deps), () => queryPartner(db, t, deps.adapterFor(t.partner), policy, t.attempts));
  return runKeyedTransaction(db.pool, async (client) => {
    const cur = await lockTransfer(client, t.id);
    if (cur.state !== "reserved") return { action: "none", state: cur.state };
    return resolveOrWait(client, cur, policy, status, cur.attempts, now());
  });
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

/**
 * How long a claim for submission holds a transfer: a submission and, when its answer leaves the
 * payment uncertain, a status query (each up to the rail's time limit), plus 10 s to record the
 * answer. claimDueSubmissions (./submission-queue.ts) computes the same in SQL.
 */
export function submissionLeaseMs(policy: Pick<RailPolicy, "submitTimeoutMs">): number {
  return 2 * policy.submitTimeoutMs + 10_000;
}

/** A claimed submission: the attempt it counts, and its partner_requests row (recorded before the call). */
export interface Claim {
  attempt: number;
  requestId: string;
}

/**
 * Claims the leases and counts the attempts of many transfers in one statement, recording each
 * submission before it is made; a transfer another worker holds (or that is no longer due) is
 * simply not returned.
 */
async function claimMany(db: Pick<DbHandles, "pool">, due: readonly { t: Transfer; policy: RailPolicy }[], now: Date): Promise<Map<string, Claim>> {
  const request = (t: Transfer) => ({
    rail: t.rail,
    amountMinor: payoutOf(t).amountMinor.toString(),
    currency: payoutOf(t).currency,
    counterpartyName: t.counterpartyName,
    counterpartyAccount: t.counterpartyAccount,
    reference: t.reference,
    idempotencyKey: t.idempotencyKey,
  });
  const res = await preparedQuery<{ transfer_id: string; attempt: number; request_id: string }>(
    db.pool,
    `WITH u AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS u(id, lease_until, request)),
     c AS (
       UPDATE transfers t SET lease_until = u.lease_until, attempts = t.attempts + 1 FROM u
        WHERE t.id = u.id AND t.state = 'reserved' AND t.attention_reason IS NULL
          AND (t.lease_until IS NULL OR t.lease_until < $4) AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= $4)
        RETURNING t.id, t.partner, t.attempts)
     INSERT INTO partner_requests (transfer_id, partner, kind, attempt, request, started_at)
     SELECT c.id, c.partner, 'submit', c.attempts, u.request::jsonb, $4 FROM c JOIN u ON u.id = c.id
     RETURNING transfer_id::text AS transfer_id, attempt, id::text AS request_id`,
    [
      due.map((d) => d.t.id),
      due.map((d) => new Date(now.getTime() + submissionLeaseMs(d.policy))),
      due.map((d) => JSON.stringify(request(d.t))),
      now,
    ],
  );
  return new Map(res.rows.map((r) => [r.transfer_id, { attempt: r.attempt, requestId: r.request_id }]));
}

/** A partner's answer to one claimed submission, waiting to be recorded. */
export interface Submission {
  t: Transfer;
  policy: RailPolicy;
  claim: Claim;
  outcome: SubmitOutcome;
  durationMs: number;
  /** The partner's status, asked after an unknown outcome on the last attempt. */
  status: StatusOutcome | null;
}

/** One submission (and, when it must, a status query) in the transfer's own trace. */
function callPartner(db: Pick<DbHandles, "pool">, t: Transfer, policy: RailPolicy, claim: Claim, deps: OrchestratorDeps): Promise<Submission> {
  return runInContext(contextOfTransfer(t, deps), () => submitToPartner(db, t, policy, claim, deps));
}

async function submitToPartner(db: Pick<DbHandles, "pool">, t: Transfer, policy: RailPolicy, claim: Claim, deps: OrchestratorDeps): Promise<Submission> {
  const adapter = deps.adapterFor(t.partner);
  const started = Date.now();
  const outcome = await withSpan("partner.submit", { kind: SpanKind.CLIENT, attributes: partnerSpanAttributes(t, claim.attempt) }, async (span): Promise<SubmitOutcome> => {
    let o: SubmitOutcome;
    try {
      o = await adapter.submit(
        {
          transferId: t.id,
          idempotencyKey: t.idempotencyKey,
          rail: t.rail,
          // Across currencies the partner pays the counterparty the converted amount.
          ...payoutOf(t),
          counterpartyName: t.counterpartyName,
          counterpartyAccount: t.counterpartyAccount,
          reference: t.reference,
        },
        AbortSignal.timeout(policy.submitTimeoutMs),
      );
    } catch (e) {
      // An adapter must not throw, but if one does we cannot know whether the partner executed.
      o = { kind: "unknown", reason: `adapter error: ${(e as Error).message}`, raw: null };
    }
    span.setAttribute("partner.outcome", o.kind);
    if ("httpStatus" in o && o.httpStatus !== null) span.setAttribute("http.response.status_code", o.httpStatus);
    return o;
  });
  const durationMs = Date.now() - started;
  const isLast = claim.attempt >= policy.maxSubmitAttempts;
  // Ask the partner before deciding whenever it may hold the payment: on the last attempt after an
  // unknown outcome, or after a "not executed" answer when an earlier attempt may have executed
  // (its outcome was unknown, or its worker died before recording one); and after a rejection (a
  // 4xx: this attempt was refused) when an earlier attempt may have executed, on any attempt,
  // because a rejection fails the transfer at once. Only the partner's "not found" may then fail it.
  const isRejectedAfterUncertain = outcome.kind === "rejected" && (await hadUncertainAttempt(db, t.id, claim.requestId));
  const mayBeExecuted = outcome.kind === "unknown" || (outcome.kind === "retryable" && isLast && (await hadUncertainAttempt(db, t.id, claim.requestId)));
  const status = (mayBeExecuted && isLast) || isRejectedAfterUncertain ? await queryPartner(db, t, adapter, policy, claim.attempt) : null;
  return { t, policy, claim, outcome, durationMs, status };
}

function partnerSpanAttributes(t: Transfer, attempt: number) {
  return { "partner.id": t.partner, "partner.rail": t.rail, "transfer.id": t.id, "partner.attempt": attempt };
}

/** Whether an earlier submission of the transfer may have executed: its outcome was unknown or never recorded. */
async function hadUncertainAttempt(db: Pick<DbHandles, "pool">, transferId: string, currentRequestId: string): Promise<boolean> {
  const res = await db.pool.query<{ uncertain: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM partner_requests WHERE transfer_id = $1 AND kind = 'submit' AND id <> $2 AND (outcome IS NULL OR outcome = 'unknown')) AS uncertain`,
    [transferId, currentRequestId],
  );
  return res.rows[0]!.uncertain;
}

async function submitMany(
  db: Pick<DbHandles, "pool">,
  due: readonly { t: Transfer; policy: RailPolicy }[],
  deps: OrchestratorDeps,
  now: () => Date,
): Promise<Map<string, AdvanceOutcome>> {
  const claims = await claimMany(db, due, now());
  const outcomes = new Map<string, AdvanceOutcome>(due.filter((d) => !claims.has(d.t.id)).map((d) => [d.t.id, { action: "busy" }]));
  const claimed = due.filter((d) => claims.has(d.t.id)).map((d) => ({ ...d, claim: claims.get(d.t.id)! }));
  const submissions = await Promise.all(claimed.map((d) => submitOne(db, d, deps)));
  for (const [id, o] of await recordSubmissions(db, submissions, now)) outcomes.set(id, o);
  return outcomes;
}

/** A transfer claimed for submission, with its rail's policy. */
export interface ClaimedTransfer {
  t: Transfer;
  policy: RailPolicy;
  claim: Claim;
}

/**
 * Calls the partner for one claimed transfer (and asks its status when the answer leaves the
 * payment uncertain on the last attempt), in the transfer's trace. Never throws for a partner
 * problem: the outcome says what happened. Record it with recordSubmissions.
 */
export function submitOne(db: Pick<DbHandles, "pool">, d: ClaimedTransfer, deps: OrchestratorDeps): Promise<Submission> {
  return callPartner(db, d.t, d.policy, d.claim, deps);
}

/**
 * Records partner answers and the transitions they lead to in one transaction; a group whose
 * decision cannot commit is decided again transfer by transfer, so one transfer's problem never
 * holds the others back. Returns an outcome per transfer recorded (one that could not be is left
 * to its lease).
 * Errors: DB_UNAVAILABLE (the leases run out and the transfers are claimed again).
 */
export async function recordSubmissions(db: Pick<DbHandles, "pool">, submissions: readonly Submission[], now: () => Date): Promise<Map<string, AdvanceOutcome>> {
  const outcomes = new Map<string, AdvanceOutcome>();
  if (submissions.length === 0) return outcomes;
  try {
    for (const [id, o] of await runKeyedTransaction(db.pool, (client) => decideMany(client, submissions, now()))) outcomes.set(id, o);
  } catch (e) {
    if (submissions.length === 1) throw e;
    log.info({ err: (e as Error).message, transfers: submissions.length }, "recording a batch of partner answers failed; recording them one by one");
    let failed: unknown = null;
    for (const s of submissions) {
      try {
        for (const [id, o] of await runKeyedTransaction(db.pool, (client) => decideMany(client, [s], now()))) outcomes.set(id, o);
      } catch (one) {
        // The others are still recorded; this one keeps its lease and is claimed again when it runs out.
        failed ??= one;
        log.warn({ transferId: s.t.id, err: (one as Error).message }, "recording a partner answer failed");
      }
    }
    if (outcomes.size === 0 && failed) throw failed;
  }
  return outcomes;
}

/**
 * Records the partner's answers and decides each transfer, on one open transaction: the calls'
 * records commit with the decisions they led to. Transitions of all transfers are written
 * together (applyTransitions); retries and unknown outcomes are handled per transfer.
 */
async function decideMany(client: pg.PoolClient, submissions: readonly Submission[], at: Date): Promise<Map<string, AdvanceOutcome>> {
  await preparedQuery(
    client,
    `UPDATE partner_requests p SET response = u.response::jsonb, outcome = u.outcome, http_status = u.http_status, error = u.error, finished_at = now(), duration_ms = u.duration_ms
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[]) AS u(id, response, outcome, http_status, error, duration_ms)
      WHERE p.id = u.id`,
    [
      submissions.map((s) => s.claim.requestId),
      submissions.map((s) => JSON.stringify(s.outcome.raw ?? null)),
      submissions.map((s) => s.outcome.kind),
      submissions.map((s) => ("httpStatus" in s.outcome ? (s.outcome.httpStatus ?? null) : null)),
      submissions.map((s) => ("reason" in s.outcome ? s.outcome.reason : null)),
      submissions.map((s) => s.durationMs),
    ],
  );
  const locked = await preparedQuery<TransferRowRaw>(client, `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = ANY($1::uuid[]) ORDER BY t.id FOR UPDATE`, [
    submissions.map((s) => s.t.id),
  ]);
  const current = new Map(locked.rows.map((r) => [r.id, rowToTransfer(r)]));
  const outcomes = new Map<string, AdvanceOutcome>();
  const requests: TransitionRequest[] = [];
  for (const { t, policy, claim, outcome, status } of submissions) {
    const cur = current.get(t.id)!;
    if (cur.state !== "reserved") {
      // A webhook overtook the response and already moved the transfer on; nothing left to do.
      outcomes.set(t.id, { action: "none", state: cur.state });
      continue;
    }
    const isLast = claim.attempt >= policy.maxSubmitAttempts;
    switch (outcome.kind) {
      case "accepted": {
        const msg = { partnerRef: outcome.partnerRef, detail: { attempt: claim.attempt, httpStatus: outcome.httpStatus } };
        requests.push({ transfer: cur, to: "submitted", cause: cause("partner.accepted", msg), patch: { partnerRef: outcome.partnerRef, lastError: null } });
        if (outcome.status === "acknowledged") requests.push({ transfer: cur, to: "acknowledged", cause: cause("partner.acknowledged_on_submit", msg) });
        outcomes.set(t.id, { action: "submitted", state: outcome.status === "acknowledged" ? "acknowledged" : "submitted" });
        break;
      }
      case "rejected":
        if (status) {
          // An earlier attempt may have executed: the partner's answer decides (see callPartner).
          outcomes.set(t.id, await resolveOrWait(client, cur, policy, status, claim.attempt, at));
          break;
        }
        requests.push({
          transfer: cur,
          to: "failed",
          cause: cause("partner.rejected", { detail: { reason: outcome.reason, httpStatus: outcome.httpStatus } }),
          patch: { lastError: `rejected by ${t.partner}: ${outcome.reason}` },
        });
        outcomes.set(t.id, { action: "failed", reason: outcome.reason });
        break;
      case "retryable":
      case "unknown": {
        const reason = `${outcome.kind === "unknown" ? "outcome unknown" : "partner unavailable"} on attempt ${claim.attempt}: ${outcome.reason}`;
        if (cur.attempts !== claim.attempt) {
          // This answer came back after its lease ran out and another claim took the transfer:
          // that attempt (same key) decides; this one is recorded above and changes nothing.
          outcomes.set(t.id, { action: "busy" });
        } else if (!isLast) {
          const retryAt = new Date(at.getTime() + backoffMs(policy, claim.attempt));
          // Claimed again by a worker once retryAt passes (submission-queue.ts).
          await patchTransfer(client, t.id, { nextAttemptAt: retryAt, leaseUntil: null, lastError: reason });
          outcomes.set(t.id, { action: "retry_scheduled", at: retryAt, attempt: claim.attempt });
        } else if (outcome.kind === "retryable" && !status) {
          const why = `partner ${t.partner} unavailable after ${claim.attempt} attempts: ${outcome.reason}`;
          requests.push({ transfer: cur, to: "failed", cause: cause("retries_exhausted", { detail: { attempts: claim.attempt } }), patch: { lastError: why } });
          outcomes.set(t.id, { action: "failed", reason: why });
        } else {
          outcomes.set(t.id, await resolveOrWait(client, cur, policy, status, claim.attempt, at));
        }
        break;
      }
    }
  }
  await applyTransitions(client, requests, at);
  return outcomes;
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

/** Asks the partner what happened to a transfer, recording the call. */
export async function queryPartner(db: Pick<DbHandles, "pool">, t: Transfer, adapter: PartnerAdapter, policy: RailPolicy, attempt: number): Promise<StatusOutcome> {
  const ins = await db.pool.query<{ id: string }>(
    `INSERT INTO partner_requests (transfer_id, partner, kind, attempt, request, started_at) VALUES ($1, $2, 'query', $3, $4, now()) RETURNING id::text`,
    [t.id, t.partner, attempt, JSON.stringify({ idempotencyKey: t.idempotencyKey })],
  );
  const started = Date.now();
  const status = await withSpan("partner.query", { kind: SpanKind.CLIENT, attributes: partnerSpanAttributes(t, attempt) }, async (span): Promise<StatusOutcome> => {
    let s: StatusOutcome;
    try {
      s = await adapter.queryStatus(t.idempotencyKey, AbortSignal.timeout(policy.submitTimeoutMs));
    } catch (e) {
      s = { kind: "unavailable", reason: `adapter error: ${(e as Error).message}`, raw: null };
    }
    span.setAttribute("partner.outcome", s.kind === "ok" ? `status:${s.status}` : "unavailable");
    return s;
  });
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
  const status = await runInContext(contextOfTransfer(t, deps), () => queryPartner(db, t, deps.adapterFor(t.partner), policy, t.attempts));
  if (status.kind !== "ok" || status.status === "not_found") return t.state;
  const target: TransferState = status.status;
  const partnerRef = status.partnerRef;
  return runKeyedTransaction(db.pool, async (client) => {
    let next = await lockTransfer(client, transferId);
    for (const s of forwardPath(next.state, target) ?? []) {
      next = await applyTransition(client, next, s, cause("partner.status_poll", { detail: { partnerStatus: target } }), now(), { partnerRef });
    }
    return next.state;
  });
}
