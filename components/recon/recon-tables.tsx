"use client";
/** The Reconciliation page's tables (kit DataTable): sources (editable by admins) and the latest runs with their summaries. */
import Link from "next/link";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { formatAmount } from "../../server/money/amount";
import { EditSourceButton } from "./recon-actions";

type Source = RouterOutputs["recon"]["sources"]["list"][number];
type Run = RouterOutputs["recon"]["runs"]["list"]["items"][number];

const sourceColumns: ColumnDef<Source>[] = [
  { id: "name", header: "Source", cell: ({ row: { original: s } }) => <Link href={`/breaks?source=${s.id}`} className={linkClass}>{s.name}</Link> },
  { id: "kind", header: "Kind", cell: ({ row }) => row.original.kind.replace(/_/g, " ") },
  { id: "account", header: "Ledger account", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.ledgerAccountCode },
  { id: "external", header: "Statements name", meta: { className: "font-mono text-xs" }, cell: ({ row: { original: s } }) => s.iban ?? s.externalAccountId ?? (s.csvMappingVersion !== null ? `CSV mapping v${s.csvMappingVersion}` : "—") },
  { id: "currency", header: "Currency", cell: ({ row }) => row.original.currency },
  { id: "active", header: "Active", cell: ({ row }) => (row.original.isActive ? <Badge tone="good">active</Badge> : <Badge>inactive</Badge>) },
];

const runColumns: ColumnDef<Run>[] = [
  { id: "started", header: "Started (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.startedAt) },
  { id: "source", header: "Source", cell: ({ row }) => row.original.sourceName },
  { id: "period", header: "Period", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row: { original: r } }) => (r.periodFrom === r.periodTo ? r.periodFrom : `${r.periodFrom} – ${r.periodTo}`) },
  { id: "trigger", header: "Trigger", cell: ({ row }) => row.original.trigger },
  { id: "status", header: "Status", cell: ({ row: { original: r } }) => <Badge tone={r.status === "completed" ? "good" : r.status === "failed" ? "bad" : "info"}>{r.status}</Badge> },
  {
    id: "summary",
    header: "Summary",
    meta: { className: "text-xs" },
    cell: ({ row: { original: r } }) => {
      const s = r.summary as Partial<{ lines: number; matchedLines: number; autoMatches: number; suggestions: number; breaksOpened: number; matchRateBps: number; unreconciledMinorByCurrency: Record<string, string> }>;
      if (r.status === "failed") return <span className="text-red-700 dark:text-red-400">{r.error}</span>;
      if (s.lines === undefined) return "—";
      const unreconciled = Object.entries(s.unreconciledMinorByCurrency ?? {}).map(([c, v]) => `${formatAmount(BigInt(v), c)} ${c}`);
      return (
        <>
          {s.matchedLines} of {s.lines} lines matched ({((s.matchRateBps ?? 0) / 100).toFixed(2)}%), {s.autoMatches} automatic, {s.suggestions} suggested, {s.breaksOpened} breaks opened
          {unreconciled.length ? <div>Unreconciled: {unreconciled.join(", ")}</div> : null}
        </>
      );
    },
  },
  { id: "rules", header: "Rules", cell: ({ row }) => `v${row.original.ruleSetVersion}` },
];

const editColumn: ColumnDef<Source> = { id: "edit", header: "", cell: ({ row }) => <EditSourceButton source={row.original} /> };

/** With canEdit (recon:rules), each row has its Edit dialog. */
export function SourcesTable({ sources, canEdit = false }: { sources: Source[]; canEdit?: boolean }) {
  return <DataTable columns={canEdit ? [...sourceColumns, editColumn] : sourceColumns} rows={sources} getRowId={(s) => s.id} caption="Reconciliation sources" />;
}

export function RunsTable({ runs }: { runs: Run[] }) {
  return <DataTable columns={runColumns} rows={runs} getRowId={(r) => r.id} caption="Latest runs, newest first" />;
}
