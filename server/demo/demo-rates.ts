/**
 * The demo's reference rates: a trimmed copy of the ECB's real history (2024-01-02 to 2025-05-09)
 * kept in the repository beside this module (server/demo/data/), because the demo must not depend
 * on a path outside the repository at run time. Small and free of other imports: the launcher
 * reads it too.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const DAY_MS = 86_400_000;

export const DEMO_RATES_FILE = "eurofxref-hist-2024-2025.csv";

/** The shipped rates file and the newest date in it (the ECB lists the newest day first). */
export function demoRatesFile(): { text: string; fileName: string; lastDate: string } {
  const text = readFileSync(path.join(import.meta.dirname, "data", DEMO_RATES_FILE), "utf8");
  const lastDate = /\n(\d{4}-\d{2}-\d{2}),/.exec(text)?.[1];
  if (!lastDate) throw new Error(`${DEMO_RATES_FILE} has no dated line`);
  return { text, fileName: DEMO_RATES_FILE, lastDate };
}

/**
 * The age limit a demo needs for quotes to use the shipped rates today: the days since the file's
 * newest date, plus a month so a running demo keeps quoting. Used by the launcher in demo mode only
 * (PRICING_RATE_MAX_AGE_DAYS); every quote still states the rate date it used.
 */
export function demoRateMaxAgeDays(now = new Date()): number {
  const last = Date.parse(`${demoRatesFile().lastDate}T00:00:00Z`);
  return Math.max(4, Math.ceil((now.getTime() - last) / DAY_MS) + 30);
}

