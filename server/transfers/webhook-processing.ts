/**
 * Applying stored partner webhooks to transfers (received, verified and stored by
 * server/partners/webhooks.ts): asynchronously, in arrival order, with retries; an operator's
 * audited replay; and the list the transfer page shows.
 *
 * Invariants kept:
 * - Originals are claimed in arrival order with FOR UPDATE SKIP LOCKED plus a lease, so concurrent
 *   processors never apply one event at the same time and a processor that dies leaves a lease
 *   that expires. applyPartnerEvent is idempotent and never moves a transfer backwards, so an event
 *   applied twice after a crash changes nothing the second time. Events of one transfer are applied
 *   one after another.
 * - Failures to apply are retried with backoff up to MAX_PROCESS_ATTEMPTS, then the event is
 *   marked effect = "error" for an operator (replayWebhookEvent); a typed failure that retrying
 *   will not cure is written on the transfer at once.
 * - A replay is permissioned (transfers:operate), needs a reason and writes an audit record in the
 *   same transaction as the replay's record on the event.
 */
import type { DbHandles } from "../db/client";
import { runKeyedTransaction, runTransaction } from "../db/transaction";
import { pgRunner } from "../db/sql";
import { appendAudit } from "../audit/audit-log";
import { auditActorOf, type Actor } from "../core/actor";
import { checkReason } from "../core/reasons";
import { AppError } from "../errors/app-error";
import { fromRow, type RowOf } from "../core/rows";
import { componentLogger } from "../observability/logger";
import { contextFromTraceParent, contextWithSpan, markSpanFailed, runInContext, SpanKind, startSpan, type Span } from "../observability/tracing";
import { preparedQuery } from "../db/prepared";
import type { PartnerRegistry } from "../partners/registry";
import type { PartnerEvent } from "../partners/types";
import { applyPartnerEvent, applyPartnerEventsInTransaction, flagUnappliedPartnerEvent, type BatchedPartnerEvent } from "./partner-events";

const log = componentLogger("webhooks");

export const MAX_PROCESS_ATTEMPTS = 10;
export const PROCESS_LEASE_MS = 60_000;
export const PROCESS_BATCH_MAX = 500;
export const PROCESS_CONCURRENCY = 8;
export const WEBHOOK_LIST_DEFAULT_LIMIT = 50;
export const WEBHOOK_LIST_MAX_LIMIT = 200;

export type WebhookEffect = "applied" | "duplicate_state" | "ignored_backwards" | "ignored_terminal" | "unknown_transfer" | "duplicate_event" | "error";

/** The function that applies an event to its transfer (./partner-events.ts). */
export type ApplyPartnerEvent = typeof applyPartnerEvent;

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
  /** The traceparent of the transfer the event names (its correlation), when it exists. */
  trace_parent: string | null;
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
  partners: Pick<PartnerRegistry, "adapterFor">,
  limit = 100,
  opts: { now?: () => Date; apply?: ApplyPartnerEvent } = {},
): Promise<ProcessResult> {
  const now = opts.now ?? (() => new Date());
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
                 (extract(epoch FROM w.received_at) * 1000000)::bigint::text AS received_us,
                 (SELECT t.trace_parent FROM transfers t WHERE t.idempotency_key = w.idempotency_key AND t.partner = w.partner) AS trace_parent`,
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
  // Each event is applied in the trace of the transfer it names (one span per event, ended once
  // its effect is recorded), so the webhook shows in the transfer's trace and logs.
  const spans = new Map<string, Span>(
    claimed.map((row) => [
      row.id,
      startSpan("webhook.apply", {
        kind: SpanKind.CONSUMER,
        parent: contextFromTraceParent(row.trace_parent),
        attributes: { "partner.id": row.partner, "webhook.event.id": row.id, "webhook.attempt": row.process_attempts },
      }),
    ]),
  );
  try {
    return await applyClaimed(db, partners, claimed, result, count, spans, now, opts.apply);
  } finally {
    for (const span of spans.values()) span.end();
  }
}

async function applyClaimed(
  db: Pick<DbHandles, "pool">,
  partners: Pick<PartnerRegistry, "adapterFor">,
  claimed: ClaimedEvent[],
  result: ProcessResult,
  count: (effect: WebhookEffect) => void,
  spans: Map<string, Span>,
  now: () => Date,
  customApply: ApplyPartnerEvent | undefined,
): Promise<ProcessResult> {
  const apply = customApply ?? applyPartnerEvent;
  if (!customApply && (await applyAsBatch(db, partners, claimed, now, count, spans))) return result;
  const lanes = new Map<string, ClaimedEvent[]>();
  for (const e of claimed) {
    const key = `${e.partner}\u0000${e.idempotency_key}`;
    lanes.set(key, [...(lanes.get(key) ?? []), e]);
  }
  const queue = [...lanes.values()];

  const processOne = (row: ClaimedEvent) => runInContext(contextWithSpan(spans.get(row.id)!), () => processOneEvent(row));
  const processOneEvent = async (row: ClaimedEvent) => {
    let event: PartnerEvent;
    try {
      event = partners.adapterFor(row.partner).parseStoredEvent(row.raw_body);
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
      spans.get(row.id)?.setAttribute("webhook.effect", r.effect);
      await db.pool.query(
        `UPDATE webhook_events SET effect = $2, effect_detail = $3::jsonb, transfer_id = $4::uuid, processed_at = $5, locked_until = NULL, last_error = NULL
          WHERE id = $1 AND processed_at IS NULL`,
        [row.id, r.effect, JSON.stringify({ transferId: r.transferId, fromState: r.fromState, toState: r.toState }), r.transferId, now()],
      );
    } catch (e) {
      result.failures++;
      markSpanFailed(spans.get(row.id)!, e);
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
async function applyAsBatch(
  db: Pick<DbHandles, "pool">,
  partners: Pick<PartnerRegistry, "adapterFor">,
  claimed: readonly ClaimedEvent[],
  now: () => Date,
  count: (effect: WebhookEffect) => void,
  spans: ReadonlyMap<string, Span>,
): Promise<boolean> {
  let items: BatchedPartnerEvent[];
  try {
    items = claimed.map((row) => ({ event: partners.adapterFor(row.partner).parseStoredEvent(row.raw_body), webhookEventId: row.id }));
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
    results.forEach((r, i) => {
      count(r.effect);
      spans.get(items[i]!.webhookEventId!)?.setAttribute("webhook.effect", r.effect);
    });
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
  partners: Pick<PartnerRegistry, "adapterFor">,
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
    event = partners.adapterFor(row.partner).parseStoredEvent(row.raw_body);
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
    await db.pool.query<RowOf<WebhookEventItem>>(
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
  const items = rows.slice(0, limit).map(fromRow<WebhookEventItem>);
  return { items, nextAfter: rows.length > limit ? items[items.length - 1]!.id : null };
}
