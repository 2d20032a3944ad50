"use client";
/**
 * The SLO pages' tables on the kit's DataTable: objectives with their state, outcomes per rail and
 * partner, partner health, incidents and the monthly incident figures. Columns are typed from the
 * router (api-types.ts); the server page hands the rows it read.
 */
import Link from "next/link";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef, type PageLink } from "../kit/data-table";
import { formatMs, pct } from "./format";


export function LevelBadge({ level }: { level: string }) {
  const tone = level === "page" ? "bad" : level === "ticket" ? "info" : "good";
  const text = level === "page" ? "Page: burning fast" : level === "ticket" ? "Ticket: burning slowly" : "OK";
  return <Badge tone={tone}>{text}</Badge>;
}

export function HealthBadge({ state }: { state: string }) {
  const tone = state === "outage" ? "bad" : state === "degraded" ? "info" : state === "ok" ? "good" : "neutral";
  const text = state === "outage" ? "Outage" : state === "degraded" ? "Degraded" : state === "ok" ? "OK" : "Idle (no calls)";
  return <Badge tone={tone}>{text}</Badge>;
}

type Status = RouterOutputs["slo"]["status"][number];

const statusColumns: ColumnDef<Status>[] = [
  {
    id: "objective",
    header: "Objective",
    cell: ({ row: { original: s } }) => (
      <>
        <Link href={`/slos?slo=${s.definition.key}`} className={linkClass}>
          {s.definition.name}
        </Link>
        <div className="text-xs text-zinc-500 dark:text-zinc-400">
          {s.indicatorLabel}
          {s.definition.rail ? ` · ${s.definition.rail} rail` : ""}
          {s.definition.partner ? ` · ${s.definition.partner}` : ""}
        </div>
      </>
    ),
  },
  { id: "state", header: "Alert", cell: ({ row: { original: s } }) => (s.isAvailable ? <LevelBadge level={s.alert.level} /> : <Badge>No data source</Badge>) },
  {
    id: "sli",
    header: "Now / target",
    meta: { className: "text-right tabular-nums whitespace-nowrap" },
    cell: ({ row: { original: s } }) => (
      <>
        {pct(s.sli)} <span className="text-zinc-500">/ {pct(s.definition.target, 2)}</span>
        <div className="text-xs text-zinc-500">{`${s.counts.good} of ${s.counts.valid} good, ${s.definition.windowDays} d`}</div>
      </>
    ),
  },
  {
    id: "budget",
    header: "Budget left",
    meta: { className: "text-right tabular-nums" },
    cell: ({ row: { original: s } }) => <span className={s.budgetRemaining < 0 ? "font-semibold text-red-700 dark:text-red-400" : ""}>{pct(s.budgetRemaining, 1)}</span>,
  },
  { id: "burn1h", header: "Burn 1 h", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => (row.original.burnRates["1h"] ?? 0).toFixed(2) },
  { id: "burn6h", header: "Burn 6 h", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => (row.original.burnRates["6h"] ?? 0).toFixed(2) },
];

export function SloStatusTable({ statuses, selectedKey }: { statuses: Status[]; selectedKey: string | null }) {
  return (
    <DataTable
      columns={statusColumns}
      rows={statuses}
      getRowId={(s) => s.definition.key}
      caption="Objectives, their state and error budget"
      rowClassName={(s) => (s.definition.key === selectedKey ? "bg-sky-50 dark:bg-sky-950/40" : undefined)}
      empty={<p>
          No objective is enabled. An admin defines or enables them on{" "}
          <Link href="/slos/objectives" className={linkClass}>
            Objectives
          </Link>
          ; the worker creates the defaults at start.
        </p>}
      keyboard={{ noun: "objective", rowHref: (s) => `/slos?slo=${s.definition.key}` }}
    />
  );
}

type Breakdown = RouterOutputs["slo"]["breakdown"][number];

const breakdownColumns: ColumnDef<Breakdown>[] = [
  { id: "rail", header: "Rail", cell: ({ row }) => row.original.rail },
  { id: "partner", header: "Partner", cell: ({ row }) => row.original.partner },
  { id: "settled", header: "Settled", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.settled },
  { id: "failed", header: "Failed (ours or partner)", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.failed },
  { id: "excluded", header: "Failed (customer)", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.failedExcluded },
  { id: "cancelled", header: "Cancelled", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.cancelled },
  { id: "success", header: "Success", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.successRate) },
  { id: "p95", header: "p95 to settle", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => formatMs(row.original.latencyMsP95) },
];

export function BreakdownTable({ rows }: { rows: Breakdown[] }) {
  return (
    <DataTable
      columns={breakdownColumns}
      rows={rows}
      getRowId={(r) => `${r.rail}/${r.partner}`}
      caption="Outcomes per rail and partner in the range (by creation time)"
      isCaptionVisible
      empty={<p>No transfer finished in this range.</p>}
    />
  );
}

type Health = RouterOutputs["slo"]["partnerHealth"][number];

const healthColumns: ColumnDef<Health>[] = [
  { id: "partner", header: "Partner and rail", cell: ({ row }) => `${row.original.partner} · ${row.original.rail}` },
  { id: "state", header: "State (last 5 min)", cell: ({ row }) => <HealthBadge state={row.original.state} /> },
  { id: "calls", header: "Calls (5 min)", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.current.calls },
  { id: "success", header: "Accepted", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.current.successRate, 1) },
  { id: "errors", header: "Errors (5xx)", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.current.errorRate, 1) },
  { id: "timeouts", header: "Timeouts", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.current.timeoutRate, 1) },
  { id: "p95", header: "p95 call", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => formatMs(row.original.current.latencyMsP95) },
  {
    id: "range",
    header: "Over the range",
    meta: { className: "text-xs" },
    cell: ({ row: { original: h } }) => `${h.range.calls} calls, ${pct(h.range.successRate, 1)} accepted, ${pct(h.range.errorRate, 1)} errors, ${pct(h.range.timeoutRate, 1)} timeouts`,
  },
  {
    id: "history",
    header: "Outages and degradations",
    meta: { className: "text-xs" },
    cell: ({ row: { original: h } }) =>
      h.history.length === 0 ? (
        <span className="text-zinc-500">none in the range</span>
      ) : (
        <ul>
          {h.history.slice(-5).map((i) => (
            <li key={`${i.state}-${String(i.from)}`}>
              <HealthBadge state={i.state} /> {formatUtc(i.from)} – {formatUtc(i.to)}
            </li>
          ))}
        </ul>
      ),
  },
];

export function PartnerHealthTable({ rows, caption }: { rows: Health[]; caption: string }) {
  return (
    <DataTable
      columns={healthColumns}
      rows={rows}
      getRowId={(r) => `${r.partner}/${r.rail}`}
      caption={caption}
      isCaptionVisible
      empty={<p>No partner call in the range: no transfer was submitted, so there is nothing to judge.</p>}
    />
  );
}

type IncidentRow = RouterOutputs["slo"]["incidents"]["list"]["items"][number];

const incidentColumns: ColumnDef<IncidentRow>[] = [
  {
    id: "title",
    header: "Incident",
    cell: ({ row: { original: i } }) => (
      <Link href={`/slos/incidents/${i.id}`} className={linkClass}>
        {i.title}
      </Link>
    ),
  },
  { id: "severity", header: "Severity", cell: ({ row }) => <Badge tone={row.original.severity === "sev1" || row.original.severity === "sev2" ? "bad" : "info"}>{row.original.severity}</Badge> },
  { id: "status", header: "Status", cell: ({ row }) => <Badge tone={row.original.status === "open" ? "bad" : "good"}>{row.original.status}</Badge> },
  { id: "started", header: "Started (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.startedAt) },
  {
    id: "duration",
    header: "Time to resolve",
    meta: { className: "text-right tabular-nums" },
    cell: ({ row: { original: i } }) => (i.endedAt ? formatMs(new Date(i.endedAt).getTime() - new Date(i.startedAt).getTime()) : "open"),
  },
  { id: "scope", header: "Partner / component", cell: ({ row: { original: i } }) => [i.partner, i.rail, i.component].filter(Boolean).join(" · ") || "—" },
  { id: "linked", header: "Transfers hit", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.linkedTransfers },
];

export function IncidentsTable({ rows, pages }: { rows: IncidentRow[]; pages?: readonly PageLink[] }) {
  return (
    <DataTable
      columns={incidentColumns}
      rows={rows}
      getRowId={(r) => r.id}
      caption="Incidents, newest first"
      isCaptionVisible
      empty={<p>No incident in this view. Open one from a bad interval on the SLO dashboard, or by hand.</p>}
      keyboard={{ noun: "incident", rowHref: (r) => `/slos/incidents/${r.id}` }}
      {...(pages ? { pagination: { label: "Pages of incidents", links: pages } } : {})}
    />
  );
}

type Month = RouterOutputs["slo"]["incidents"]["monthly"][number];

const monthColumns: ColumnDef<Month>[] = [
  { id: "month", header: "Month", cell: ({ row }) => new Date(row.original.month).toISOString().slice(0, 7) },
  { id: "count", header: "Incidents", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.count },
  { id: "sev", header: "By severity", cell: ({ row }) => Object.entries(row.original.bySeverity).map(([k, v]) => `${k}: ${v}`).join(", ") || "—" },
  { id: "resolved", header: "Resolved", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.resolved },
  { id: "mean", header: "Mean time to resolve", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => formatMs(row.original.meanSecondsToResolve === null ? null : row.original.meanSecondsToResolve * 1000) },
  { id: "max", header: "Longest", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => formatMs(row.original.maxSecondsToResolve === null ? null : row.original.maxSecondsToResolve * 1000) },
];

export function MonthlyIncidentsTable({ rows }: { rows: Month[] }) {
  return <DataTable columns={monthColumns} rows={rows} getRowId={(r) => String(r.month)} caption="Incidents per month (the product's incident-frequency figures)" isCaptionVisible />;
}

type OverviewSlo = RouterOutputs["slo"]["overview"]["slos"][number];

const overviewSloColumns: ColumnDef<OverviewSlo>[] = [
  {
    id: "objective",
    header: "Objective",
    cell: ({ row: { original: s } }) => (
      <Link href={`/slos?slo=${s.key}`} className={linkClass}>
        {s.name}
      </Link>
    ),
  },
  { id: "state", header: "Alert", cell: ({ row }) => <LevelBadge level={row.original.level} /> },
  { id: "since", header: "Since (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.since) },
  { id: "sli", header: "Now", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.sli) },
  {
    id: "budget",
    header: "Budget left",
    meta: { className: "text-right tabular-nums" },
    cell: ({ row }) => <span className={row.original.budgetRemaining < 0 ? "font-semibold text-red-700 dark:text-red-400" : ""}>{pct(row.original.budgetRemaining, 1)}</span>,
  },
];

export function OverviewSloTable({ rows }: { rows: OverviewSlo[] }) {
  return (
    <DataTable
      columns={overviewSloColumns}
      rows={rows}
      getRowId={(r) => r.key}
      caption="Objectives as the worker evaluated them last (once a minute)"
      isCaptionVisible
      empty={<p>No objective has been evaluated yet: the worker evaluates them once a minute after it starts.</p>}
      keyboard={{ noun: "objective", rowHref: (r) => `/slos?slo=${r.key}` }}
    />
  );
}
