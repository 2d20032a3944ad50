"use client";
/**
 * The approvals inbox as a kit DataTable: proposals newest first with amount, accounts, age, time
 * to expiry and approvals; keyset pages; keyboard (j/k move, Enter opens, n proposes a new
 * adjustment); CSV export of every proposal in the view.
 */
import { useMemo, type ReactNode } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useQueryClient } from "@tanstack/react-query";
import { formatAmount } from "../../server/money/amount";
import { useTRPC } from "../trpc-provider";
import { Badge, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import type { CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef, type TableShortcut } from "../kit/data-table";
import { STATUS_TONE, formatDeadline, formatDuration, inboxHref, type InboxParams } from "./approvals-params";

type ProposalPage = RouterOutputs["approvals"]["list"];
type ProposalRow = ProposalPage["items"][number];

const CSV_COLUMNS: CsvColumn<ProposalRow>[] = [
  { header: "Proposal id", value: (p) => p.id },
  { header: "Summary", value: (p) => p.summary },
  { header: "Kind", value: (p) => p.kind },
  { header: "Status", value: (p) => p.status },
  { header: "Proposed by", value: (p) => p.proposerLabel },
  { header: "Proposed (UTC)", value: (p) => p.createdAt },
  { header: "Expires (UTC)", value: (p) => p.expiresAt },
  { header: "Closed (UTC)", value: (p) => p.closedAt },
  { header: "Approvals", value: (p) => p.approvals },
  { header: "Approvals required", value: (p) => p.requiredApprovals },
  // A proposal may move several currencies: each as CUR:minor-units, and as exact decimals.
  { header: "Amounts (minor units)", value: (p) => p.amounts.map((a) => `${a.currency}:${a.amountMinor.toString()}`).join(";") },
  { header: "Amounts", value: (p) => p.amounts.map((a) => `${formatAmount(a.amountMinor, a.currency)} ${a.currency}`).join("; ") },
  { header: "Accounts", value: (p) => p.accountCodes.join(" ") },
  { header: "Last approval failed", value: (p) => p.hasFailure },
];

function columnsAt(now: Date): ColumnDef<ProposalRow>[] {
  return [
    {
      id: "proposal",
      header: "Proposal",
      cell: ({ row: { original: p } }) => (
        <>
          <Link href={`/approvals/${p.id}`} className={linkClass}>
            {p.summary}
          </Link>
          <div className="text-xs text-zinc-500 dark:text-zinc-400">
            {p.kindLabel}
            {p.hasFailure ? <span className="ml-2 text-red-700 dark:text-red-400">last approval failed</span> : null}
          </div>
        </>
      ),
    },
    {
      id: "amount",
      header: "Amount",
      meta: { align: "right" },
      cell: ({ row: { original: p } }) => (p.amounts.length === 0 ? "—" : p.amounts.map((a) => <Money key={a.currency} amountMinor={a.amountMinor} currency={a.currency} className="block" />)),
    },
    { id: "accounts", header: "Accounts", meta: { className: "font-mono text-xs" }, cell: ({ row: { original: p } }) => (p.accountCodes.length === 0 ? "—" : p.accountCodes.join(", ")) },
    { id: "proposer", header: "Proposed by", cell: ({ row }) => row.original.proposerLabel },
    {
      id: "age",
      header: "Age",
      meta: { className: "whitespace-nowrap" },
      cell: ({ row: { original: p } }) => <span title={p.createdAt.toISOString()}>{formatDuration(now.getTime() - p.createdAt.getTime())}</span>,
    },
    {
      id: "expires",
      header: "Expires",
      meta: { className: "whitespace-nowrap" },
      cell: ({ row: { original: p } }) => <span title={p.expiresAt.toISOString()}>{p.status === "open" ? formatDeadline(p.expiresAt, now) : "—"}</span>,
    },
    { id: "approvals", header: "Approvals", cell: ({ row: { original: p } }) => `${p.approvals}/${p.requiredApprovals}` },
    { id: "status", header: "Status", cell: ({ row: { original: p } }) => <Badge tone={STATUS_TONE[p.status]}>{p.status}</Badge> },
  ];
}

export function InboxTable({
  page,
  params,
  now,
  canPropose,
  exportQuery,
  empty,
}: {
  page: ProposalPage;
  params: InboxParams;
  now: Date;
  canPropose: boolean;
  exportQuery: RouterInputs["approvals"]["list"];
  empty: ReactNode;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const columns = useMemo(() => columnsAt(now), [now]);
  const shortcuts = useMemo<TableShortcut<ProposalRow>[]>(
    () => (canPropose ? [{ key: "n", hint: "new adjustment", description: "Propose a new adjustment", run: () => router.push("/approvals/new") }] : []),
    [canPropose, router],
  );
  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(p) => p.id}
      caption="Proposals, newest first"
      empty={empty}
      keyboard={{ noun: "proposal", rowHref: (p) => `/approvals/${p.id}`, shortcuts }}
      pagination={{
        label: "Pages",
        links: [
          { label: "Newest", rel: "prev", href: params.cursor ? inboxHref({ view: params.view, status: params.status }) : null },
          { label: "Older", rel: "next", href: page.nextCursor ? inboxHref({ ...params, cursor: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: `proposals-${params.view}`,
        columns: CSV_COLUMNS,
        fetchPage: async (cursor) => {
          const p = await queryClient.fetchQuery({ ...trpc.approvals.list.queryOptions({ ...exportQuery, cursor: cursor ?? undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
