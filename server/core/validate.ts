/**
 * Small validation rules shared by every domain. Errors are BAD_INPUT naming what was wrong.
 */
import { AppError } from "../errors/app-error";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The id, lower-cased; BAD_INPUT naming `what` when it is not a UUID. */
export function assertUuid(value: unknown, what: string): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new AppError("BAD_INPUT", `${what} must be a UUID, got ${JSON.stringify(value)}`, { details: { field: what } });
  return value.toLowerCase();
}

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}
