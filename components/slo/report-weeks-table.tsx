"use client";
/**
 * The weekly report's "last weeks" table on the kit's DataTable: each week's share of payments
 * that went through, its typical and 95th-percentile times, its incidents and the share of statement
 * lines our books matched, oldest first. The
 * server page hands the weeks it read.
 */
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { formatMs, pct } from "./format";

type Week = RouterOutputs["slo"]["weeklyReport"]["weeks"][number];

const weekColumns: ColumnDef<Week>[] = [
  { id: "week", header: "Week of", meta: { isRowHeader: true }, cell: ({ row }) => row.original.weekStart.toISOString().slice(0, 10) },
  { id: "success", header: "Went through", meta: { align: "right" }, cell: ({ row }) => (row.original.successRate === null ? "no transfers" : pct(row.original.successRate)) },
  { id: "p50", header: "Typical time", meta: { align: "right" }, cell: ({ row }) => formatMs(row.original.latencyMsP50) },
  { id: "p95", header: "95 in 100 within", meta: { align: "right" }, cell: ({ row }) => formatMs(row.original.latencyMsP95) },
  { id: "incidents", header: "Incidents", meta: { align: "right" }, cell: ({ row }) => row.original.incidents },
  { id: "recon", header: "Matched by our books", meta: { align: "right" }, cell: ({ row }) => (row.original.reconLines === 0 ? "no statements" : pct(row.original.reconMatchRate)) },
];

export function ReportWeeksTable({ weeks }: { weeks: Week[] }) {
  return <DataTable columns={weekColumns} rows={weeks} getRowId={(w) => w.weekStart.toISOString()} caption="Weekly figures, oldest first: payments that went through, how long they took, incidents and the statement lines our books matched" className="mt-2" />;
}
