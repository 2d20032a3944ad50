/**
 * The submission queue is the transfers table itself: a reserved transfer that is due (no backoff
 * pending, no operator wait, no live lease) is waiting for a worker. Workers claim such rows with
 * FOR UPDATE SKIP LOCKED and a lease, in one statement that also counts the attempt and records
 * the submission (partner_requests) before the call is made. No job row is written per transfer:
 * the row that must be updated anyway carries the queue's state, and a crashed worker's claim
 * simply runs out with its lease.
 *
 * Invariants kept:
 * - A claim is what the orchestrator's per-transfer claim is (orchestrator.ts, claimMany): the
 *   lease of submissionLeaseMs (computed here in SQL), attempts + 1, the submission recorded first.
 *   Concurrent claimers never take the same row (SKIP LOCKED, then the lease).
 * - Transfers the plain claim must not submit (still created; attempts spent; waiting on an early
 *   "not found") are found by findOtherDueTransfers and taken through advanceTransfers, which asks
 *   the partner instead of sending the payment again.
 * - A wake-up (signalSubmissionDue) is only a hint: workers also poll, so a lost one costs latency,
 *   never a transfer.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { preparedQuery } from "../db/prepared";
import { coalescedSignal } from "../core/coalesced-signal";
import { componentLogger } from "../observability/logger";
import { NOT_FOUND_WAIT_NOTE, type Claim } from "./orchestrator";
import { rowToTransfer, TRANSFER_COLUMNS, type Transfer, type TransferRowRaw } from "./types";

const log = componentLogger("transfers");

/** The NOTIFY channel on which new due work wakes idle workers. */
export const SUBMISSION_CHANNEL = "transfer_submission_due";

/** A transfer claimed for submission: its row after the claim, and the recorded submission. */
export interface ClaimedSubmission {
  t: Transfer;
  claim: Claim;
}

/**
 * Claims up to `limit` transfers due for a plain submission, oldest state change first, and records
 * each submission before it is made.
 *
 * A due transfer is either ready (never put in backoff, or retried by an operator: next_attempt_at
 * is null) or a retry whose backoff has run out, and each kind has its own partial index, so that
 * the transfers still in backoff (thousands during a partner's outage) are never read:
 * - ready: transfers_submission_ready_idx in state-change order, read only as far as the claim goes;
 * - retries: transfers_submission_retry_idx up to `now`, so only the due ones, sorted here. The sort
 *   key is an expression on purpose: ordered by the bare column, a generic plan may walk
 *   transfers_state_state_changed_at_idx instead, through every reserved transfer in backoff.
 * PostgreSQL locks no rows of a UNION as a whole, so each part takes and locks its own oldest
 * `limit` and the oldest `limit` of both are claimed: the rows, and the order, of one walk over all
 * due transfers. While both kinds wait, the rows of a part that lose to the other stay locked until
 * the statement ends; a concurrent claimer skips them as it skips any row being claimed.
 * Errors: whatever the database reports (the caller's loop backs off).
 */
export async function claimDueSubmissions(db: Pick<DbHandles, "pool">, limit: number, now: Date): Promise<ClaimedSubmission[]> {
  const res = await preparedQuery<TransferRowRaw & { claim_attempt: number; request_id: string }>(
    db.pool,
    `WITH picked AS (
       SELECT due.id, due.submit_timeout_ms FROM (
         SELECT * FROM (
           SELECT t.id, t.state_changed_at, rp.submit_timeout_ms
             FROM transfers t JOIN rail_policies rp ON rp.partner = t.partner AND rp.rail = t.rail
            WHERE t.state = 'reserved' AND t.attention_reason IS NULL AND t.next_attempt_at IS NULL
              AND (t.lease_until IS NULL OR t.lease_until < $1)
            ORDER BY t.state_changed_at
            LIMIT $2
            FOR UPDATE OF t SKIP LOCKED) ready
         UNION ALL
         SELECT * FROM (
           SELECT t.id, t.state_changed_at, rp.submit_timeout_ms
             FROM transfers t JOIN rail_policies rp ON rp.partner = t.partner AND rp.rail = t.rail
            WHERE t.state = 'reserved' AND t.attention_reason IS NULL AND t.next_attempt_at <= $1
              AND (t.lease_until IS NULL OR t.lease_until < $1)
              AND t.attempts < rp.max_submit_attempts AND left(COALESCE(t.last_error, ''), $3) <> $4
            ORDER BY t.state_changed_at + interval '0'
            LIMIT $2
            FOR UPDATE OF t SKIP LOCKED) retry) due
        ORDER BY due.state_changed_at
        LIMIT $2),
     c AS (
       UPDATE transfers t SET lease_until = $1::timestamptz + make_interval(secs => (2 * picked.submit_timeout_ms + 10000) / 1000.0), attempts = t.attempts + 1
         FROM picked WHERE t.id = picked.id
       RETURNING ${TRANSFER_COLUMNS}),
     r AS (
       INSERT INTO partner_requests (transfer_id, partner, kind, attempt, request, started_at)
       SELECT c.id, c.partner, 'submit', c.attempts,
              jsonb_build_object('rail', c.rail, 'amountMinor', COALESCE(c.converted_minor, c.amount_minor)::text, 'currency', COALESCE(c.converted_currency, c.currency),
                                 'counterpartyName', c.counterparty_name, 'counterpartyAccount', c.counterparty_account, 'reference', c.reference,
                                 'idempotencyKey', c.idempotency_key),
              $1
         FROM c
       RETURNING transfer_id, attempt, id)
     SELECT c.*, r.attempt AS claim_attempt, r.id::text AS request_id FROM c JOIN r ON r.transfer_id = c.id ORDER BY c.state_changed_at`,
    [now, limit, NOT_FOUND_WAIT_NOTE.length, NOT_FOUND_WAIT_NOTE],
  );
  return res.rows.map((r) => ({ t: rowToTransfer(r), claim: { attempt: r.claim_attempt, requestId: r.request_id } }));
}

/**
 * Transfers due for work that is not a plain submission: still created (their reserve did not
 * commit with their creation), or reserved and due again with their attempts spent or after an
 * early "not found" (the partner is asked, not sent the payment again). Rare; at most `limit`,
 * oldest state change first. The created ones are read by state, the reserved ones among the due
 * retries only (transfers_submission_retry_idx), never those in backoff.
 */
export async function findOtherDueTransfers(db: Pick<DbHandles, "pool">, limit: number, now: Date): Promise<string[]> {
  const res = await db.pool.query<{ id: string }>(
    `SELECT due.id FROM (
       SELECT t.id, t.state_changed_at FROM transfers t JOIN rail_policies rp ON rp.partner = t.partner AND rp.rail = t.rail
        WHERE t.state = 'created' AND t.attention_reason IS NULL AND (t.lease_until IS NULL OR t.lease_until < $1)
       UNION ALL
       SELECT t.id, t.state_changed_at FROM transfers t JOIN rail_policies rp ON rp.partner = t.partner AND rp.rail = t.rail
        WHERE t.state = 'reserved' AND t.attention_reason IS NULL AND t.next_attempt_at <= $1
          AND (t.lease_until IS NULL OR t.lease_until < $1)
          AND (t.attempts >= rp.max_submit_attempts OR left(COALESCE(t.last_error, ''), $3) = $4)) due
      ORDER BY due.state_changed_at LIMIT $2`,
    [now, limit, NOT_FOUND_WAIT_NOTE.length, NOT_FOUND_WAIT_NOTE],
  );
  return res.rows.map((r) => r.id);
}

const signals = new WeakMap<pg.Pool, () => void>();

/** How long a wake-up waits to gather others from the same process. */
export const SUBMISSION_SIGNAL_DELAY_MS = 10;

/**
 * Tells idle workers that transfers became due (after the commit that made them so): calls within
 * SUBMISSION_SIGNAL_DELAY_MS of each other, or while one is being sent, become one NOTIFY. Never
 * throws and never waits: a lost wake-up is covered by the workers' polling.
 */
export function signalSubmissionDue(db: Pick<DbHandles, "pool">): void {
  let signal = signals.get(db.pool);
  if (!signal) {
    signal = coalescedSignal(() => db.pool.query(`SELECT pg_notify($1, '')`, [SUBMISSION_CHANNEL]), SUBMISSION_SIGNAL_DELAY_MS, (e) =>
      log.warn({ err: e.message }, "could not wake the workers; they will find the transfers when they next poll"),
    );
    signals.set(db.pool, signal);
  }
  signal();
}
