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
 * - Bounded: `attempts` stops at maxAttempts (then dead); each request has a time limit (resolving,
 *   connecting, sending and the answer's head), and follows no redirects.
 * - Server-side request forgery: the host is resolved and checked at every send and the request
 *   is pinned to the checked address (server/outbox/endpoint-guard.ts); the answer's body is never
 *   read, and the stored error is the status plus fixed words (or fixed words for a network
 *   failure), so a subscription cannot be used to read what an internal address answers.
 * - Only 2xx counts as delivered. Every other answer, a network error or a timeout is retried
 *   with exponential backoff and jitter (at least the receiver's Retry-After, up to the cap).
 */
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import type { DbHandles } from "../db/client";
import { signPayload } from "../core/signature";
import { decryptSecret, outboxSecretKey, type SecretKey } from "./secrets";
import { endpointPolicyFromEnv, EndpointRefusedError, resolveEndpoint, type EndpointPolicy, type Resolver } from "./endpoint-guard";

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

/** What is stored for a failed request: fixed words per kind of failure, never the peer's text. */
function describeRequestError(e: unknown, timeoutMs: number): string {
  if (e instanceof EndpointRefusedError) return `refused: ${e.message}`;
  const err = e as { name?: string; code?: string };
  if (err?.name === "TimeoutError" || err?.name === "AbortError" || err?.code === "ABORT_ERR") return `no answer within ${timeoutMs} ms`;
  switch (err?.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
    case "EPIPE":
      return "connection reset before an answer";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "ETIMEDOUT":
      return "connection timed out";
    default:
      return typeof err?.code === "string" && /TLS|SSL|CERT/.test(err.code) ? "TLS handshake failed" : "request failed";
  }
}

/** Fixed words for an answer that is not 2xx: the status says what the receiver meant. */
function describeStatus(status: number): string {
  if (status >= 300 && status < 400) return `HTTP ${status}: redirects are not followed`;
  return `HTTP ${status}: the endpoint did not accept the delivery`;
}

const agents = { "http:": new http.Agent({ keepAlive: true, maxSockets: 64 }), "https:": new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/**
 * One POST to `url`, connected to exactly `pinned` (the checked address) whatever the resolver
 * would say now; resolves with the status and Retry-After once the answer's head arrives. The
 * body is never read: nothing the receiver writes is stored.
 */
function postPinned(url: URL, pinned: { address: string; family: 4 | 6 }, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; retryAfter: string | null }> {
  const lookup: net.LookupFunction = (_host, options, callback) => {
    const cb = callback as unknown as (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
    if ((options as { all?: boolean }).all) cb(null, [{ address: pinned.address, family: pinned.family }]);
    else cb(null, pinned.address, pinned.family);
  };
  const isHttps = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (isHttps ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: "POST",
        agent: agents[isHttps ? "https:" : "http:"],
        lookup,
        signal,
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const retryAfter = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === "string" ? retryAfter : null });
        res.resume();
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * POSTs one delivery, signed; never throws (every failure becomes an AttemptResult). The host is
 * resolved and checked again now (server/outbox/endpoint-guard.ts) and the request is pinned to
 * the checked address. The stored error is the status and fixed words, never the answer's body.
 */
export async function sendDelivery(
  d: ClaimedDelivery,
  opts: { timeoutMs: number; key?: SecretKey; now?: () => Date; policy?: EndpointPolicy; resolver?: Resolver },
): Promise<AttemptResult> {
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
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const url = new URL(d.url);
    const [pinned] = await resolveEndpoint(url.hostname, opts.policy ?? endpointPolicyFromEnv(), opts.resolver);
    signal.throwIfAborted();
    const res = await postPinned(url, pinned!, body, {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "x-signature": signPayload(secret, body, now()),
      "x-delivery-id": d.deliveryId,
      "x-event-id": d.eventId,
      "x-topic": d.topic,
      "x-delivery-attempt": String(d.attempt),
    }, signal);
    if (res.status >= 200 && res.status < 300) {
      return { isDelivered: true, httpStatus: res.status, error: null, durationMs: elapsed(), retryAfterMs: null };
    }
    return { isDelivered: false, httpStatus: res.status, error: describeStatus(res.status), durationMs: elapsed(), retryAfterMs: parseRetryAfter(res.retryAfter, now()) };
  } catch (e) {
    return { isDelivered: false, httpStatus: null, error: describeRequestError(e, opts.timeoutMs).slice(0, LAST_ERROR_MAX_LENGTH), durationMs: elapsed(), retryAfterMs: null };
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
