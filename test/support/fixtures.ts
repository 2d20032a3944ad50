/**
 * Shared fixtures live beside the repository, in ../shared/fixtures (the same layout in every
 * worktree and in CI's fresh clone), never at an absolute path.
 */
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** The ECB's real reference-rate history (units per 1 EUR, "N/A" where none). */
export const ECB_HISTORY_CSV = path.resolve(REPO_ROOT, "../shared/fixtures/fx/eurofxref-hist.csv");

/**
 * Real camt.053 files (genkgo/camt's test data): each NAME.xml has NAME.expected.json, that
 * parser's own reading (README.md beside them).
 */
export const CAMT053_FIXTURES = path.resolve(REPO_ROOT, "../shared/fixtures/camt053");

/** One entry as genkgo/camt read it: what a parser of ours must agree with. */
export interface GenkgoExpectedEntry {
  statementId: string;
  /** 0-based, within its statement. */
  index: number;
  amountMinor: bigint;
  currency: string;
  direction: "credit" | "debit";
  bookingDate: string | null;
  valueDate: string | null;
}

type Json = null | undefined | string | number | boolean | Json[] | { [k: string]: Json };

/**
 * Every Genkgo Entry in an expected reading (NAME.expected.json, parsed), with its statement id.
 * The dump marks repeated objects as "__RECURSIVITY__", so an entry is found where it is first
 * printed. Throws when an entry's signed amount and its credit/debit indicator disagree (the
 * fixture would be misread).
 */
export function genkgoExpectedEntries(json: unknown): GenkgoExpectedEntry[] {
  const out: GenkgoExpectedEntry[] = [];
  const date = (v: Json): string | null => (v && typeof v === "object" && !Array.isArray(v) ? String(v["0"]).slice(0, 10) : null);
  const walk = (v: Json) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== "object") return;
    if (v["__CLASS__"] === "Genkgo\\Camt\\DTO\\Entry") {
      const amount = v["getAmount"] as { getAmount: string; getCurrency: { getCode: string } };
      const record = v["getRecord"] as { getId: string };
      const signed = BigInt(amount.getAmount);
      if ((signed < 0n) !== (v["getCreditDebitIndicator"] === "DBIT")) {
        throw new Error(`entry ${String(v["getIndex"])} of ${record.getId}: amount ${amount.getAmount} disagrees with indicator ${String(v["getCreditDebitIndicator"])}`);
      }
      out.push({
        statementId: record.getId,
        index: v["getIndex"] as number,
        amountMinor: signed < 0n ? -signed : signed,
        currency: amount.getCurrency.getCode,
        direction: v["getCreditDebitIndicator"] === "CRDT" ? "credit" : "debit",
        bookingDate: date(v["getBookingDate"]),
        valueDate: date(v["getValueDate"]),
      });
    }
    for (const child of Object.values(v)) walk(child);
  };
  walk(json as Json);
  return out;
}
