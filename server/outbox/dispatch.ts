/**
 * Dispatch: claims due deliveries, POSTs them signed to their endpoints and records the outcome.
 *
 * Invariants kept:
 * - In order per aggregate and subscription: a delivery is claimable only when no delivery of an
 *   earlier event (lower event id) for the same (subscription, aggregate) is pending or dead. A
 *   dead delivery therefore blocks its aggregate until an admin redelivers or skips it, and at
 *   most one delivery per (subscription, aggregate) is in flight. Different aggregates proceed
 *   in parallel.
 * - Claiming is one statement with FOR UPDATE SKIP LOCKED that also counts the attempt and moves
 *   next_attempt_at forward by the lease (longer than the request timeout), so concurrent workers
 *   never claim the same delivery while an attempt is in flight.
 * - At least once: a worker that dies mid-attempt leaves the delivery pending; it is claimed again
 *   when the lease runs out, with the same delivery id (receivers deduplicate on x-delivery-id).
 * - An outcome is recorded only by the claim that made the attempt (matched on the attempt
 *   number), so a late answer after the lease ran out cannot overwrite a newer attempt.
 * - Bounded: `attempts` stops at maxAttempts (then dead); each request has a time limit, reads at
 *   most RESPONSE_EXCERPT_BYTES of the answer, and follows no redirects.
 * - Only 2xx counts as delivered. Every other answer, a network error or a timeout is retried
 *   with exponential backoff and jitter (at least the receiver's Retry-After, up to the cap).
 */
import type { DbHandles } from "../db/client";
import { signPayload } from "../core/signature";
import { decryptSecret, outboxSecretKey, type SecretKey } from "./secrets";

export const RESPONSE_EXCERPT_BYTES = 512;
export const LAST_ERROR_MAX_LENGTH = 1000;
const USER_AGENT = "ledger-console-outbox/1";

export interface ClaimedDelivery {
  id: string;
  deliveryId: string;
  eventId: string;
  subscriptionId: string;
  topic: string;
  aggregateId: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  payload: unknown;
  eventCreatedAt: Date;
  url: string;
  secretCiphertext: string;
}

export interface AttemptResult {
  isDelivered: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  /** The receiver's Retry-After, when it sent one. */
  retryAfterMs: number | null;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * The wait before the attempt after `attempt` (1-based): base * 2^(attempt-1), capped, with
 * "equal jitter" (half fixed, half random) so retries of many deliveries spread out but still
 * grow. A Retry-After from the receiver raises it, never above the cap.
 */
export function retryDelayMs(attempt: number, policy: Pick<RetryPolicy, "backoffBaseMs" | "backoffMaxMs">, random: number, retryAfterMs: number | null = null): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** exponent);
  const jittered = Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
  return Math.min(policy.backoffMaxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its weekday and month; Date.parse alone would read "-5" as a year.
  if (!/^[A-Za-z]{3}, /.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

/** The JSON body of a delivery: the same for every attempt (only the signature's time changes). */
export function deliveryBody(d: Pick<ClaimedDelivery, "eventId" | "deliveryId" | "topic" | "aggregateId" | "eventCreatedAt" | "payload">): string {
  return JSON.stringify({ id: d.eventId, deliveryId: d.deliveryId, topic: d.topic, aggregateId: d.aggregateId, createdAt: d.eventCreatedAt.toISOString(), payload: d.payload });
}

/**
 * Claims up to `limit` due deliveries of active subscriptions, each the earliest unfinished one of
 * its (subscription, aggregate), and starts an attempt on each (attempts + 1, leased for
 * `leaseMs`). Errors: DB_UNAVAILABLE-class driver errors propagate to the relay loop.
 */
export async function claimDeliveries(db: DbHandles, opts: { limit: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  const res = await db.pool.query<{
    id: string;
    delivery_id: string;
    event_id: string;
    subscription_id: string;
    topic: string;
    aggregate_id: string;
    attempts: number;
    payload: unknown;
    created_at: Date;
    url: string;
    secret_ciphertext: string | null;
  }>(
    `WITH c AS (
       SELECT d.id FROM outbox_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND EXISTS (SELECT 1 FROM outbox_subscriptions s WHERE s.id = d.subscription_id AND s.status = 'active')
          AND NOT EXISTS (
            SELECT 1 FROM outbox_deliveries p
             WHERE p.subscription_id = d.subscription_id AND p.aggregate_id = d.aggregate_id
               AND p.event_id < d.event_id AND p.status IN ('pending', 'dead'))
        ORDER BY d.next_attempt_at, d.id
        LIMIT $1
        FOR UPDATE OF d SKIP LOCKED
     ), u AS (
       UPDATE outbox_deliveries d
          SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
         FROM c WHERE d.id = c.id
       RETURNING d.id, d.delivery_id, d.event_id, d.subscription_id, d.topic, d.aggregate_id, d.attempts
     )
     SELECT u.id::text AS id, u.delivery_id::text AS delivery_id, u.event_id::text AS event_id, u.subscription_id::text AS subscription_id,
            u.topic, u.aggregate_id, u.attempts, e.payload, e.created_at, s.url, s.secret_ciphertext
       FROM u JOIN outbox_events e ON e.id = u.event_id JOIN outbox_subscriptions s ON s.id = u.subscription_id
      ORDER BY u.id`,
    [opts.limit, opts.leaseMs],
  );
  return res.rows.map((r) => ({
    id: r.id,
    deliveryId: r.delivery_id,
    eventId: r.event_id,
    subscriptionId: r.subscription_id,
    topic: r.topic,
    aggregateId: r.aggregate_id,
    attempt: r.attempts,
    payload: r.payload,
    eventCreatedAt: r.created_at,
    url: r.url,
    secretCiphertext: r.secret_ciphertext ?? "",
  }));
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = err?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ""}`;
  return err?.message ?? String(e);
}

async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString("utf8");
}

/** POSTs one delivery, signed; never throws (every failure becomes an AttemptResult). */
export async function sendDelivery(d: ClaimedDelivery, opts: { timeoutMs: number; key?: SecretKey; now?: () => Date }): Promise<AttemptResult> {
  const now = opts.now ?? (() => new Date());
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let secret: string;
  try {
    secret = decryptSecret(d.secretCiphertext, d.subscriptionId, opts.key ?? outboxSecretKey());
  } catch (e) {
    return { isDelivered: false, httpStatus: null, error: (e as Error).message, durationMs: elapsed(), retryAfterMs: null };
  }
  const body = deliveryBody(d);
  try {
    const res = await fetch(d.url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "x-signature": signPayload(secret, body, now()),
        "x-delivery-id": d.deliveryId,
        "x-event-id": d.eventId,
        "x-topic": d.topic,
        "x-delivery-attempt": String(d.attempt),
      },
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {});
      return { isDelivered: true, httpStatus: res.status, error: null, durationMs: elapsed(), retryAfterMs: null };
    }
    const excerpt = res.status >= 300 && res.status < 400 ? `redirect to ${res.headers.get("location") ?? "?"} not followed` : await readExcerpt(res).catch(() => "");
    return {
      isDelivered: false,
      httpStatus: res.status,
      error: `HTTP ${res.status}${excerpt ? `: ${excerpt}` : ""}`.slice(0, LAST_ERROR_MAX_LENGTH),
      durationMs: elapsed(),
      retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now()),
    };
  } catch (e) {
    return { isDelivered: false, httpStatus: null, error: describeFetchError(e, opts.timeoutMs).slice(0, LAST_ERROR_MAX_LENGTH), durationMs: elapsed(), retryAfterMs: null };
  }
}

export type RecordedOutcome = "delivered" | "retry" | "dead" | "stale";

/**
 * Records the outcome of an attempt: delivered, retry later (backoff), or dead after the last
 * attempt. Returns "stale" when the delivery is no longer this attempt's (its lease ran out and
 * another worker claimed it, or an admin acted on it): nothing is written then.
 */
export async function recordAttempt(db: DbHandles, d: ClaimedDelivery, result: AttemptResult, policy: RetryPolicy, random: number = Math.random()): Promise<RecordedOutcome> {
  const guard = `WHERE id = $1::bigint AND status = 'pending' AND attempts = $2`;
  const common = [d.id, d.attempt, result.httpStatus, result.error, result.durationMs];
  if (result.isDelivered) {
    const res = await db.pool.query(
      `UPDATE outbox_deliveries SET status = 'delivered', delivered_at = now(), finished_at = now(), last_status = $3, last_error = $4, last_duration_ms = $5 ${guard}`,
      common,
    );
    return res.rowCount === 1 ? "delivered" : "stale";
  }
  if (d.attempt >= policy.maxAttempts) {
    const res = await db.pool.query(`UPDATE outbox_deliveries SET status = 'dead', finished_at = now(), last_status = $3, last_error = $4, last_duration_ms = $5 ${guard}`, common);
    return res.rowCount === 1 ? "dead" : "stale";
  }
  const delayMs = retryDelayMs(d.attempt, policy, random, result.retryAfterMs);
  const res = await db.pool.query(
    `UPDATE outbox_deliveries SET next_attempt_at = now() + make_interval(secs => $6::double precision / 1000), last_status = $3, last_error = $4, last_duration_ms = $5 ${guard}`,
    [...common, delayMs],
  );
  return res.rowCount === 1 ? "retry" : "stale";
}
