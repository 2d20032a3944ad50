"use client";
/**
 * The SLO dashboard's charts (recharts): the indicator against its target (a reference line) with
 * breaches shaded red and incidents amber, latency percentiles against the threshold, the budget
 * burn-down, the burn rates against the alert thresholds, and a count over time (stuck
 * transfers). Clicking a shaded breach selects that interval (its blast radius is listed below the
 * charts); the same intervals are links in the list beside the chart, for keyboards and readers.
 * Points arrive as plain numbers and ISO strings from the server render.
 */
import { useRouter } from "next/navigation";
import { formatMs, pct } from "./format";
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceArea, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface Band {
  from: string;
  to: string;
  label: string;
  /** Where clicking the band leads (the interval's blast radius). */
  href?: string;
}

const frame = "rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900";
const t = (iso: string) => new Date(iso).getTime();

function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(5, 16).replace("T", " ");
}


function Figure({ title, caption, children }: { title: string; caption: React.ReactNode; children: React.ReactNode }) {
  return (
    <figure aria-label={title} className={frame}>
      <h3 className="mb-2 text-sm font-semibold text-zinc-900 dark:text-zinc-100">{title}</h3>
      <div className="h-60 w-full">{children}</div>
      <figcaption className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">{caption}</figcaption>
    </figure>
  );
}

function Bands({ breaches, incidents, onSelect }: { breaches: readonly Band[]; incidents: readonly Band[]; onSelect: (href: string) => void }) {
  return (
    <>
      {incidents.map((b) => (
        <ReferenceArea key={`i-${b.from}`} x1={t(b.from)} x2={t(b.to)} fill="#f59e0b" fillOpacity={0.15} stroke="#d97706" strokeOpacity={0.4} ifOverflow="extendDomain" />
      ))}
      {breaches.map((b) => (
        <ReferenceArea
          key={`b-${b.from}`}
          x1={t(b.from)}
          x2={t(b.to)}
          fill="#dc2626"
          fillOpacity={0.18}
          ifOverflow="extendDomain"
          style={{ cursor: b.href ? "pointer" : undefined }}
          onClick={() => (b.href ? onSelect(b.href) : undefined)}
        />
      ))}
    </>
  );
}

export interface SliPoint {
  at: string;
  sli: number | null;
  good: number;
  valid: number;
}

export function SliChart(props: { title: string; points: readonly SliPoint[]; target: number; breaches: readonly Band[]; incidents: readonly Band[]; from: string; to: string }) {
  const router = useRouter();
  const rows = props.points.filter((p) => p.sli !== null).map((p) => ({ t: t(p.at), sli: p.sli, good: p.good, valid: p.valid }));
  const low = Math.min(props.target, ...rows.map((r) => r.sli ?? 1));
  const floor = Math.max(0, Math.floor((low - (1 - props.target)) * 100) / 100);
  return (
    <Figure
      title={props.title}
      caption={
        <>
          Share of good events per step; the dashed line is the target ({pct(props.target)}). Red bands: steps below target (click one to list its affected transfers). Amber
          bands: incidents. {rows.length === 0 ? "No events in this range." : null}
        </>
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis dataKey="t" type="number" scale="time" domain={[t(props.from), t(props.to)]} tickFormatter={shortTime} tick={{ fontSize: 11 }} minTickGap={40} />
          <YAxis domain={[floor, 1]} tickFormatter={(v: number) => pct(v, 1)} tick={{ fontSize: 11 }} width={56} />
          <Tooltip labelFormatter={(v) => `${new Date(Number(v)).toISOString()} (UTC)`} formatter={(v, _n, item) => [`${pct(Number(v))} (${(item.payload as { good: number }).good} of ${(item.payload as { valid: number }).valid})`, "Good events"]} />
          <Bands breaches={props.breaches} incidents={props.incidents} onSelect={(href) => router.push(href, { scroll: false })} />
          <ReferenceLine y={props.target} stroke="#16a34a" strokeDasharray="6 3" label={{ value: `target ${pct(props.target)}`, position: "insideBottomRight", fontSize: 11 }} />
          <Line type="stepAfter" dataKey="sli" stroke="#0369a1" dot={false} isAnimationActive={false} connectNulls={false} />
        </LineChart>
      </ResponsiveContainer>
    </Figure>
  );
}

export interface LatencyPoint {
  at: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export function LatencyChart(props: { title: string; points: readonly LatencyPoint[]; thresholdMs: number | null; breaches: readonly Band[]; incidents: readonly Band[]; from: string; to: string }) {
  const router = useRouter();
  const rows = props.points.filter((p) => p.p50 !== null).map((p) => ({ t: t(p.at), p50: p.p50, p95: p.p95, p99: p.p99 }));
  return (
    <Figure title={props.title} caption={<>Create-to-settled latency percentiles per step (from the rollup&apos;s histogram, interpolated within its buckets); the dashed line is the objective&apos;s threshold.</>}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis dataKey="t" type="number" scale="time" domain={[t(props.from), t(props.to)]} tickFormatter={shortTime} tick={{ fontSize: 11 }} minTickGap={40} />
          <YAxis scale="log" domain={["auto", "auto"]} allowDataOverflow tickFormatter={(v: number) => formatMs(v)} tick={{ fontSize: 11 }} width={64} />
          <Tooltip labelFormatter={(v) => `${new Date(Number(v)).toISOString()} (UTC)`} formatter={(v, n) => [formatMs(Number(v)), String(n)]} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          <Bands breaches={props.breaches} incidents={props.incidents} onSelect={(href) => router.push(href, { scroll: false })} />
          {props.thresholdMs ? <ReferenceLine y={props.thresholdMs} stroke="#16a34a" strokeDasharray="6 3" label={{ value: `threshold ${formatMs(props.thresholdMs)}`, position: "insideTopRight", fontSize: 11 }} /> : null}
          <Line type="monotone" dataKey="p50" name="p50" stroke="#0ea5e9" dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="p95" name="p95" stroke="#6366f1" dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="p99" name="p99" stroke="#a21caf" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </Figure>
  );
}

export function BurnDownChart(props: { title: string; points: readonly { at: string; budgetRemaining: number }[]; from: string; to: string }) {
  const rows = props.points.map((p) => ({ t: t(p.at), left: p.budgetRemaining }));
  const last = props.points.at(-1);
  return (
    <Figure title={props.title} caption={<>Error budget left over the range, step by step (100% untouched, 0% spent, below 0 overspent). {last ? `Now: ${pct(last.budgetRemaining, 1)}.` : "No events in this range."}</>}>
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis dataKey="t" type="number" scale="time" domain={[t(props.from), t(props.to)]} tickFormatter={shortTime} tick={{ fontSize: 11 }} minTickGap={40} />
          <YAxis tickFormatter={(v: number) => pct(v, 0)} tick={{ fontSize: 11 }} width={56} domain={[(min: number) => Math.min(0, min), 1]} />
          <Tooltip labelFormatter={(v) => `${new Date(Number(v)).toISOString()} (UTC)`} formatter={(v) => [pct(Number(v), 1), "Budget left"]} />
          <ReferenceLine y={0} stroke="#dc2626" />
          <Area type="stepAfter" dataKey="left" stroke="#7c3aed" fill="#8b5cf6" fillOpacity={0.15} isAnimationActive={false} />
        </AreaChart>
      </ResponsiveContainer>
    </Figure>
  );
}

export function BurnRatesChart(props: { title: string; rates: readonly { window: string; rate: number }[]; pageThreshold: number; ticketThreshold: number }) {
  return (
    <Figure
      title={props.title}
      caption={
        <>
          How fast the budget burns over each alert window (1 = exactly the budget over the objective&apos;s window). Red line: the fastest page threshold ({props.pageThreshold.toFixed(2)}); amber: the
          slowest ticket threshold ({props.ticketThreshold.toFixed(2)}).
        </>
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={[...props.rates]} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis dataKey="window" tick={{ fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} width={48} />
          <Tooltip formatter={(v) => [Number(v).toFixed(2), "Burn rate"]} />
          <ReferenceLine y={props.pageThreshold} stroke="#dc2626" strokeDasharray="6 3" />
          <ReferenceLine y={props.ticketThreshold} stroke="#d97706" strokeDasharray="6 3" />
          <Bar dataKey="rate" fill="#0369a1" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </Figure>
  );
}

export function CountChart(props: { title: string; caption: React.ReactNode; points: readonly { at: string; value: number }[]; threshold?: number | null; from: string; to: string; unit?: "count" | "ms" }) {
  const rows = props.points.map((p) => ({ t: t(p.at), value: p.value }));
  // A unit, not a formatter: the server page renders this client component and cannot pass functions.
  const fmt = props.unit === "ms" ? (v: number) => formatMs(v) : (v: number) => String(v);
  return (
    <Figure title={props.title} caption={props.caption}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-zinc-200 dark:stroke-zinc-800" />
          <XAxis dataKey="t" type="number" scale="time" domain={[t(props.from), t(props.to)]} tickFormatter={shortTime} tick={{ fontSize: 11 }} minTickGap={40} />
          <YAxis tick={{ fontSize: 11 }} width={56} tickFormatter={fmt} />
          <Tooltip labelFormatter={(v) => `${new Date(Number(v)).toISOString()} (UTC)`} formatter={(v) => [fmt(Number(v)), props.title]} />
          {props.threshold !== null && props.threshold !== undefined ? <ReferenceLine y={props.threshold} stroke="#16a34a" strokeDasharray="6 3" /> : null}
          <Line type="stepAfter" dataKey="value" stroke="#0369a1" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </Figure>
  );
}
