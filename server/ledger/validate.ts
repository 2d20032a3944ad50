/**
 * Pure validation of ledger commands: shape, currency, amounts and balance. No database access, so
 * it runs before anything else and gives the same answer on every attempt and every replay.
 * Checks, in order, for each item: BAD_INPUT, UNKNOWN_CURRENCY, INVALID_AMOUNT, UNBALANCED.
 */
import { AppError } from "../errors/app-error";
import { currencyExponent } from "../money/currencies";
import { MAX_MINOR_UNITS } from "../money/amount";
import type { EntryInput, LedgerCommand, LedgerItem, PostingInput } from "./types";
import { assertIdempotencyKey } from "../core/idempotency";
import { assertCleanText, findBadText } from "../core/text";

import { assertUuid } from "../core/validate";

export { assertIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH } from "../core/idempotency";

export const MAX_POSTINGS_PER_ENTRY = 100;
export const MAX_BATCH_ITEMS = 5_000;
export const MAX_DESCRIPTION_LENGTH = 500;

const ITEM_TYPES = new Set(["post_entry", "transfer", "place_hold", "post_hold", "void_hold", "expire_hold", "reverse_entry"]);

function bad(message: string, details?: Record<string, unknown>): AppError {
  return new AppError("BAD_INPUT", message, { details });
}


/** One rule for transfers, entries and holds: money does not move from an account to itself. */
function sameAccount(what: string, accountId: string): AppError {
  return bad(`${what} cannot debit and credit the same account ${accountId}`, { accountId });
}

function assertTwoAccounts(what: string, debitAccountId: string, creditAccountId: string): void {
  if (debitAccountId.toLowerCase() === creditAccountId.toLowerCase()) throw sameAccount(what, debitAccountId.toLowerCase());
}

function checkDescription(d: unknown): void {
  if (d === undefined) return;
  if (typeof d !== "string" || d.length > MAX_DESCRIPTION_LENGTH) throw bad(`description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  assertCleanText(d, "description");
}

function checkDate(d: unknown, what: string, isRequired: boolean): void {
  if (d === undefined && !isRequired) return;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw bad(`${what} must be a valid date`);
}

function checkMetadata(m: unknown): void {
  if (m === undefined) return;
  if (m === null || typeof m !== "object" || Array.isArray(m)) throw bad("metadata must be an object");
  const badText = findBadText(m, "metadata");
  if (badText) throw bad(`${badText.path} ${badText.reason}`, { field: badText.path });
  if (JSON.stringify(m, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)).length > 8_000) throw bad("metadata must be at most 8000 characters of JSON");
}

function checkAmount(amount: unknown, what: string): void {
  if (typeof amount !== "bigint") throw new AppError("INVALID_AMOUNT", `${what} must be an integer number of minor units (bigint), got ${typeof amount}`);
  if (amount <= 0n) throw new AppError("INVALID_AMOUNT", `${what} ${amount} must be positive`, { details: { value: amount.toString() } });
  if (amount > MAX_MINOR_UNITS) throw new AppError("INVALID_AMOUNT", `${what} ${amount} exceeds the maximum ${MAX_MINOR_UNITS}`, { details: { value: amount.toString() } });
}

function checkEntry(entry: EntryInput): void {
  // Phase 1: shape.
  if (!entry || !Array.isArray(entry.postings)) throw bad("entry.postings must be an array");
  if (entry.postings.length > MAX_POSTINGS_PER_ENTRY) throw bad(`an entry has at most ${MAX_POSTINGS_PER_ENTRY} postings, got ${entry.postings.length}`);
  checkDescription(entry.description);
  checkDate(entry.effectiveAt, "effectiveAt", false);
  checkMetadata(entry.metadata);
  entry.postings.forEach((p: PostingInput, i) => {
    if (!p || typeof p !== "object") throw bad(`postings[${i}] must be an object`);
    assertUuid(p.accountId, `postings[${i}].accountId`);
    if (p.side !== "debit" && p.side !== "credit") throw bad(`postings[${i}].side must be "debit" or "credit", got ${JSON.stringify(p.side)}`);
    if (typeof p.currency !== "string") throw bad(`postings[${i}].currency must be a string`);
  });
  const sidesOf = new Map<string, Set<string>>();
  for (const p of entry.postings) {
    const id = p.accountId.toLowerCase();
    const sides = sidesOf.get(id) ?? new Set<string>();
    sides.add(p.side);
    sidesOf.set(id, sides);
    if (sides.size > 1) throw sameAccount("an entry", id);
  }
  // Phase 2: currencies; phase 3: amounts; phase 4: balance.
  for (const p of entry.postings) currencyExponent(p.currency);
  entry.postings.forEach((p, i) => checkAmount(p.amountMinor, `postings[${i}].amountMinor`));
  if (entry.postings.length < 2) throw new AppError("UNBALANCED", `an entry needs at least two postings, got ${entry.postings.length}`);
  const sums = new Map<string, bigint>();
  for (const p of entry.postings) sums.set(p.currency, (sums.get(p.currency) ?? 0n) + (p.side === "debit" ? p.amountMinor : -p.amountMinor));
  for (const [currency, sum] of sums) {
    if (sum !== 0n) {
      const debits = entry.postings.filter((p) => p.currency === currency && p.side === "debit").reduce((a, p) => a + p.amountMinor, 0n);
      throw new AppError("UNBALANCED", `entry does not balance in ${currency}: debits ${debits} <> credits ${debits - sum}`, {
        details: { currency, debitsMinor: debits.toString(), creditsMinor: (debits - sum).toString() },
      });
    }
  }
}

/** Validates one item; throws the first failing check's AppError. */
export function validateItem(item: LedgerItem): void {
  if (!item || typeof item !== "object" || !ITEM_TYPES.has((item as { type: string }).type)) {
    throw bad(`unknown ledger command type ${JSON.stringify((item as { type?: unknown } | null)?.type)}`);
  }
  switch (item.type) {
    case "post_entry":
      return checkEntry(item.entry);
    case "transfer": {
      assertUuid(item.debitAccountId, "debitAccountId");
      assertUuid(item.creditAccountId, "creditAccountId");
      assertTwoAccounts("a transfer", item.debitAccountId, item.creditAccountId);
      checkDescription(item.description);
      checkDate(item.effectiveAt, "effectiveAt", false);
      checkMetadata(item.metadata);
      if (typeof item.currency !== "string") throw bad("currency must be a string");
      currencyExponent(item.currency);
      checkAmount(item.amountMinor, "amountMinor");
      return;
    }
    case "place_hold": {
      if (item.holdId !== undefined) assertUuid(item.holdId, "holdId");
      assertUuid(item.debitAccountId, "debitAccountId");
      assertUuid(item.creditAccountId, "creditAccountId");
      assertTwoAccounts("a hold", item.debitAccountId, item.creditAccountId);
      checkDate(item.expiresAt, "expiresAt", true);
      checkDescription(item.description);
      if (item.reference !== undefined && (typeof item.reference !== "string" || item.reference.length > 200)) throw bad("reference must be a string of at most 200 characters");
      if (item.reference !== undefined) assertCleanText(item.reference, "reference");
      if (typeof item.currency !== "string") throw bad("currency must be a string");
      currencyExponent(item.currency);
      checkAmount(item.amountMinor, "amountMinor");
      return;
    }
    case "post_hold": {
      assertUuid(item.holdId, "holdId");
      checkDescription(item.description);
      checkDate(item.effectiveAt, "effectiveAt", false);
      if (item.amountMinor !== undefined) checkAmount(item.amountMinor, "amountMinor");
      if (item.postings !== undefined) checkEntry({ postings: item.postings });
      return;
    }
    case "void_hold":
    case "expire_hold":
      assertUuid(item.holdId, "holdId");
      return;
    case "reverse_entry":
      assertUuid(item.entryId, "entryId");
      checkDescription(item.description);
      checkDate(item.effectiveAt, "effectiveAt", false);
      return;
  }
}

/** The items of a command (a batch's items, or the command itself). */
export function itemsOf(command: LedgerCommand): LedgerItem[] {
  return command.type === "batch" ? command.items : [command];
}

/** Wraps an item's error in BATCH_ITEM_FAILED when the command is a batch. */
export function itemError(command: LedgerCommand, index: number, e: AppError): AppError {
  if (command.type !== "batch") return e;
  return new AppError("BATCH_ITEM_FAILED", `batch item ${index} failed with ${e.code}: ${e.message}`, {
    cause: e,
    details: { index, code: e.code, message: e.message, ...(e.details ? { itemDetails: e.details } : {}) },
  });
}

export function validateCommand(command: LedgerCommand): void {
  if (!command || typeof command !== "object") throw bad("command must be an object");
  if (command.type === "batch") {
    if (!Array.isArray(command.items) || command.items.length === 0) throw bad("a batch needs at least one item");
    if (command.items.length > MAX_BATCH_ITEMS) throw bad(`a batch has at most ${MAX_BATCH_ITEMS} items, got ${command.items.length}`);
    if (command.itemKeys !== undefined) {
      if (!Array.isArray(command.itemKeys) || command.itemKeys.length !== command.items.length) throw bad("itemKeys must have one key per batch item");
      command.itemKeys.forEach((k) => assertIdempotencyKey(k));
      if (new Set(command.itemKeys).size !== command.itemKeys.length) throw bad("itemKeys must be distinct");
    }
    command.items.forEach((item, i) => {
      if ((item as { type?: string })?.type === "batch") throw itemError(command, i, bad("batches cannot be nested"));
      try {
        validateItem(item);
      } catch (e) {
        throw e instanceof AppError ? itemError(command, i, e) : e;
      }
    });
    return;
  }
  validateItem(command);
}
