/**
 * Maps driver and database failures to domain errors so callers see typed, retryable errors
 * during an outage instead of raw driver messages.
 */
import { AppError } from "./app-error";

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

export function isConnectionError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = codeOf(cur);
    if (code && CONNECTION_CODES.has(code)) return true;
    const msg = (cur as Error).message ?? "";
    if (/timeout exceeded when trying to connect|Connection terminated|connection.*closed|Can't reach database|server closed the connection/i.test(msg)) return true;
  }
  return false;
}

/** An AppError for `e` if it is one or a recognisable database outage; otherwise null. */
export function toAppError(e: unknown): AppError | null {
  if (e instanceof AppError) return e;
  if (isConnectionError(e)) return new AppError("DB_UNAVAILABLE", "the database is unavailable; retry with the same idempotency key", { cause: e, isRetryable: true });
  // The reconciliation period lock (trigger postings_check_closed_period) refuses postings into a
  // closed period, whatever path wrote them.
  if (codeOf(e) === "RC001") return new AppError("PERIOD_CLOSED", (e as Error).message, { cause: e });
  return null;
}
