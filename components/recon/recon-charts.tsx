"use client";
/**
 * The Reconciliation page's charts over the chosen days (recon.runs.series): the match rate (with
 * the 98% line the accuracy work aims at) and the unreconciled amount per currency. Amounts arrive
 * as exact minor-unit strings; the y position is the only place they become JS numbers, for
 * drawing only; tooltips show the exact amount.
 */
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoneyDisplay } from "../../server/money/amount";

export interface SeriesPoint {
  date: string;
  lines: number;
  matchedLines: number;
  matchRateBps: number;
  unreconciledMinorByCurrency: Record<string, string>;
}

const COLORS = ["#0369a1", "#b45309", "#15803d", "#7c3aed", "#be123c"];

export function MatchRateChart({ points }: { points: SeriesPoint[] }) {
  const rows = points.map((p) => ({ date: p.date, pct: p.matchRateBps / 100, lines: p.lines, matched: p.matchedLines }));
  return (
    <figure aria-label="Match rate per day" className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="h-56 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
            <XAxis dataKey="date" tick={{ fontSize: 11 }} />
            <YAxis domain={[0, 100]} tickFormatter={(v: number) => `${v}%`} tick={{ fontSize: 11 }} width={40} />
            <ReferenceLine y={98} stroke="#dc2626" strokeDasharray="4 4" label={{ value: "98%", fontSize: 10, position: "insideBottomRight" }} />
            <Tooltip formatter={(_v, _n, item) => [`${(item.payload as (typeof rows)[number]).matched} of ${(item.payload as (typeof rows)[number]).lines} lines (${(item.payload as (typeof rows)[number]).pct.toFixed(2)}%)`, "Matched"]} />
            <Line type="monotone" dataKey="pct" stroke="#0369a1" dot isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">Matched lines over the period&apos;s lines, at each day&apos;s last run; the dashed line is the 98% target.</figcaption>
    </figure>
  );
}

export function UnreconciledChart({ points }: { points: SeriesPoint[] }) {
  const currencies = [...new Set(points.flatMap((p) => Object.keys(p.unreconciledMinorByCurrency)))].sort();
  const rows = points.map((p) => Object.fromEntries([["date", p.date], ...currencies.flatMap((c) => [[c, Number(p.unreconciledMinorByCurrency[c] ?? "0")], [`${c}_exact`, p.unreconciledMinorByCurrency[c] ?? "0"]])]));
  return (
    <figure aria-label="Unreconciled amount per day" className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="h-56 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
            <XAxis dataKey="date" tick={{ fontSize: 11 }} />
            <YAxis tick={{ fontSize: 11 }} width={60} tickFormatter={(v: number) => (v >= 1e6 ? `${Math.round(v / 1e6)}M` : v >= 1e3 ? `${Math.round(v / 1e3)}k` : String(v))} />
            <Tooltip formatter={(_v, name, item) => [formatMoneyDisplay(BigInt((item.payload as Record<string, string>)[`${String(name)}_exact`] ?? "0"), String(name)), String(name)]} />
            {currencies.map((c, i) => (
              <Line key={c} type="monotone" dataKey={c} name={c} stroke={COLORS[i % COLORS.length]} dot isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
        Open breaks&apos; amounts per currency in minor units (y axis drawn for display only; hover for the exact amount){currencies.length === 0 ? ": nothing unreconciled" : ""}.
      </figcaption>
    </figure>
  );
}
