"use client";
/**
 * Every objective, enabled or not, with what it promises; admins (slo:manage, decided on the
 * server) get an Edit button per row. The server page hands the rows it read.
 */
import Link from "next/link";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { formatMs, pct } from "./format";
import { SloDefinitionButton, type IndicatorOption } from "./slo-definition-dialog";

type Definition = RouterOutputs["slo"]["definitions"]["list"][number];

function thresholdText(d: Definition): string {
  if (d.thresholdMs !== null) return `within ${formatMs(d.thresholdMs)}`;
  if (d.thresholdCount !== null) return `at most ${d.thresholdCount}`;
  return "—";
}

export function SloDefinitionsTable({ rows, canManage, indicators, latencyBoundsMs }: { rows: Definition[]; canManage: boolean; indicators: IndicatorOption[]; latencyBoundsMs: readonly number[] }) {
  const label = (kind: string) => indicators.find((i) => i.kind === kind)?.label ?? kind;
  const columns: ColumnDef<Definition>[] = [
    {
      id: "objective",
      header: "Objective",
      cell: ({ row: { original: d } }) => (
        <>
          <Link href={`/slos?slo=${d.key}`} className={linkClass}>
            {d.name}
          </Link>
          <div className="font-mono text-xs text-zinc-500 dark:text-zinc-400">{d.key}</div>
        </>
      ),
    },
    { id: "indicator", header: "Indicator", cell: ({ row }) => label(row.original.indicator) },
    { id: "target", header: "Target", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => pct(row.original.target, 2) },
    { id: "window", header: "Window", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => `${row.original.windowDays} d` },
    { id: "threshold", header: "Threshold", cell: ({ row }) => thresholdText(row.original) },
    { id: "scope", header: "Scope", cell: ({ row: { original: d } }) => [d.rail ? `${d.rail} rail` : null, d.partner].filter(Boolean).join(" · ") || "every rail and partner" },
    { id: "enabled", header: "State", cell: ({ row }) => (row.original.isEnabled ? <Badge tone="good">enabled</Badge> : <Badge>disabled</Badge>) },
    { id: "version", header: "Version", meta: { className: "text-right tabular-nums" }, cell: ({ row }) => row.original.version },
    { id: "updated", header: "Changed (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.updatedAt) },
    ...(canManage
      ? ([{ id: "actions", header: "Change", cell: ({ row }) => <SloDefinitionButton definition={row.original} indicators={indicators} latencyBoundsMs={latencyBoundsMs} /> }] as ColumnDef<Definition>[])
      : []),
  ];
  return (
    <DataTable
      columns={columns}
      rows={rows}
      getRowId={(d) => d.key}
      caption="Objectives, enabled first"
      empty={<p>No objective exists yet: the worker creates the defaults when it starts{canManage ? ", or create one with New objective" : ""}.</p>}
    />
  );
}
