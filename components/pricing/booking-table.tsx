"use client";
/**
 * The settlement entry a priced transfer books (or will book), by account and role: the source
 * pays amount + fee, the partner gets the amount (or the converted amount), the fee goes to
 * ops:fees, a conversion passes through the FX position of each currency, the spread to FX
 * revenue. Each currency balances on its own.
 */
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type Booking = NonNullable<RouterOutputs["pricing"]["explain"]["transfer"]>["booking"][number];

const ROLE_LABEL: Record<Booking["role"], string> = {
  source: "source (amount + fee)",
  partner: "partner (paid out)",
  fee_revenue: "fee revenue",
  fx_position: "FX position",
  fx_revenue: "FX revenue (spread)",
};

const columns: ColumnDef<Booking>[] = [
  { id: "account", header: "Account", meta: { className: "font-mono text-xs", isRowHeader: true }, cell: ({ row }) => row.original.account },
  { id: "role", header: "Role", cell: ({ row }) => ROLE_LABEL[row.original.role] },
  { id: "debit", header: "Debit", meta: { align: "right" }, cell: ({ row: { original: b } }) => (b.side === "debit" ? <Money amountMinor={b.amountMinor} currency={b.currency} /> : null) },
  { id: "credit", header: "Credit", meta: { align: "right" }, cell: ({ row: { original: b } }) => (b.side === "credit" ? <Money amountMinor={b.amountMinor} currency={b.currency} /> : null) },
];

export function BookingTable({ rows, caption }: { rows: readonly Booking[]; caption: string }) {
  return <DataTable columns={columns} rows={rows} getRowId={(b, i) => `${b.account}:${b.side}:${i}`} caption={caption} isCaptionVisible />;
}
