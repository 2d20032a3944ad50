/**
 * The ledger pages keep their state in the URL: the accounts list's filters and keyset cursors,
 * and an account page's chart range and postings cursor. Links and the back button work.
 */
import { parseUtcInput } from "../audit/audit-filters";
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";

export type RawParams = RawSearchParams;

const ACCOUNT_TYPES = ["asset", "liability", "equity", "revenue", "expense"] as const;
const ACCOUNT_STATUSES = ["active", "frozen"] as const;
export const ACCOUNTS_PAGE_SIZE = 50;
export const POSTINGS_PAGE_SIZE = 50;

/** The accounts list: filters and a keyset cursor either way (after a code, or before one). */
export const accountListState = defineUrlState("/accounts", {
  currency: param.text({ pattern: /^[A-Z]{3}$/, transform: (s) => s.toUpperCase() }),
  type: param.oneOf(ACCOUNT_TYPES),
  status: param.oneOf(ACCOUNT_STATUSES),
  codePrefix: param.text(),
  after: param.text(),
  before: param.text(),
});

export type AccountListParams = UrlState<typeof accountListState.params>;

/** Known params only; values that are not one of the allowed ones are dropped. A page goes one way: `after` wins. */
export function readAccountListParams(raw: RawParams): AccountListParams {
  const p = accountListState.read(raw);
  return p.after ? { ...p, before: undefined } : p;
}

export function accountsHref(p: Partial<AccountListParams>): string {
  return accountListState.href(p);
}

export const ACCOUNT_TYPE_OPTIONS = ACCOUNT_TYPES;
export const ACCOUNT_STATUS_OPTIONS = ACCOUNT_STATUSES;

export const RANGES = ["7d", "30d", "90d", "all"] as const;
export type RangeKey = (typeof RANGES)[number];
const RANGE_DAYS: Record<Exclude<RangeKey, "all">, number> = { "7d": 7, "30d": 30, "90d": 90 };

/** An account page: the chart's range (a preset, or a custom from/to) and the postings cursor. */
const accountViewState = defineUrlState("", {
  range: param.oneOf(RANGES),
  from: param.text(),
  to: param.text(),
  /** Postings keyset cursor: show postings with an id below this one. */
  before: param.text({ pattern: /^[1-9]\d{0,18}$/ }),
});

export interface AccountViewParams {
  range: RangeKey | "custom";
  from?: string;
  to?: string;
  /** Postings keyset cursor: show postings with an id below this one. */
  before?: string;
}

export function readAccountViewParams(raw: RawParams): AccountViewParams {
  const { range, from, to, before } = accountViewState.read(raw);
  return { range: from || to ? "custom" : (range ?? "30d"), from, to, before };
}

/** The chart's time window, or an error naming the bad field. `from` undefined means all time. */
export function resolveRange(p: AccountViewParams, now: Date): { from?: Date; to: Date; error: null } | { error: string } {
  if (p.range === "custom") {
    const to = p.to ? parseUtcInput(p.to) : now;
    if (!to) return { error: `"${p.to}" is not a valid To time; use a date and time in UTC` };
    const from = p.from ? parseUtcInput(p.from) : new Date(to.getTime() - 30 * 86_400_000);
    if (!from) return { error: `"${p.from}" is not a valid From time; use a date and time in UTC` };
    return { from, to, error: null };
  }
  if (p.range === "all") return { to: now, error: null };
  return { from: new Date(now.getTime() - RANGE_DAYS[p.range] * 86_400_000), to: now, error: null };
}

export function accountHref(id: string, p: Partial<AccountViewParams>): string {
  const range = p.range && p.range !== "custom" && p.range !== "30d" ? p.range : undefined;
  const q = accountViewState.query({ range, from: p.from, to: p.to, before: p.before });
  return `/accounts/${id}${q ? `?${q}` : ""}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
