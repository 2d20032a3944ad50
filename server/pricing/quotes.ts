/**
 * Prices and quotes: what a transfer of an amount on a rail, for a customer, costs (the fee from
 * the schedule version in force) and, across currencies, what it converts to (the mid rate from the
 * reference rates less the configured spread). A quote locks that price under an id until it
 * expires; a transfer executes on it once.
 *
 * Invariants kept:
 * - One pricing function (priceRequest) serves quotes, transfers and simulations; its inputs are
 *   read from the database and its arithmetic is the pure domain (fees.ts, reference-rates.ts).
 * - The fee is charged in the source currency on the source amount. A rail without a schedule
 *   charges nothing and says so; a rail with a schedule but no rule for the currency is refused
 *   (FEE_RULE_NOT_FOUND): a missing rule is never read as "free".
 * - A quote row is immutable except for its use, which happens once, before expiry, by one
 *   transfer (redeemQuoteInTransaction under the row lock, and the database trigger fx_quotes_guard).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import type { AuditActor } from "../audit/audit-log";
import { env } from "../env";
import { AppError } from "../errors/app-error";
import { currencyExponent, formatAmount } from "../money";
import { assertPositiveMinor } from "../money/amount";
import { hashRequest } from "../ledger/codec";
import { assertIdempotencyKey } from "../ledger/validate";
import { MicroBatcher } from "../db/micro-batcher";
import { toAppError } from "../errors/db-errors";
import { ZERO, formatExact, parseExactDecimal, type RoundingMode } from "./exact";
import { computeFee, selectFeeRule, type ExplanationLine, type FeeResult, type ScheduleRef } from "./fees";
import { cachedLookup, cachedVersionInForce } from "./cache";
import { convertWithStoredRates, loadPairHistory } from "./rates-store";
import type { ConversionResult, RateHistory } from "./reference-rates";
import { findVersionInForce, scheduleRefOf, type ScheduleVersion } from "./schedules";

export const MAX_CUSTOMER_ID_LENGTH = 128;

export interface PriceRequest {
  amountMinor: bigint;
  /** The source currency: the fee is charged in it. */
  currency: string;
  /** The currency the counterparty receives; default `currency`. */
  toCurrency?: string;
  rail: string;
  customerId: string | null;
  /** Pricing time (the version in force, the rate date); default now. */
  at?: Date;
  rounding?: RoundingMode;
}

export interface PriceResult {
  at: Date;
  amountMinor: bigint;
  currency: string;
  toCurrency: string;
  rail: string;
  customerId: string | null;
  segment: string | null;
  schedule: ScheduleRef | null;
  fee: FeeResult | null;
  feeMinor: bigint;
  conversion: ConversionResult | null;
  spreadBps: string;
  /** What the counterparty receives, in toCurrency. */
  receivedMinor: bigint;
  /** What leaves the source account: amount + fee, in currency. */
  totalDebitMinor: bigint;
  explanation: PriceExplanation;
}

export interface PriceExplanation {
  summary: string;
  fee: { summary: string; lines: ExplanationLine[] } | null;
  conversion: { summary: string; lines: ExplanationLine[] } | null;
  links: { type: "fee_schedule_version" | "fx_rate"; id: string; label: string }[];
}

function checkCustomerId(customerId: string | null): string | null {
  if (customerId === null) return null;
  if (customerId.length === 0 || customerId.length > MAX_CUSTOMER_ID_LENGTH) throw new AppError("BAD_INPUT", `customerId must be 1 to ${MAX_CUSTOMER_ID_LENGTH} characters`);
  return customerId;
}

/** The customer's segment, or null when the customer is not listed. */
export async function segmentOf(sql: SqlRunner, customerId: string | null): Promise<string | null> {
  if (customerId === null) return null;
  const rows = await sql.query<{ segment: string }>(`SELECT segment FROM pricing_customers WHERE customer_id = $1`, [customerId]);
  return rows[0]?.segment ?? null;
}

/** The spread for a pair and segment: the pair's row beats "*", the segment's row beats "". */
export async function findSpread(sql: SqlRunner, from: string, to: string, segment: string | null): Promise<{ bps: string; matched: string } | null> {
  const rows = await sql.query<{ spread_bps: string; from_currency: string; to_currency: string; segment: string }>(
    `SELECT spread_bps::text, from_currency, to_currency, segment FROM fx_spreads
      WHERE ((from_currency = $1 AND to_currency = $2) OR (from_currency = '*' AND to_currency = '*')) AND segment IN ($3, '')
      ORDER BY (from_currency = '*'), (segment = '') LIMIT 1`,
    [from, to, segment ?? ""],
  );
  const r = rows[0];
  if (!r) return null;
  return { bps: r.spread_bps, matched: `${r.from_currency}/${r.to_currency}, segment ${r.segment === "" ? "(any)" : r.segment}` };
}

/**
 * What pricing reads from the database. Stored reads go to the database every time (the API's
 * explanations, simulations, tests); quotes read through the process cache (cache.ts), whose
 * answers are at most PRICING_CACHE_TTL_MS old and, for the schedule, exactly the stored ones.
 */
export interface PricingReads {
  segment(customerId: string | null): Promise<string | null>;
  versionInForce(rail: string, at: Date): Promise<ScheduleVersion | null>;
  spread(from: string, to: string, segment: string | null): Promise<{ bps: string; matched: string } | null>;
  pairHistory(currencies: string[], on: string, maxAgeDays: number): Promise<RateHistory>;
}

export function storedReads(sql: SqlRunner): PricingReads {
  return {
    segment: (customerId) => segmentOf(sql, customerId),
    versionInForce: (rail, at) => findVersionInForce(sql, rail, at),
    spread: (from, to, segment) => findSpread(sql, from, to, segment),
    pairHistory: (currencies, on, maxAgeDays) => loadPairHistory(sql, currencies, on, maxAgeDays),
  };
}

export function cachedReads(pool: pg.Pool): PricingReads {
  const sql = pgRunner(pool);
  return {
    segment: (customerId) => (customerId === null ? Promise.resolve(null) : cachedLookup(pool, "segment", customerId, () => segmentOf(sql, customerId))),
    versionInForce: (rail, at) => cachedVersionInForce(pool, rail, at),
    spread: (from, to, segment) => cachedLookup(pool, "spread", `${from}/${to}/${segment ?? ""}`, () => findSpread(sql, from, to, segment)),
    pairHistory: (currencies, on, maxAgeDays) => cachedLookup(pool, "rates", `${currencies.join(",")}/${on}/${maxAgeDays}`, () => loadPairHistory(sql, currencies, on, maxAgeDays)),
  };
}

/**
 * Prices a request. Errors, in order: UNKNOWN_CURRENCY, INVALID_AMOUNT, BAD_INPUT (customer id);
 * FEE_RULE_NOT_FOUND (the rail's version in force has no rule for the currency); RATE_NOT_FOUND,
 * RATE_STALE (across currencies).
 */
export async function priceRequest(sql: SqlRunner, req: PriceRequest, reads: PricingReads = storedReads(sql)): Promise<PriceResult> {
  const toCurrency = req.toCurrency ?? req.currency;
  currencyExponent(req.currency);
  currencyExponent(toCurrency);
  assertPositiveMinor(req.amountMinor, "amount");
  const customerId = checkCustomerId(req.customerId);
  const at = req.at ?? new Date();
  const [segment, version] = await Promise.all([reads.segment(customerId), reads.versionInForce(req.rail, at)]);
  return priceWith(sql, { ...req, toCurrency, customerId, at }, segment, version, reads);
}

/** priceRequest with the segment and version already chosen (simulations pass a draft version). */
export async function priceWith(
  sql: SqlRunner,
  req: PriceRequest & { toCurrency: string; at: Date },
  segment: string | null,
  version: ScheduleVersion | null,
  reads: PricingReads = storedReads(sql),
): Promise<PriceResult> {
  const c = req.currency;
  let fee: FeeResult | null = null;
  let schedule: ScheduleRef | null = null;
  if (version) {
    schedule = scheduleRefOf(version);
    const rule = selectFeeRule(version.compiled, { currency: c, segment, customerId: req.customerId }, `schedule ${version.scheduleCode} v${version.version}`);
    fee = computeFee(rule, req.amountMinor, schedule);
  }
  const feeMinor = fee?.feeMinor ?? 0n;
  let conversion: ConversionResult | null = null;
  let spreadBps = "0";
  const links: PriceExplanation["links"] = schedule ? [{ type: "fee_schedule_version", id: schedule.versionId!, label: `${schedule.scheduleCode} v${schedule.version}` }] : [];
  if (req.toCurrency !== c) {
    const spread = await reads.spread(c, req.toCurrency, segment);
    spreadBps = spread?.bps ?? "0";
    conversion = await convertWithStoredRates(sql, {
      amountMinor: req.amountMinor,
      from: c,
      to: req.toCurrency,
      on: req.at.toISOString().slice(0, 10),
      ...(req.rounding ? { rounding: req.rounding } : {}),
      maxAgeDays: env().PRICING_RATE_MAX_AGE_DAYS,
      spread: spread ? parseExactDecimal(spread.bps, { what: "spread", code: "INTERNAL", allowZero: true }).div(10_000n) : ZERO,
      spreadText: spread ? `${spread.bps} bps for ${spread.matched}` : "no spread configured",
    }, reads.pairHistory);
    for (const r of conversion.ratesUsed) links.push({ type: "fx_rate", id: `${r.currency}:${r.date}`, label: `1 EUR = ${r.perEur} ${r.currency} on ${r.date}` });
  }
  const receivedMinor = conversion ? conversion.convertedMinor : req.amountMinor;
  const feeLine = fee ? fee.explanation.summary : `no fee: rail ${req.rail} has no fee schedule in force`;
  const summary = conversion ? `${feeLine}; ${conversion.explanation.summary}` : feeLine;
  return {
    at: req.at, amountMinor: req.amountMinor, currency: c, toCurrency: req.toCurrency, rail: req.rail, customerId: req.customerId, segment,
    schedule, fee, feeMinor, conversion, spreadBps, receivedMinor, totalDebitMinor: req.amountMinor + feeMinor,
    explanation: {
      summary,
      fee: fee ? { summary: fee.explanation.summary, lines: fee.explanation.lines } : { summary: feeLine, lines: [{ label: "fee", text: feeLine }] },
      conversion: conversion ? { summary: conversion.explanation.summary, lines: conversion.explanation.lines } : null,
      links,
    },
  };
}

// --- Quotes --------------------------------------------------------------------------------------

export interface Quote {
  id: string;
  status: "open" | "used" | "expired";
  customerId: string | null;
  segment: string | null;
  rail: string;
  fromCurrency: string;
  toCurrency: string;
  amountMinor: bigint;
  feeMinor: bigint;
  convertedMinor: bigint;
  midConvertedMinor: bigint;
  spreadMinor: bigint;
  midRate: string;
  customerRate: string;
  spreadBps: string;
  rateDate: string | null;
  scheduleVersionId: string | null;
  explanation: PriceExplanation;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  usedByTransferId: string | null;
}

interface QuoteRow {
  id: string;
  customer_id: string | null;
  segment: string | null;
  rail: string;
  from_currency: string;
  to_currency: string;
  amount_minor: string;
  fee_minor: string;
  converted_minor: string;
  mid_converted_minor: string;
  spread_minor: string;
  mid_rate: string;
  customer_rate: string;
  spread_bps: string;
  rate_date: string | null;
  schedule_version_id: string | null;
  explanation: PriceExplanation;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  used_by_transfer_id: string | null;
}

const QUOTE_COLUMNS = `id, customer_id, segment, rail, from_currency, to_currency, amount_minor::text, fee_minor::text, converted_minor::text, mid_converted_minor::text,
  spread_minor::text, mid_rate, customer_rate, spread_bps, rate_date::text, schedule_version_id, explanation, created_by, created_at, expires_at, used_at, used_by_transfer_id`;

function rowToQuote(r: QuoteRow, now: Date): Quote {
  return {
    id: r.id, status: r.used_at ? "used" : r.expires_at <= now ? "expired" : "open", customerId: r.customer_id, segment: r.segment, rail: r.rail,
    fromCurrency: r.from_currency, toCurrency: r.to_currency, amountMinor: BigInt(r.amount_minor), feeMinor: BigInt(r.fee_minor),
    convertedMinor: BigInt(r.converted_minor), midConvertedMinor: BigInt(r.mid_converted_minor), spreadMinor: BigInt(r.spread_minor),
    midRate: r.mid_rate, customerRate: r.customer_rate, spreadBps: r.spread_bps, rateDate: r.rate_date, scheduleVersionId: r.schedule_version_id,
    explanation: r.explanation, createdBy: r.created_by, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at, usedByTransferId: r.used_by_transfer_id,
  };
}

/**
 * Prices a request and locks the price under a new quote id for PRICING_QUOTE_TTL_SECONDS. The
 * idempotency key belongs to the caller: the same key and request return the first quote
 * (isReplay), even after it expired; the same key with another request is IDEMPOTENCY_CONFLICT.
 * Errors, in order: BAD_INPUT (key), IDEMPOTENCY_CONFLICT, then those of priceRequest. Quotes are
 * not audited one by one: the row is immutable and names its creator; its use is recorded with the
 * transfer that used it.
 */
export async function createQuote(
  db: Pick<DbHandles, "pool">,
  actor: AuditActor,
  req: PriceRequest,
  opts: { idempotencyKey: string },
): Promise<{ quote: Quote; isReplay: boolean }> {
  const key = `${actor.type}:${actor.id ?? actor.label}:${assertIdempotencyKey(opts.idempotencyKey)}`;
  const requestHash = hashRequest({ amountMinor: String(req.amountMinor), currency: req.currency, toCurrency: req.toCurrency ?? req.currency, rail: req.rail, customerId: req.customerId });
  const now = req.at ?? new Date();
  // New keys are the common case: price and insert first (one statement when the reads are
  // cached); an existing key shows as a conflict on insert and is answered from the stored quote.
  let price: PriceResult;
  try {
    price = await priceRequest(pgRunner(db.pool), { ...req, at: now }, cachedReads(db.pool));
  } catch (e) {
    // A replay gets the first quote even when pricing it now fails (its rates aged, say).
    const replay = await findQuoteByKey(db, key, requestHash, now);
    if (replay) return { quote: replay, isReplay: true };
    throw e;
  }
  const expiresAt = new Date(now.getTime() + env().PRICING_QUOTE_TTL_SECONDS * 1000);
  const cv = price.conversion;
  const values: QuoteValues = [
    randomUUID(), price.customerId, price.segment, price.rail, price.currency, price.toCurrency, price.amountMinor.toString(), price.feeMinor.toString(),
    (cv?.convertedMinor ?? price.amountMinor).toString(), (cv?.midConvertedMinor ?? price.amountMinor).toString(), (cv?.spreadMinor ?? 0n).toString(),
    cv ? formatExact(cv.midRate) : "1", cv ? formatExact(cv.customerRate) : "1", price.spreadBps, cv?.rateDate ?? null, price.schedule?.versionId ?? null,
    JSON.stringify(price.explanation), actor.label, now.toISOString(), expiresAt.toISOString(), key, requestHash,
  ];
  const row = await quoteWriterOf(db.pool).insert(key, values);
  if (!row) {
    // The key was used before (or by a concurrent request that won the insert).
    const replay = await findQuoteByKey(db, key, requestHash, now);
    if (replay) return { quote: replay, isReplay: true };
    throw new AppError("INTERNAL", `quote with key ${opts.idempotencyKey} was neither written nor found`);
  }
  return { quote: rowToQuote(row, now), isReplay: false };
}

/** A quote row's values in INSERT_COLUMNS order. */
type QuoteValues = [string, ...unknown[]];

const INSERT_COLUMNS: [string, string][] = [
  ["id", "uuid"], ["customer_id", "text"], ["segment", "text"], ["rail", "text"], ["from_currency", "text"], ["to_currency", "text"], ["amount_minor", "bigint"],
  ["fee_minor", "bigint"], ["converted_minor", "bigint"], ["mid_converted_minor", "bigint"], ["spread_minor", "bigint"], ["mid_rate", "text"], ["customer_rate", "text"],
  ["spread_bps", "text"], ["rate_date", "date"], ["schedule_version_id", "uuid"], ["explanation", "jsonb"], ["created_by", "text"], ["created_at", "timestamptz"],
  ["expires_at", "timestamptz"], ["idempotency_key", "text"], ["request_hash", "text"],
];

/**
 * The statement that writes quotes: one row per quote, many quotes per statement (unnest of one
 * array per column). A key already used writes nothing and returns no row for it.
 */
const INSERT_QUOTES = `INSERT INTO fx_quotes (${INSERT_COLUMNS.map(([c]) => c).join(", ")})
  SELECT * FROM unnest(${INSERT_COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(", ")})
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING ${QUOTE_COLUMNS}, idempotency_key`;

interface PendingQuote {
  key: string;
  values: QuoteValues;
  resolve: (row: QuoteRow | null) => void;
  reject: (e: unknown) => void;
}

/**
 * Quote group commit: concurrent new quotes are written by one statement (one commit, one WAL
 * flush) instead of one each, as the ledger groups transfers (micro-batcher.ts, same window and
 * sizes). A quote is answered only after the statement that wrote it committed. A failed group
 * statement (a row the database refuses) writes each quote alone, so one bad row fails only itself;
 * DB_UNAVAILABLE reaches every caller.
 */
class QuoteWriter {
  private readonly batcher: MicroBatcher<PendingQuote>;

  constructor(private readonly pool: pg.Pool) {
    const e = env();
    this.batcher = new MicroBatcher<PendingQuote>(
      { windowMs: e.LEDGER_GROUP_COMMIT_WINDOW_MS, maxItems: e.LEDGER_GROUP_COMMIT_MAX, maxInFlight: e.LEDGER_GROUP_COMMIT_IN_FLIGHT, minSplit: 8 },
      (p) => p.key,
      (group) => this.write(group),
    );
  }

  /** The written row, or null when the key was already used. */
  insert(key: string, values: QuoteValues): Promise<QuoteRow | null> {
    return new Promise((resolve, reject) => {
      const pending = { key, values, resolve, reject };
      if (!this.batcher.add(pending)) void this.write([pending]);
    });
  }

  private async write(group: PendingQuote[]): Promise<void> {
    try {
      const res = await this.pool.query<QuoteRow & { idempotency_key: string }>({
        name: "pricing_insert_quotes",
        text: INSERT_QUOTES,
        values: INSERT_COLUMNS.map((_, i) => group.map((p) => p.values[i] ?? null)),
      });
      const byKey = new Map(res.rows.map((r) => [r.idempotency_key, r]));
      for (const p of group) p.resolve(byKey.get(p.key) ?? null);
    } catch (e) {
      if (group.length === 1 || toAppError(e)?.code === "DB_UNAVAILABLE") {
        for (const p of group) p.reject(e);
        return;
      }
      await Promise.all(group.map((p) => this.write([p])));
    }
  }
}

const writers = new WeakMap<pg.Pool, QuoteWriter>();

function quoteWriterOf(pool: pg.Pool): QuoteWriter {
  let w = writers.get(pool);
  if (!w) writers.set(pool, (w = new QuoteWriter(pool)));
  return w;
}

async function findQuoteByKey(db: Pick<DbHandles, "pool">, key: string, requestHash: string, now: Date): Promise<Quote | null> {
  const rows = await db.pool.query<QuoteRow & { request_hash: string }>({ name: "pricing_quote_by_key", text: `SELECT ${QUOTE_COLUMNS}, request_hash FROM fx_quotes WHERE idempotency_key = $1`, values: [key] });
  const r = rows.rows[0];
  if (!r) return null;
  if (r.request_hash !== requestHash) {
    throw new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${key.split(":").slice(2).join(":")} was already used for a different quote (${r.id})`, { details: { quoteId: r.id } });
  }
  return rowToQuote(r, now);
}

/** A quote by id. QUOTE_NOT_FOUND when it does not exist. */
export async function getQuote(sql: SqlRunner, id: string, now = new Date()): Promise<Quote> {
  const rows = await sql.query<QuoteRow>(`SELECT ${QUOTE_COLUMNS} FROM fx_quotes WHERE id = $1`, [id]);
  if (!rows[0]) throw new AppError("QUOTE_NOT_FOUND", `quote ${id} does not exist`, { details: { quoteId: id } });
  return rowToQuote(rows[0], now);
}

/** Recent quotes, newest first (keyset on created_at, id), at most 100 a page. */
export async function listQuotes(sql: SqlRunner, input: { limit: number; before?: { createdAt: Date; id: string } | null; now?: Date }) {
  const limit = Math.min(Math.max(input.limit, 1), 100);
  const rows = await sql.query<QuoteRow>(
    `SELECT ${QUOTE_COLUMNS} FROM fx_quotes WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid)) ORDER BY created_at DESC, id DESC LIMIT $3`,
    [input.before?.createdAt ?? null, input.before?.id ?? null, limit + 1],
  );
  const now = input.now ?? new Date();
  const items = rows.slice(0, limit).map((r) => rowToQuote(r, now));
  const last = rows.length > limit ? items[items.length - 1]! : null;
  return { items, nextCursor: last ? { createdAt: last.createdAt, id: last.id } : null };
}

export interface QuoteUse {
  amountMinor: bigint;
  currency: string;
  toCurrency: string;
  rail: string;
  customerId: string | null;
}

/** Why a quote cannot be used at `now` (QUOTE_USED, then QUOTE_EXPIRED), or null when it can. */
export function quoteUseRefusal(q: Quote, now: Date): AppError | null {
  if (q.usedAt) return new AppError("QUOTE_USED", `quote ${q.id} was already used by transfer ${q.usedByTransferId}`, { details: { quoteId: q.id, usedByTransferId: q.usedByTransferId } });
  if (q.expiresAt <= now) return new AppError("QUOTE_EXPIRED", `quote ${q.id} expired at ${q.expiresAt.toISOString()}`, { details: { quoteId: q.id, expiresAt: q.expiresAt.toISOString() } });
  return null;
}

/** QUOTE_MISMATCH naming each field of `use` that differs from the quote. */
export function assertQuoteMatches(q: Quote, use: QuoteUse): void {
  const differences: string[] = [];
  if (q.amountMinor !== use.amountMinor) differences.push(`amount ${formatAmount(use.amountMinor, use.currency)} (quoted ${formatAmount(q.amountMinor, q.fromCurrency)})`);
  if (q.fromCurrency !== use.currency) differences.push(`currency ${use.currency} (quoted ${q.fromCurrency})`);
  if (q.toCurrency !== use.toCurrency) differences.push(`target currency ${use.toCurrency} (quoted ${q.toCurrency})`);
  if (q.rail !== use.rail) differences.push(`rail ${use.rail} (quoted ${q.rail})`);
  if (q.customerId !== use.customerId) differences.push(`customer ${use.customerId ?? "(none)"} (quoted ${q.customerId ?? "(none)"})`);
  if (differences.length > 0) {
    throw new AppError("QUOTE_MISMATCH", `quote ${q.id} was for a different transfer: ${differences.join("; ")}`, { details: { quoteId: q.id, differences } });
  }
}

/**
 * Marks a quote whose figures the caller already checked (assertQuoteMatches: they never change)
 * used by `transferId`, inside the caller's transaction: one statement when it is open; otherwise
 * the precise refusal of redeemQuoteInTransaction (QUOTE_NOT_FOUND, QUOTE_MISMATCH, QUOTE_USED,
 * QUOTE_EXPIRED).
 */
export async function claimQuoteInTransaction(client: pg.ClientBase, quoteId: string, use: QuoteUse, transferId: string, now: Date): Promise<void> {
  const res = await client.query({
    name: "pricing_claim_quote",
    text: `UPDATE fx_quotes SET used_at = $2, used_by_transfer_id = $3 WHERE id = $1 AND used_at IS NULL AND expires_at > $2`,
    values: [quoteId, now, transferId],
  });
  if (res.rowCount === 1) return;
  await redeemQuoteInTransaction(client, quoteId, use, transferId, now);
}

/**
 * Marks a quote used by `transferId`, inside the caller's transaction, after locking it. Errors,
 * in order: QUOTE_NOT_FOUND; QUOTE_MISMATCH (naming each field that differs from the quote);
 * QUOTE_USED; QUOTE_EXPIRED. Returns the quote as it was priced.
 */
export async function redeemQuoteInTransaction(client: pg.ClientBase, quoteId: string, use: QuoteUse, transferId: string, now: Date): Promise<Quote> {
  const rows = await client.query<QuoteRow>(`SELECT ${QUOTE_COLUMNS} FROM fx_quotes WHERE id = $1 FOR UPDATE`, [quoteId]);
  if (!rows.rows[0]) throw new AppError("QUOTE_NOT_FOUND", `quote ${quoteId} does not exist`, { details: { quoteId } });
  const q = rowToQuote(rows.rows[0], now);
  assertQuoteMatches(q, use);
  const refusal = quoteUseRefusal(q, now);
  if (refusal) throw refusal;
  await client.query(`UPDATE fx_quotes SET used_at = $2, used_by_transfer_id = $3 WHERE id = $1`, [quoteId, now, transferId]);
  return { ...q, status: "used", usedAt: now, usedByTransferId: transferId };
}
