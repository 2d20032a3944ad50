/**
 * Exact numbers for pricing: rates, percentages and intermediate amounts are fractions of two
 * bigints (fraction.js, see docs/decisions.md "Pricing"); only a final amount is rounded, once, to
 * whole minor units by an explicit rounding mode.
 *
 * Invariants kept:
 * - No JS number ever enters an Exact: values are built from bigints or from decimal strings checked
 *   by a strict pattern here ("1.0823" is 10823/10000 exactly; "1e3", " 1", "1,5" are refused).
 * - roundExact is the one rounding rule: half-even (banker's), half-up (half away from zero), down
 *   (toward zero) and up (away from zero), applied to the magnitude so that rounding is symmetric
 *   in sign. Every mode is monotone, and a value already whole is returned unchanged.
 * - formatExact never loses information: a terminating value prints as a decimal, any other as
 *   "numerator/denominator".
 */
import Fraction from "fraction.js";
import { AppError, type ErrorCode } from "../errors/app-error";

export type Exact = Fraction;

export const ROUNDING_MODES = ["half-even", "half-up", "down", "up"] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];
export const DEFAULT_ROUNDING: RoundingMode = "half-even";

/** Digits (integer plus fraction) a decimal rate or percentage may have. */
export const MAX_DECIMAL_DIGITS = 30;

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export const ZERO: Exact = new Fraction(0n, 1n);
export const ONE: Exact = new Fraction(1n, 1n);

export function exactInteger(value: bigint): Exact {
  return new Fraction(value, 1n);
}

export function exactRatio(numerator: bigint, denominator: bigint): Exact {
  if (denominator === 0n) throw new AppError("INTERNAL", "exactRatio: denominator is zero");
  return new Fraction(numerator, denominator);
}

const POWERS_OF_TEN = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));

/** 10^exponent as a bigint (exponents are small, non-negative integers). */
export function powerOfTen(exponent: number): bigint {
  return POWERS_OF_TEN[exponent] ?? 10n ** BigInt(exponent);
}

export interface ParseDecimalOptions {
  /** What the value is, for the message: "rate for USD", "rules[0].tiers[1].rate". */
  what: string;
  /** The error code to throw (INVALID_RATE, INVALID_FEE_SCHEDULE, INVALID_RATES_FILE, …). */
  code: ErrorCode;
  allowZero?: boolean;
  details?: Record<string, unknown>;
}

/**
 * Parses a plain decimal string ("1.0823", "90", "0.009") into an exact fraction. Refuses, with
 * `code` and a message naming `what`: anything that is not digits with an optional fraction (signs,
 * exponents, spaces, commas, "N/A"), a negative value, more than MAX_DECIMAL_DIGITS digits, and zero
 * unless allowZero.
 */
export function parseExactDecimal(text: string, opts: ParseDecimalOptions): Exact {
  const fail = (reason: string) =>
    new AppError(opts.code, `${opts.what} ${JSON.stringify(text)} ${reason}`, { details: { ...opts.details, value: text } });
  if (typeof text !== "string") throw fail("is not a decimal string");
  const m = DECIMAL.exec(text);
  if (!m) throw fail("is not a decimal number (digits with an optional '.' and fraction)");
  const [, sign = "", intPart = "", fracPart = ""] = m;
  if (intPart.length + fracPart.length > MAX_DECIMAL_DIGITS) throw fail(`has more than ${MAX_DECIMAL_DIGITS} digits`);
  const numerator = BigInt(intPart + fracPart);
  if (sign === "-" && numerator !== 0n) throw fail("must not be negative");
  if (numerator === 0n && !opts.allowZero) throw fail("must be greater than zero");
  return new Fraction(numerator, powerOfTen(fracPart.length));
}

/** Rounds an exact value to a whole number by `mode` (see the module comment). */
export function roundExact(value: Exact, mode: RoundingMode): bigint {
  const magnitude = roundMagnitude(value.n, value.d, mode);
  return value.s < 0n ? -magnitude : magnitude;
}

/**
 * Rounds numerator/denominator (numerator >= 0, denominator > 0, not necessarily reduced) to a
 * whole number by `mode`: the same rule as roundExact, for hot paths that multiply bigints
 * directly instead of normalising every intermediate fraction.
 */
export function roundRatio(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  if (numerator < 0n || denominator <= 0n) throw new AppError("INTERNAL", "roundRatio takes a non-negative numerator and a positive denominator");
  return roundMagnitude(numerator, denominator, mode);
}

function roundMagnitude(n: bigint, d: bigint, mode: RoundingMode): bigint {
  const q = n / d;
  const r = n % d;
  let magnitude = q;
  if (r !== 0n) {
    switch (mode) {
      case "down":
        break;
      case "up":
        magnitude = q + 1n;
        break;
      case "half-up":
        if (2n * r >= d) magnitude = q + 1n;
        break;
      case "half-even": {
        const twice = 2n * r;
        if (twice > d || (twice === d && q % 2n === 1n)) magnitude = q + 1n;
        break;
      }
    }
  }
  return magnitude;
}

/** Whether the value has a finite decimal expansion (its reduced denominator is 2^a·5^b). */
export function isTerminating(value: Exact): boolean {
  let d = value.d;
  while (d % 2n === 0n) d /= 2n;
  while (d % 5n === 0n) d /= 5n;
  return d === 1n;
}

/** The value rounded to `places` decimals by `mode`, as a plain decimal string ("145.1830785639"). */
export function formatExactDecimal(value: Exact, places: number, mode: RoundingMode = DEFAULT_ROUNDING): string {
  const scaled = roundExact(value.mul(new Fraction(powerOfTen(places), 1n)), mode);
  return formatScaled(scaled, places);
}

function formatScaled(scaled: bigint, places: number): string {
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(places + 1, "0");
  const intPart = digits.slice(0, digits.length - places);
  const frac = places > 0 ? `.${digits.slice(digits.length - places)}` : "";
  return `${negative ? "-" : ""}${intPart}${frac}`;
}

/** The exact value: a decimal string when it terminates ("1.0823", "0.009"), else "n/d". */
export function formatExact(value: Exact): string {
  if (!isTerminating(value)) return `${value.s < 0n ? "-" : ""}${value.n}/${value.d}`;
  let places = 0;
  let scale = 1n;
  while ((value.n * scale) % value.d !== 0n) {
    places++;
    scale *= 10n;
  }
  const scaled = (value.n * scale) / value.d;
  return formatScaled(value.s < 0n ? -scaled : scaled, places);
}

/** The exact value as a percentage string: 9/1000 -> "0.9%" (a fraction when it does not terminate). */
export function formatPercent(value: Exact): string {
  return `${formatExact(value.mul(new Fraction(100n, 1n)))}%`;
}
