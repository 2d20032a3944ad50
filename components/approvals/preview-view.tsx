"use client";
/**
 * Shows what approving an adjustment does: the postings, every affected account's balances before
 * and after (from the ledger's dry run), holds changed, and non-money changes. The preview comes
 * from the router (approvals.get's previews, approvals.preview's draft preview).
 */
import Link from "next/link";
import { linkClass } from "../ui";
import { Money } from "../ledger/money";
import { EntryPostingsTable } from "../ledger/entry-postings";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

export type PreviewData = RouterOutputs["approvals"]["preview"]["preview"];
type BalanceRow = PreviewData["balances"][number];
type ChangeRow = PreviewData["changes"][number];

const balanceColumns: ColumnDef<BalanceRow>[] = [
  {
    id: "account",
    header: "Account",
    meta: { isRowHeader: true, className: "font-mono text-xs" },
    cell: ({ row: { original: b } }) => (
      <>
        <Link href={`/accounts/${b.accountId}`} className={linkClass}>
          {b.accountCode}
        </Link>
        {b.isNoOverdraft ? <span className="ml-1 text-zinc-500">(no overdraft)</span> : null}
      </>
    ),
  },
  { id: "postedBefore", header: "Posted before", meta: { align: "right" }, cell: ({ row: { original: b } }) => <Money amountMinor={b.before.postedMinor} currency={b.currency} /> },
  { id: "postedAfter", header: "Posted after", meta: { align: "right" }, cell: ({ row: { original: b } }) => <Money amountMinor={b.after.postedMinor} currency={b.currency} /> },
  { id: "availableBefore", header: "Available before", meta: { align: "right" }, cell: ({ row: { original: b } }) => <Money amountMinor={b.before.availableMinor} currency={b.currency} /> },
  { id: "availableAfter", header: "Available after", meta: { align: "right" }, cell: ({ row: { original: b } }) => <Money amountMinor={b.after.availableMinor} currency={b.currency} /> },
];

const changeColumns: ColumnDef<ChangeRow>[] = [
  { id: "setting", header: "Setting", meta: { isRowHeader: true }, cell: ({ row }) => row.original.label },
  { id: "before", header: "Before", cell: ({ row }) => row.original.before },
  { id: "after", header: "After", cell: ({ row }) => row.original.after },
];

export function PreviewView({ preview, caption }: { preview: PreviewData; caption: string }) {
  if (preview.error) {
    return (
      <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
        The ledger refuses this now: <span className="font-mono">{preview.error.code}</span> — {preview.error.message}
      </p>
    );
  }
  return (
    <div className="space-y-4">
      {preview.entries.map((e, i) => (
        <EntryPostingsTable
          key={i}
          postings={e.postings}
          hasSideColumn={false}
          isCaptionVisible
          caption={
            <>
              {caption}: entry “{e.description || "no description"}”
              {e.reversesEntryId ? (
                <>
                  {" "}
                  reversing{" "}
                  <Link href={`/entries/${e.reversesEntryId}`} className={linkClass}>
                    entry {e.reversesEntryId}
                  </Link>
                </>
              ) : null}
            </>
          }
        />
      ))}

      {preview.balances.length > 0 ? (
        <DataTable columns={balanceColumns} rows={preview.balances} getRowId={(b) => b.accountId} caption="Balances before and after approval" isCaptionVisible />
      ) : null}

      {preview.holds.length > 0 ? (
        <ul className="text-sm">
          {preview.holds.map((h) => (
            <li key={h.holdId}>
              Hold <span className="font-mono text-xs">{h.holdId}</span> becomes {h.status} (<Money amountMinor={h.amountMinor} currency={h.currency} />)
            </li>
          ))}
        </ul>
      ) : null}

      {preview.changes.length > 0 ? <DataTable columns={changeColumns} rows={preview.changes} getRowId={(c) => c.label} caption="Changes" isCaptionVisible /> : null}
    </div>
  );
}
