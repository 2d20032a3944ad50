"use client";
/**
 * The breaks queue on the kit's DataTable: oldest first by default, each break's type, amount,
 * age bucket, source, reference and assignee; a checkbox selection for bulk assignment (to me, or
 * unassign); keyboard shortcuts (j/k move, x select, a assign to me, Enter open, ? help); keyset
 * pages; CSV export of every break the filters match. No optimistic updates: the page is re-read
 * from the server after an assignment is confirmed.
 */
import { useMemo, type ReactNode } from "react";
import Link from "next/link";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Badge, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { moneyColumns, type CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef, type TableShortcut } from "../kit/data-table";
import { useServerRefresh } from "../kit/list-navigation";
import { BREAK_TYPE_LABEL, breaksHref, type BreakListView } from "./break-params";

type BreakPage = RouterOutputs["recon"]["breaks"]["list"];
export type BreakRow = BreakPage["items"][number];

const CSV_COLUMNS: CsvColumn<BreakRow>[] = [
  { header: "Break id", value: (b) => b.id },
  { header: "Source", value: (b) => b.sourceName },
  { header: "Type", value: (b) => b.type },
  { header: "Status", value: (b) => b.status },
  ...moneyColumns<BreakRow>("Amount", (b) => b),
  { header: "Direction", value: (b) => b.direction },
  { header: "Business date", value: (b) => b.occurredOn },
  { header: "Age (days)", value: (b) => b.ageDays },
  { header: "Age bucket", value: (b) => b.ageBucket },
  { header: "Assignee", value: (b) => b.assigneeLabel },
  { header: "Reference", value: (b) => b.reference },
  { header: "Transfer id", value: (b) => b.transferId },
  { header: "Opened (UTC)", value: (b) => b.openedAt },
];

const TONE: Record<string, "neutral" | "good" | "bad" | "info"> = { open: "bad", timing: "info", resolved: "good" };

const columns: ColumnDef<BreakRow>[] = [
  {
    id: "break",
    header: "Break",
    cell: ({ row: { original: b } }) => (
      <>
        <Link href={`/breaks/${b.id}`} className={linkClass}>
          {BREAK_TYPE_LABEL[b.type]}
        </Link>
        <div className="text-xs text-zinc-500 dark:text-zinc-400">{b.sourceName}</div>
      </>
    ),
  },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: b } }) => <Money amountMinor={b.direction === "debit" ? -b.amountMinor : b.amountMinor} currency={b.currency} /> },
  {
    id: "age",
    header: "Age",
    meta: { className: "whitespace-nowrap text-xs" },
    cell: ({ row: { original: b } }) => (
      <>
        <Badge tone={b.ageBucket === "8+" ? "bad" : b.ageBucket === "4-7" ? "info" : "neutral"}>{b.ageBucket} days</Badge>
        <div className="mt-0.5 font-mono text-zinc-500 dark:text-zinc-400">{b.occurredOn}</div>
      </>
    ),
  },
  {
    id: "status",
    header: "Status",
    cell: ({ row: { original: b } }) => (
      <>
        <Badge tone={TONE[b.status]}>{b.status === "timing" ? "timing difference" : b.status}</Badge>
        {b.escalatedAt ? <div className="mt-0.5 text-xs font-medium text-red-700 dark:text-red-400">escalated</div> : null}
        {b.status === "timing" && b.deadlineAt ? <div className="mt-0.5 text-xs text-zinc-500">until {b.deadlineAt.toISOString().slice(0, 10)}</div> : null}
      </>
    ),
  },
  { id: "reference", header: "Reference", meta: { className: "max-w-[14rem] truncate font-mono text-xs" }, cell: ({ row: { original: b } }) => b.reference ?? <span className="text-zinc-400">—</span> },
  { id: "assignee", header: "Assignee", meta: { className: "text-xs" }, cell: ({ row: { original: b } }) => b.assigneeLabel ?? <span className="text-zinc-400">unassigned</span> },
];

export function BreaksTable({ page, view, exportQuery, empty, canOperate }: { page: BreakPage; view: BreakListView; exportQuery: RouterInputs["recon"]["breaks"]["list"]; empty: ReactNode; canOperate: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const assignToMe = useMutation(trpc.recon.breaks.assignToMe.mutationOptions());
  const unassign = useMutation(trpc.recon.breaks.assign.mutationOptions());
  const { cursor, ...first } = view;
  const count = page.items.length;

  const takeRows = async (rows: BreakRow[], clear?: () => void) => {
    const open = rows.filter((r) => r.status !== "resolved");
    if (open.length === 0) return;
    try {
      const r = await assignToMe.mutateAsync({ breakIds: open.map((b) => b.id), idempotencyKey: `console:recon-assign:${crypto.randomUUID()}` });
      toast.success(`${r.changed.length} break${r.changed.length === 1 ? "" : "s"} assigned to you`);
      clear?.();
      refresh();
    } catch (e) {
      toast.error(errorMessageOf(e));
    }
  };

  const shortcuts = useMemo<TableShortcut<BreakRow>[]>(
    () =>
      canOperate
        ? [
            {
              key: "a",
              hint: "assign to me",
              description: "Assign the selection, or the current break when nothing is selected, to me",
              run: ({ row, selected, clearSelection }) => void takeRows(selected.length ? selected : row ? [row] : [], clearSelection),
            },
          ]
        : [],
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [canOperate],
  );

  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(b) => b.id}
      caption="Reconciliation breaks"
      empty={empty}
      rowClassName={(b) => (b.escalatedAt ? "bg-red-50/40 dark:bg-red-950/20" : undefined)}
      keyboard={{ noun: "break", isQueue: true, rowHref: (b) => `/breaks/${b.id}`, shortcuts }}
      selection={
        canOperate
          ? {
              rowLabel: (b) => `Select ${BREAK_TYPE_LABEL[b.type]} ${b.id.slice(0, 8)}`,
              allLabel: "Select all breaks on this page",
              actions: (selected, clear) => (
                <>
                  <Button size="sm" disabled={assignToMe.isPending} onClick={() => void takeRows(selected, clear)}>
                    {assignToMe.isPending ? "Working…" : `Assign ${selected.length} to me`}
                  </Button>
                  <Button
                    size="sm"
                    variant="secondary"
                    disabled={unassign.isPending}
                    onClick={async () => {
                      try {
                        const r = await unassign.mutateAsync({ breakIds: selected.filter((b) => b.status !== "resolved").map((b) => b.id), assigneeId: null, assigneeLabel: null, idempotencyKey: `console:recon-unassign:${crypto.randomUUID()}` });
                        toast.success(`${r.changed.length} unassigned`);
                        clear();
                        refresh();
                      } catch (e) {
                        toast.error(errorMessageOf(e));
                      }
                    }}
                  >
                    Unassign
                  </Button>
                </>
              ),
            }
          : undefined
      }
      pagination={{
        label: "Break pages",
        summary: `${count} break${count === 1 ? "" : "s"} on this ${cursor ? "page" : "first page"}`,
        links: [
          { label: "First page", rel: "prev", href: cursor ? breaksHref(first) : null },
          { label: "Next", rel: "next", href: page.nextCursor ? breaksHref({ ...first, cursor: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: "breaks",
        columns: CSV_COLUMNS,
        fetchPage: async (c) => {
          const p = await queryClient.fetchQuery({ ...trpc.recon.breaks.list.queryOptions({ ...exportQuery, cursor: c ?? undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
