/**
 * The reason rules: every human action that changes something says why, in a sentence a later
 * reader can act on. One function for every domain (admin, outbox, approvals, transfers,
 * webhooks), with the length each one allows.
 */
import { AppError } from "../errors/app-error";
import { badTextReason } from "./text";

export const REASON_MAX_LENGTH = 500;

/**
 * The trimmed reason, or BAD_INPUT naming `field` when it is missing, shorter than `min`, longer
 * than `max` (default 1 to 500 characters) or holds characters that cannot be stored.
 */
export function checkReason(reason: unknown, opts: { field?: string; what?: string; min?: number; max?: number } = {}): string {
  const { field = "reason", what = "reason", min = 1, max = REASON_MAX_LENGTH } = opts;
  const r = typeof reason === "string" ? reason.trim() : "";
  if (r.length === 0 && min > 0) throw new AppError("BAD_INPUT", `${what} is required`, { details: { field } });
  if (r.length < min || r.length > max) throw new AppError("BAD_INPUT", `${what} must be ${min} to ${max} characters`, { details: { field } });
  const bad = badTextReason(r);
  if (bad) throw new AppError("BAD_INPUT", `${what} ${bad}`, { details: { field } });
  return r;
}

/** For an action where a reason is optional: null when none (or only blanks) is given, else as checkReason. */
export function checkOptionalReason(reason: string | null | undefined, opts: Parameters<typeof checkReason>[1] = {}): string | null {
  return reason !== undefined && reason !== null && reason.trim().length > 0 ? checkReason(reason, opts) : null;
}
