/**
 * The partner adapter interface: what every bank integration implements (the sandbox is one).
 * Transfers orchestration talks to partners only through this interface.
 *
 * Invariants kept by every adapter:
 * - Every submit carries the transfer's idempotency key; the partner executes a key at most once.
 * - A submit outcome says what we know: "accepted" (executing), "rejected" (will never execute),
 *   "retryable" (certainly not executed: safe to send again), "unknown" (may or may not have
 *   executed: resolve by queryStatus, never by assuming either way).
 * - Amounts are bigint minor units end to end, including settlement files.
 * - verifyWebhook checks the signature over the raw body before parsing anything.
 */

export const RAIL_IDS = ["instant", "batch"] as const;
export type RailId = (typeof RAIL_IDS)[number];

export function isRailId(v: string): v is RailId {
  return (RAIL_IDS as readonly string[]).includes(v);
}

/** What we ask the partner to execute. */
export interface PartnerPayment {
  transferId: string;
  idempotencyKey: string;
  rail: RailId;
  amountMinor: bigint;
  currency: string;
  counterpartyName: string;
  counterpartyAccount: string;
  reference: string;
}

export type SubmitOutcome =
  | { kind: "accepted"; partnerRef: string; status: "submitted" | "acknowledged"; raw: unknown; httpStatus: number }
  /** Permanent: will never execute. */
  | { kind: "rejected"; reason: string; raw: unknown; httpStatus: number }
  /** 5xx, outage, connection refused: certainly not executed. */
  | { kind: "retryable"; reason: string; raw: unknown; httpStatus: number | null }
  /** Timeout, connection lost after sending: may or may not have executed. */
  | { kind: "unknown"; reason: string; raw: unknown };

export const PARTNER_STATUSES = ["not_found", "submitted", "acknowledged", "settled", "failed", "returned"] as const;
export type PartnerStatus = (typeof PARTNER_STATUSES)[number];

export type StatusOutcome =
  | { kind: "ok"; status: PartnerStatus; partnerRef: string | null; raw: unknown }
  | { kind: "unavailable"; reason: string; raw: unknown };

export const PARTNER_EVENT_TYPES = ["acknowledged", "settled", "failed", "returned"] as const;
export type PartnerEventType = (typeof PARTNER_EVENT_TYPES)[number];

/** A verified, parsed webhook. */
export interface PartnerEvent {
  eventId: string;
  partner: string;
  type: PartnerEventType;
  idempotencyKey: string;
  partnerRef: string;
  occurredAt: Date;
  reason?: string;
  raw: unknown;
}

/** One line of a settlement file: money that moved (settled) or came back (returned) on a value date. */
export interface SettlementLine {
  /** 1-based line number in the file, header excluded. */
  lineNumber: number;
  partnerRef: string;
  /** Our idempotency key for the payment; empty when the partner cannot attribute the line. */
  idempotencyKey: string;
  reference: string;
  amountMinor: bigint;
  currency: string;
  status: "settled" | "returned";
  /** YYYY-MM-DD */
  valueDate: string;
}

export interface SettlementFile {
  partner: string;
  rail: RailId;
  /** YYYY-MM-DD */
  date: string;
  lines: SettlementLine[];
  /** The file exactly as received, for evidence and re-parsing. */
  raw: string;
  /** SHA-256 (hex) of `raw`: the file's identity for idempotent imports. */
  sha256: string;
}

export type WebhookRejectionReason =
  | "missing"
  | "malformed"
  | "stale"
  | "mismatch"
  | "missing_event_id"
  | "event_id_mismatch"
  | "invalid_payload"
  | "body_too_large";

/** Thrown by verifyWebhook: the request proved nothing and must change nothing. */
export class WebhookRejected extends Error {
  constructor(
    readonly reason: WebhookRejectionReason,
    message: string,
  ) {
    super(message);
    this.name = "WebhookRejected";
  }

  /** Signature problems are 401; a signed but unusable body is 400; an oversized body 413. */
  get httpStatus(): 400 | 401 | 413 {
    if (this.reason === "body_too_large") return 413;
    return this.reason === "invalid_payload" || this.reason === "event_id_mismatch" || this.reason === "missing_event_id" ? 400 : 401;
  }
}

export interface PartnerAdapter {
  /** "sandbox" */
  readonly id: string;
  readonly rails: readonly RailId[];
  submit(p: PartnerPayment, signal: AbortSignal): Promise<SubmitOutcome>;
  queryStatus(idempotencyKey: string, signal: AbortSignal): Promise<StatusOutcome>;
  /** Throws WebhookRejected. */
  verifyWebhook(headers: Headers, rawBody: string, now: Date): PartnerEvent;
  /**
   * Parses a stored webhook body again without checking its signature (it was checked when it
   * arrived). Used to re-apply a stored event. Throws WebhookRejected("invalid_payload").
   */
  parseStoredEvent(rawBody: string): PartnerEvent;
  fetchSettlementFile(rail: RailId, date: string, signal: AbortSignal): Promise<SettlementFile>;
}
