/**
 * How the write path explains a failed attempt to its caller: a replay's stored result, the
 * retryable IDEMPOTENCY_IN_PROGRESS, or the domain error for a database refusal.
 */
import type pg from "pg";
import { AppError, type ErrorCode } from "../errors/app-error";
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

/**
 * The SQLSTATEs the ledger's triggers raise (migrations), each with the domain error it means; the
 * trigger's message is kept. RC001 is the reconciliation period lock (postings_check_closed_period).
 */
const TRIGGER_ERRORS: ReadonlyMap<string, ErrorCode> = new Map([
  ["LG001", "CURRENCY_MISMATCH"],
  ["LG002", "ACCOUNT_FROZEN"],
  ["LG004", "UNBALANCED"],
  ["LG005", "CANNOT_REVERSE_REVERSAL"],
  ["LG007", "HOLD_NOT_PENDING"],
  ["RC001", "PERIOD_CLOSED"],
]);

/** Maps the ledger migration's SQLSTATEs and CHECK names to domain errors. */
export function mapDbRuleError(e: unknown): AppError | null {
  if (e instanceof AppError) return e;
  const code = pgCode(e);
  const triggerError = code === undefined ? undefined : TRIGGER_ERRORS.get(code);
  if (triggerError) return new AppError(triggerError, (e as Error | null)?.message ?? "", { cause: e });
  if (code === "23514" && pgConstraint(e) === "account_balances_no_overdraft") return new AppError("INSUFFICIENT_FUNDS", "a no-overdraft account would go negative", { cause: e });
  if (code === "22003") return new AppError("INVALID_AMOUNT", "an amount or balance would exceed the BIGINT range", { cause: e });
  return null;
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

