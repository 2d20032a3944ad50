/**
 * The simulated bank sending its webhooks: signed POSTs to the configured target, retried with
 * backoff until a 2xx or the attempt limit.
 *
 * Invariants kept:
 * - A delivery is claimed (FOR UPDATE SKIP LOCKED, then a lease in locked_until) before it is
 *   sent, so concurrent senders never send the same copy at once; a sender that dies mid-flight
 *   leaves a lease that expires and the copy is sent again (receivers deduplicate by event id).
 * - Each attempt signs the stored body afresh (new timestamp) with the scheme in
 *   server/core/signature.ts and carries the event id in x-event-id.
 * - Copies of one payment are sent one after another in the order they became due; different
 *   payments in parallel, at most SEND_CONCURRENCY at a time. A call claims again while its window
 *   runs low, leaving out payments with a copy of the call not yet recorded, so a slow answer holds
 *   back only its own payment (before, the next claim waited for the slowest copy of the last:
 *   under load a settled payment's webhook waited seconds behind others; docs/performance.md).
 *   A call claims for REFILL_FOR_MS at most, a quarter of a copy's lease (a lane claimed late can
 *   still outlast it; its outcome is then not written over the newer claim's: leaseLost).
 * - With several target URLs (one per web process, no load balancer in front), each attempt goes to
 *   the next URL in turn, as a round-robin load balancer would send it (a retry may reach
 *   another process). Copies of one payment still go one after another.
 * - Bounded: MAX_DELIVERY_ATTEMPTS per copy (then "abandoned"), REQUEST_TIMEOUT_MS per attempt,
 *   backoff doubling from BACKOFF_BASE_MS up to BACKOFF_MAX_MS with jitter, MAX_RESPONSE_BYTES of
 *   the receiver's answer read.
 * - Sent with server/core/http-client.ts (undici's request; the global fetch costs three times the
 *   CPU), or an injected fetch in tests. An attempt counts by its status only once the answer has
 *   been read within those limits: an answer cut off, too long or too slow is a failed attempt,
 *   sent again (receivers deduplicate by event id). The injected fetch keeps the old rule (the
 *   status counts even when the body could not be read).
 * - An outcome is written only while its copy is still the claim's (same attempt count, still
 *   pending): a send that outlasted its lease never overwrites the newer claim's outcome.
 * - One call at a time: a call returns only when every copy it claimed has been sent and its
 *   outcome written (or given up on). An outcome whose write fails (a busy pool, a lost connection)
 *   is written again, RECORD_ATTEMPTS times in all; a call that gave up on some says how many, and
 *   those copies are sent again when their lease expires. Before, a failed write rejected the call
 *   while its other copies were still being sent, so the next claim overlapped the last one, and
 *   every copy whose outcome was lost was sent a second time: under overload, up to two thirds of
 *   the settled payments got a duplicate (docs/performance.md, "Overload that lasts").
 */
import type pg from "pg";
import { signPayload } from "../core/signature";
import { sendHttpRequest } from "../core/http-client";

export const MAX_DELIVERY_ATTEMPTS = 10;
export const REQUEST_TIMEOUT_MS = 5_000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 60_000;
export const CLAIM_BATCH = 200;
export const SEND_CONCURRENCY = 64;
/** With fewer copies than this waiting to be sent, one call claims more. */
export const REFILL_BELOW = SEND_CONCURRENCY;
/** Claims one call makes at most before it returns (its caller then calls again). */
export const MAX_CLAIMS_PER_CALL = 20;
/** How long one call keeps claiming (a quarter of LEASE_MS). */
export const REFILL_FOR_MS = 5_000;
/** Delivery outcomes written per statement. */
export const RECORD_GROUP = 32;
/** Writes of one group of outcomes before it is given up on (the copies are then sent again after their lease). */
export const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 250;
const LEASE_MS = REQUEST_TIMEOUT_MS * 4;
/** Most bytes read of a receiver's answer (ours answers a few bytes of JSON); only its status counts. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SenderConfig {
  pool: pg.Pool;
  /** At least one; attempts are spread over them in turn. */
  targetUrls: readonly string[];
  /** Null: nothing can be signed; deliveries stay pending (and the sandbox logs why). */
  secret: string | null;
  /** Injected in tests; default server/core/http-client.ts. */
  fetch?: typeof fetch;
}

interface Claimed {
  id: string;
  event_id: string;
  payment_id: string;
  body: string;
  attempts: number;
  copy: number;
}

export function backoffMs(attempts: number, jitter: number): number {
  const base = Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
  return Math.round(base * (0.8 + 0.4 * jitter));
}

const nextTargetIndex = new WeakMap<SenderConfig, number>();

/** The URL the next attempt goes to: the sender's targets in turn (round robin). */
export function nextTargetUrl(cfg: SenderConfig): string {
  const i = nextTargetIndex.get(cfg) ?? 0;
  nextTargetIndex.set(cfg, (i + 1) % cfg.targetUrls.length);
  return cfg.targetUrls[i]!;
}

type SendOutcome = { httpStatus: number | null; error: string | null };

async function sendOne(cfg: SenderConfig, d: Claimed): Promise<SendOutcome> {
  const url = nextTargetUrl(cfg);
  const headers = {
    "content-type": "application/json",
    "user-agent": "sandbox-bank/1",
    "x-event-id": d.event_id,
    "x-signature": signPayload(cfg.secret!, d.body, new Date()),
    "x-delivery-attempt": String(d.attempts),
  };
  if (cfg.fetch) return sendWithFetch(cfg.fetch, url, headers, d.body);
  try {
    const res = await sendHttpRequest({ method: "POST", url, headers, body: d.body, timeoutMs: REQUEST_TIMEOUT_MS, maxBodyBytes: MAX_RESPONSE_BYTES });
    return { httpStatus: res.status, error: res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}` };
  } catch (e) {
    // undici's network errors carry their code themselves (a DOMException's numeric code is not one).
    const err = e as Error & { code?: unknown; cause?: { code?: string } };
    return { httpStatus: null, error: (typeof err.code === "string" ? err.code : err.cause?.code) ?? err.name ?? "error" };
  }
}

async function sendWithFetch(doFetch: typeof fetch, url: string, headers: Record<string, string>, body: string): Promise<SendOutcome> {
  try {
    const res = await doFetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    return { httpStatus: res.status, error: res.ok ? null : `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { httpStatus: null, error: err.cause?.code ?? err.name ?? "error" };
  }
}

export interface SendResult {
  claimed: number;
  delivered: number;
  failed: number;
  abandoned: number;
  /** Copies sent whose outcome could not be written; they are sent again once their lease expires. */
  unrecorded: number;
  /** Outcomes not written because the copy's lease had expired and another claim had taken it. */
  leaseLost: number;
  /** Why the last write of an outcome failed, when unrecorded > 0. */
  recordError: string | null;
  /** Why a claim after the first failed (the call then sent and recorded what it had). */
  claimError: string | null;
  /** The call stopped claiming at its bounds, not because nothing more was due: call again. */
  hasMore: boolean;
}

/**
 * Sends the webhooks that are due now, as a window of at most SEND_CONCURRENCY sends: while fewer
 * than REFILL_BELOW copies wait to be sent, more are claimed (leaving out payments with a copy of
 * this call not yet recorded, so each payment's copies stay in order), until a claim finds less
 * than it asked for, MAX_CLAIMS_PER_CALL claims were made or REFILL_FOR_MS has passed. A slow
 * receiver thus holds back only its own payment's copies, not the next claim. A failed first claim
 * rejects (nothing was sent); a failed later claim only ends the refilling (claimError), and the
 * copies already claimed are sent and recorded. Returns what happened; the caller calls again
 * while hasMore.
 */
export async function deliverDueWebhooks(cfg: SenderConfig, now: Date = new Date()): Promise<SendResult> {
  const result: SendResult = { claimed: 0, delivered: 0, failed: 0, abandoned: 0, unrecorded: 0, leaseLost: 0, recordError: null, claimError: null, hasMore: false };
  if (!cfg.secret) return result;
  const startedAt = Date.now();
  // The clock the claims and retries read: `now`, moved on by the time this call has taken.
  const clock = () => new Date(now.getTime() + (Date.now() - startedAt));
  /** Copies claimed by this call and not yet recorded, by payment: a payment listed here is not claimed again. */
  const unrecorded = new Map<string, number>();
  const queue: Claimed[][] = [];
  const claim = async (limit: number): Promise<number> => {
    const at = clock();
    const rows = (
      await cfg.pool.query<Claimed & { next_attempt_at: Date }>(
        `WITH c AS (
           SELECT id FROM sandbox_webhook_deliveries
            WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) AND payment_id <> ALL($4::text[])
            ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE sandbox_webhook_deliveries d SET locked_until = $3, attempts = d.attempts + 1 FROM c WHERE d.id = c.id
         RETURNING d.id::text AS id, d.event_id, d.payment_id, d.body, d.attempts, d.copy, d.next_attempt_at`,
        [at, limit, new Date(at.getTime() + LEASE_MS), [...unrecorded.keys()]],
      )
    ).rows;
    result.claimed += rows.length;
    // One lane per payment, in due order; lanes run in parallel.
    rows.sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime() || Number(BigInt(a.id) - BigInt(b.id)));
    const lanes = new Map<string, Claimed[]>();
    for (const d of rows) {
      const lane = lanes.get(d.payment_id) ?? [];
      lane.push(d);
      lanes.set(d.payment_id, lane);
      unrecorded.set(d.payment_id, (unrecorded.get(d.payment_id) ?? 0) + 1);
    }
    queue.push(...lanes.values());
    return rows.length;
  };
  let claims = 1;
  let isExhausted = (await claim(CLAIM_BATCH)) < CLAIM_BATCH;
  if (result.claimed === 0) return result;
  const mayRefill = () => !isExhausted && claims < MAX_CLAIMS_PER_CALL && Date.now() - startedAt < REFILL_FOR_MS;
  let refilling: Promise<void> | null = null;
  /** Claims more while the window runs low, one claim at a time; at most two windows' worth wait. */
  const refill = async () => {
    if (!mayRefill()) return;
    refilling ??= (async () => {
      claims++;
      const want = Math.min(CLAIM_BATCH, 2 * SEND_CONCURRENCY - queue.length);
      try {
        if ((await claim(want)) < want) isExhausted = true;
      } catch (e) {
        isExhausted = true;
        result.claimError = (e as Error).message;
      }
    })().finally(() => (refilling = null));
    await refilling;
  };

  // Outcomes are recorded in groups (one statement per RECORD_GROUP copies, and the rest at the
  // end), not one statement per copy; a group is written as soon as it is full, so a slow target
  // cannot hold finished copies past their lease.
  let done: { d: Claimed; outcome: { httpStatus: number | null; error: string | null }; at: Date }[] = [];
  const record = async () => {
    const group = done;
    done = [];
    if (group.length === 0) return;
    const rows = group.map(({ d, outcome, at }) => {
      if (outcome.error === null) {
        return { id: d.id, attempts: d.attempts, status: "delivered", deliveredAt: at, nextAttemptAt: null, httpStatus: outcome.httpStatus, error: null };
      }
      if (d.attempts >= MAX_DELIVERY_ATTEMPTS) {
        return { id: d.id, attempts: d.attempts, status: "abandoned", deliveredAt: null, nextAttemptAt: null, httpStatus: outcome.httpStatus, error: outcome.error };
      }
      const retryAt = new Date(clock().getTime() + backoffMs(d.attempts, Math.random()));
      return { id: d.id, attempts: d.attempts, status: "pending", deliveredAt: null, nextAttemptAt: retryAt, httpStatus: outcome.httpStatus, error: outcome.error.slice(0, 500) };
    });
    for (let attempt = 1; ; attempt++) {
      try {
        // Only while the copy is still this claim's (same attempt, still pending): an outcome written
        // after the lease expired and another claim took the copy must not overwrite that claim's.
        const written = await cfg.pool.query(
          `UPDATE sandbox_webhook_deliveries d SET status = u.status, delivered_at = COALESCE(u.delivered_at, d.delivered_at),
                  next_attempt_at = COALESCE(u.next_attempt_at, d.next_attempt_at), last_http_status = u.http_status, last_error = u.error, locked_until = NULL
             FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::text[], $7::int[]) AS u(id, status, delivered_at, next_attempt_at, http_status, error, attempts)
            WHERE d.id = u.id AND d.attempts = u.attempts AND d.status = 'pending'`,
          [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.deliveredAt), rows.map((r) => r.nextAttemptAt), rows.map((r) => r.httpStatus), rows.map((r) => r.error), rows.map((r) => r.attempts)],
        );
        result.leaseLost += rows.length - (written.rowCount ?? 0);
        break;
      } catch (e) {
        if (attempt < RECORD_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, RECORD_RETRY_MS * attempt));
          continue;
        }
        // Their payments stay out of this call's claims: the copies are sent again after their lease.
        result.unrecorded += rows.length;
        result.recordError = (e as Error).message;
        return;
      }
    }
    for (const r of rows) {
      if (r.status === "delivered") result.delivered++;
      else if (r.status === "abandoned") result.abandoned++;
      else result.failed++;
    }
    for (const { d } of group) {
      const left = unrecorded.get(d.payment_id)! - 1;
      if (left === 0) unrecorded.delete(d.payment_id);
      else unrecorded.set(d.payment_id, left);
    }
  };
  const worker = async () => {
    for (;;) {
      if (queue.length < REFILL_BELOW) await refill();
      const lane = queue.shift();
      if (!lane) {
        // Another worker took what the last claim brought: claim again, unless this call is done claiming.
        if (mayRefill()) continue;
        return;
      }
      for (const d of lane) {
        // Awaited before `done` is read: a group written meanwhile has replaced the array, and an
        // outcome pushed into the old one would never be written (the copy sent again after its lease).
        const outcome = await sendOne(cfg, d);
        done.push({ d, outcome, at: new Date() });
      }
      if (done.length >= RECORD_GROUP) await record();
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
  await record();
  result.hasMore = !isExhausted;
  return result;
}
