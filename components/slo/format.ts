/**
 * Formatting for the SLO pages, usable from server and client components alike (a module marked
 * "use client" cannot lend plain functions to server components).
 */

/** A ratio as a percentage ("99.50%"), or "—". */
export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`;
}

/** A duration in milliseconds, in the largest unit that reads well ("850 ms", "4.2 s", "3.5 min", "1.2 h"), or "—". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
