/**
 * Small pieces every transfers screen shares: the state badge, the stuck note (how long over
 * budget and why) and exact, human durations. Server-safe (no hooks), so server and client
 * components both use them.
 */
import type { ReactNode } from "react";
import type { TransferState } from "../../server/transfers/state-machine";

const TONES = {
  neutral: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
  progress: "bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-300 dark:ring-sky-800",
  good: "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-800",
  bad: "bg-red-50 text-red-800 ring-red-300 dark:bg-red-950 dark:text-red-300 dark:ring-red-800",
  warn: "bg-amber-50 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800",
} as const;

const STATE_TONE: Record<TransferState, keyof typeof TONES> = {
  created: "neutral",
  reserved: "progress",
  submitted: "progress",
  acknowledged: "progress",
  settled: "good",
  failed: "bad",
  returned: "warn",
  cancelled: "neutral",
};

/** What each state means for the money, for the badge's tooltip. */
export const STATE_MEANING: Record<TransferState, string> = {
  created: "Recorded; no money reserved yet",
  reserved: "Funds held on the source account; not yet sent to the partner",
  submitted: "Sent to the partner; waiting for its acknowledgement",
  acknowledged: "The partner accepted it; waiting for settlement",
  settled: "Settled: the hold was posted",
  failed: "Failed: the hold was released (final)",
  returned: "Returned after settlement: reversed in the ledger (final)",
  cancelled: "Cancelled before submission: the hold was released (final)",
};

function Pill({ tone, title, children }: { tone: keyof typeof TONES; title?: string; children: ReactNode }) {
  return (
    <span title={title} className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${TONES[tone]}`}>
      {children}
    </span>
  );
}

export function TransferStateBadge({ state }: { state: TransferState }) {
  return (
    <Pill tone={STATE_TONE[state]} title={STATE_MEANING[state]}>
      {state}
    </Pill>
  );
}

export function StuckBadge({ stuckForSeconds }: { stuckForSeconds: number }) {
  return <Pill tone="warn">{stuckForSeconds > 0 ? `stuck ${formatDuration(stuckForSeconds)} over` : "needs a decision"}</Pill>;
}

/** "3d 4h", "2h 5m", "4m 10s", "45s": two units at most, never rounded up. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return sec > 0 ? `${m}m ${sec}s` : `${m}m`;
  return `${sec}s`;
}

/** Milliseconds for partner calls: "850 ms", "2.4 s" (display only; not an amount). */
export function formatMs(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function secondsBetween(from: Date, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000));
}

/** Why a transfer is stuck and for how long, in one sentence an operator can act on. */
export function StuckNote({ stuckForSeconds, reason }: { stuckForSeconds: number | null; reason: string | null }) {
  if (stuckForSeconds === null) return null;
  return (
    <span className="text-xs text-amber-900 dark:text-amber-200">
      {stuckForSeconds > 0 ? <strong className="font-semibold">{formatDuration(stuckForSeconds)} over budget</strong> : <strong className="font-semibold">Waiting for an operator</strong>}
      {reason ? <>: {reason}</> : null}
    </span>
  );
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** How a transfer is named on screen: its reference, or its short id. */
export function transferLabel(t: { reference: string | null; id: string }): string {
  return t.reference || `Transfer ${shortId(t.id)}`;
}
