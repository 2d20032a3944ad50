/**
 * The breaks queue keeps its state in the URL (components/kit/url-state.ts): filters, sort, page
 * size and the keyset cursor, so a view can be linked, saved as a preset and walked back. Amounts
 * typed as decimals are parsed exactly with the chosen currency's exponent (server/money).
 */
import { AGE_BUCKETS, BREAK_SORTS, BREAK_STATUSES, BREAK_TYPES } from "../../server/recon/break-kinds";
import { parseAmount } from "../../server/money/amount";
import { isCurrencyCode } from "../../server/money/currencies";
import { defineUrlState, param, type RawSearchParams, type UrlParamWithDefault, type UrlState } from "../kit/url-state";
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

export const PAGE_SIZES = [25, 50, 100, 200] as const;

type BreakStatusValue = (typeof BREAK_STATUSES)[number];

/** Statuses: any of the three, in their fixed order; open and timing differences when none is given. */
const statusesParam: UrlParamWithDefault<BreakStatusValue[]> = {
  key: "status",
  parse(values) {
    const picked = new Set(values.flatMap((v) => v.split(",")).map((v) => v.trim()));
    const statuses = BREAK_STATUSES.filter((s) => picked.has(s));
    return statuses.length > 0 ? statuses : undefined;
  },
  format: (v) => [...v],
  default: ["open", "timing"],
};

export const breakListState = defineUrlState("/breaks", {
  types: param.many(BREAK_TYPES, { key: "type" }),
  statuses: statusesParam,
  age: param.oneOf(AGE_BUCKETS),
  source: param.text({ pattern: /^[0-9a-f-]{36}$/ }),
  currency: param.text({ pattern: /^[A-Z]{3}$/, transform: (s) => s.toUpperCase() }),
  min: param.text({ max: 45 }),
  max: param.text({ max: 45 }),
  /** "me", "unassigned" or a user id. */
  assignee: param.text({ pattern: /^(me|unassigned|[0-9a-f-]{36})$/ }),
  sort: param.withDefault(param.oneOf(BREAK_SORTS), "oldest" as (typeof BREAK_SORTS)[number]),
  limit: param.withDefault(param.int(PAGE_SIZES), 50 as (typeof PAGE_SIZES)[number]),
  cursor: param.cursor({ pattern: /^[A-Za-z0-9_-]+$/ }),
});

export type BreakListView = UrlState<typeof breakListState.params>;

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
