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
 * - Originals arriving together are stored by one statement and one commit (storeOriginal, the
 *   ledger's group commit settings); each is still answered only after its own row committed.
 * - Application is asynchronous and belongs to the transfers domain
 *   (server/transfers/webhook-processing.ts); this module only receives.
 */
import type { DbHandles } from "../db/client";
import { recordSecurityEvent } from "../auth/security-events";
import { componentLogger } from "../observability/logger";
import { preparedQuery } from "../db/prepared";
import { MicroBatcher } from "../db/micro-batcher";
import { env } from "../env";
import { toAppError } from "../errors/db-errors";
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

/** A verified event, ready to store. */
interface IncomingEvent {
  partner: string;
  eventId: string;
  type: string;
  idempotencyKey: string;
  partnerRef: string;
  occurredAt: Date;
  rawBody: string;
  /** The evidence headers, as JSON. */
  headers: string;
  signedAt: Date;
}

interface WaitingEvent {
  e: IncomingEvent;
  resolve: (originalId: string | null) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores an event as the original of its (partner, event id); returns its id, or null when an
 * original exists (a redelivery). With LEDGER_GROUP_COMMIT on, events arriving together share one
 * statement and one commit (the ledger's group commit settings): each caller still answers only
 * after its own row is committed. A copy of an event still being stored waits for that first copy
 * and is then stored alone, so the first arrival stays the original. A group that fails because the
 * database is unreachable, overloaded or too slow fails every caller (the partner sends again);
 * any other failure stores the group again one event at a time, so one bad event cannot fail
 * another's delivery.
 */
function storeOriginal(db: Pick<DbHandles, "pool">, e: IncomingEvent): Promise<string | null> {
  if (!env().LEDGER_GROUP_COMMIT) return insertOriginals(db, [e]).then((ids) => ids[0] ?? null);
  const r = receiverFor(db);
  const key = eventKey(e.partner, e.eventId);
  const earlier = r.storing.get(key);
  if (earlier) return earlier.catch(() => null).then(() => insertOriginals(db, [e]).then((ids) => ids[0] ?? null));
  const stored = new Promise<string | null>((resolve, reject) => {
    if (!r.batcher.add({ e, resolve, reject })) insertOriginals(db, [e]).then((ids) => resolve(ids[0] ?? null), reject);
  });
  r.storing.set(key, stored);
  const forget = () => {
    if (r.storing.get(key) === stored) r.storing.delete(key);
  };
  stored.then(forget, forget);
  return stored;
}

interface Receiver {
  batcher: MicroBatcher<WaitingEvent>;
  /** Events being stored now, by partner and event id. */
  storing: Map<string, Promise<string | null>>;
}

const receivers = new WeakMap<DbHandles["pool"], Receiver>();

/** What deduplicates an event: its partner and its id. */
const eventKey = (partner: string, eventId: string) => `${partner}\u0000${eventId}`;

/** Failures after which storing the events one at a time would only fail again: the database is unreachable, overloaded or too slow. */
const isDatabaseBusy = (err: unknown) => toAppError(err)?.code === "DB_UNAVAILABLE" || ["57014", "53300", "53400"].includes(String((err as { code?: unknown }).code));

function receiverFor(db: Pick<DbHandles, "pool">): Receiver {
  let r = receivers.get(db.pool);
  if (!r) {
    const c = env();
    const batcher = new MicroBatcher<WaitingEvent>(
      { windowMs: c.LEDGER_GROUP_COMMIT_WINDOW_MS, maxItems: Math.min(64, c.LEDGER_GROUP_COMMIT_MAX), maxInFlight: c.LEDGER_GROUP_COMMIT_IN_FLIGHT, minSplit: 8 },
      (w) => eventKey(w.e.partner, w.e.eventId),
      async (group) => {
        try {
          const ids = await insertOriginals(db, group.map((w) => w.e));
          group.forEach((w, i) => w.resolve(ids[i] ?? null));
        } catch (err) {
          if (isDatabaseBusy(err) || group.length === 1) {
            for (const w of group) w.reject(err);
            return;
          }
          log.warn({ err: (err as Error).message, events: group.length }, "storing a group of webhooks failed; storing them one at a time");
          for (const w of group) await insertOriginals(db, [w.e]).then((ids) => w.resolve(ids[0] ?? null), w.reject);
        }
      },
    );
    receivers.set(db.pool, (r = { batcher, storing: new Map() }));
  }
  return r;
}

/**
 * Inserts events as originals in one statement, in the order given (received_at is the database's
 * clock at each row, so the order holds within a statement); returns each one's id, or null where
 * an original of its (partner, event id) already existed.
 */
async function insertOriginals(db: Pick<DbHandles, "pool">, es: readonly IncomingEvent[]): Promise<(string | null)[]> {
  const col = <T>(f: (e: IncomingEvent) => T) => es.map(f);
  const res = await preparedQuery<{ id: string; partner: string; event_id: string }>(
    db.pool,
    `INSERT INTO webhook_events (id, partner, event_id, dedupe_event_id, is_duplicate, event_type, idempotency_key, partner_ref, occurred_at,
       raw_body, headers, signature_result, signed_at, received_at)
     SELECT gen_random_uuid(), v.partner, v.event_id, v.event_id, false, v.event_type, v.idempotency_key, v.partner_ref, v.occurred_at,
            v.raw_body, v.headers, 'valid', v.signed_at, clock_timestamp()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::jsonb[], $9::timestamptz[])
            WITH ORDINALITY AS v(partner, event_id, event_type, idempotency_key, partner_ref, occurred_at, raw_body, headers, signed_at, n)
      ORDER BY v.n
     ON CONFLICT (partner, dedupe_event_id) DO NOTHING
     RETURNING id::text AS id, partner, event_id`,
    [col((e) => e.partner), col((e) => e.eventId), col((e) => e.type), col((e) => e.idempotencyKey), col((e) => e.partnerRef), col((e) => e.occurredAt),
      col((e) => e.rawBody), col((e) => e.headers), col((e) => e.signedAt)],
  );
  const byKey = new Map(res.rows.map((r) => [eventKey(r.partner, r.event_id), r.id]));
  return es.map((e) => byKey.get(eventKey(e.partner, e.eventId)) ?? null);
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
  // received_at is the database's clock at insert (microseconds), so the order of inserts is kept
  // even within one millisecond (and a group's order within its statement); `now` is the clock the
  // signature was checked against.
  const incoming: IncomingEvent = {
    partner, eventId: event.eventId, type: event.type, idempotencyKey: event.idempotencyKey, partnerRef: event.partnerRef, occurredAt: event.occurredAt,
    rawBody, headers: JSON.stringify(evidenceHeaders(headers)), signedAt,
  };
  const params = [partner, event.eventId, event.type, event.idempotencyKey, event.partnerRef, event.occurredAt, rawBody, incoming.headers, signedAt];
  const originalId = await storeOriginal(db, incoming);
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

