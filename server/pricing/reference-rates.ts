/**
 * Reference rates and conversion at the mid rate (and, for quotes, at a customer rate with a spread).
 *
 * A reference day holds the units of each currency per 1 EUR as published (ECB convention). A
 * RateHistory is an in-memory, read-only index of reference days; the same code serves the CLI (a
 * file), tests (the real ECB history) and the database path (days loaded from fx_reference_rates).
 *
 * Invariants kept:
 * - Rates are exact fractions as published; a cross rate is from/EUR and EUR/to composed exactly
 *   (to per EUR divided by from per EUR), never a float and never rounded.
 * - The pair's reference date is the newest reference date on or before the requested date on
 *   which both currencies have a rate (EUR has rate 1 on every reference date). A rate date older
 *   than maxAgeDays calendar days before the requested date is RATE_STALE; no such date at all is
 *   RATE_NOT_FOUND. A reference date D applies from D 00:00 UTC.
 * - Only the converted amount is rounded, once, to the target currency's exponent, by the stated
 *   rounding mode; so |convertedMinor - exact| <= 1/2 minor unit for the half modes and < 1 for
 *   down/up.
 * - With a spread, the customer rate is mid x (1 - spread); the spread earned is the amount at the
 *   mid rate minus the amount at the customer rate, each rounded once the same way, so it is never
 *   negative and converted + spread is the amount at the mid rate, to the minor unit.
 */
import { AppError } from "../errors/app-error";
import { currencyExponent, formatAmount } from "../money";
import { assertPositiveMinor } from "../money/amount";
import {
  DEFAULT_ROUNDING, ONE, ZERO, exactRatio, formatExact, formatExactDecimal, formatPercent, powerOfTen, roundRatio,
  type Exact, type RoundingMode,
} from "./exact";
import type { ExplanationLine } from "./fees";

export const BASE_CURRENCY = "EUR";
/** Default age limit of a reference rate: 4 calendar days spans a weekend plus the ECB's holidays. */
export const DEFAULT_MAX_RATE_AGE_DAYS = 4;
/** Decimals shown for a non-terminating rate next to its exact fraction. */
export const RATE_DISPLAY_DECIMALS = 10;

export interface ReferenceRate {
  /** Units of the currency per 1 EUR, exact. */
  rate: Exact;
  /** As published ("163.36"). */
  text: string;
}

export interface ReferenceDay {
  /** YYYY-MM-DD. */
  date: string;
  rates: ReadonlyMap<string, ReferenceRate>;
}

interface CurrencySeries {
  dates: string[];
  rates: ReferenceRate[];
}

const EUR_RATE: ReferenceRate = { rate: ONE, text: "1" };
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Days since 1970-01-01 of valid YYYY-MM-DD dates seen lately (quotes ask about few dates). */
const dayNumbers = new Map<string, number>();
const DAY_CACHE_MAX = 10_000;

function dayNumber(s: string): number | null {
  const cached = dayNumbers.get(s);
  if (cached !== undefined) return cached;
  if (!DATE.test(s)) return null;
  const t = Date.parse(`${s}T00:00:00.000Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) return null;
  if (dayNumbers.size >= DAY_CACHE_MAX) dayNumbers.clear();
  dayNumbers.set(s, t / 86_400_000);
  return t / 86_400_000;
}

export function isIsoDate(s: string): boolean {
  return typeof s === "string" && dayNumber(s) !== null;
}

/** Whole calendar days from `from` to `to` (both valid YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to)! - dayNumber(from)!;
}

/** The newest index i with sorted[i] <= key, or -1. */
function floorIndex(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export interface PairRates {
  date: string;
  from: ReferenceRate;
  to: ReferenceRate;
}

/** An immutable index of reference days for lookups by currency and date. */
export class RateHistory {
  private readonly allDates: string[];
  private readonly series = new Map<string, CurrencySeries>();

  constructor(days: readonly ReferenceDay[]) {
    const sorted = [...days].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    this.allDates = sorted.map((d) => d.date);
    for (const day of sorted) {
      for (const [currency, rate] of day.rates) {
        let s = this.series.get(currency);
        if (!s) this.series.set(currency, (s = { dates: [], rates: [] }));
        s.dates.push(day.date);
        s.rates.push(rate);
      }
    }
  }

  get dayCount(): number {
    return this.allDates.length;
  }

  get firstDate(): string | null {
    return this.allDates[0] ?? null;
  }

  get lastDate(): string | null {
    return this.allDates[this.allDates.length - 1] ?? null;
  }

  currencies(): string[] {
    return [...this.series.keys()].sort();
  }

  private newest(currency: string, onOrBefore: string): { date: string; rate: ReferenceRate } | null {
    if (currency === BASE_CURRENCY) {
      const i = floorIndex(this.allDates, onOrBefore);
      return i < 0 ? null : { date: this.allDates[i]!, rate: EUR_RATE };
    }
    const s = this.series.get(currency);
    if (!s) return null;
    const i = floorIndex(s.dates, onOrBefore);
    return i < 0 ? null : { date: s.dates[i]!, rate: s.rates[i]! };
  }

  /**
   * The newest reference date on or before `on` with a rate for both currencies, or which of them
   * has none on or before `on`.
   */
  findPair(from: string, to: string, on: string): PairRates | { missing: string } {
    let limit = on;
    // Each round moves `limit` strictly earlier, so this ends within the history's length.
    for (;;) {
      const a = this.newest(from, limit);
      if (!a) return { missing: from };
      const b = this.newest(to, limit);
      if (!b) return { missing: to };
      if (a.date === b.date) return { date: a.date, from: a.rate, to: b.rate };
      limit = a.date < b.date ? a.date : b.date;
    }
  }
}

export interface ConversionRequest {
  amountMinor: bigint;
  from: string;
  to: string;
  /** YYYY-MM-DD: the date whose reference rate applies (its newest on or before). */
  on: string;
  rounding?: RoundingMode;
  maxAgeDays?: number;
  /** A quote's spread, as a fraction of the mid rate (0.005 = 50 bps); zero for the mid rate. */
  spread?: Exact;
  spreadText?: string;
}

export interface ConversionResult {
  from: string;
  to: string;
  amountMinor: bigint;
  /** What the customer gets: the amount at the customer rate, rounded once. */
  convertedMinor: bigint;
  /** The amount at the mid rate, rounded once the same way. */
  midConvertedMinor: bigint;
  /** midConvertedMinor - convertedMinor, in the target currency (0 at the mid rate). */
  spreadMinor: bigint;
  /** Units of `to` per 1 unit of `from`, exact. */
  midRate: Exact;
  customerRate: Exact;
  spread: Exact;
  rateDate: string;
  /** "EUR" when the pair is crossed through the euro, null when one side is EUR (or both are the same). */
  via: string | null;
  rounding: RoundingMode;
  ratesUsed: { currency: string; perEur: string; date: string }[];
  explanation: { kind: "conversion"; summary: string; lines: ExplanationLine[] };
}

/** A rate for people: the exact value, and 10 decimals when it does not terminate. */
export function describeRate(rate: Exact): string {
  const exact = formatExact(rate);
  return exact.includes("/") ? `${formatExactDecimal(rate, RATE_DISPLAY_DECIMALS)}… (exactly ${exact})` : exact;
}

/**
 * Converts an amount through the reference rates. Errors, in order: UNKNOWN_CURRENCY (from, then
 * to), INVALID_AMOUNT (not a positive BIGINT), BAD_INPUT (on is not a YYYY-MM-DD date, maxAgeDays
 * negative), RATE_NOT_FOUND (a currency with no rate on or before `on`), RATE_STALE (the pair's
 * newest common reference date is more than maxAgeDays before `on`).
 */
export function convertAmount(history: RateHistory, req: ConversionRequest): ConversionResult {
  const fromExp = currencyExponent(req.from);
  const toExp = currencyExponent(req.to);
  assertPositiveMinor(req.amountMinor, "amount");
  if (!isIsoDate(req.on)) throw new AppError("BAD_INPUT", `date ${JSON.stringify(req.on)} is not a YYYY-MM-DD date`, { details: { on: req.on } });
  const maxAgeDays = req.maxAgeDays ?? DEFAULT_MAX_RATE_AGE_DAYS;
  if (!Number.isInteger(maxAgeDays) || maxAgeDays < 0) throw new AppError("BAD_INPUT", `maxAgeDays ${maxAgeDays} must be a whole number of days, at least 0`);
  const rounding = req.rounding ?? DEFAULT_ROUNDING;
  const spread = req.spread ?? ZERO;
  if (spread.s < 0n || spread.compare(ONE) >= 0) throw new AppError("BAD_INPUT", `spread ${formatPercent(spread)} must be at least 0% and below 100%`);

  let rateDate: string;
  let fromRate: Exact = ONE;
  let toRate: Exact = ONE;
  const ratesUsed: ConversionResult["ratesUsed"] = [];
  if (req.from === req.to) {
    rateDate = req.on;
  } else {
    const pair = history.findPair(req.from, req.to, req.on);
    if ("missing" in pair) {
      throw new AppError("RATE_NOT_FOUND", `no reference rate for ${pair.missing} on or before ${req.on} (pair ${req.from}/${req.to})`, {
        details: { from: req.from, to: req.to, on: req.on, currency: pair.missing },
      });
    }
    const age = daysBetween(pair.date, req.on);
    if (age > maxAgeDays) {
      throw new AppError("RATE_STALE", `the newest reference rate for ${req.from}/${req.to} on or before ${req.on} is from ${pair.date}, ${age} days old (limit ${maxAgeDays})`, {
        details: { from: req.from, to: req.to, on: req.on, rateDate: pair.date, ageDays: age, maxAgeDays },
      });
    }
    rateDate = pair.date;
    fromRate = pair.from.rate;
    toRate = pair.to.rate;
    if (req.from !== BASE_CURRENCY) ratesUsed.push({ currency: req.from, perEur: pair.from.text, date: pair.date });
    if (req.to !== BASE_CURRENCY) ratesUsed.push({ currency: req.to, perEur: pair.to.text, date: pair.date });
  }
  const via = req.from !== BASE_CURRENCY && req.to !== BASE_CURRENCY && req.from !== req.to ? BASE_CURRENCY : null;
  // Minor units of `to` = minor of `from` x (to per EUR / from per EUR) x 10^toExp / 10^fromExp,
  // kept as one numerator over one denominator of bigints (rates are positive) and rounded here,
  // once; the customer amount multiplies in (1 - spread) the same way.
  const numerator = req.amountMinor * toRate.n * fromRate.d * powerOfTen(toExp);
  const denominator = toRate.d * fromRate.n * powerOfTen(fromExp);
  const midConvertedMinor = roundRatio(numerator, denominator, rounding);
  const keep = ONE.sub(spread);
  const convertedMinor = spread.equals(ZERO) ? midConvertedMinor : roundRatio(numerator * keep.n, denominator * keep.d, rounding);
  const spreadMinor = midConvertedMinor - convertedMinor;
  // Exact rates as fractions are built when first read (quotes store them; the arithmetic above does not need them).
  let midRateCache: Exact | undefined;
  let customerRateCache: Exact | undefined;
  const midRateOf = () => (midRateCache ??= toRate.div(fromRate));
  const customerRateOf = () => (customerRateCache ??= midRateOf().mul(keep));
  const exactCustomerOf = () => exactRatio(numerator * keep.n, denominator * keep.d);

  // The explanation is built when first read (see computeFee).
  let explanation: ConversionResult["explanation"] | undefined;
  const explain = (): ConversionResult["explanation"] => {
    const f = (minor: bigint, c: string) => `${formatAmount(minor, c)} ${c}`;
    const lines: ExplanationLine[] = [];
    if (req.from === req.to) {
      lines.push({ label: "rate", text: `same currency: rate 1` });
    } else {
      lines.push({ label: "reference date", text: `ECB reference rates of ${rateDate} (newest on or before ${req.on}; limit ${maxAgeDays} days)` });
      for (const r of ratesUsed) lines.push({ label: `${r.currency} per EUR`, text: `1 EUR = ${r.perEur} ${r.currency}` });
      lines.push({
        label: "mid rate",
        text: `1 ${req.from} = ${describeRate(midRateOf())} ${req.to}${via ? ` (through EUR: ${pairText(req.to, ratesUsed)} / ${pairText(req.from, ratesUsed)})` : ""}`,
      });
    }
    if (!spread.equals(ZERO)) {
      lines.push({ label: "spread", text: `${formatPercent(spread)}${req.spreadText ? ` (${req.spreadText})` : ""} off the mid rate` });
      lines.push({ label: "customer rate", text: `1 ${req.from} = ${describeRate(customerRateOf())} ${req.to}` });
    }
    lines.push({
      label: "converted",
      text: `${f(req.amountMinor, req.from)} x ${describeRate(customerRateOf())} = ${formatExactDecimalOrFraction(exactCustomerOf(), toExp)} ${req.to} exactly, rounded ${rounding} to ${f(convertedMinor, req.to)}`,
    });
    if (!spread.equals(ZERO)) {
      lines.push({ label: "spread earned", text: `${f(midConvertedMinor, req.to)} at the mid rate - ${f(convertedMinor, req.to)} = ${f(spreadMinor, req.to)}` });
    }
    const summary = `${f(req.amountMinor, req.from)} = ${f(convertedMinor, req.to)} at ${describeRate(customerRateOf())}${spread.equals(ZERO) ? " (mid rate)" : ` (mid ${describeRate(midRateOf())} less ${formatPercent(spread)})`}, ECB reference rates of ${rateDate}${via ? " through EUR" : ""}, rounded ${rounding}`;
    return { kind: "conversion", summary, lines };
  };
  return {
    from: req.from, to: req.to, amountMinor: req.amountMinor, convertedMinor, midConvertedMinor, spreadMinor,
    get midRate() {
      return midRateOf();
    },
    get customerRate() {
      return customerRateOf();
    },
    spread, rateDate, via, rounding, ratesUsed,
    get explanation() {
      return (explanation ??= explain());
    },
  };
}

function pairText(currency: string, used: ConversionResult["ratesUsed"]): string {
  if (currency === BASE_CURRENCY) return "1";
  return used.find((u) => u.currency === currency)!.perEur;
}

/** An exact number of minor units in major units: terminating as a decimal, else as a fraction. */
function formatExactDecimalOrFraction(exactMinor: Exact, exponent: number): string {
  return formatExact(exactMinor.div(powerOfTen(exponent)));
}
