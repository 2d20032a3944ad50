/**
 * A transfer's price: set when it is created, booked when it settles, explained on request.
 *
 * Invariants kept:
 * - A transfer without a quote is priced by the fee schedule version in force on its rail when it
 *   is created, for its source account's customer (metadata.customerId, else the account code) and
 *   segment: customer override, else segment, else default rule (server/pricing/fees.ts). A rail
 *   without a schedule in force charges nothing; a schedule without a rule for the currency refuses
 *   the transfer (FEE_RULE_NOT_FOUND). The reads come from the per-process pricing cache
 *   (server/pricing/cache.ts), which gives the same version the database would.
 * - A cross-currency transfer executes on a quote, and a transfer given a quote is priced by it:
 *   its fee, version, converted amount and spread are the quote's (the database checks it at
 *   commit: trigger transfers_quote_check). The quote is marked used in the creating transaction.
 * - The hold reserves amount + fee in the source currency (holdAmountMinor). Settlement posts it
 *   as ONE entry with settlementPostings (server/pricing/transfer-pricing.ts): the fee to
 *   ops:fees:<S>, a conversion through ops:fx-position:<S> and ops:fx-position:<T> so each
 *   currency balances, the spread to ops:fx-revenue:<T>. An unpriced transfer (no fee, no
 *   conversion) posts its hold's own two legs, exactly as before pricing existed.
 * - A price never changes after creation (trigger transfers_pricing_guard), so the explanation
 *   recomputed from the stored version and rule is the one that priced the transfer.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import { AppError, isAppError } from "../errors/app-error";
import type { PostingInput } from "../ledger/types";
import { formatAmount } from "../money";
import { cachedPricingCustomer, cachedVersionInForce } from "../pricing/cache";
import { computeFee, selectFeeRule } from "../pricing/fees";
import { assertQuoteMatches, getQuote, type PriceExplanation, type Quote } from "../pricing/quotes";
import { getScheduleVersion, scheduleRefOf } from "../pricing/schedules";
import {
  feeRevenueAccountCode, fxPositionAccountCode, fxRevenueAccountCode, holdAmountMinor, settlementPostings, type BookingPosting,
} from "../pricing/transfer-pricing";
import { accountIdByCode, ensureAccount, ensurePartnerAccount, partnerAccountCode } from "./accounts";
import { rowToTransfer, TRANSFER_COLUMNS, type Transfer, type TransferRowRaw } from "./types";

export interface TransferPrice {
  feeMinor: bigint;
  feeScheduleVersionId: string | null;
  feeRuleId: string | null;
  quoteId: string | null;
  conversion: { currency: string; convertedMinor: bigint; spreadMinor: bigint } | null;
  /** For a quote: what claiming it checks again inside the creating transaction. */
  quoteUse: { amountMinor: bigint; currency: string; toCurrency: string; rail: string; customerId: string | null } | null;
}

export const UNPRICED: TransferPrice = { feeMinor: 0n, feeScheduleVersionId: null, feeRuleId: null, quoteId: null, conversion: null, quoteUse: null };

export interface PriceTransferInput {
  sourceAccountId: string;
  amountMinor: bigint;
  currency: string;
  /** The currency the counterparty receives (default currency); another one needs quoteId. */
  toCurrency: string;
  rail: string;
  partner: string;
  quoteId: string | null;
}

/**
 * Prices a transfer about to be created at `at`, and opens the accounts its booking needs. The
 * errors are returned, not thrown, so that creation can first answer what takes precedence over
 * them (a replay or conflict of the idempotency key, an unknown source account): NOT_FOUND and
 * CURRENCY_MISMATCH (source account), QUOTE_NOT_FOUND, QUOTE_MISMATCH, FEE_RULE_NOT_FOUND,
 * INVALID_AMOUNT (a quote that converts to nothing). Database failures are thrown.
 */
export async function priceTransfer(db: Pick<DbHandles, "pool">, input: PriceTransferInput, at: Date): Promise<{ price: TransferPrice } | { error: AppError }> {
  try {
    const price = await priceOrThrow(db, input, at);
    await openBookingAccounts(db, input, price);
    return { price };
  } catch (e) {
    if (isAppError(e) && PRICING_REFUSALS.has(e.code)) return { error: e };
    throw e;
  }
}

const PRICING_REFUSALS = new Set(["NOT_FOUND", "CURRENCY_MISMATCH", "QUOTE_NOT_FOUND", "QUOTE_MISMATCH", "FEE_RULE_NOT_FOUND", "INVALID_AMOUNT"]);

async function priceOrThrow(db: Pick<DbHandles, "pool">, input: PriceTransferInput, at: Date): Promise<TransferPrice> {
  const customer = await cachedPricingCustomer(db.pool, input.sourceAccountId);
  if (!customer) throw new AppError("NOT_FOUND", `source account ${input.sourceAccountId} does not exist`, { details: { accountId: input.sourceAccountId } });
  if (customer.currency !== input.currency) {
    throw new AppError("CURRENCY_MISMATCH", `transfer in ${input.currency} from account ${customer.accountCode} which holds ${customer.currency}`, {
      details: { accountId: input.sourceAccountId, accountCurrency: customer.currency, currency: input.currency },
    });
  }
  if (input.quoteId !== null) {
    const quote = await getQuote(pgRunner(db.pool), input.quoteId, at);
    const use = { amountMinor: input.amountMinor, currency: input.currency, toCurrency: input.toCurrency, rail: input.rail, customerId: customer.customerId };
    assertQuoteMatches(quote, use);
    return priceOfQuote(quote, use);
  }
  const version = await cachedVersionInForce(db.pool, input.rail, at);
  if (!version) return UNPRICED;
  const rule = selectFeeRule(version.compiled, { currency: input.currency, segment: customer.segment, customerId: customer.customerId }, `schedule ${version.scheduleCode} v${version.version}`);
  const fee = computeFee(rule, input.amountMinor, scheduleRefOf(version));
  return { ...UNPRICED, feeMinor: fee.feeMinor, feeScheduleVersionId: version.versionId, feeRuleId: rule.id };
}

function priceOfQuote(q: Quote, use: NonNullable<TransferPrice["quoteUse"]>): TransferPrice {
  const isConverted = q.toCurrency !== q.fromCurrency;
  if (isConverted && q.convertedMinor <= 0n) {
    throw new AppError("INVALID_AMOUNT", `quote ${q.id} converts ${formatAmount(q.amountMinor, q.fromCurrency)} ${q.fromCurrency} to nothing in ${q.toCurrency}; send a larger amount`, {
      details: { quoteId: q.id },
    });
  }
  return {
    feeMinor: q.feeMinor,
    feeScheduleVersionId: q.scheduleVersionId,
    feeRuleId: null,
    quoteId: q.id,
    conversion: isConverted ? { currency: q.toCurrency, convertedMinor: q.convertedMinor, spreadMinor: q.spreadMinor } : null,
    quoteUse: use,
  };
}

/** Opens what settlement will post to: the partner's account in the paid currency, fee and FX accounts. */
async function openBookingAccounts(db: Pick<DbHandles, "pool">, input: PriceTransferInput, price: TransferPrice): Promise<void> {
  const s = input.currency;
  const opening: Promise<void>[] = [];
  if (price.feeMinor > 0n) opening.push(ensureAccount(db, { code: feeRevenueAccountCode(s), name: `Fee revenue ${s}`, currency: s, type: "revenue" }));
  if (price.conversion) {
    const t = price.conversion.currency;
    opening.push(
      ensureAccount(db, { code: fxPositionAccountCode(s), name: `FX position ${s}`, currency: s, type: "asset" }),
      ensureAccount(db, { code: fxPositionAccountCode(t), name: `FX position ${t}`, currency: t, type: "asset" }),
      ensureAccount(db, { code: fxRevenueAccountCode(t), name: `FX revenue ${t}`, currency: t, type: "revenue" }),
      ensurePartnerAccount(db, input.partner, t),
    );
  }
  await Promise.all(opening);
}

// --- Booking ----------------------------------------------------------------------------------

/** What the transfer's hold reserves: amount + fee, in the source currency. */
export function holdAmountOf(t: Pick<Transfer, "amountMinor" | "feeMinor">): bigint {
  return holdAmountMinor(t);
}

/** The account the hold credits: the partner's in the source currency, or the source FX position when converted. */
export function holdCreditAccountCode(t: Pick<Transfer, "partner" | "currency" | "conversion">): string {
  return t.conversion ? fxPositionAccountCode(t.currency) : partnerAccountCode(t.partner, t.currency);
}

export function isPriced(t: Pick<Transfer, "feeMinor" | "conversion">): boolean {
  return t.feeMinor > 0n || t.conversion !== null;
}

/** The settlement entry by account code and role (pure): what the ledger posts, and the console shows. */
export function bookingOf(t: Pick<Transfer, "sourceAccountId" | "partner" | "amountMinor" | "currency" | "feeMinor" | "conversion">, sourceAccount: string): BookingPosting[] {
  const paid = t.conversion?.currency ?? t.currency;
  return settlementPostings({
    sourceAccount,
    currency: t.currency,
    amountMinor: t.amountMinor,
    feeMinor: t.feeMinor,
    partnerAccount: partnerAccountCode(t.partner, paid),
    conversion: t.conversion ? { toCurrency: t.conversion.currency, convertedMinor: t.conversion.convertedMinor, spreadMinor: t.conversion.spreadMinor } : null,
  });
}

/**
 * The postings that settle a priced transfer's hold (null for an unpriced one: the hold's own two
 * legs). Account ids come from the process-wide code cache (accounts.ts); a miss is read through
 * the transaction's client. NOT_FOUND if an account is missing (creation opened them).
 */
export async function settlementLedgerPostings(client: pg.PoolClient, t: Transfer): Promise<PostingInput[] | null> {
  if (!isPriced(t)) return null;
  const SOURCE = "\u0000source";
  // One at a time: a cache miss queries the transaction's client, which runs one query at a time
  // (pg queues concurrent ones today, deprecated: pg 9 will refuse them).
  const out: PostingInput[] = [];
  for (const p of bookingOf(t, SOURCE)) {
    out.push({ accountId: p.account === SOURCE ? t.sourceAccountId : await accountIdByCode(client, p.account), side: p.side, amountMinor: p.amountMinor, currency: p.currency });
  }
  return out;
}

// --- Explanation ------------------------------------------------------------------------------

export interface TransferPriceExplanation {
  transferId: string;
  amountMinor: bigint;
  currency: string;
  feeMinor: bigint;
  /** What the hold reserves and the source account pays: amount + fee. */
  totalDebitMinor: bigint;
  conversion: Transfer["conversion"];
  schedule: { versionId: string; scheduleCode: string; version: number; rail: string } | null;
  quoteId: string | null;
  explanation: PriceExplanation;
  /** The settlement entry, by account code (the source by its code). */
  booking: BookingPosting[];
}

/** Why a transfer costs what it costs, line by line. NOT_FOUND when it does not exist. */
export async function explainTransferPrice(sql: SqlRunner, transferId: string): Promise<TransferPriceExplanation> {
  const rows = await sql.query<TransferRowRaw & { source_code: string }>(
    `SELECT ${TRANSFER_COLUMNS}, a.code AS source_code FROM transfers t JOIN ledger_accounts a ON a.id = t.source_account_id WHERE t.id = $1`,
    [transferId],
  );
  if (!rows[0]) throw new AppError("NOT_FOUND", `transfer ${transferId} does not exist`, { details: { transferId } });
  const t = rowToTransfer(rows[0]);
  const base = {
    transferId: t.id, amountMinor: t.amountMinor, currency: t.currency, feeMinor: t.feeMinor, totalDebitMinor: holdAmountOf(t),
    conversion: t.conversion, quoteId: t.quoteId, booking: bookingOf(t, rows[0].source_code),
  };
  const version = t.feeScheduleVersionId ? await getScheduleVersion(sql, t.feeScheduleVersionId) : null;
  const schedule = version ? { versionId: version.versionId, scheduleCode: version.scheduleCode, version: version.version, rail: version.rail } : null;
  if (t.quoteId) {
    const q = await getQuote(sql, t.quoteId);
    return { ...base, schedule, explanation: q.explanation };
  }
  if (!version) {
    const line = `no fee: rail ${t.rail} had no fee schedule in force when the transfer was created (${t.createdAt.toISOString()})`;
    return { ...base, schedule, explanation: { summary: line, fee: { summary: line, lines: [{ label: "fee", text: line }] }, conversion: null, links: [] } };
  }
  const rule = version.compiled.rules.find((r) => r.id === t.feeRuleId);
  if (!rule) throw new AppError("INTERNAL", `transfer ${t.id} names rule ${t.feeRuleId} which schedule ${version.scheduleCode} v${version.version} does not have`);
  const fee = computeFee(rule, t.amountMinor, scheduleRefOf(version));
  // Versions never change, so this recomputes the stored fee; a difference would be a defect.
  if (fee.feeMinor !== t.feeMinor) {
    throw new AppError("INTERNAL", `transfer ${t.id} was charged ${t.feeMinor} but rule ${rule.id} of ${version.scheduleCode} v${version.version} gives ${fee.feeMinor}`);
  }
  const e = fee.explanation;
  return {
    ...base, schedule,
    explanation: {
      summary: e.summary,
      fee: { summary: e.summary, lines: e.lines },
      conversion: null,
      links: [{ type: "fee_schedule_version", id: version.versionId, label: `${version.scheduleCode} v${version.version}` }],
    },
  };
}
