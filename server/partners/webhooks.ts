/**
 * Partner webhooks in: verify, store, deduplicate, answer fast; apply later.
 *
 * Invariants kept:
 * - Nothing unverified is stored or applied. A request whose signature is missing, malformed,
 *   stale or wrong (or whose signed body is unusable, or which is too large) is answered 4xx and
 *   recorded only in security_events (no body, no secret); no other row changes.
 * - A verified event is stored raw (body exactly as received, evidence headers) before we answer
 *   200. Deduplication is by (partner, event id): the first arrival is the original, every
 *   redelivery is kept as its own row flagged is_duplicate and pointing at the original, and is
 *   never applied (UNIQUE(partner, dedupe_event_id) in the database decides races).
 * - Application is asynchronous (processPendingWebhooks): originals are claimed in arrival order
 *   with FOR UPDATE SKIP LOCKED plus a lease, so concurrent processors never apply one event at
 *   the same time and a processor that dies leaves a lease that expires. applyPartnerEvent is
 *   idempotent and never moves a transfer backwards, so an event applied twice after a crash
 *   changes nothing the second time. Events of one transfer are applied one after another.
 * - Failures to apply are retried with backoff up to MAX_PROCESS_ATTEMPTS, then the event is
 *   marked effect = "error" for an operator (replayWebhookEvent).
 * - A replay is permissioned (transfers:operate), needs a reason and writes an audit record in the
 *   same transaction as the replay's record on the event.
 */
import type { DbHandles } from "../db/client";
import { runKeyedTransaction, runTransaction } from "../db/transaction";
import { pgRunner } from "../db/sql";
import { appendAudit } from "../audit/audit-log";
import { auditActorOf, type Actor } from "../auth/actor";
import { recordSecurityEvent } from "../auth/security-events";
import { checkReason } from "../admin/users";
import { AppError } from "../errors/app-error";
import { componentLogger } from "../observability/logger";
import { applyPartnerEvent, applyPartnerEventsInTransaction, flagUnappliedPartnerEvent, type BatchedPartnerEvent } from "../transfers/partner-events";
import { preparedQuery } from "../db/prepared";
import { isKnownPartner, partnerAdapter } from "./registry";
import { EVENT_ID_HEADER, MAX_EVENT_ID_LENGTH } from "./sandbox-adapter";
import { SIGNATURE_HEADER, parseSignatureHeader } from "./signature";
import { WebhookRejected, type PartnerEvent } from "./types";

const log = componentLogger("webhooks");

export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
export const MAX_PROCESS_ATTEMPTS = 10;
export const PROCESS_LEASE_MS = 60_000;
export const PROCESS_BATCH_MAX = 500;
export const PROCESS_CONCURRENCY = 8;
export const WEBHOOK_LIST_DEFAULT_LIMIT = 50;
export const WEBHOOK_LIST_MAX_LIMIT = 200;
/** Headers kept with a stored event as evidence (each cut to 512 characters). */
export const EVIDENCE_HEADERS = [EVENT_ID_HEADER, SIGNATURE_HEADER, "content-type", "user-agent", "x-delivery-attempt", "content-length"] as const;

export type WebhookEffect = "applied" | "duplicate_state" | "ignored_backwards" | "ignored_terminal" | "unknown_transfer" | "duplicate_event" | "error";

/** The function that applies an event to its transfer (server/transfers/partner-events.ts). */
export type ApplyPartnerEvent = typeof applyPartnerEvent;

export interface WebhookReceipt {
  status: 200 | 400 | 401 | 404 | 413;
  body: { received: true; id: string; isDuplicate: boolean } | { error: { code: string; message: string } };
}

export interface ReceiveOptions {
  /** The caller's address for the security log. */
  ip?: string | null;
  /** Called with the stored id of a new original (not a duplicate), e.g. to wake a processor. Errors are logged, never fail the receipt. */
  notifyWebhookReceived?: (webhookEventId: string) => void | Promise<void>;
}

function refusal(status: WebhookReceipt["status"], code: string, message: string): WebhookReceipt {
  return { status, body: { error: { code, message } } };
}

function evidenceHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of EVIDENCE_HEADERS) {
    const v = headers.get(name);
    if (v !== null) out[name] = v.slice(0, 512);
  }
  return out;
}

/**
 * Receives one webhook: verify, store, deduplicate. Answers, in check order: 404 unknown partner;
 * 413 body over MAX_WEBHOOK_BODY_BYTES; 401 signature missing/malformed/stale/mismatch; 400 event
 * id header missing or different from the body's, or a body that is not a valid event; 200 stored
 * (original or duplicate). Database failures propagate (the partner retries).
 */
export async function receiveWebhook(db: DbHandles, partner: string, headers: Headers, rawBody: string, now: Date, opts: ReceiveOptions = {}): Promise<WebhookReceipt> {
  if (!isKnownPartner(partner)) return refusal(404, "unknown_partner", `partner ${JSON.stringify(partner.slice(0, 64))} is not known`);
  const headerEventId = headers.get(EVENT_ID_HEADER)?.slice(0, MAX_EVENT_ID_LENGTH) ?? null;
  const bodyBytes = Buffer.byteLength(rawBody, "utf8");
  let event: PartnerEvent;
  try {
    if (bodyBytes > MAX_WEBHOOK_BODY_BYTES) throw new WebhookRejected("body_too_large", `webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    event = partnerAdapter(partner).verifyWebhook(headers, rawBody, now);
  } catch (e) {
    if (!(e instanceof WebhookRejected)) throw e;
    await recordSecurityEvent(db.prisma, "webhook_rejected", { partner, reason: e.reason, eventId: headerEventId, bodyBytes }, opts.ip ?? null);
    log.warn({ partner, reason: e.reason, eventId: headerEventId }, "webhook refused");
    return refusal(e.httpStatus, `webhook_${e.reason}`, e.message);
  }

  const signedAt = new Date(Number(parseSignatureHeader(headers.get(SIGNATURE_HEADER)!.trim())!.timestamp) * 1000);
  // received_at is the database's clock at insert (microseconds), so arrival order is kept even
  // within one millisecond; `now` is the clock the signature was checked against.
  const params = [partner, event.eventId, event.type, event.idempotencyKey, event.partnerRef, event.occurredAt, rawBody, JSON.stringify(evidenceHeaders(headers)), signedAt];
  const original = await preparedQuery<{ id: string }>(
    db.pool,
    `INSERT INTO webhook_events (id, partner, event_id, dedupe_event_id, is_duplicate, event_type, idempotency_key, partner_ref, occurred_at,
       raw_body, headers, signature_result, signed_at, received_at)
     VALUES (gen_random_uuid(), $1, $2, $2, false, $3, $4, $5, $6, $7, $8::jsonb, 'valid', $9, clock_timestamp())
     ON CONFLICT (partner, dedupe_event_id) DO NOTHING
     RETURNING id::text AS id`,
    params,
  );
  const originalId = original.rows[0]?.id;
  if (originalId) {
    if (opts.notifyWebhookReceived) {
      try {
        await opts.notifyWebhookReceived(originalId);
      } catch (e) {
        log.warn({ err: (e as Error).message, webhookEventId: originalId }, "webhook notification failed; the periodic sweep will pick the event up");
      }
    }
    return { status: 200, body: { received: true, id: originalId, isDuplicate: false } };
  }
  // A redelivery: keep it, flagged, pointing at the original; it is never applied.
  const dup = await db.pool.query<{ id: string }>(
    `INSERT INTO webhook_events (id, partner, event_id, dedupe_event_id, is_duplicate, duplicate_of_id, event_type, idempotency_key, partner_ref,
       occurred_at, raw_body, headers, signature_result, signed_at, received_at, effect, effect_detail, processed_at)
     SELECT gen_random_uuid(), $1, $2, NULL, true, o.id, $3, $4, $5, $6, $7, $8::jsonb, 'valid', $9, clock_timestamp(), 'duplicate_event',
            jsonb_build_object('duplicateOf', o.id::text, 'isBodyIdentical', o.raw_body = $7), $10
       FROM webhook_events o WHERE o.partner = $1 AND o.dedupe_event_id = $2
     RETURNING id::text AS id`,
    [...params, now],
  );
  const dupId = dup.rows[0]?.id;
  if (!dupId) throw new Error(`webhook event ${event.eventId} conflicted but its original is gone`);
  return { status: 200, body: { received: true, id: dupId, isDuplicate: true } };
}

// ---------------------------------------------------------------------------------------------
// Applying stored events

export interface ProcessResult {
  claimed: number;
  byEffect: Partial<Record<WebhookEffect, number>>;
  /** Attempts that threw and will be retried (or were marked "error" after the last attempt). */
  failures: number;
}

interface ClaimedEvent {
  id: string;
  partner: string;
  raw_body: string;
  idempotency_key: string;
  process_attempts: number;
  /** received_at in microseconds since the epoch: JS dates would lose the order within a millisecond. */
  received_us: string;
}

export function processBackoffMs(attempts: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 5 * 60_000);
}

/**
 * Claims up to `limit` unprocessed original events (oldest first), applies each through
 * applyPartnerEvent and records the effect. Events of one transfer are applied in arrival order;
 * different transfers in parallel (PROCESS_CONCURRENCY). Returns what happened; call again while
 * `claimed === limit`.
 */
export async function processPendingWebhooks(
  db: Pick<DbHandles, "pool">,
  limit = 100,
  opts: { now?: () => Date; apply?: ApplyPartnerEvent } = {},
): Promise<ProcessResult> {
  const now = opts.now ?? (() => new Date());
  const apply = opts.apply ?? applyPartnerEvent;
  const take = Math.max(1, Math.min(limit, PROCESS_BATCH_MAX));
  const at = now();
  const claimed = (
    await db.pool.query<ClaimedEvent>(
      `WITH c AS (
         SELECT id FROM webhook_events
          WHERE processed_at IS NULL AND NOT is_duplicate AND (locked_until IS NULL OR locked_until < $1)
          ORDER BY received_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE webhook_events w SET locked_until = $3, process_attempts = w.process_attempts + 1 FROM c WHERE w.id = c.id
       RETURNING w.id::text AS id, w.partner, w.raw_body, w.idempotency_key, w.process_attempts,
                 (extract(epoch FROM w.received_at) * 1000000)::bigint::text AS received_us`,
      [at, take, new Date(at.getTime() + PROCESS_LEASE_MS)],
    )
  ).rows;
  const result: ProcessResult = { claimed: claimed.length, byEffect: {}, failures: 0 };
  if (claimed.length === 0) return result;

  claimed.sort((a, b) => {
    const d = BigInt(a.received_us) - BigInt(b.received_us);
    return d !== 0n ? (d < 0n ? -1 : 1) : a.id < b.id ? -1 : 1;
  });
  const count = (effect: WebhookEffect) => (result.byEffect[effect] = (result.byEffect[effect] ?? 0) + 1);
  if (!opts.apply && (await applyAsBatch(db, claimed, now, count))) return result;
  const lanes = new Map<string, ClaimedEvent[]>();
  for (const e of claimed) {
    const key = `${e.partner}\u0000${e.idempotency_key}`;
    lanes.set(key, [...(lanes.get(key) ?? []), e]);
  }
  const queue = [...lanes.values()];

  const processOne = async (row: ClaimedEvent) => {
    let event: PartnerEvent;
    try {
      event = partnerAdapter(row.partner).parseStoredEvent(row.raw_body);
    } catch (e) {
      // A stored event that no longer parses (partner removed, format changed) can never apply.
      count("error");
      await db.pool.query(
        `UPDATE webhook_events SET effect = 'error', effect_detail = $2::jsonb, processed_at = $3, locked_until = NULL, last_error = $4 WHERE id = $1`,
        [row.id, JSON.stringify({ reason: "unparseable" }), now(), (e as Error).message.slice(0, 1000)],
      );
      return;
    }
    try {
      const r = await apply(db, event, { webhookEventId: row.id });
      count(r.effect);
      await db.pool.query(
        `UPDATE webhook_events SET effect = $2, effect_detail = $3::jsonb, transfer_id = $4::uuid, processed_at = $5, locked_until = NULL, last_error = NULL
          WHERE id = $1 AND processed_at IS NULL`,
        [row.id, r.effect, JSON.stringify({ transferId: r.transferId, fromState: r.fromState, toState: r.toState }), r.transferId, now()],
      );
    } catch (e) {
      result.failures++;
      const message = (e as Error).message.slice(0, 1000);
      const isLast = row.process_attempts >= MAX_PROCESS_ATTEMPTS;
      // A typed failure that retrying will not cure is shown on the transfer at once.
      await flagUnappliedPartnerEvent(db, event, e).catch((flagErr: unknown) => log.warn({ webhookEventId: row.id, err: (flagErr as Error).message }, "could not flag the transfer"));
      if (isLast) count("error");
      log.warn({ webhookEventId: row.id, attempt: row.process_attempts, err: message, isLast }, "applying a webhook event failed");
      await db.pool
        .query(
          `UPDATE webhook_events SET last_error = $2, locked_until = $3,
             effect = CASE WHEN $4 THEN 'error' ELSE effect END, processed_at = CASE WHEN $4 THEN $5 ELSE processed_at END
           WHERE id = $1`,
          [row.id, message, new Date(now().getTime() + processBackoffMs(row.process_attempts)), isLast, now()],
        )
        .catch(() => {
          // The database is unreachable: the lease expires and the event is claimed again.
        });
    }
  };

  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const row of lane) await processOne(row);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROCESS_CONCURRENCY, queue.length) }, worker));
  return result;
}

/**
 * The fast path: every claimed event that parses, applied and recorded in one transaction
 * (applyPartnerEventsInTransaction), so a burst of webhooks costs a few statements and one commit
 * instead of three transactions per event. Returns false, having changed nothing, when anything in
 * the batch fails (a ledger refusal, an unparseable event): the caller then applies the events one
 * by one, which isolates the failing one with its own retries.
 */
async function applyAsBatch(db: Pick<DbHandles, "pool">, claimed: readonly ClaimedEvent[], now: () => Date, count: (effect: WebhookEffect) => void): Promise<boolean> {
  let items: BatchedPartnerEvent[];
  try {
    items = claimed.map((row) => ({ event: partnerAdapter(row.partner).parseStoredEvent(row.raw_body), webhookEventId: row.id }));
  } catch {
    return false;
  }
  try {
    const results = await runKeyedTransaction(db.pool, async (client) => {
      const at = now();
      const applied = await applyPartnerEventsInTransaction(client, items, at);
      await preparedQuery(
        client,
        `UPDATE webhook_events w SET effect = u.effect, effect_detail = u.detail::jsonb, transfer_id = u.transfer_id, processed_at = $5,
                locked_until = NULL, last_error = NULL
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) AS u(id, effect, detail, transfer_id)
          WHERE w.id = u.id AND w.processed_at IS NULL`,
        [
          items.map((i) => i.webhookEventId),
          applied.map((r) => r.effect),
          applied.map((r) => JSON.stringify({ transferId: r.transferId, fromState: r.fromState, toState: r.toState })),
          applied.map((r) => r.transferId),
          at,
        ],
      );
      return applied;
    });
    for (const r of results) count(r.effect);
    return true;
  } catch (e) {
    log.info({ err: (e as Error).message, events: claimed.length }, "applying webhooks as one batch failed; applying them one by one");
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Replay

export interface ReplayResult {
  webhookEventId: string;
  effect: Exclude<WebhookEffect, "duplicate_event" | "error">;
  transferId: string | null;
  fromState: string | null;
  toState: string | null;
  replayCount: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applies a stored event again (an operator's "replay"): applyPartnerEvent is idempotent, so a
 * replay changes a transfer only when the first application did not (it failed, or the transfer
 * did not exist yet). Records the replay on the event and in the audit log, together.
 *
 * Errors, in order: FORBIDDEN (transfers:operate missing), BAD_INPUT (reason, id not a UUID),
 * NOT_FOUND (no such event), PARTNER_RESPONSE_INVALID (the stored body no longer parses), then
 * whatever applying the event throws (DB_UNAVAILABLE, ledger errors).
 */
export async function replayWebhookEvent(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { webhookEventId: string; reason: string },
  opts: { requestId?: string | null; now?: Date; apply?: ApplyPartnerEvent } = {},
): Promise<ReplayResult> {
  if (!actor.permissions.has("transfers:operate")) throw new AppError("FORBIDDEN", "permission transfers:operate is required to replay a webhook");
  const reason = checkReason(input.reason);
  if (!UUID_RE.test(input.webhookEventId)) throw new AppError("BAD_INPUT", `webhook event id ${JSON.stringify(input.webhookEventId)} is not a UUID`, { details: { field: "webhookEventId" } });
  const row = (
    await db.pool.query<{ id: string; partner: string; event_id: string; raw_body: string; effect: string | null; replay_count: number; is_duplicate: boolean }>(
      `SELECT id::text AS id, partner, event_id, raw_body, effect, replay_count, is_duplicate FROM webhook_events WHERE id = $1::uuid`,
      [input.webhookEventId],
    )
  ).rows[0];
  if (!row) throw new AppError("NOT_FOUND", `webhook event ${input.webhookEventId} does not exist`, { details: { webhookEventId: input.webhookEventId } });
  let event: PartnerEvent;
  try {
    event = partnerAdapter(row.partner).parseStoredEvent(row.raw_body);
  } catch (e) {
    throw new AppError("PARTNER_RESPONSE_INVALID", `webhook event ${row.id} (${row.event_id}) cannot be replayed: ${(e as Error).message}`, { cause: e, details: { webhookEventId: row.id } });
  }
  const auditActor = auditActorOf(actor);
  const r = await (opts.apply ?? applyPartnerEvent)(db, event, { webhookEventId: row.id, actor: auditActor });
  const now = opts.now ?? new Date();
  const replay = { at: now.toISOString(), by: auditActor.label, effect: r.effect, transferId: r.transferId, fromState: r.fromState, toState: r.toState };
  const replayCount = await runTransaction(db.pool, async (c) => {
    // A replay that succeeds resolves an event that never applied (pending or given up).
    const updated = await c.query<{ replay_count: number }>(
      `UPDATE webhook_events SET replay_count = replay_count + 1, last_replayed_at = $2,
         transfer_id = coalesce(transfer_id, $3::uuid),
         effect = CASE WHEN NOT is_duplicate AND (effect IS NULL OR effect = 'error') THEN $4 ELSE effect END,
         processed_at = CASE WHEN NOT is_duplicate AND (effect IS NULL OR effect = 'error') THEN $2 ELSE processed_at END,
         locked_until = CASE WHEN NOT is_duplicate AND (effect IS NULL OR effect = 'error') THEN NULL ELSE locked_until END,
         effect_detail = coalesce(effect_detail, '{}'::jsonb) || jsonb_build_object('lastReplay', $5::jsonb)
       WHERE id = $1::uuid RETURNING replay_count`,
      [row.id, now, r.transferId, r.effect, JSON.stringify(replay)],
    );
    const count = updated.rows[0]!.replay_count;
    await appendAudit(pgRunner(c), {
      actor: auditActor,
      action: "webhook.replayed",
      targetType: "webhook_event",
      targetId: row.id,
      reason,
      before: { effect: row.effect, replayCount: row.replay_count },
      after: { replayEffect: r.effect, transferId: r.transferId, fromState: r.fromState, toState: r.toState, replayCount: count, eventId: row.event_id, partner: row.partner },
      requestId: opts.requestId ?? null,
      at: now,
    });
    return count;
  });
  return { webhookEventId: row.id, effect: r.effect, transferId: r.transferId, fromState: r.fromState, toState: r.toState, replayCount };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface WebhookEventItem {
  id: string;
  partner: string;
  eventId: string;
  eventType: string;
  isDuplicate: boolean;
  duplicateOfId: string | null;
  idempotencyKey: string;
  partnerRef: string;
  transferId: string | null;
  occurredAt: Date;
  receivedAt: Date;
  signatureResult: string;
  signedAt: Date;
  headers: Record<string, string>;
  rawBody: string;
  effect: WebhookEffect | null;
  effectDetail: unknown;
  processedAt: Date | null;
  processAttempts: number;
  lastError: string | null;
  replayCount: number;
  lastReplayedAt: Date | null;
}

interface EventRow {
  id: string;
  partner: string;
  event_id: string;
  event_type: string;
  is_duplicate: boolean;
  duplicate_of_id: string | null;
  idempotency_key: string;
  partner_ref: string;
  transfer_id: string | null;
  occurred_at: Date;
  received_at: Date;
  signature_result: string;
  signed_at: Date;
  headers: Record<string, string>;
  raw_body: string;
  effect: WebhookEffect | null;
  effect_detail: unknown;
  processed_at: Date | null;
  process_attempts: number;
  last_error: string | null;
  replay_count: number;
  last_replayed_at: Date | null;
}

function toItem(r: EventRow): WebhookEventItem {
  return {
    id: r.id,
    partner: r.partner,
    eventId: r.event_id,
    eventType: r.event_type,
    isDuplicate: r.is_duplicate,
    duplicateOfId: r.duplicate_of_id,
    idempotencyKey: r.idempotency_key,
    partnerRef: r.partner_ref,
    transferId: r.transfer_id,
    occurredAt: r.occurred_at,
    receivedAt: r.received_at,
    signatureResult: r.signature_result,
    signedAt: r.signed_at,
    headers: r.headers,
    rawBody: r.raw_body,
    effect: r.effect,
    effectDetail: r.effect_detail,
    processedAt: r.processed_at,
    processAttempts: r.process_attempts,
    lastError: r.last_error,
    replayCount: r.replay_count,
    lastReplayedAt: r.last_replayed_at,
  };
}

/**
 * A transfer's webhooks (by transfer id, or by partner idempotency key), oldest first, with
 * keyset pagination: pass the last item's id as `after`. Errors: BAD_INPUT (neither or both of
 * transferId / idempotencyKey, limit out of 1..WEBHOOK_LIST_MAX_LIMIT, a malformed id).
 */
export async function listWebhookEvents(
  db: Pick<DbHandles, "pool">,
  input: { transferId?: string; idempotencyKey?: string; limit?: number; after?: string },
): Promise<{ items: WebhookEventItem[]; nextAfter: string | null }> {
  const limit = input.limit ?? WEBHOOK_LIST_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > WEBHOOK_LIST_MAX_LIMIT) {
    throw new AppError("BAD_INPUT", `limit must be 1 to ${WEBHOOK_LIST_MAX_LIMIT}`, { details: { field: "limit" } });
  }
  if ((input.transferId === undefined) === (input.idempotencyKey === undefined)) {
    throw new AppError("BAD_INPUT", "give exactly one of transferId and idempotencyKey", { details: { field: "transferId" } });
  }
  if (input.transferId !== undefined && !UUID_RE.test(input.transferId)) throw new AppError("BAD_INPUT", `transfer id ${JSON.stringify(input.transferId)} is not a UUID`, { details: { field: "transferId" } });
  if (input.after !== undefined && !UUID_RE.test(input.after)) throw new AppError("BAD_INPUT", `after ${JSON.stringify(input.after)} is not a webhook event id`, { details: { field: "after" } });
  const match =
    input.transferId !== undefined
      ? `(w.transfer_id = $1::uuid OR (w.partner, w.idempotency_key) = (SELECT t.partner, t.idempotency_key FROM transfers t WHERE t.id = $1::uuid))`
      : `w.idempotency_key = $1`;
  const rows = (
    await db.pool.query<EventRow>(
      `SELECT w.id::text AS id, w.partner, w.event_id, w.event_type, w.is_duplicate, w.duplicate_of_id::text AS duplicate_of_id, w.idempotency_key,
              w.partner_ref, w.transfer_id::text AS transfer_id, w.occurred_at, w.received_at, w.signature_result, w.signed_at, w.headers, w.raw_body,
              w.effect, w.effect_detail, w.processed_at, w.process_attempts, w.last_error, w.replay_count, w.last_replayed_at
         FROM webhook_events w
        WHERE ${match}
          AND ($2::uuid IS NULL OR (w.received_at, w.id) > (SELECT a.received_at, a.id FROM webhook_events a WHERE a.id = $2::uuid))
        ORDER BY w.received_at, w.id
        LIMIT $3`,
      [input.transferId ?? input.idempotencyKey, input.after ?? null, limit + 1],
    )
  ).rows;
  const items = rows.slice(0, limit).map(toItem);
  return { items, nextAfter: rows.length > limit ? items[items.length - 1]!.id : null };
}
