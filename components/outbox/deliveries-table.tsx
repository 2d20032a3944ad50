"use client";
/**
 * Outbox deliveries as a kit DataTable: newest first, keyset pages (Newer / Older), each aggregate
 * and subscription a link that narrows the list, dead deliveries' redeliver and skip for admins,
 * and CSV export of every delivery the filters match.
 */
import { useMemo, type ReactNode } from "react";
import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import type { CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { DeadDeliveryActions } from "./delivery-actions";
import { webhooksHref, type DeliveryParams } from "./delivery-filters";

type DeliveryPage = RouterOutputs["outbox"]["deliveries"]["list"];
type DeliveryRow = DeliveryPage["items"][number];

const STATUS_TONE = { pending: "info", delivered: "good", dead: "bad", skipped: "neutral", cancelled: "neutral" } as const;

const CSV_COLUMNS: CsvColumn<DeliveryRow>[] = [
  { header: "Delivery id", value: (d) => d.deliveryId },
  { header: "Created (UTC)", value: (d) => d.createdAt },
  { header: "Topic", value: (d) => d.topic },
  { header: "Event id", value: (d) => d.eventId },
  { header: "Aggregate id", value: (d) => d.aggregateId },
  { header: "Subscription", value: (d) => d.subscriptionName },
  { header: "Subscription id", value: (d) => d.subscriptionId },
  { header: "Status", value: (d) => d.status },
  { header: "Attempts", value: (d) => d.attempts },
  { header: "Last attempt (UTC)", value: (d) => d.lastAttemptAt },
  { header: "Last HTTP status", value: (d) => d.lastStatus },
  { header: "Last duration (ms)", value: (d) => d.lastDurationMs },
  { header: "Last error", value: (d) => d.lastError },
  { header: "Delivered (UTC)", value: (d) => d.deliveredAt },
  { header: "Finished (UTC)", value: (d) => d.finishedAt },
];

function columnsFor(filters: Partial<DeliveryParams>, canManage: boolean): ColumnDef<DeliveryRow>[] {
  const columns: ColumnDef<DeliveryRow>[] = [
    {
      id: "created",
      header: "Created (UTC)",
      meta: { className: "font-mono text-xs whitespace-nowrap" },
      cell: ({ row: { original: d } }) => (
        <>
          {formatUtc(d.createdAt)}
          <div className="text-zinc-500 dark:text-zinc-400" title="Delivery id (x-delivery-id), the same on every attempt">
            {d.deliveryId}
          </div>
        </>
      ),
    },
    {
      id: "topic",
      header: "Topic",
      meta: { className: "font-mono text-xs" },
      cell: ({ row: { original: d } }) => (
        <>
          {d.topic}
          <div className="text-zinc-500 dark:text-zinc-400">event {d.eventId}</div>
        </>
      ),
    },
    {
      id: "aggregate",
      header: "Aggregate",
      meta: { className: "font-mono text-xs break-all" },
      cell: ({ row: { original: d } }) => (
        <Link href={webhooksHref({ aggregate: d.aggregateId })} className={linkClass} title="Every delivery of this aggregate">
          {d.aggregateId}
        </Link>
      ),
    },
    {
      id: "subscription",
      header: "Subscription",
      cell: ({ row: { original: d } }) => (
        <Link href={webhooksHref({ ...filters, subscription: d.subscriptionId })} className={linkClass}>
          {d.subscriptionName}
        </Link>
      ),
    },
    {
      id: "status",
      header: "Status",
      cell: ({ row: { original: d } }) => (
        <>
          <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
          <div className="mt-0.5 font-mono text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">
            {d.status === "delivered" ? formatUtc(d.deliveredAt) : d.status === "pending" && d.attempts > 0 ? `next ${formatUtc(d.nextAttemptAt)}` : d.finishedAt ? formatUtc(d.finishedAt) : ""}
          </div>
        </>
      ),
    },
    { id: "attempts", header: "Attempts", meta: { align: "right" }, cell: ({ row }) => row.original.attempts },
    {
      id: "lastAnswer",
      header: "Last answer",
      meta: { className: "max-w-xs text-xs break-words" },
      cell: ({ row: { original: d } }) =>
        d.lastAttemptAt ? (
          <>
            <span className="font-mono">{d.lastStatus ?? "no answer"}</span>
            {d.lastDurationMs !== null ? <span className="text-zinc-500 dark:text-zinc-400"> · {d.lastDurationMs} ms</span> : null}
            {d.lastError ? <div className="text-red-700 dark:text-red-400">{d.lastError}</div> : null}
          </>
        ) : (
          <span className="text-zinc-400">not tried yet</span>
        ),
    },
  ];
  if (canManage) {
    columns.push({
      id: "actions",
      header: "Actions",
      meta: { isHeaderHidden: true, className: "text-right whitespace-nowrap" },
      cell: ({ row: { original: d } }) => (d.status === "dead" ? <DeadDeliveryActions deliveryId={d.deliveryId} topic={d.topic} aggregateId={d.aggregateId} /> : null),
    });
  }
  return columns;
}

export function DeliveriesTable({
  page,
  filters,
  canManage,
  exportQuery,
  empty,
}: {
  page: DeliveryPage;
  filters: Partial<DeliveryParams>;
  canManage: boolean;
  /** outbox.deliveries.list's input for these filters at the largest page size, for the CSV export. */
  exportQuery: RouterInputs["outbox"]["deliveries"]["list"];
  empty: ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const columns = useMemo(() => columnsFor(filters, canManage), [filters, canManage]);
  const count = page.items.length;
  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(d) => d.id}
      caption="Deliveries, newest first"
      empty={empty}
      pagination={{
        label: "Delivery pages",
        summary: `${count} deliver${count === 1 ? "y" : "ies"} on this page, newest first`,
        links: [
          { label: "Newer", rel: "prev", href: page.hasNewer ? webhooksHref({ ...filters, cursor: page.newerCursor ?? undefined }) : null },
          { label: "Older", rel: "next", href: page.nextCursor ? webhooksHref({ ...filters, cursor: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: "outbox-deliveries",
        columns: CSV_COLUMNS,
        fetchPage: async (cursor) => {
          const p = await queryClient.fetchQuery({ ...trpc.outbox.deliveries.list.queryOptions({ ...exportQuery, cursor: cursor ?? undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
