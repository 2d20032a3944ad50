/**
 * The one domain error type. Domain code throws AppError with a string code; the transport layer
 * (server/api) maps codes to tRPC/HTTP codes through ERROR_CODE_HTTP below and nowhere else.
 * Messages name what was wrong and with what ("account ops:fees:EUR is frozen").
 */

export const ERROR_CODE_HTTP = {
  BAD_INPUT: "BAD_REQUEST",
  UNAUTHENTICATED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  IDEMPOTENCY_CONFLICT: "CONFLICT",
  IDEMPOTENCY_IN_PROGRESS: "CONFLICT",
  VERSION_CONFLICT: "CONFLICT",
  INSUFFICIENT_FUNDS: "UNPROCESSABLE_CONTENT",
  ACCOUNT_FROZEN: "UNPROCESSABLE_CONTENT",
  CURRENCY_MISMATCH: "BAD_REQUEST",
  UNBALANCED: "BAD_REQUEST",
  INVALID_AMOUNT: "BAD_REQUEST",
  UNKNOWN_CURRENCY: "BAD_REQUEST",
  HOLD_NOT_PENDING: "UNPROCESSABLE_CONTENT",
  HOLD_EXPIRED: "UNPROCESSABLE_CONTENT",
  ALREADY_REVERSED: "UNPROCESSABLE_CONTENT",
  CANNOT_REVERSE_REVERSAL: "UNPROCESSABLE_CONTENT",
  BATCH_ITEM_FAILED: "UNPROCESSABLE_CONTENT",
  ILLEGAL_TRANSITION: "UNPROCESSABLE_CONTENT",
  SELF_APPROVAL: "FORBIDDEN",
  ALREADY_APPROVED: "CONFLICT",
  PROPOSAL_NOT_OPEN: "CONFLICT",
  PROPOSAL_EXPIRED: "UNPROCESSABLE_CONTENT",
  STEP_UP_REQUIRED: "PRECONDITION_FAILED",
  STEP_UP_INVALID: "FORBIDDEN",
  STEP_UP_LOCKED: "FORBIDDEN",
  PARTNER_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  PARTNER_RESPONSE_INVALID: "BAD_GATEWAY",
  RATE_LIMITED: "TOO_MANY_REQUESTS",
  OVERLOADED: "SERVICE_UNAVAILABLE",
  // Pricing (server/pricing).
  INVALID_RATE: "BAD_REQUEST",
  INVALID_RATES_FILE: "BAD_REQUEST",
  INVALID_FEE_SCHEDULE: "BAD_REQUEST",
  FEE_RULE_NOT_FOUND: "UNPROCESSABLE_CONTENT",
  RATE_NOT_FOUND: "UNPROCESSABLE_CONTENT",
  RATE_STALE: "UNPROCESSABLE_CONTENT",
  QUOTE_NOT_FOUND: "NOT_FOUND",
  QUOTE_EXPIRED: "UNPROCESSABLE_CONTENT",
  QUOTE_USED: "CONFLICT",
  QUOTE_MISMATCH: "UNPROCESSABLE_CONTENT",
  DB_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  STATEMENT_INVALID: "BAD_REQUEST",
  STATEMENT_VERSION_UNSUPPORTED: "BAD_REQUEST",
  STATEMENT_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  STATEMENT_UNKNOWN_ACCOUNT: "UNPROCESSABLE_CONTENT",
  STATEMENT_UNBALANCED: "UNPROCESSABLE_CONTENT",
  PERIOD_CLOSED: "UNPROCESSABLE_CONTENT",
  // A per-person cap (saved views per list): delete something first.
  LIMIT_REACHED: "UNPROCESSABLE_CONTENT",
  INTERNAL: "INTERNAL_SERVER_ERROR",
} as const;

export type ErrorCode = keyof typeof ERROR_CODE_HTTP;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** Whether the same request may succeed if retried later (outages, timeouts). */
  readonly isRetryable: boolean;

  constructor(code: ErrorCode, message: string, opts: { details?: Record<string, unknown>; cause?: unknown; isRetryable?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.details = opts.details;
    this.isRetryable = opts.isRetryable ?? (code === "DB_UNAVAILABLE" || code === "IDEMPOTENCY_IN_PROGRESS" || code === "OVERLOADED");
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
