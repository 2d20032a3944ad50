"use client";
/** The approval policy's two-approver thresholds per currency, exact in each currency. */
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type Threshold = RouterOutputs["approvals"]["policy"]["get"]["thresholds"][number];

const columns: ColumnDef<Threshold>[] = [
  { id: "currency", header: "Currency", meta: { className: "font-mono" }, cell: ({ row }) => row.original.currency },
  { id: "from", header: "Two approvers from", meta: { align: "right" }, cell: ({ row: { original: t } }) => <Money amountMinor={t.amountMinor} currency={t.currency} /> },
];

export function ThresholdsTable({ thresholds }: { thresholds: Threshold[] }) {
  return (
    <DataTable
      columns={columns}
      rows={thresholds}
      getRowId={(t) => t.currency}
      caption="Thresholds per currency"
      empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No currency has a threshold: every adjustment needs two approvers.</p>}
    />
  );
}
