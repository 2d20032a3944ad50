"use client";
/**
 * The account page's balance history chart. Points arrive as exact minor-unit strings; the y-axis
 * position is the one place they become JS numbers, for drawing only (display-only: very large
 * balances may be drawn a little off, never shown off). Axis labels and tooltips format the exact
 * string per currency.
 */
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoneyDisplay } from "../../server/money/amount";

export interface ChartPoint {
  /** ISO time of the bucket end. */
  at: string;
  postedMinor: string;
}

interface Row {
  t: number;
  /** Display-only position on the y-axis; never used as an amount. */
  y: number;
  exact: string;
}

function shortDate(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace("T", " ");
}

export function BalanceChart({ points, currency, title }: { points: ChartPoint[]; currency: string; title: string }) {
  const rows: Row[] = points.map((p) => ({ t: new Date(p.at).getTime(), y: Number(p.postedMinor), exact: p.postedMinor }));
  const last = points.at(-1);
  return (
    <figure aria-label={title} className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="h-64 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <AreaChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
            <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={shortDate} tick={{ fontSize: 11 }} minTickGap={40} />
            <YAxis
              width={110}
              tick={{ fontSize: 11 }}
              // Tick positions are display-only numbers; the label is rounded to a whole minor unit.
              tickFormatter={(v: number) => formatMoneyDisplay(BigInt(Math.round(v)), currency)}
            />
            <Tooltip
              labelFormatter={(v) => `${new Date(Number(v)).toISOString()} (UTC)`}
              formatter={(_v, _n, item) => [formatMoneyDisplay(BigInt((item.payload as Row).exact), currency), "Posted balance"]}
            />
            <Area type="stepAfter" dataKey="y" stroke="#0369a1" fill="#0ea5e9" fillOpacity={0.15} isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
        Posted balance at {points.length} instants, exact at each point (hover for the exact amount). The curve&apos;s height is drawn for display only.
        {last ? <> Balance at {last.at}: {formatMoneyDisplay(BigInt(last.postedMinor), currency)}.</> : null}
      </figcaption>
    </figure>
  );
}
