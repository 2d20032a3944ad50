/**
 * The pricing pages' state in the URL (components/kit/url-state.ts): the recent quotes' keyset
 * cursor, the schedule page's version and the version it is compared with, and the rates chart's
 * currency and range. Pure: read by the server pages, written by links.
 */
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const pricingState = defineUrlState("/pricing", {
  // A quotes page cursor: "<createdAt ISO>_<id>" of the last quote of the previous page.
  quotes: param.cursor(),
});

/** quotes.list's cursor from the URL's, or null (absent or not one of ours). */
export function readQuotesCursor(raw: string | undefined): { createdAt: Date; id: string } | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f-]{36})$/.exec(raw ?? "");
  if (!m) return null;
  const createdAt = new Date(m[1]!);
  return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id: m[2]! };
}

export function formatQuotesCursor(c: { createdAt: Date; id: string }): string {
  return `${c.createdAt.toISOString()}_${c.id}`;
}

export function scheduleState(code: string) {
  return defineUrlState(`/pricing/schedules/${encodeURIComponent(code)}`, {
    version: param.text({ max: 6, pattern: /^[1-9]\d{0,5}$/ }),
    against: param.text({ max: 6, pattern: /^[1-9]\d{0,5}$/ }),
  });
}

export const ratesState = defineUrlState("/pricing/rates", {
  currency: param.withDefault(param.text({ max: 3, pattern: /^[A-Z]{3}$/ }), "USD"),
  from: param.text({ max: 10, pattern: DATE }),
  to: param.text({ max: 10, pattern: DATE }),
});

export type RatesParams = UrlState<typeof ratesState.params>;

export function readRatesParams(raw: RawSearchParams): RatesParams {
  return ratesState.read(raw);
}

/** YYYY-MM-DD `days` before `date` (UTC). */
export function daysBefore(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}
