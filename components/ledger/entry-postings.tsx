"use client";
/**
 * An entry's postings in debit and credit columns (the journal view), on the kit's DataTable.
 * Used by the entry page and by the adjustment previews.
 */
import type { ReactNode } from "react";
import Link from "next/link";
import { linkClass } from "../ui";
import { DataTable, type ColumnDef } from "../kit/data-table";
import type { RouterOutputs } from "../kit/api-types";
import { Money } from "./money";

/** A posting as the ledger's entries and the adjustment previews return it (router types). */
export type JournalPosting = Pick<RouterOutputs["ledger"]["entries"]["get"]["postings"][number], "accountId" | "accountCode" | "side" | "amountMinor" | "currency">;

const account: ColumnDef<JournalPosting> = {
  id: "account",
  header: "Account",
  meta: { className: "font-mono text-xs" },
  cell: ({ row: { original: p } }) => (
    <Link href={`/accounts/${p.accountId}`} className={linkClass}>
      {p.accountCode}
    </Link>
  ),
};
const side: ColumnDef<JournalPosting> = { id: "side", header: "Side", cell: ({ row }) => row.original.side };
const debit: ColumnDef<JournalPosting> = {
  id: "debit",
  header: "Debit",
  meta: { align: "right" },
  cell: ({ row: { original: p } }) => (p.side === "debit" ? <Money amountMinor={p.amountMinor} currency={p.currency} /> : null),
};
const credit: ColumnDef<JournalPosting> = {
  id: "credit",
  header: "Credit",
  meta: { align: "right" },
  cell: ({ row: { original: p } }) => (p.side === "credit" ? <Money amountMinor={p.amountMinor} currency={p.currency} /> : null),
};
const WITH_SIDE = [account, side, debit, credit];
const WITHOUT_SIDE = [account, debit, credit];

export function EntryPostingsTable({ postings, caption, isCaptionVisible = false, hasSideColumn = true }: { postings: readonly JournalPosting[]; caption: ReactNode; isCaptionVisible?: boolean; hasSideColumn?: boolean }) {
  return (
    <DataTable
      columns={hasSideColumn ? WITH_SIDE : WITHOUT_SIDE}
      rows={postings}
      getRowId={(_p, i) => String(i)}
      caption={caption}
      isCaptionVisible={isCaptionVisible}
    />
  );
}
