/**
 * The SLO dashboard's state lives in the URL (components/kit/url-state.ts): the objective, the
 * time range (a preset ending now, or an explicit from/to), the selected bad interval whose blast
 * radius is listed, and that list's keyset cursor. Deep links and the back button work.
 */
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";

export const RANGES = ["1h", "6h", "24h", "7d", "28d"] as const;
export type RangePreset = (typeof RANGES)[number];
const RANGE_MS: Record<RangePreset, number> = { "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "28d": 28 * 86_400_000 };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z$/;

export const sloDashboardState = defineUrlState("/slos", {
  slo: param.text({ max: 63, pattern: /^[a-z0-9][a-z0-9-]*$/ }),
  range: param.oneOf(RANGES),
  from: param.text({ max: 30, pattern: ISO }),
  to: param.text({ max: 30, pattern: ISO }),
  selFrom: param.text({ max: 30, pattern: ISO }),
  selTo: param.text({ max: 30, pattern: ISO }),
  cursor: param.cursor(),
});

export type SloDashboardParams = UrlState<typeof sloDashboardState.params>;

export function readSloDashboardParams(raw: RawSearchParams): SloDashboardParams {
  return sloDashboardState.read(raw);
}

/** The range the params ask for, ending now by default (7 days). */
export function rangeOf(p: SloDashboardParams, now: Date): { from: Date; to: Date; preset: RangePreset | null } {
  if (p.from && p.to && !p.range) {
    const from = new Date(p.from);
    const to = new Date(p.to);
    if (to.getTime() > from.getTime()) return { from, to, preset: null };
  }
  const preset = p.range ?? "7d";
  return { from: new Date(now.getTime() - RANGE_MS[preset]), to: now, preset };
}

/** A cursor of the blast radius list: "<created at ms>.<transfer id>". */
export function encodeBlastCursor(c: { createdAt: Date; id: string }): string {
  return `${c.createdAt.getTime()}.${c.id}`;
}

export function decodeBlastCursor(s: string | undefined): { createdAt: Date; id: string } | null {
  const m = s ? /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(s) : null;
  return m ? { createdAt: new Date(Number(m[1])), id: m[2]! } : null;
}
