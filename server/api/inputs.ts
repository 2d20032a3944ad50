/**
 * The input fields the routers validate alike (ids, idempotency keys, reasons, amounts, dates),
 * written once so that a limit or a message is the same on every procedure. They are the
 * transport's first check; the domain checks again what it must (a key's characters in
 * server/core/idempotency.ts, a reason's text in server/core/reasons.ts, an amount's range).
 */
import { z } from "zod";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "../core/idempotency";
import { REASON_MAX_LENGTH } from "../core/reasons";

export const uuid = z.uuid();

export const idempotencyKey = z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH);

/** A reason for the audit record, trimmed, `min` to `max` characters. */
export function reasonText(opts: { min?: number; max?: number } = {}) {
  const { min = 1, max = REASON_MAX_LENGTH } = opts;
  return z
    .string()
    .trim()
    .min(min, min === 1 ? "give a reason" : `a reason of at least ${min} characters is required`)
    .max(max);
}

/** The reason most admin actions take: 1 to REASON_MAX_LENGTH characters. */
export const reason = reasonText();

/** The reason of an operator's action on money (transfers, breaks, prices): at least 3 characters. */
export const operatorReason = reasonText({ min: 3 });

const minorUnitsOf = (digits: RegExp, message: string) =>
  z.union([z.bigint(), z.string().regex(digits, message)]).transform((v) => (typeof v === "bigint" ? v : BigInt(v)));

/** Minor units as a bigint or an integer string, either sign (the ledger refuses what it must). */
export const minorUnits = minorUnitsOf(/^-?\d{1,40}$/, "must be an integer number of minor units");

/** Minor units as a bigint or a digit string that fits a BIGINT column. */
export const unsignedMinorUnits = minorUnitsOf(/^\d{1,19}$/, "must be a whole number of minor units");

/** A calendar date, YYYY-MM-DD. */
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD");
