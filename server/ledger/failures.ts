/**
 * How the write path explains a failed attempt to its caller: a replay's stored result, the
 * retryable IDEMPOTENCY_IN_PROGRESS, or the domain error for a database refusal.
 */
import type pg from "pg";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { answerFromStored, findStored, inProgressError } from "./idempotency";
import type { LedgerCommand, LedgerResult } from "./types";

export const pgCode = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
};
export const pgConstraint = (e: unknown): string | undefined => {
  const c = (e as { constraint?: unknown } | null)?.constraint;
  return typeof c === "string" ? c : undefined;
};

/** Marker returned by explainFailure so the caller gets a value, not an error. */
export class ReplayResult {
  constructor(readonly result: LedgerResult) {}
}

/**
 * Turns a failed attempt into the error the caller sees. An earlier request with the same key
 * takes precedence over any state-dependent error (its stored result, or IDEMPOTENCY_CONFLICT).
 */
export async function explainFailure(pool: pg.Pool, command: LedgerCommand, idempotencyKey: string, requestHash: string, e: unknown): Promise<unknown> {
  const conn = toAppError(e);
  if (conn?.code === "DB_UNAVAILABLE") return conn;
  // The attempt held the key's claim, so whatever else served this key has finished by now.
  let stored;
  try {
    stored = await findStored(pool, idempotencyKey);
  } catch (lookupErr) {
    return toAppError(lookupErr) ?? lookupErr;
  }
  if (stored) {
    try {
      return new ReplayResult(answerFromStored(stored, requestHash));
    } catch (conflict) {
      return conflict;
    }
  }
  const code = pgCode(e);
  const constraint = pgConstraint(e);
  if (code === "LG010") return inProgressError(idempotencyKey, e);
  if (code === "23505") {
    if (constraint === "journal_entries_reverses_entry_id_key") {
      const id = command.type === "reverse_entry" ? command.entryId : "the entry";
      return new AppError("ALREADY_REVERSED", `entry ${id} was already reversed`);
    }
    if (constraint === "journal_entries_idempotency_key_key" || constraint === "holds_idempotency_key_key" || constraint === "idempotency_records_pkey") {
      return new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${idempotencyKey} was already used (its stored result has been pruned)`, {
        details: { idempotencyKey: idempotencyKey },
      });
    }
  }
  return mapDbRuleError(e) ?? e;
}

/** Maps the ledger migration's SQLSTATEs and CHECK names to domain errors. */
export function mapDbRuleError(e: unknown): AppError | null {
  if (e instanceof AppError) return e;
  const msg = (e as Error | null)?.message ?? "";
  switch (pgCode(e)) {
    case "LG001":
      return new AppError("CURRENCY_MISMATCH", msg, { cause: e });
    case "LG002":
      return new AppError("ACCOUNT_FROZEN", msg, { cause: e });
    case "LG004":
      return new AppError("UNBALANCED", msg, { cause: e });
    case "LG005":
      return new AppError("CANNOT_REVERSE_REVERSAL", msg, { cause: e });
    case "LG007":
      return new AppError("HOLD_NOT_PENDING", msg, { cause: e });
    case "RC001":
      // The reconciliation period lock (trigger postings_check_closed_period).
      return new AppError("PERIOD_CLOSED", msg, { cause: e });
    case "23514":
      if (pgConstraint(e) === "account_balances_no_overdraft") return new AppError("INSUFFICIENT_FUNDS", "a no-overdraft account would go negative", { cause: e });
      return null;
    case "22003":
      return new AppError("INVALID_AMOUNT", "an amount or balance would exceed the BIGINT range", { cause: e });
    default:
      return null;
  }
}

/** IDEMPOTENCY_CONFLICT for a system key already used by another entry or hold (from the 23505). */
export function internalKeyConflict(e: unknown): AppError {
  const detail = (e as { detail?: unknown }).detail;
  const key = typeof detail === "string" ? (/=\((.*)\) already exists/.exec(detail)?.[1] ?? "unknown") : "unknown";
  return new AppError("IDEMPOTENCY_CONFLICT", `internal idempotency conflict: ledger key ${key} is already used by another entry or hold`, {
    cause: e,
    details: { idempotencyKey: key, isInternal: true },
  });
}

