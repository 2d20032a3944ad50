/**
 * The ledger effect of a priced transfer, computed here so that the transfers domain calls one
 * function and books what it returns (see docs/architecture.md "Pricing", "Booking").
 *
 * For a transfer of amount A from a source account in currency S, with fee F (in S) and, across
 * currencies, C received in target currency T at the customer rate, M = C + G at the mid rate
 * (G the spread earned, in T), the settlement is ONE journal entry:
 *
 *   S: debit  source account          A + F
 *      credit partner settlement (S)  A          (same currency)   | credit FX position S   A   (converted)
 *      credit fee revenue (S)         F          (when F > 0)
 *   T: debit  FX position T           M          (converted only)
 *      credit partner settlement (T)  C
 *      credit FX revenue (T)          G          (when G > 0)
 *
 * Invariants kept (tested by test/unit/pricing-booking.test.ts, a fast-check property):
 * - Each currency balances on its own: debits equal credits in S and in T.
 * - Revenue credited equals the fee plus the spread, to the minor unit; no posting is zero.
 * - What the source account pays (A + F) is exactly what the hold reserves.
 */
import type { Side } from "../ledger/types";

/** The customer a transfer is priced for: its source account's metadata.customerId, else the account's code. */
export function customerIdOf(accountCode: string, metadata: Record<string, unknown> | null | undefined): string {
  const id = metadata?.customerId;
  return typeof id === "string" && id.length > 0 && id.length <= 128 ? id : accountCode;
}

/** Ledger accounts a priced transfer books to, by role (codes; the caller resolves ids). */
export function feeRevenueAccountCode(currency: string): string {
  return `ops:fees:${currency}`;
}
export function fxPositionAccountCode(currency: string): string {
  return `ops:fx-position:${currency}`;
}
export function fxRevenueAccountCode(currency: string): string {
  return `ops:fx-revenue:${currency}`;
}

export interface BookingInput {
  sourceAccount: string;
  currency: string;
  amountMinor: bigint;
  feeMinor: bigint;
  /** Where the partner is paid in the currency it is paid in (the target currency when converted). */
  partnerAccount: string;
  conversion: { toCurrency: string; convertedMinor: bigint; spreadMinor: bigint } | null;
}

export interface BookingPosting {
  account: string;
  role: "source" | "partner" | "fee_revenue" | "fx_position" | "fx_revenue";
  side: Side;
  amountMinor: bigint;
  currency: string;
}

/** The amount the hold reserves: amount plus fee, in the source currency. */
export function holdAmountMinor(input: Pick<BookingInput, "amountMinor" | "feeMinor">): bigint {
  return input.amountMinor + input.feeMinor;
}

/** The settlement entry's postings (see the module comment). Pure; zero legs are left out. */
export function settlementPostings(input: BookingInput): BookingPosting[] {
  const s = input.currency;
  const out: BookingPosting[] = [{ account: input.sourceAccount, role: "source", side: "debit", amountMinor: input.amountMinor + input.feeMinor, currency: s }];
  if (input.conversion === null) {
    out.push({ account: input.partnerAccount, role: "partner", side: "credit", amountMinor: input.amountMinor, currency: s });
  } else {
    out.push({ account: fxPositionAccountCode(s), role: "fx_position", side: "credit", amountMinor: input.amountMinor, currency: s });
  }
  if (input.feeMinor > 0n) out.push({ account: feeRevenueAccountCode(s), role: "fee_revenue", side: "credit", amountMinor: input.feeMinor, currency: s });
  if (input.conversion !== null) {
    const t = input.conversion.toCurrency;
    const mid = input.conversion.convertedMinor + input.conversion.spreadMinor;
    if (mid > 0n) out.push({ account: fxPositionAccountCode(t), role: "fx_position", side: "debit", amountMinor: mid, currency: t });
    if (input.conversion.convertedMinor > 0n) out.push({ account: input.partnerAccount, role: "partner", side: "credit", amountMinor: input.conversion.convertedMinor, currency: t });
    if (input.conversion.spreadMinor > 0n) out.push({ account: fxRevenueAccountCode(t), role: "fx_revenue", side: "credit", amountMinor: input.conversion.spreadMinor, currency: t });
  }
  return out;
}
