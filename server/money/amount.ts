/**
 * Exact money parsing and formatting. Amounts are bigint minor units; strings are the only other
 * representation. No JS number ever holds an amount here.
 *
 * Invariants kept:
 * - parseAmount is exact: "8.850" EUR is 885n; "8.855" EUR is INVALID_AMOUNT (never rounded).
 * - Signs, exponents ("1e3"), spaces, empty strings and more than MAX_AMOUNT_DIGITS digits are
 *   refused with INVALID_AMOUNT naming the value.
 * - formatAmount(parseAmount(s, c), c) is s normalised to exactly the currency's exponent.
 * - Wire amounts (parseMinorUnits) are positive integers that fit PostgreSQL BIGINT.
 */
import { AppError } from "../errors/app-error";
import { currencyExponent } from "./currencies";

/** NUMERIC(38) is the widest amount any boundary accepts. */
export const MAX_AMOUNT_DIGITS = 38;
/** PostgreSQL BIGINT's maximum: every stored amount fits. */
export const MAX_MINOR_UNITS = 2n ** 63n - 1n;

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;
const MINOR_UNITS = /^[1-9]\d*$/;

export interface ParseAmountOptions {
  /** Accept a leading "-" (adjustments, signed reports). Default false. */
  allowNegative?: boolean;
  /** Accept zero. Default true. */
  allowZero?: boolean;
}

function invalid(value: string, reason: string, details: Record<string, unknown> = {}): AppError {
  return new AppError("INVALID_AMOUNT", `amount ${JSON.stringify(value)} ${reason}`, { details: { value, ...details } });
}

/** Parses a decimal string in major units ("8.85") into minor units (885n) exactly. */
export function parseAmount(value: string, currency: string, opts: ParseAmountOptions = {}): bigint {
  const exponent = currencyExponent(currency);
  if (typeof value !== "string" || value.length === 0) throw invalid(String(value), "is empty");
  const m = DECIMAL.exec(value);
  if (!m) throw invalid(value, "is not a plain decimal number (digits, optional '.' and fraction; no spaces, signs or exponents)");
  const [, sign = "", intPart = "", fracPart = ""] = m;
  if (intPart.length + fracPart.length > MAX_AMOUNT_DIGITS) throw invalid(value, `has more than ${MAX_AMOUNT_DIGITS} digits`);
  if (sign === "-" && !opts.allowNegative) throw invalid(value, "must not be negative");
  if (fracPart.length > exponent) {
    const extra = fracPart.slice(exponent);
    if (/[^0]/.test(extra)) {
      throw invalid(value, `has more decimals than ${currency} allows (exponent ${exponent})`, { currency, exponent });
    }
  }
  const frac = fracPart.slice(0, exponent).padEnd(exponent, "0");
  const magnitude = BigInt(intPart + frac);
  if (magnitude === 0n && opts.allowZero === false) throw invalid(value, "must not be zero");
  return sign === "-" ? -magnitude : magnitude;
}

/** Formats minor units as a plain decimal string with exactly the currency's exponent ("8.85"). */
export function formatAmount(amountMinor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(exponent + 1, "0");
  const intPart = digits.slice(0, digits.length - exponent);
  const frac = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : "";
  return `${negative ? "-" : ""}${intPart}${frac}`;
}

/** For people: thousands separators and the currency code ("1,234.50 EUR", "-885 JPY"). */
export function formatMoneyDisplay(amountMinor: bigint, currency: string): string {
  const plain = formatAmount(amountMinor, currency);
  const negative = plain.startsWith("-");
  const unsigned = negative ? plain.slice(1) : plain;
  const [intPart = "", frac] = unsigned.split(".");
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${frac !== undefined ? `.${frac}` : ""} ${currency}`;
}

/** Parses a wire amount in minor units ("885"): a positive integer that fits BIGINT. */
export function parseMinorUnits(value: string): bigint {
  if (typeof value !== "string" || !MINOR_UNITS.test(value)) {
    throw invalid(String(value), "is not a positive integer in minor units (digits only, no leading zero, sign or decimal point)");
  }
  if (value.length > 19 || BigInt(value) > MAX_MINOR_UNITS) throw invalid(value, `exceeds the maximum ${MAX_MINOR_UNITS}`);
  return BigInt(value);
}

/** Checks a bigint amount is a positive BIGINT. */
export function assertPositiveMinor(amountMinor: bigint, what = "amount"): bigint {
  if (typeof amountMinor !== "bigint") throw new AppError("INVALID_AMOUNT", `${what} must be an integer number of minor units (bigint or digit string)`);
  if (amountMinor <= 0n) throw new AppError("INVALID_AMOUNT", `${what} ${amountMinor} must be positive`, { details: { value: amountMinor.toString() } });
  if (amountMinor > MAX_MINOR_UNITS) throw new AppError("INVALID_AMOUNT", `${what} ${amountMinor} exceeds the maximum ${MAX_MINOR_UNITS}`, { details: { value: amountMinor.toString() } });
  return amountMinor;
}
