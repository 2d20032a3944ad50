"use client";
/** The transfers an incident hit, on the kit's DataTable (keyset pages by transfer id, CSV). */
import Link from "next/link";
import { formatUtc, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef, type PageLink } from "../kit/data-table";
import { TransferStateBadge } from "../transfers/transfer-ui";

type Row = RouterOutputs["slo"]["incidents"]["transfers"]["items"][number];

const columns: ColumnDef<Row>[] = [
  {
    id: "transfer",
    header: "Transfer",
    cell: ({ row: { original: t } }) => (
      <Link href={`/transfers/${t.id}`} className={linkClass}>
        {t.reference || t.id.slice(0, 8)}
      </Link>
    ),
  },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  { id: "state", header: "State", cell: ({ row }) => <TransferStateBadge state={row.original.state as never} /> },
  { id: "amount", header: "Amount", meta: { className: "text-right" }, cell: ({ row }) => <Money amountMinor={row.original.amountMinor} currency={row.original.currency} /> },
  { id: "rail", header: "Rail", cell: ({ row }) => `${row.original.rail} · ${row.original.partner}` },
  { id: "error", header: "Last error", meta: { className: "max-w-xs text-xs" }, cell: ({ row }) => row.original.lastError ?? <span className="text-zinc-400">—</span> },
];

export function IncidentTransfersTable({ rows, total, pages }: { rows: Row[]; total: number; pages: readonly PageLink[] }) {
  return (
    <DataTable
      columns={columns}
      rows={rows}
      getRowId={(r) => r.id}
      caption={`Transfers hit (${total} linked)`}
      isCaptionVisible
      empty={<p>No transfer is linked: the incident was opened by hand, or its interval hit none.</p>}
      pagination={{ label: "Pages of linked transfers", links: pages }}
      keyboard={{ noun: "transfer", rowHref: (r) => `/transfers/${r.id}` }}
    />
  );
}
