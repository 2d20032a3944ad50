"use client";
/**
 * The transfers list as a kit DataTable: one row per transfer with its exact amount, state and,
 * for a stuck one, how long it is over budget and why; sortable by created time and amount on
 * the server; keyset pages; keyboard (j/k, Enter opens); CSV export of every transfer the filters
 * match. Rows link to the transfer.
 */
import { useMemo, type ReactNode } from "react";
import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { isActive } from "../../server/transfers/state-machine";
import { useTRPC } from "../trpc-provider";
import { formatUtc, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import { moneyColumns, type CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { formatSort, type SortState } from "../kit/url-state";
import { StuckBadge, StuckNote, TransferStateBadge, formatDuration, secondsBetween, shortId, transferLabel } from "./transfer-ui";
import { TRANSFER_SORT_OPTIONS, transfersHref, type TransferListView, type TransferSortKey } from "./transfer-params";

type TransferPage = RouterOutputs["transfers"]["list"];
export type TransferRow = TransferPage["items"][number];

export const TRANSFER_CSV_COLUMNS: CsvColumn<TransferRow>[] = [
  { header: "Transfer id", value: (t) => t.id },
  { header: "Reference", value: (t) => t.reference },
  { header: "Created (UTC)", value: (t) => t.createdAt },
  { header: "State", value: (t) => t.state },
  { header: "State since (UTC)", value: (t) => t.stateChangedAt },
  ...moneyColumns<TransferRow>("Amount", (t) => t),
  { header: "Rail", value: (t) => t.rail },
  { header: "Partner", value: (t) => t.partner },
  { header: "Partner reference", value: (t) => t.partnerRef },
  { header: "Counterparty", value: (t) => t.counterpartyName },
  { header: "Counterparty account", value: (t) => t.counterpartyAccount },
  { header: "Seconds over budget", value: (t) => (t.stuckForSeconds === null ? null : Math.floor(t.stuckForSeconds)) },
  { header: "Why stuck", value: (t) => t.stuckReason },
  { header: "Last error", value: (t) => t.lastError },
  { header: "Idempotency key", value: (t) => t.idempotencyKey },
];

function parseSortKey(key: TransferSortKey): SortState {
  const [id = "created", dir] = key.split("_");
  return { id, desc: dir === "desc" };
}

function columnsAt(now: Date): ColumnDef<TransferRow>[] {
  return [
    {
      id: "transfer",
      header: "Transfer",
      cell: ({ row: { original: t } }) => (
        <>
          <Link href={`/transfers/${t.id}`} className={linkClass}>
            {transferLabel(t)}
          </Link>
          <div className="text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">
            <span className="font-mono" title={t.id}>
              {shortId(t.id)}
            </span>{" "}
            · {t.rail} · {t.partner}
          </div>
          {t.partnerRef ? (
            <div className="max-w-[12rem] truncate font-mono text-xs text-zinc-500 dark:text-zinc-400" title={`Partner reference ${t.partnerRef}`}>
              {t.partnerRef}
            </div>
          ) : null}
        </>
      ),
    },
    {
      id: "created",
      header: "Created (UTC)",
      accessorFn: (t) => t.createdAt,
      enableSorting: true,
      sortDescFirst: true,
      meta: { className: "font-mono text-xs whitespace-nowrap" },
      cell: ({ row }) => formatUtc(row.original.createdAt),
    },
    {
      id: "counterparty",
      header: "Counterparty",
      meta: { className: "max-w-[11rem]" },
      cell: ({ row: { original: t } }) => (
        <>
          <div className="truncate" title={t.counterpartyName}>
            {t.counterpartyName}
          </div>
          <div className="truncate font-mono text-xs text-zinc-500 dark:text-zinc-400" title={t.counterpartyAccount}>
            {t.counterpartyAccount}
          </div>
        </>
      ),
    },
    {
      id: "amount",
      header: "Amount",
      accessorFn: (t) => t.amountMinor,
      enableSorting: true,
      sortDescFirst: true,
      meta: { align: "right" },
      cell: ({ row }) => <Money amountMinor={row.original.amountMinor} currency={row.original.currency} />,
    },
    {
      id: "state",
      header: "State",
      cell: ({ row: { original: t } }) => (
        <div className="flex flex-wrap items-center gap-1">
          <TransferStateBadge state={t.state} />
          {t.stuckForSeconds !== null ? <StuckBadge stuckForSeconds={t.stuckForSeconds} /> : null}
        </div>
      ),
    },
    {
      id: "timeInState",
      header: "Time in state",
      meta: { className: "w-64 min-w-[13rem] text-xs" },
      cell: ({ row: { original: t } }) => (
        <>
          {isActive(t.state) ? (
            <span className="whitespace-nowrap">{formatDuration(secondsBetween(t.stateChangedAt, now))}</span>
          ) : (
            <span className="text-zinc-400" title="Not waiting: no time budget applies">
              —
            </span>
          )}
          {t.stuckForSeconds !== null ? (
            <div className="mt-0.5">
              <StuckNote stuckForSeconds={t.stuckForSeconds} reason={t.stuckReason} />
            </div>
          ) : null}
        </>
      ),
    },
  ];
}

export function TransfersTable({
  page,
  view,
  now,
  exportQuery,
  empty,
}: {
  page: TransferPage;
  view: TransferListView;
  /** The server's clock when it read the page, so durations render the same on server and client. */
  now: Date;
  /** transfers.list's input for this view at the largest page size, for the CSV export. */
  exportQuery: RouterInputs["transfers"]["list"];
  empty: ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const columns = useMemo(() => columnsAt(now), [now]);
  const { cursor, ...first } = view;
  const sortLabel = TRANSFER_SORT_OPTIONS.find((s) => s.value === view.sort)?.label.toLowerCase() ?? "";
  const count = page.items.length;
  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(t) => t.id}
      caption={`Transfers, ${sortLabel}`}
      empty={empty}
      rowClassName={(t) => (t.stuckForSeconds !== null ? "bg-amber-50/40 dark:bg-amber-950/20" : undefined)}
      sorting={{
        current: parseSortKey(view.sort),
        hrefFor: (next) => transfersHref({ ...first, sort: formatSort(next) as TransferSortKey }),
      }}
      keyboard={{ noun: "transfer", rowHref: (t) => `/transfers/${t.id}` }}
      pagination={{
        label: "Transfer pages",
        summary: `${count} transfer${count === 1 ? "" : "s"} on this ${cursor ? "page" : "first page"}`,
        links: [
          { label: "First page", rel: "prev", href: cursor ? transfersHref(first) : null },
          { label: "Next", rel: "next", href: page.nextCursor ? transfersHref({ ...first, cursor: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: "transfers",
        columns: TRANSFER_CSV_COLUMNS,
        fetchPage: async (c) => {
          const p = await queryClient.fetchQuery({ ...trpc.transfers.list.queryOptions({ ...exportQuery, cursor: c ?? undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
