"use client";
/**
 * The Pricing page's tables on the kit's DataTable: fee schedules (one per rail, with the version
 * in force and the next one), pricing proposals waiting for an approver, and recent quotes with
 * their state (open, used, expired), newest first in keyset pages.
 */
import type { ReactNode } from "react";
import Link from "next/link";
import { formatAmount } from "../../server/money/amount";
import { Badge, formatUtc, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import type { CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef, type PageLink } from "../kit/data-table";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { formatQuotesCursor, readQuotesCursor } from "./pricing-params";

type ScheduleRow = RouterOutputs["pricing"]["listSchedules"][number];
type ProposalRow = RouterOutputs["approvals"]["list"]["items"][number];
type QuoteRow = RouterOutputs["pricing"]["listQuotes"]["items"][number];

const scheduleColumns: ColumnDef<ScheduleRow>[] = [
  {
    id: "schedule",
    header: "Schedule",
    meta: { isRowHeader: true },
    cell: ({ row: { original: s } }) => (
      <>
        <Link href={`/pricing/schedules/${encodeURIComponent(s.code)}`} className={`${linkClass} font-mono`}>
          {s.code}
        </Link>
        <div className="text-xs text-zinc-500 dark:text-zinc-400">{s.name}</div>
      </>
    ),
  },
  { id: "rail", header: "Rail", cell: ({ row }) => row.original.rail },
  {
    id: "inForce",
    header: "In force",
    cell: ({ row: { original: s } }) =>
      s.versionInForce === null ? (
        <span className="text-zinc-500 dark:text-zinc-400">none yet (transfers are free)</span>
      ) : (
        <>
          v{s.versionInForce} <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">since {formatUtc(s.inForceSince)}</span>
        </>
      ),
  },
  {
    id: "next",
    header: "Next",
    cell: ({ row: { original: s } }) =>
      s.nextVersion ? (
        <>
          v{s.nextVersion.version} <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">from {formatUtc(s.nextVersion.effectiveFrom)}</span>
        </>
      ) : (
        "—"
      ),
  },
  { id: "latest", header: "Versions", meta: { align: "right" }, cell: ({ row }) => row.original.latestVersion },
];

export function SchedulesTable({ rows, empty }: { rows: readonly ScheduleRow[]; empty: ReactNode }) {
  return <DataTable columns={scheduleColumns} rows={rows} getRowId={(s) => s.id} caption="Fee schedules, one per rail" empty={empty} keyboard={{ noun: "schedule", rowHref: (s) => `/pricing/schedules/${encodeURIComponent(s.code)}` }} />;
}

function proposalColumnsAt(now: Date): ColumnDef<ProposalRow>[] {
  return [
    {
      id: "proposal",
      header: "Proposal",
      meta: { isRowHeader: true },
      cell: ({ row: { original: p } }) => (
        <>
          <Link href={`/approvals/${p.id}`} className={linkClass}>
            {p.summary}
          </Link>
          <div className="text-xs text-zinc-500 dark:text-zinc-400">{p.kindLabel}</div>
        </>
      ),
    },
    { id: "by", header: "Proposed by", cell: ({ row }) => row.original.proposerLabel },
    { id: "at", header: "Proposed (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
    {
      id: "expires",
      header: "Expires",
      meta: { className: "text-xs whitespace-nowrap" },
      cell: ({ row: { original: p } }) => `${formatUtc(p.expiresAt)}${p.expiresAt.getTime() > now.getTime() ? "" : " (expired)"}`,
    },
    { id: "approvals", header: "Approvals", meta: { align: "right" }, cell: ({ row: { original: p } }) => `${p.approvals} of ${p.requiredApprovals}` },
  ];
}

export function PricingProposalsTable({ rows, now, empty }: { rows: readonly ProposalRow[]; now: Date; empty: ReactNode }) {
  return <DataTable columns={proposalColumnsAt(now)} rows={rows} getRowId={(p) => p.id} caption="Pricing proposals waiting for an approver" empty={empty} />;
}

const QUOTE_TONE = { open: "info", used: "good", expired: "neutral" } as const;

const quoteColumns: ColumnDef<QuoteRow>[] = [
  { id: "created", header: "Quoted (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  {
    id: "state",
    header: "State",
    cell: ({ row: { original: q } }) => (
      <>
        <Badge tone={QUOTE_TONE[q.status]}>{q.status}</Badge>
        {q.usedByTransferId ? (
          <div className="mt-1 text-xs">
            <Link href={`/transfers/${q.usedByTransferId}`} className={linkClass}>
              by transfer
            </Link>
          </div>
        ) : null}
      </>
    ),
  },
  { id: "pair", header: "Pair", cell: ({ row: { original: q } }) => (q.fromCurrency === q.toCurrency ? `${q.fromCurrency} (fee only)` : `${q.fromCurrency} → ${q.toCurrency}`) },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: q } }) => <Money amountMinor={q.amountMinor} currency={q.fromCurrency} /> },
  { id: "fee", header: "Fee", meta: { align: "right" }, cell: ({ row: { original: q } }) => <Money amountMinor={q.feeMinor} currency={q.fromCurrency} /> },
  {
    id: "receives",
    header: "Receives",
    meta: { align: "right" },
    cell: ({ row: { original: q } }) => (
      <>
        <Money amountMinor={q.convertedMinor} currency={q.toCurrency} />
        {q.spreadMinor > 0n ? (
          <div className="text-xs text-zinc-500 dark:text-zinc-400">
            spread <Money amountMinor={q.spreadMinor} currency={q.toCurrency} />
          </div>
        ) : null}
      </>
    ),
  },
  {
    id: "rate",
    header: "Rate",
    cell: ({ row: { original: q } }) =>
      q.rateDate ? (
        <>
          <span className="font-mono text-xs">{q.customerRate}</span>
          <div className="text-xs text-zinc-500 dark:text-zinc-400">
            mid {q.midRate}, {q.spreadBps} bps, ECB {q.rateDate}
          </div>
        </>
      ) : (
        "—"
      ),
  },
  { id: "customer", header: "Customer", meta: { className: "font-mono text-xs" }, cell: ({ row: { original: q } }) => `${q.customerId ?? "—"}${q.segment ? ` (${q.segment})` : ""}` },
  { id: "expires", header: "Expires (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.expiresAt) },
];

const QUOTE_CSV: CsvColumn<QuoteRow>[] = [
  { header: "Quote id", value: (q) => q.id },
  { header: "State", value: (q) => q.status },
  { header: "Quoted (UTC)", value: (q) => q.createdAt },
  { header: "From", value: (q) => q.fromCurrency },
  { header: "To", value: (q) => q.toCurrency },
  { header: "Amount (minor units)", value: (q) => q.amountMinor.toString() },
  { header: "Amount", value: (q) => formatAmount(q.amountMinor, q.fromCurrency) },
  { header: "Fee (minor units)", value: (q) => q.feeMinor.toString() },
  { header: "Converted (minor units)", value: (q) => q.convertedMinor.toString() },
  { header: "Converted", value: (q) => formatAmount(q.convertedMinor, q.toCurrency) },
  { header: "Spread (minor units)", value: (q) => q.spreadMinor.toString() },
  { header: "Mid rate", value: (q) => q.midRate },
  { header: "Customer rate", value: (q) => q.customerRate },
  { header: "Rate date", value: (q) => q.rateDate },
  { header: "Customer", value: (q) => q.customerId },
  { header: "Used by transfer", value: (q) => q.usedByTransferId },
];

/** The largest page pricing.listQuotes serves. */
const QUOTES_EXPORT_PAGE = 100;

export function QuotesTable({ rows, links, empty }: { rows: readonly QuoteRow[]; links: readonly PageLink[]; empty: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return (
    <DataTable
      columns={quoteColumns}
      rows={rows}
      getRowId={(q) => q.id}
      caption="Recent quotes, newest first"
      empty={empty}
      pagination={{ label: "Quote pages", links }}
      csv={{
        fileName: "quotes",
        columns: QUOTE_CSV,
        fetchPage: async (cursor) => {
          const page = await queryClient.fetchQuery({
            ...trpc.pricing.listQuotes.queryOptions({ limit: QUOTES_EXPORT_PAGE, cursor: readQuotesCursor(cursor ?? undefined) }),
            staleTime: 0,
            gcTime: 0,
          });
          return { rows: page.items, nextCursor: page.nextCursor ? formatQuotesCursor(page.nextCursor) : null };
        },
      }}
    />
  );
}
