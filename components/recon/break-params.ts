/**
 * The breaks queue keeps its state in the URL (components/kit/url-state.ts; the definition is
 * server/recon/break-list-view.ts, which saved views share): filters, sort, page size and the keyset
 * cursor, so a view can be linked, saved (a preset, or a person's saved view) and walked back. Amounts
 * typed as decimals are parsed exactly with the chosen currency's exponent (server/money).
 */
import type { BREAK_TYPES } from "../../server/recon/break-kinds";
import { parseAmount } from "../../server/money/amount";
import { isCurrencyCode } from "../../server/money/currencies";
import { BREAK_PAGE_SIZES, breakListState, type BreakListView } from "../../server/recon/break-list-view";
import type { RawSearchParams } from "../kit/url-state";
import type { RouterInputs } from "../kit/api-types";

export const BREAK_TYPE_LABEL: Record<(typeof BREAK_TYPES)[number], string> = {
  missing_in_ledger: "Missing in ledger",
  missing_in_statement: "Missing in statement",
  amount_mismatch: "Amount mismatch",
  currency_mismatch: "Currency mismatch",
  duplicate: "Duplicate",
  statement_gap: "Statement gap",
  balance_mismatch: "Balance mismatch",
};

export const BREAK_SORT_OPTIONS = [
  { value: "oldest", label: "Oldest first" },
  { value: "newest", label: "Newest first" },
  { value: "amount_desc", label: "Largest amount first" },
] as const;

export { breakListState, type BreakListView };

export const PAGE_SIZES = BREAK_PAGE_SIZES;

export function readBreakListView(raw: RawSearchParams): BreakListView {
  return breakListState.read(raw);
}

export function breaksHref(view: Partial<BreakListView>): string {
  return breakListState.href(view);
}

export function hasBreakFilters(v: BreakListView): boolean {
  return v.types.length > 0 || v.statuses.join(",") !== "open,timing" || Boolean(v.age || v.source || v.currency || v.min || v.max || v.assignee);
}

/** Saved filters: presets of the queue. */
export const BREAK_PRESETS: { key: string; label: string; description: string; view: Partial<BreakListView> }[] = [
  { key: "mine", label: "Mine", description: "Open breaks assigned to me", view: { assignee: "me" } },
  { key: "unassigned", label: "Unassigned", description: "Open breaks nobody has taken", view: { assignee: "unassigned" } },
  { key: "old", label: "Over 7 days", description: "Open breaks older than a week", view: { age: "8+" } },
  { key: "amounts", label: "Amount mismatches", description: "The bank and the ledger disagree on an amount", view: { types: ["amount_mismatch"] } },
  { key: "timing", label: "Timing differences", description: "Accepted as timing differences, waiting for their counterpart", view: { statuses: ["timing"] } },
  { key: "resolved", label: "Resolved", description: "Closed breaks, newest first", view: { statuses: ["resolved"], sort: "newest" } },
];

export function matchingPreset(v: BreakListView): string | null {
  const { cursor: _c, limit: _l, ...rest } = v;
  for (const p of BREAK_PRESETS) {
    const { cursor: _pc, limit: _pl, ...target } = breakListState.read(Object.fromEntries(new URLSearchParams(breakListState.query(p.view))));
    if (breakListState.query(rest) === breakListState.query(target)) return p.key;
  }
  return null;
}

/** recon.breaks.list's input for a view (amounts exact in the chosen currency), or the reason it has none. */
export function toBreakListInput(v: BreakListView, userId: string | null): { input: RouterInputs["recon"]["breaks"]["list"] | null; error: string | null } {
  const input: RouterInputs["recon"]["breaks"]["list"] = { sort: v.sort, limit: v.limit };
  if (v.types.length) input.types = v.types;
  if (v.statuses.length) input.statuses = v.statuses;
  if (v.age) input.ageBucket = v.age;
  if (v.source) input.sourceId = v.source;
  if (v.currency) input.currency = v.currency;
  if (v.assignee === "me") {
    if (!userId) return { input: null, error: "a service key has no breaks of its own" };
    input.assignee = userId;
  } else if (v.assignee) input.assignee = v.assignee;
  if (v.min || v.max) {
    if (!v.currency || !isCurrencyCode(v.currency)) return { input: null, error: "choose a currency to filter by amount (amounts are exact in its decimals)" };
    try {
      if (v.min) input.amountMinMinor = parseAmount(v.min, v.currency);
      if (v.max) input.amountMaxMinor = parseAmount(v.max, v.currency);
    } catch (e) {
      return { input: null, error: (e as Error).message };
    }
  }
  if (v.cursor) input.cursor = v.cursor;
  return { input, error: null };
}
