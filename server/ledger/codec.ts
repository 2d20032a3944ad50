/**
 * Canonical hashing and JSON storage of ledger requests and results. Bigints become decimal
 * strings and dates ISO strings, so a stored result decodes to exactly what the first caller got.
 */
import type { Balance, EntryResult, HoldResult, LedgerResult } from "./types";

export { canonicalize, hashRequest } from "../core/idempotency";

interface StoredEntry {
  entryId: string;
  idempotencyKey: string;
  description: string;
  effectiveAt: string;
  reversesEntryId: string | null;
  postings: { accountId: string; side: "debit" | "credit"; amountMinor: string; currency: string }[];
}

interface StoredHold {
  holdId: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: string;
  amountPostedMinor: string;
  currency: string;
  status: HoldResult["status"];
  expiresAt: string;
  postedEntryId: string | null;
}

export interface StoredResult {
  commandType: LedgerResult["commandType"];
  idempotencyKey: string;
  entries: StoredEntry[];
  holds: StoredHold[];
}

export function encodeEntry(e: EntryResult): StoredEntry {
  return {
    ...e,
    effectiveAt: e.effectiveAt.toISOString(),
    postings: e.postings.map((p) => ({ ...p, amountMinor: p.amountMinor.toString() })),
  };
}

export function encodeHold(h: HoldResult): StoredHold {
  return { ...h, amountMinor: h.amountMinor.toString(), amountPostedMinor: h.amountPostedMinor.toString(), expiresAt: h.expiresAt.toISOString() };
}

export function encodeResult(r: LedgerResult): StoredResult {
  return { commandType: r.commandType, idempotencyKey: r.idempotencyKey, entries: r.entries.map(encodeEntry), holds: r.holds.map(encodeHold) };
}

export function decodeResult(s: StoredResult): LedgerResult {
  return {
    commandType: s.commandType,
    idempotencyKey: s.idempotencyKey,
    entries: s.entries.map((e) => ({
      ...e,
      effectiveAt: new Date(e.effectiveAt),
      postings: e.postings.map((p) => ({ ...p, amountMinor: BigInt(p.amountMinor) })),
    })),
    holds: s.holds.map((h) => ({
      ...h,
      amountMinor: BigInt(h.amountMinor),
      amountPostedMinor: BigInt(h.amountPostedMinor),
      expiresAt: new Date(h.expiresAt),
    })),
    isReplay: true,
    isDryRun: false,
  };
}

export function balanceToJson(b: Balance): Record<string, string | null> {
  return {
    accountId: b.accountId,
    currency: b.currency,
    postedMinor: b.postedMinor.toString(),
    pendingMinor: b.pendingMinor.toString(),
    availableMinor: b.availableMinor.toString(),
    version: b.version === null ? null : b.version.toString(),
  };
}
