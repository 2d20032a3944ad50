/**
 * The transfers list keeps all its state in the URL: filters, sort, page size and the keyset
 * cursor are search params, so a view can be linked to, saved as a preset and walked back with
 * the browser's back button. This module turns raw search params into a typed view, the view into
 * the transfers.list input (amounts parsed exactly by the currency's exponent, never through a JS
 * number), and a view back into an href.
 */
import { parseAmount } from "../../server/money/amount";
import { isCurrencyCode } from "../../server/money/currencies";
import { TRANSFER_STATES, type TransferState } from "../../server/transfers/state-machine";
import { RAILS, type RailId } from "../../server/transfers/types";
import { parseUtcInput } from "../audit/audit-filters";

export type RawParams = Record<string, string | string[] | undefined>;

export const TRANSFER_SORT_OPTIONS = [
  { value: "created_desc", label: "Newest first" },
  { value: "created_asc", label: "Oldest first" },
  { value: "amount_desc", label: "Largest amount first" },
  { value: "amount_asc", label: "Smallest amount first" },
] as const;
export type TransferSortKey = (typeof TRANSFER_SORT_OPTIONS)[number]["value"];
const SORT_KEYS: readonly string[] = TRANSFER_SORT_OPTIONS.map((s) => s.value);
export const DEFAULT_SORT: TransferSortKey = "created_desc";

export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

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
const AGE_KEYS: readonly string[] = AGE_OPTIONS.map((a) => a.value);

export interface TransferListView {
  states: TransferState[];
  rail?: RailId;
  partner?: string;
  currency?: string;
  /** Amounts as typed, in major units of `currency` ("12.50"); parsed exactly in toListInput. */
  min?: string;
  max?: string;
  age?: AgeKey;
  /** Custom range bounds as typed (UTC), used when age is "custom" or unset. */
  from?: string;
  to?: string;
  isStuck: boolean;
  /** Only transfers waiting for an operator's decision. */
  needsAttention?: boolean;
  q?: string;
  sort: TransferSortKey;
  limit: number;
  cursor?: string;
}

function all(raw: RawParams, key: string): string[] {
  const v = raw[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
}

function first(raw: RawParams, key: string, max = 200): string | undefined {
  const v = raw[key];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s.slice(0, max) : undefined;
}

/** Known params only; unknown values are dropped rather than guessed at. */
export function readTransferListView(raw: RawParams): TransferListView {
  // In the state machine's order, so the same selection always gives the same URL.
  const picked = new Set(all(raw, "state"));
  const states = TRANSFER_STATES.filter((s) => picked.has(s));
  const view: TransferListView = { states, isStuck: first(raw, "stuck") === "1", sort: DEFAULT_SORT, limit: DEFAULT_PAGE_SIZE };
  if (first(raw, "attention") === "1") view.needsAttention = true;
  const rail = first(raw, "rail");
  if (rail && (RAILS as readonly string[]).includes(rail)) view.rail = rail as RailId;
  const partner = first(raw, "partner", 50);
  if (partner && /^[a-z0-9_-]+$/i.test(partner)) view.partner = partner;
  const currency = first(raw, "currency")?.toUpperCase();
  if (currency && /^[A-Z]{3}$/.test(currency)) view.currency = currency;
  const min = first(raw, "min", 45);
  if (min) view.min = min;
  const max = first(raw, "max", 45);
  if (max) view.max = max;
  const age = first(raw, "age");
  if (age && AGE_KEYS.includes(age)) view.age = age as AgeKey;
  const from = first(raw, "from", 40);
  if (from) view.from = from;
  const to = first(raw, "to", 40);
  if (to) view.to = to;
  const q = first(raw, "q");
  if (q) view.q = q;
  const sort = first(raw, "sort");
  if (sort && SORT_KEYS.includes(sort)) view.sort = sort as TransferSortKey;
  const limit = Number(first(raw, "limit"));
  if ((PAGE_SIZES as readonly number[]).includes(limit)) view.limit = limit;
  const cursor = first(raw, "cursor", 500);
  if (cursor && /^[A-Za-z0-9_-]+$/.test(cursor)) view.cursor = cursor;
  return view;
}

/** True when anything narrows the list (sort, page size and cursor do not). */
export function hasListFilters(v: TransferListView): boolean {
  return v.states.length > 0 || v.isStuck || v.needsAttention === true || Boolean(v.rail || v.partner || v.currency || v.min || v.max || v.age || v.from || v.to || v.q);
}

export interface TransferListInput {
  states?: TransferState[];
  rail?: RailId;
  partner?: string;
  currency?: string;
  amountMinMinor?: bigint;
  amountMaxMinor?: bigint;
  createdFrom?: Date;
  createdTo?: Date;
  isStuck?: boolean;
  needsAttention?: boolean;
  q?: string;
  sort: TransferSortKey;
  cursor?: string;
  limit: number;
}

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

/** The search params of a view, in a stable order, dropping defaults and empty values. */
export function transferListQuery(v: Partial<TransferListView>): string {
  const q = new URLSearchParams();
  for (const s of v.states ?? []) q.append("state", s);
  if (v.rail) q.set("rail", v.rail);
  if (v.partner) q.set("partner", v.partner);
  if (v.currency) q.set("currency", v.currency);
  if (v.min) q.set("min", v.min);
  if (v.max) q.set("max", v.max);
  if (v.age) q.set("age", v.age);
  if (v.from && (!v.age || v.age === "custom")) q.set("from", v.from);
  if (v.to && (!v.age || v.age === "custom")) q.set("to", v.to);
  if (v.isStuck) q.set("stuck", "1");
  if (v.needsAttention) q.set("attention", "1");
  if (v.q) q.set("q", v.q);
  if (v.sort && v.sort !== DEFAULT_SORT) q.set("sort", v.sort);
  if (v.limit && v.limit !== DEFAULT_PAGE_SIZE) q.set("limit", String(v.limit));
  if (v.cursor) q.set("cursor", v.cursor);
  return q.toString();
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
