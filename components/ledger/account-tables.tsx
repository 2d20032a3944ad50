"use client";
/**
 * The tables of an account page on the kit's DataTable: its postings (newest first, keyset pages,
 * CSV export of the account's whole history up to the export limit) and the holds involving it.
 */
import type { ReactNode } from "react";
import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { Badge, formatUtc, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { moneyColumns, type CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { Money } from "./money";

type PostingPage = RouterOutputs["ledger"]["postings"]["list"];
type PostingRow = PostingPage["items"][number];
type HoldRow = RouterOutputs["ledger"]["holds"]["list"][number];

/** The largest page ledger.postings.list serves. */
const POSTINGS_EXPORT_PAGE = 500;

const POSTING_CSV: CsvColumn<PostingRow>[] = [
  { header: "Posting", value: (p) => p.id },
  { header: "Effective (UTC)", value: (p) => p.effectiveAt },
  { header: "Entry id", value: (p) => p.entryId },
  { header: "Entry description", value: (p) => p.description },
  { header: "Side", value: (p) => p.side },
  ...moneyColumns<PostingRow>("Amount", (p) => p),
];

const postingColumns: ColumnDef<PostingRow>[] = [
  { id: "posting", header: "Posting", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.id.toString() },
  { id: "effective", header: "Effective (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.effectiveAt) },
  {
    id: "entry",
    header: "Entry",
    cell: ({ row: { original: p } }) => (
      <Link href={`/entries/${p.entryId}`} className={linkClass}>
        {p.description || p.entryId}
      </Link>
    ),
  },
  { id: "side", header: "Side", cell: ({ row }) => row.original.side },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: p } }) => <Money amountMinor={p.amountMinor} currency={p.currency} /> },
];

export function PostingsTable({
  accountId,
  accountCode,
  postings,
  newestHref,
  olderHref,
  empty,
}: {
  accountId: string;
  accountCode: string;
  postings: PostingPage;
  /** The first page, when this is an older one. */
  newestHref: string | null;
  olderHref: string | null;
  empty: ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return (
    <DataTable
      columns={postingColumns}
      rows={postings.items}
      getRowId={(p) => p.id.toString()}
      caption={`Postings of ${accountCode}, newest first`}
      empty={empty}
      pagination={{
        label: "Posting pages",
        links: [
          { label: "Newest", rel: "prev", href: newestHref },
          { label: "Older", rel: "next", href: olderHref },
        ],
      }}
      csv={{
        fileName: `postings-${accountCode.replace(/[^A-Za-z0-9_-]+/g, "_")}`,
        columns: POSTING_CSV,
        fetchPage: async (cursor) => {
          const p = await queryClient.fetchQuery({
            ...trpc.ledger.postings.list.queryOptions({ accountId, cursor: cursor === null ? undefined : BigInt(cursor), limit: POSTINGS_EXPORT_PAGE }),
            staleTime: 0,
            gcTime: 0,
          });
          return { rows: p.items, nextCursor: p.nextCursor === null ? null : p.nextCursor.toString() };
        },
      }}
    />
  );
}

interface HoldsMeta {
  accountId: string;
  otherCodes: Readonly<Record<string, string>>;
}

const holdColumns: ColumnDef<HoldRow>[] = [
  { id: "status", header: "Status", cell: ({ row: { original: h } }) => <Badge tone={h.status === "pending" ? "info" : h.status === "posted" ? "good" : "neutral"}>{h.status}</Badge> },
  {
    id: "direction",
    header: "Direction",
    meta: { className: "text-xs" },
    cell: ({ row: { original: h }, table }) => {
      const { accountId, otherCodes } = table.options.meta as HoldsMeta;
      const other = h.debitAccountId === accountId ? h.creditAccountId : h.debitAccountId;
      return (
        <>
          {h.debitAccountId === accountId ? "debits this account, credits " : "credits this account, debits "}
          <Link href={`/accounts/${other}`} className={`${linkClass} font-mono`}>
            {otherCodes[other] ?? other}
          </Link>
        </>
      );
    },
  },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: h } }) => <Money amountMinor={h.amountMinor} currency={h.currency} /> },
  { id: "posted", header: "Posted", meta: { align: "right" }, cell: ({ row: { original: h } }) => <Money amountMinor={h.amountPostedMinor} currency={h.currency} /> },
  { id: "expires", header: "Expires (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.expiresAt) },
  {
    id: "entry",
    header: "Posted entry",
    cell: ({ row: { original: h } }) =>
      h.postedEntryId ? (
        <Link href={`/entries/${h.postedEntryId}`} className={linkClass}>
          Entry
        </Link>
      ) : (
        "—"
      ),
  },
];

export function HoldsTable({ accountId, accountCode, holds, otherCodes, empty }: { accountId: string; accountCode: string; holds: HoldRow[]; otherCodes: Record<string, string>; empty: ReactNode }) {
  const meta: HoldsMeta = { accountId, otherCodes };
  return <DataTable columns={holdColumns} rows={holds} getRowId={(h) => h.holdId} caption={`Holds involving ${accountCode}, newest first`} meta={meta} empty={empty} />;
}
