/**
 * The ledger pages keep their state in the URL: the accounts list's filters and keyset cursors,
 * and an account page's chart range and postings cursor. Links and the back button work.
 */
import { parseUtcInput } from "../audit/audit-filters";

export type RawParams = Record<string, string | string[] | undefined>;

const ACCOUNT_TYPES = ["asset", "liability", "equity", "revenue", "expense"] as const;
const ACCOUNT_STATUSES = ["active", "frozen"] as const;
export const ACCOUNTS_PAGE_SIZE = 50;
export const POSTINGS_PAGE_SIZE = 50;

function first(raw: RawParams, key: string): string | undefined {
  const v = raw[key];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s.slice(0, 200) : undefined;
}

export interface AccountListParams {
  currency?: string;
  type?: (typeof ACCOUNT_TYPES)[number];
  status?: (typeof ACCOUNT_STATUSES)[number];
  codePrefix?: string;
  after?: string;
  before?: string;
}

/** Known params only; values that are not one of the allowed ones are dropped. */
export function readAccountListParams(raw: RawParams): AccountListParams {
  const out: AccountListParams = {};
  const currency = first(raw, "currency")?.toUpperCase();
  if (currency && /^[A-Z]{3}$/.test(currency)) out.currency = currency;
  const type = first(raw, "type");
  if (type && (ACCOUNT_TYPES as readonly string[]).includes(type)) out.type = type as AccountListParams["type"];
  const status = first(raw, "status");
  if (status && (ACCOUNT_STATUSES as readonly string[]).includes(status)) out.status = status as AccountListParams["status"];
  const codePrefix = first(raw, "codePrefix");
  if (codePrefix) out.codePrefix = codePrefix;
  const after = first(raw, "after");
  const before = first(raw, "before");
  if (after) out.after = after;
  else if (before) out.before = before;
  return out;
}

export function accountsHref(p: AccountListParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `/accounts?${s}` : "/accounts";
}

export const ACCOUNT_TYPE_OPTIONS = ACCOUNT_TYPES;
export const ACCOUNT_STATUS_OPTIONS = ACCOUNT_STATUSES;

export const RANGES = ["7d", "30d", "90d", "all"] as const;
export type RangeKey = (typeof RANGES)[number];
const RANGE_DAYS: Record<Exclude<RangeKey, "all">, number> = { "7d": 7, "30d": 30, "90d": 90 };

export interface AccountViewParams {
  range: RangeKey | "custom";
  from?: string;
  to?: string;
  /** Postings keyset cursor: show postings with an id below this one. */
  before?: string;
}

export function readAccountViewParams(raw: RawParams): AccountViewParams {
  const from = first(raw, "from");
  const to = first(raw, "to");
  const range = first(raw, "range");
  const before = first(raw, "before");
  const out: AccountViewParams = { range: from || to ? "custom" : (RANGES as readonly string[]).includes(range ?? "") ? (range as RangeKey) : "30d" };
  if (from) out.from = from;
  if (to) out.to = to;
  if (before) out.before = before;
  return out;
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
  const q = new URLSearchParams();
  if (p.range && p.range !== "custom" && p.range !== "30d") q.set("range", p.range);
  if (p.from) q.set("from", p.from);
  if (p.to) q.set("to", p.to);
  if (p.before) q.set("before", p.before);
  const s = q.toString();
  return `/accounts/${id}${s ? `?${s}` : ""}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
