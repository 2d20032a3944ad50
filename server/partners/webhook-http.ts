/**
 * The HTTP face of webhooks in (/api/webhooks/<partner>), as a factory so tests can call it with
 * plain Requests and a test database. Web-standard Request/Response only; no framework.
 *
 * Invariants kept:
 * - The body is read raw, as bytes decoded to text without normalising anything (a BOM is kept),
 *   before any parsing: the signature covers exactly what was sent.
 * - At most MAX_WEBHOOK_BODY_BYTES are read: a larger declared or actual body is refused with 413
 *   without reading the rest.
 */
import type { DbHandles } from "../db/client";
import { clientIpOf, recordSecurityEvent } from "../auth/security-events";
import { isConnectionError } from "../errors/db-errors";
import { BodyTooLargeError, readBoundedRequestBody } from "../core/http-body";
import { MAX_WEBHOOK_BODY_BYTES, receiveWebhook, type ReceiveOptions } from "./webhooks";
import { isKnownPartner, type PartnerRegistry } from "./registry";
import { incomingContext, runInContext, SpanKind, TRACEPARENT_HEADER, withSpan } from "../observability/tracing";

export interface WebhookHandlerOptions {
  getDb: () => DbHandles;
  /** The partner adapters (server/composition.ts). */
  partners: Pick<PartnerRegistry, "adapterFor">;
  notifyWebhookReceived?: ReceiveOptions["notifyWebhookReceived"];
  now?: () => Date;
}

/** Reads the body as text, refusing more than `maxBytes` (BodyTooLargeError) without buffering the excess. */
export async function readRawBody(req: Request, maxBytes: number): Promise<string> {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(await readBoundedRequestBody(req, maxBytes));
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

export function createWebhookHandler(opts: WebhookHandlerOptions): (req: Request, partner: string) => Promise<Response> {
  const handle = receive(opts);
  // A span per delivery, continuing the partner's trace when it sends one.
  return (req, partner) =>
    runInContext(incomingContext(req.headers.get(TRACEPARENT_HEADER)), () =>
      withSpan("webhook.receive", { kind: SpanKind.SERVER, attributes: { "partner.id": partner.slice(0, 64), "http.request.method": req.method } }, async (span) => {
        const res = await handle(req, partner);
        span.setAttribute("http.response.status_code", res.status);
        return res;
      }),
    );
}

function receive(opts: WebhookHandlerOptions): (req: Request, partner: string) => Promise<Response> {
  return async (req, partner) => {
    const ip = clientIpOf(req.headers);
    let rawBody: string;
    try {
      rawBody = await readRawBody(req, MAX_WEBHOOK_BODY_BYTES);
    } catch (e) {
      if (!(e instanceof BodyTooLargeError)) throw e;
      if (isKnownPartner(partner)) {
        await recordSecurityEvent(opts.getDb().prisma, "webhook_rejected", { partner, reason: "body_too_large", eventId: req.headers.get("x-event-id")?.slice(0, 128) ?? null }, ip);
      }
      return json(413, { error: { code: "webhook_body_too_large", message: `webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes` } });
    }
    try {
      const receipt = await receiveWebhook(opts.getDb(), opts.partners, partner, req.headers, rawBody, opts.now?.() ?? new Date(), {
        ip,
        ...(opts.notifyWebhookReceived ? { notifyWebhookReceived: opts.notifyWebhookReceived } : {}),
      });
      return json(receipt.status, receipt.body);
    } catch (e) {
      // Not stored: the partner must retry, and will.
      if (isConnectionError(e)) return json(503, { error: { code: "unavailable", message: "the database is unavailable; retry later" } });
      throw e;
    }
  };
}
