/**
 * Transfer vocabulary shared by the transfers domain, its API and the console.
 * Amounts are bigint minor units; ids are UUID strings.
 */
import type { TransferState } from "./state-machine";

export type { TransferState };
export type RailId = "instant" | "batch";
export const RAILS: readonly RailId[] = ["instant", "batch"];

export interface Transfer {
  id: string;
  idempotencyKey: string;
  sourceAccountId: string;
  counterpartyName: string;
  counterpartyAccount: string;
  amountMinor: bigint;
  currency: string;
  rail: RailId;
  partner: string;
  reference: string;
  metadata: Record<string, unknown>;
  state: TransferState;
  stateChangedAt: Date;
  createdAt: Date;
  createdBy: string;
  holdId: string | null;
  settlementEntryId: string | null;
  returnEntryId: string | null;
  partnerRef: string | null;
  attempts: number;
  nextAttemptAt: Date | null;
  leaseUntil: Date | null;
  lastError: string | null;
  attentionReason: string | null;
  version: number;
  /** Charged on top of amountMinor, in currency; the hold reserves both. */
  feeMinor: bigint;
  feeScheduleVersionId: string | null;
  feeRuleId: string | null;
  quoteId: string | null;
  /** Across currencies: what the counterparty receives (the partner is paid this) and the spread earned. */
  conversion: { currency: string; convertedMinor: bigint; spreadMinor: bigint } | null;
  /** W3C traceparent of the creating API call; its trace id is the transfer's correlation id. */
  traceParent: string | null;
}

export interface TransferEventRow {
  id: string;
  fromState: TransferState | null;
  toState: TransferState;
  cause: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string;
  partnerMessageId: string | null;
  detail: unknown;
  createdAt: Date;
}

/** The columns every query selects, in the order rowToTransfer reads them. */
export const TRANSFER_COLUMNS = `t.id, t.idempotency_key, t.source_account_id, t.counterparty_name, t.counterparty_account,
  t.amount_minor::text AS amount_minor, t.currency, t.rail, t.partner, t.reference, t.metadata, t.state, t.state_changed_at,
  t.created_at, t.created_by, t.hold_id, t.settlement_entry_id, t.return_entry_id, t.partner_ref, t.attempts,
  t.next_attempt_at, t.lease_until, t.last_error, t.attention_reason, t.version, t.fee_minor::text AS fee_minor,
  t.fee_schedule_version_id, t.fee_rule_id, t.quote_id, t.converted_currency, t.converted_minor::text AS converted_minor, t.spread_minor::text AS spread_minor, t.trace_parent`;

export interface TransferRowRaw {
  id: string;
  idempotency_key: string;
  source_account_id: string;
  counterparty_name: string;
  counterparty_account: string;
  amount_minor: string;
  currency: string;
  rail: string;
  partner: string;
  reference: string;
  metadata: Record<string, unknown>;
  state: TransferState;
  state_changed_at: Date;
  created_at: Date;
  created_by: string;
  hold_id: string | null;
  settlement_entry_id: string | null;
  return_entry_id: string | null;
  partner_ref: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  lease_until: Date | null;
  last_error: string | null;
  attention_reason: string | null;
  version: number;
  fee_minor: string;
  fee_schedule_version_id: string | null;
  fee_rule_id: string | null;
  quote_id: string | null;
  converted_currency: string | null;
  converted_minor: string | null;
  spread_minor: string | null;
  trace_parent: string | null;
}

export function rowToTransfer(r: TransferRowRaw): Transfer {
  return {
    id: r.id,
    idempotencyKey: r.idempotency_key,
    sourceAccountId: r.source_account_id,
    counterpartyName: r.counterparty_name,
    counterpartyAccount: r.counterparty_account,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency.trim(),
    rail: r.rail as RailId,
    partner: r.partner,
    reference: r.reference,
    metadata: r.metadata ?? {},
    state: r.state,
    stateChangedAt: r.state_changed_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
    holdId: r.hold_id,
    settlementEntryId: r.settlement_entry_id,
    returnEntryId: r.return_entry_id,
    partnerRef: r.partner_ref,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    leaseUntil: r.lease_until,
    lastError: r.last_error,
    attentionReason: r.attention_reason,
    version: r.version,
    feeMinor: BigInt(r.fee_minor),
    feeScheduleVersionId: r.fee_schedule_version_id,
    feeRuleId: r.fee_rule_id,
    quoteId: r.quote_id,
    conversion: r.converted_currency === null ? null : { currency: r.converted_currency.trim(), convertedMinor: BigInt(r.converted_minor!), spreadMinor: BigInt(r.spread_minor!) },
    traceParent: r.trace_parent ?? null,
  };
}

/** What the partner pays out, and in which currency: the converted amount across currencies. */
export function payoutOf(t: Pick<Transfer, "amountMinor" | "currency" | "conversion">): { amountMinor: bigint; currency: string } {
  return t.conversion ? { amountMinor: t.conversion.convertedMinor, currency: t.conversion.currency } : { amountMinor: t.amountMinor, currency: t.currency };
}

/** The fields of a transfer its outbox / webhook view shows. */
export type TransferPayloadFields = Pick<
  Transfer,
  "id" | "idempotencyKey" | "state" | "amountMinor" | "currency" | "rail" | "partner" | "reference" | "sourceAccountId" | "partnerRef" | "stateChangedAt" | "feeMinor" | "conversion"
>;

/** The outbox / webhook view of a transfer: wire-safe (amount as a string). */
export function transferPayload(t: TransferPayloadFields): Record<string, unknown> {
  return {
    id: t.id,
    idempotencyKey: t.idempotencyKey,
    state: t.state,
    amountMinor: t.amountMinor.toString(),
    currency: t.currency,
    rail: t.rail,
    partner: t.partner,
    reference: t.reference,
    sourceAccountId: t.sourceAccountId,
    partnerRef: t.partnerRef,
    stateChangedAt: t.stateChangedAt.toISOString(),
    feeMinor: t.feeMinor.toString(),
    ...(t.conversion ? { convertedMinor: t.conversion.convertedMinor.toString(), convertedCurrency: t.conversion.currency } : {}),
  };
}
