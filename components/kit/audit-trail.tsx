"use client";
/**
 * The audit trail section of a detail page (a transfer, an entry, a proposal): who did what to
 * this object, when and why, each row linking to its audit record, and a link to the audit log
 * filtered on the object. The page reads the records on the server (audit.list, or the object's
 * own detail) and says whether the viewer may read them at all.
 */
import Link from "next/link";
import type { ReactNode } from "react";
import { Badge, Card, EmptyState, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "./api-types";
import { DataTable, type ColumnDef } from "./data-table";

export type AuditTrailRecord = Pick<RouterOutputs["audit"]["list"]["items"][number], "id" | "createdAt" | "actorLabel" | "actorType" | "action" | "reason">;

const columns: ColumnDef<AuditTrailRecord>[] = [
  { id: "time", header: "Time (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  {
    id: "actor",
    header: "Actor",
    meta: { className: "text-xs" },
    cell: ({ row }) => (
      <>
        {row.original.actorLabel} <Badge tone={row.original.actorType === "user" ? "neutral" : "info"}>{row.original.actorType}</Badge>
      </>
    ),
  },
  { id: "action", header: "Action", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.action },
  { id: "reason", header: "Reason", meta: { className: "max-w-sm text-xs whitespace-pre-wrap" }, cell: ({ row }) => row.original.reason ?? <span className="text-zinc-400">—</span> },
  {
    id: "record",
    header: "Record",
    meta: { isHeaderHidden: true, className: "text-right whitespace-nowrap" },
    cell: ({ row }) => (
      <Link href={`/audit/${row.original.id}`} className={linkClass}>
        Audit record {row.original.id}
      </Link>
    ),
  },
];

export function AuditTrail({
  records,
  canRead,
  error = null,
  caption,
  emptyText,
  allHref,
  allLabel = "All audit records for this object",
}: {
  records: readonly AuditTrailRecord[];
  /** Without audit:read the section says so instead of showing records. */
  canRead: boolean;
  /** The read failed: the page shows the message instead of an empty trail. */
  error?: string | null;
  /** The table's accessible name, including the order ("Audit records of this transfer, newest first"). */
  caption: string;
  /** Why there may be no record, and what would write one. */
  emptyText: ReactNode;
  /** The audit log filtered on this object. */
  allHref?: string;
  allLabel?: string;
}) {
  const allLink = allHref ? (
    <Link href={allHref} className={linkClass}>
      {allLabel}
    </Link>
  ) : null;
  return (
    <Card title="Audit trail">
      {!canRead ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">Reading the audit trail needs the audit:read permission.</p>
      ) : error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not read the audit trail: {error}
        </p>
      ) : (
        <>
          <DataTable
            columns={columns}
            rows={records}
            getRowId={(r) => r.id}
            caption={caption}
            empty={
              <EmptyState title="No audit records">
                <p>
                  {emptyText} {allLink}
                </p>
              </EmptyState>
            }
          />
          {records.length > 0 && allLink ? <p className="mt-2 text-sm">{allLink}</p> : null}
        </>
      )}
    </Card>
  );
}
