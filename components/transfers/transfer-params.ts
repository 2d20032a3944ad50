/**
 * The transfers list keeps all its state in the URL: filters, sort, page size and the keyset
 * cursor are search params, so a view can be linked to, saved as a preset and walked back with
 * the browser's back button. This module turns raw search params into a typed view, the view into
 * the transfers.list input (amounts parsed exactly by the currency's exponent, never through a JS
 * number), and a view back into an href.
 */
import { parseAmount } from "../../server/money/amount";
import { isCurrencyCode } from "../../server/money/currencies";
import { TRANSFER_STATES } from "../../server/transfers/state-machine";
import { RAILS } from "../../server/transfers/types";
import { parseUtcInput } from "../audit/audit-filters";
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";
import type { RouterInputs } from "../kit/api-types";

export type RawParams = RawSearchParams;

export const TRANSFER_SORT_OPTIONS = [
  { value: "created_desc", label: "Newest first" },
  { value: "created_asc", label: "Oldest first" },
  { value: "amount_desc", label: "Largest amount first" },
  { value: "amount_asc", label: "Smallest amount first" },
] as const;
export type TransferSortKey = (typeof TRANSFER_SORT_OPTIONS)[number]["value"];
const SORT_KEYS = TRANSFER_SORT_OPTIONS.map((s) => s.value);
export const DEFAULT_SORT: TransferSortKey = "created_desc";

export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE: (typeof PAGE_SIZES)[number] = 50;

/** Created-at windows relative to now; "today" starts at 00:00 UTC; "custom" uses from/to. */
export const AGE_OPTIONS = [
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "today", label: "Today (UTC)", ms: null },
  { value: "custom", label: "Custom range", ms: null },
] as const;
export type AgeKey = (typeof AGE_OPTIONS)[number]["value"];
const AGE_KEYS = AGE_OPTIONS.map((a) => a.value);

/**
 * The list's search params (components/kit/url-state.ts), in the order they appear in a URL.
 * Amounts (`min`, `max`) stay as typed, in major units of `currency` ("12.50"), until toListInput
 * parses them exactly; `from`/`to` are the custom range bounds as typed (UTC), used when `age` is
 * "custom" or unset.
 */
export const transferListState = defineUrlState("/transfers", {
  states: param.many(TRANSFER_STATES, { key: "state" }),
  rail: param.oneOf(RAILS),
  partner: param.text({ max: 50, pattern: /^[a-z0-9_-]+$/i }),
  currency: param.text({ pattern: /^[A-Z]{3}$/, transform: (s) => s.toUpperCase() }),
  min: param.text({ max: 45 }),
  max: param.text({ max: 45 }),
  age: param.oneOf(AGE_KEYS),
  from: param.text({ max: 40 }),
  to: param.text({ max: 40 }),
  isStuck: param.flag({ key: "stuck" }),
  /** Only transfers waiting for an operator's decision. */
  needsAttention: param.flag({ key: "attention" }),
  q: param.text(),
  sort: param.withDefault(param.oneOf(SORT_KEYS), DEFAULT_SORT),
  limit: param.withDefault(param.int(PAGE_SIZES), DEFAULT_PAGE_SIZE),
  cursor: param.cursor({ pattern: /^[A-Za-z0-9_-]+$/ }),
});

export type TransferListView = UrlState<typeof transferListState.params>;

/** Known params only; unknown values are dropped rather than guessed at. */
export function readTransferListView(raw: RawParams): TransferListView {
  return transferListState.read(raw);
}

/** True when anything narrows the list (sort, page size and cursor do not). */
export function hasListFilters(v: TransferListView): boolean {
  return v.states.length > 0 || v.isStuck || v.needsAttention === true || Boolean(v.rail || v.partner || v.currency || v.min || v.max || v.age || v.from || v.to || v.q);
}

/** transfers.list's input, as the router declares it (bigint amounts, Date bounds). */
export type TransferListInput = RouterInputs["transfers"]["list"];

function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/**
 * The transfers.list input for a view, or an error naming the field to fix. Amounts are exact:
 * "12.505" EUR is refused (EUR has two decimals), never rounded; an amount needs a currency,
 * because the same digits mean different sums in JPY (no decimals) and BHD (three).
 */
export function toListInput(v: TransferListView, now: Date): { input: TransferListInput; error: null } | { input: null; error: string } {
  const input: TransferListInput = { sort: v.sort, limit: v.limit };
  if (v.states.length) input.states = v.states;
  if (v.rail) input.rail = v.rail;
  if (v.partner) input.partner = v.partner;
  if (v.currency) {
    if (!isCurrencyCode(v.currency)) return { input: null, error: `${v.currency} is not a currency this console knows` };
    input.currency = v.currency;
  }
  for (const [key, label] of [["min", "Minimum amount"], ["max", "Maximum amount"]] as const) {
    const raw = v[key];
    if (!raw) continue;
    if (!input.currency) return { input: null, error: `${label} needs a currency: choose one, because amounts are exact in the currency's own decimals` };
    let minor: bigint;
    try {
      minor = parseAmount(raw.replaceAll(",", ""), input.currency);
    } catch (e) {
      return { input: null, error: `${label}: ${e instanceof Error ? e.message : "not an amount"}` };
    }
    if (key === "min") input.amountMinMinor = minor;
    else input.amountMaxMinor = minor;
  }
  if (input.amountMinMinor !== undefined && input.amountMaxMinor !== undefined && input.amountMinMinor > input.amountMaxMinor) {
    return { input: null, error: "Minimum amount is greater than maximum amount" };
  }
  const age = AGE_OPTIONS.find((a) => a.value === v.age);
  if (age?.ms) input.createdFrom = new Date(now.getTime() - age.ms);
  else if (age?.value === "today") input.createdFrom = startOfUtcDay(now);
  else {
    for (const key of ["from", "to"] as const) {
      const raw = v[key];
      if (!raw) continue;
      const d = parseUtcInput(raw);
      if (!d) return { input: null, error: `"${raw}" is not a valid ${key === "from" ? "Created from" : "Created to"} time; use a date and time in UTC, like 2026-11-21T08:00` };
      if (key === "from") input.createdFrom = d;
      else input.createdTo = d;
    }
    if (input.createdFrom && input.createdTo && input.createdFrom >= input.createdTo) return { input: null, error: "Created from must be before Created to" };
  }
  if (v.isStuck) input.isStuck = true;
  if (v.needsAttention) input.needsAttention = true;
  if (v.q) input.q = v.q;
  if (v.cursor) input.cursor = v.cursor;
  return { input, error: null };
}

/** The search params of a view, in a stable order, dropping defaults and empty values (from/to only for a custom range). */
export function transferListQuery(v: Partial<TransferListView>): string {
  const isCustomRange = !v.age || v.age === "custom";
  return transferListState.query(isCustomRange ? v : { ...v, from: undefined, to: undefined });
}

export function transfersHref(v: Partial<TransferListView>): string {
  const s = transferListQuery(v);
  return s ? `/transfers?${s}` : "/transfers";
}

/**
 * Saved filters: named URL presets. Each is just a link, so it can be bookmarked, shared and
 * combined with the form afterwards.
 */
export const TRANSFER_PRESETS: readonly { key: string; label: string; description: string; view: Partial<TransferListView> }[] = [
  { key: "stuck", label: "Stuck", description: "Over their state's time budget or waiting for an operator, oldest first", view: { isStuck: true, sort: "created_asc" } },
  {
    key: "needs-attention",
    label: "Needs attention",
    description: "Waiting for an operator's decision (for example an outcome the partner could not confirm), oldest first",
    view: { needsAttention: true, sort: "created_asc" },
  },
  { key: "failed-today", label: "Failed today", description: "Failed transfers created since 00:00 UTC", view: { states: ["failed"], age: "today" } },
  { key: "in-flight", label: "In flight", description: "At the partner, not yet settled", view: { states: ["submitted", "acknowledged"] } },
];

/** The preset a view is exactly equal to, if any (for aria-current on the preset links). */
export function matchingPreset(v: TransferListView): string | null {
  const { cursor: _cursor, ...rest } = v;
  const current = transferListQuery({ ...rest, limit: DEFAULT_PAGE_SIZE });
  for (const p of TRANSFER_PRESETS) if (transferListQuery(p.view) === current) return p.key;
  return null;
}
