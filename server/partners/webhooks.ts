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
 * - Application is asynchronous and belongs to the transfers domain
 *   (server/transfers/webhook-processing.ts); this module only receives.
 */
import type { DbHandles } from "../db/client";
import { recordSecurityEvent } from "../auth/security-events";
import { componentLogger } from "../observability/logger";
import { preparedQuery } from "../db/prepared";
import { isKnownPartner, type PartnerRegistry } from "./registry";
import { EVENT_ID_HEADER, MAX_EVENT_ID_LENGTH } from "./sandbox-adapter";
import { SIGNATURE_HEADER, parseSignatureHeader } from "../core/signature";
import { WebhookRejected, type PartnerEvent } from "./types";

const log = componentLogger("webhooks");

export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
/** Headers kept with a stored event as evidence (each cut to 512 characters). */
export const EVIDENCE_HEADERS = [EVENT_ID_HEADER, SIGNATURE_HEADER, "content-type", "user-agent", "x-delivery-attempt", "content-length"] as const;

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
export async function receiveWebhook(db: DbHandles, partners: Pick<PartnerRegistry, "adapterFor">, partner: string, headers: Headers, rawBody: string, now: Date, opts: ReceiveOptions = {}): Promise<WebhookReceipt> {
  if (!isKnownPartner(partner)) return refusal(404, "unknown_partner", `partner ${JSON.stringify(partner.slice(0, 64))} is not known`);
  const headerEventId = headers.get(EVENT_ID_HEADER)?.slice(0, MAX_EVENT_ID_LENGTH) ?? null;
  const bodyBytes = Buffer.byteLength(rawBody, "utf8");
  let event: PartnerEvent;
  try {
    if (bodyBytes > MAX_WEBHOOK_BODY_BYTES) throw new WebhookRejected("body_too_large", `webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    event = partners.adapterFor(partner).verifyWebhook(headers, rawBody, now);
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
  const dup = await preparedQuery<{ id: string }>(
    db.pool,
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

