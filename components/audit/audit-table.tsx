"use client";
/**
 * The audit log as a kit DataTable: newest first, keyset pages (Newer / Older), each actor a link
 * that narrows the list to that actor, and CSV export of every record the filters match.
 */
import { useMemo } from "react";
import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import type { CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { auditHref, type AuditParams } from "./audit-filters";

type AuditPage = RouterOutputs["audit"]["list"];
type AuditRow = AuditPage["items"][number];

const CSV_COLUMNS: CsvColumn<AuditRow>[] = [
  { header: "Record", value: (r) => r.id },
  { header: "Time (UTC)", value: (r) => r.createdAt },
  { header: "Actor type", value: (r) => r.actorType },
  { header: "Actor", value: (r) => r.actorLabel },
  { header: "Actor id", value: (r) => r.actorId },
  { header: "Action", value: (r) => r.action },
  { header: "Target type", value: (r) => r.targetType },
  { header: "Target id", value: (r) => r.targetId },
  { header: "Reason", value: (r) => r.reason },
  { header: "Request id", value: (r) => r.requestId },
];

function columnsFor(filters: Partial<AuditParams>): ColumnDef<AuditRow>[] {
  return [
    { id: "time", header: "Time (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
    {
      id: "actor",
      header: "Actor",
      cell: ({ row: { original: r } }) => (
        <>
          <Link href={auditHref({ ...filters, actor: r.actorId ?? r.actorLabel })} className={linkClass} title={`Filter by ${r.actorLabel}`}>
            {r.actorLabel}
          </Link>{" "}
          <Badge tone={r.actorType === "user" ? "neutral" : "info"}>{r.actorType}</Badge>
        </>
      ),
    },
    { id: "action", header: "Action", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.action },
    {
      id: "target",
      header: "Target",
      meta: { className: "text-xs" },
      cell: ({ row: { original: r } }) => (
        <>
          <span className="text-zinc-500 dark:text-zinc-400">{r.targetType}</span>
          {r.targetId ? <span className="ml-1 font-mono break-all">{r.targetId}</span> : null}
        </>
      ),
    },
    { id: "reason", header: "Reason", meta: { className: "max-w-xs text-xs" }, cell: ({ row }) => row.original.reason ?? <span className="text-zinc-400">—</span> },
    {
      id: "details",
      header: "Details",
      meta: { isHeaderHidden: true, className: "text-right" },
      cell: ({ row }) => (
        <Link href={`/audit/${row.original.id}`} className={linkClass} aria-label={`Details of audit record ${row.original.id}`}>
          Details
        </Link>
      ),
    },
  ];
}

export function AuditTable({
  page,
  filters,
  exportQuery,
  empty,
}: {
  page: AuditPage;
  /** The filters of this view (without the cursor), for links and pages. */
  filters: Partial<AuditParams>;
  /** audit.list's input for this view at the largest page size, for the CSV export. */
  exportQuery: RouterInputs["audit"]["list"];
  empty: React.ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const columns = useMemo(() => columnsFor(filters), [filters]);
  const count = page.items.length;
  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(r) => r.id}
      caption="Audit records, newest first"
      empty={empty}
      keyboard={{ noun: "record", rowHref: (r) => `/audit/${r.id}` }}
      pagination={{
        label: "Audit pages",
        summary: `${count} record${count === 1 ? "" : "s"} on this page, newest first`,
        links: [
          { label: "Newer", rel: "prev", href: page.hasNewer ? auditHref({ ...filters, cursor: page.newerCursor ?? undefined }) : null },
          { label: "Older", rel: "next", href: page.nextCursor ? auditHref({ ...filters, cursor: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: "audit",
        columns: CSV_COLUMNS,
        fetchPage: async (cursor) => {
          const p = await queryClient.fetchQuery({ ...trpc.audit.list.queryOptions({ ...exportQuery, cursor: cursor ?? undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
