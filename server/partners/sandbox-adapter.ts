/**
 * The adapter for the sandbox partner: its API spoken over HTTP (server/core/http-client.ts, or
 * an injected fetch in tests), exactly as a real bank integration would speak its bank's API. It
 * knows nothing of the sandbox's code or tables.
 *
 * Invariants kept:
 * - Every call has a time limit (per rail for submits) combined with the caller's AbortSignal.
 * - Outcome mapping never claims more than is known:
 *     201/200 accepted                      -> accepted (submitted | acknowledged)
 *     409 idempotency-key conflict          -> rejected (reason names the conflict)
 *     other 4xx (408 and 429 excepted)      -> rejected
 *     408, 429, 500, 502, 503, other 5xx    -> retryable (the bank says it did not execute)
 *     504, 2xx we cannot read, other codes  -> unknown (it may have executed)
 *     connection refused / DNS failure      -> retryable (the request never left)
 *     timeout, abort, connection lost       -> unknown
 * - Webhooks: signature first (over the raw body), then the x-event-id header, then the JSON body
 *   (zod); the header's event id must equal the body's.
 * - Amounts cross the wire as integer strings and become bigint; never a JS number.
 */
import { z } from "zod";
import { AppError } from "../errors/app-error";
import { parseSettlementCsv, SettlementFileError, MAX_SETTLEMENT_FILE_BYTES } from "./settlement-file";
import { SIGNATURE_HEADER, verifySignature } from "../core/signature";
import { traceHeaders } from "../observability/tracing";
import { readBoundedBody } from "../core/http-body";
import { sendHttpRequest } from "../core/http-client";
import {
  RAIL_IDS,
  WebhookRejected,
  type PartnerAdapter,
  type PartnerEvent,
  type PartnerPayment,
  type PartnerStatus,
  type RailId,
  type SettlementFile,
  type StatusOutcome,
  type SubmitOutcome,
} from "./types";

export const EVENT_ID_HEADER = "x-event-id";
export const MAX_EVENT_ID_LENGTH = 128;
/** Most bytes read from any sandbox JSON response. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
const EVENT_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface SandboxAdapterConfig {
  /** e.g. http://127.0.0.1:4010, no trailing slash */
  baseUrl: string;
  /** Accepted webhook secrets (several during a rotation). */
  webhookSecrets: readonly string[];
  toleranceSeconds: number;
  /** Submit time limit per rail; queries and file downloads use the larger of the two. */
  timeoutMs: Record<RailId, number>;
  /**
   * Injected in tests. Without it the adapter uses server/core/http-client.ts (undici's request),
   * not the global fetch, which costs about three times the CPU per call.
   */
  fetch?: typeof fetch;
}

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), "must be an ISO date-time");
const minorString = z.string().regex(/^(0|[1-9]\d{0,18})$/, "must be an integer string");

const paymentSchema = z.object({
  id: z.string().min(1).max(128),
  idempotency_key: z.string().min(1).max(255),
  status: z.enum(["submitted", "acknowledged", "settled", "failed", "returned"]),
  amount_minor: minorString,
  currency: z.string().length(3),
  failure_reason: z.string().max(500).nullable().optional(),
});

const errorSchema = z.object({ error: z.object({ code: z.string().max(100), message: z.string().max(1000) }) });

const webhookSchema = z.object({
  id: z.string().regex(EVENT_ID_RE, "must be 1-128 characters of A-Z a-z 0-9 _ . : -"),
  type: z.enum(["payment.acknowledged", "payment.settled", "payment.failed", "payment.returned"]),
  created_at: isoDate,
  data: z.object({
    payment_id: z.string().min(1).max(128),
    idempotency_key: z.string().min(1).max(255),
    occurred_at: isoDate,
    reason: z.string().max(500).nullable().optional(),
  }),
});

/** Parses a sandbox webhook body (already authenticated) into a PartnerEvent. Throws WebhookRejected. */
export function parseSandboxEvent(rawBody: string): PartnerEvent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new WebhookRejected("invalid_payload", "the body is not JSON");
  }
  const parsed = webhookSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WebhookRejected("invalid_payload", `the body does not match the sandbox event format: ${issue.path.join(".") || "body"} ${issue.message}`);
  }
  const b = parsed.data;
  return {
    eventId: b.id,
    partner: "sandbox",
    type: b.type.slice("payment.".length) as PartnerEvent["type"],
    idempotencyKey: b.data.idempotency_key,
    partnerRef: b.data.payment_id,
    occurredAt: new Date(b.data.occurred_at),
    ...(b.data.reason ? { reason: b.data.reason } : {}),
    raw: json,
  };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2000);
  }
}

function errorCodeOf(raw: unknown): string | null {
  const e = errorSchema.safeParse(raw);
  return e.success ? `${e.data.error.code}: ${e.data.error.message}` : null;
}

/**
 * Network failures where the request certainly never reached the partner: refused, unreachable or
 * unresolvable while connecting (the system call that failed was the connect or the name lookup),
 * or no connection within undici's connect time limit. The same codes from a socket already in use
 * (a keep-alive connection, after the request was written) prove nothing and are "unknown".
 */
const NEVER_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const CONNECT_PHASE_SYSCALLS = new Set(["connect", "getaddrinfo"]);

/** The first network error code in an error's cause chain (fetch wraps it; undici's request does not), with its failed system call. */
function networkCauseOf(e: unknown): { code: string; syscall: string | null } | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const { code, syscall } = cur as { code?: unknown; syscall?: unknown };
    if (typeof code === "string") return { code, syscall: typeof syscall === "string" ? syscall : null };
  }
  return null;
}

function isNeverSent(cause: { code: string; syscall: string | null }): boolean {
  if (cause.code === "UND_ERR_CONNECT_TIMEOUT") return true;
  return NEVER_SENT_CODES.has(cause.code) && cause.syscall !== null && CONNECT_PHASE_SYSCALLS.has(cause.syscall);
}

type FetchFailure = { kind: "never_sent" | "unknown"; reason: string };

/**
 * What a failed request means. `isTimedOut`: our time limit has passed (then nothing else the
 * error says matters: the request may have arrived). Both HTTP paths report a time limit as a
 * "TimeoutError" and a caller's abort as an "AbortError" (or the caller's TimeoutError); network
 * codes sit on the error (undici's request) or on its cause (fetch's TypeError).
 */
function classifyRequestError(e: unknown, timeoutMs: number, isTimedOut: boolean): FetchFailure {
  const name = (e as { name?: string } | null)?.name;
  if (isTimedOut || name === "TimeoutError") return { kind: "unknown", reason: `no answer within ${timeoutMs} ms` };
  if (name === "AbortError") return { kind: "unknown", reason: "aborted by the caller while the request was in flight" };
  const cause = networkCauseOf(e);
  if (cause && isNeverSent(cause)) return { kind: "never_sent", reason: `connection failed (${cause.code})` };
  return { kind: "unknown", reason: `connection lost (${cause?.code ?? (e as Error).message})` };
}

/** The caller gave up while the request was under way: whatever the error says, it may have arrived. */
const CALLER_ABORTED: FetchFailure = { kind: "unknown", reason: "aborted by the caller while the request was in flight" };

function toPartnerStatus(s: z.infer<typeof paymentSchema>["status"]): PartnerStatus {
  return s;
}

type CallResult = { ok: true; status: number; text: string } | { ok: false; failure: FetchFailure };

interface CallInit {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

/** The old path, kept for tests that inject a fetch: its own time limit combined with the caller's signal. */
async function callWithFetch(doFetch: typeof fetch, url: string, init: CallInit, timeoutMs: number, signal: AbortSignal, maxBytes: number): Promise<CallResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  try {
    const res = await doFetch(url, { ...init, signal: combined });
    const text = (await readBoundedBody(res.body, maxBytes, "response body")).toString("utf8");
    return { ok: true, status: res.status, text };
  } catch (e) {
    return { ok: false, failure: signal.aborted ? CALLER_ABORTED : classifyRequestError(e, timeoutMs, timeout.aborted) };
  }
}

export function createSandboxAdapter(cfg: SandboxAdapterConfig): PartnerAdapter {
  const readTimeoutMs = Math.max(cfg.timeoutMs.instant, cfg.timeoutMs.batch);

  /** One request with a time limit; the response body is read inside the same limit. */
  async function call(path: string, init: CallInit, timeoutMs: number, signal: AbortSignal, maxBytes = MAX_RESPONSE_BYTES): Promise<CallResult> {
    if (signal.aborted) return { ok: false, failure: { kind: "never_sent", reason: "aborted by the caller before sending" } };
    const url = `${cfg.baseUrl}${path}`;
    if (cfg.fetch) return callWithFetch(cfg.fetch, url, init, timeoutMs, signal, maxBytes);
    try {
      const res = await sendHttpRequest({ ...init, url, timeoutMs, signal, maxBodyBytes: maxBytes, what: "response body" });
      return { ok: true, status: res.status, text: res.text };
    } catch (e) {
      // sendHttpRequest turns its passed time limit into a TimeoutError, which the name check catches.
      return { ok: false, failure: signal.aborted ? CALLER_ABORTED : classifyRequestError(e, timeoutMs, false) };
    }
  }

  return {
    id: "sandbox",
    rails: RAIL_IDS,

    async submit(p: PartnerPayment, signal: AbortSignal): Promise<SubmitOutcome> {
      const body = JSON.stringify({
        transfer_id: p.transferId,
        rail: p.rail,
        amount_minor: p.amountMinor.toString(),
        currency: p.currency,
        counterparty: { name: p.counterpartyName, account: p.counterpartyAccount },
        reference: p.reference,
      });
      const r = await call(
        "/v1/payments",
        // The transfer's trace goes with the call (traceparent, x-correlation-id), so the bank's
        // logs, and ours, name the same transfer.
        { method: "POST", headers: { "content-type": "application/json", "idempotency-key": p.idempotencyKey, ...traceHeaders() }, body },
        cfg.timeoutMs[p.rail],
        signal,
      );
      if (!r.ok) {
        return r.failure.kind === "never_sent"
          ? { kind: "retryable", reason: r.failure.reason, raw: null, httpStatus: null }
          : { kind: "unknown", reason: r.failure.reason, raw: null };
      }
      const raw = tryJson(r.text);
      const s = r.status;
      if (s === 200 || s === 201) {
        const payment = paymentSchema.safeParse(raw);
        if (!payment.success) return { kind: "unknown", reason: `HTTP ${s} with a body that is not a payment`, raw };
        if (payment.data.idempotency_key !== p.idempotencyKey) return { kind: "unknown", reason: `HTTP ${s} for another idempotency key`, raw };
        return { kind: "accepted", partnerRef: payment.data.id, status: payment.data.status === "submitted" ? "submitted" : "acknowledged", raw, httpStatus: s };
      }
      const detail = errorCodeOf(raw) ?? `HTTP ${s}`;
      if (s === 409) return { kind: "rejected", reason: `idempotency key conflict: the partner holds a different payment under this key (${detail})`, raw, httpStatus: s };
      if (s === 408 || s === 429) return { kind: "retryable", reason: detail, raw, httpStatus: s };
      if (s >= 400 && s < 500) return { kind: "rejected", reason: detail, raw, httpStatus: s };
      if (s === 504) return { kind: "unknown", reason: `gateway timeout: the payment may have executed (${detail})`, raw };
      if (s >= 500) return { kind: "retryable", reason: detail, raw, httpStatus: s };
      return { kind: "unknown", reason: `unexpected HTTP ${s}`, raw };
    },

    async queryStatus(idempotencyKey: string, signal: AbortSignal): Promise<StatusOutcome> {
      const r = await call(`/v1/payments?idempotency_key=${encodeURIComponent(idempotencyKey)}`, { method: "GET", headers: traceHeaders() }, readTimeoutMs, signal);
      if (!r.ok) return { kind: "unavailable", reason: r.failure.reason, raw: null };
      const raw = tryJson(r.text);
      if (r.status === 404) return { kind: "ok", status: "not_found", partnerRef: null, raw };
      if (r.status !== 200) return { kind: "unavailable", reason: errorCodeOf(raw) ?? `HTTP ${r.status}`, raw };
      const payment = paymentSchema.safeParse(raw);
      if (!payment.success || payment.data.idempotency_key !== idempotencyKey) return { kind: "unavailable", reason: "HTTP 200 with a body that is not this payment", raw };
      return { kind: "ok", status: toPartnerStatus(payment.data.status), partnerRef: payment.data.id, raw };
    },

    verifyWebhook(headers: Headers, rawBody: string, now: Date): PartnerEvent {
      const check = verifySignature(headers.get(SIGNATURE_HEADER), rawBody, cfg.webhookSecrets, now, cfg.toleranceSeconds);
      if (!check.ok) throw new WebhookRejected(check.reason, `signature ${check.reason}`);
      const eventId = headers.get(EVENT_ID_HEADER);
      if (!eventId) throw new WebhookRejected("missing_event_id", `the ${EVENT_ID_HEADER} header is missing`);
      const event = parseSandboxEvent(rawBody);
      if (event.eventId !== eventId) throw new WebhookRejected("event_id_mismatch", `${EVENT_ID_HEADER} ${JSON.stringify(eventId.slice(0, MAX_EVENT_ID_LENGTH))} differs from the body's id ${JSON.stringify(event.eventId)}`);
      return event;
    },

    parseStoredEvent(rawBody: string): PartnerEvent {
      return parseSandboxEvent(rawBody);
    },

    async fetchSettlementFile(rail: RailId, date: string, signal: AbortSignal): Promise<SettlementFile> {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new AppError("BAD_INPUT", `date ${JSON.stringify(date)} must be YYYY-MM-DD`, { details: { field: "date" } });
      const r = await call(`/v1/settlement-files/${rail}/${date}`, { method: "GET" }, readTimeoutMs, signal, MAX_SETTLEMENT_FILE_BYTES);
      if (!r.ok) throw new AppError("PARTNER_UNAVAILABLE", `sandbox settlement file ${rail}/${date}: ${r.failure.reason}`, { isRetryable: true, details: { partner: "sandbox", rail, date } });
      if (r.status !== 200) {
        throw new AppError("PARTNER_UNAVAILABLE", `sandbox settlement file ${rail}/${date}: ${errorCodeOf(tryJson(r.text)) ?? `HTTP ${r.status}`}`, {
          isRetryable: r.status >= 500,
          details: { partner: "sandbox", rail, date, httpStatus: r.status },
        });
      }
      try {
        return parseSettlementCsv(r.text, { partner: "sandbox", rail, date });
      } catch (e) {
        if (e instanceof SettlementFileError) {
          throw new AppError("PARTNER_RESPONSE_INVALID", `sandbox settlement file ${rail}/${date}: ${e.message}`, { details: { partner: "sandbox", rail, date, line: e.lineNumber } });
        }
        throw e;
      }
    },
  };
}

