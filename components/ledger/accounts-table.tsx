"use client";
/**
 * The accounts list as a kit DataTable: ordered by code, keyset pages both ways, balances exact in
 * each account's currency, keyboard (Enter opens), CSV export of every account the filters match.
 */
import type { ReactNode } from "react";
import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { Badge, linkClass } from "../ui";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import { moneyColumns, type CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { Money } from "./money";
import { accountsHref, type AccountListParams } from "./ledger-params";

type AccountPage = RouterOutputs["ledger"]["accounts"]["page"];
type AccountRow = AccountPage["items"][number];

const CSV_COLUMNS: CsvColumn<AccountRow>[] = [
  { header: "Account id", value: (a) => a.id },
  { header: "Code", value: (a) => a.code },
  { header: "Name", value: (a) => a.name },
  { header: "Type", value: (a) => a.type },
  { header: "Status", value: (a) => a.status },
  { header: "No overdraft", value: (a) => a.isNoOverdraft },
  ...moneyColumns<AccountRow>("Posted", (a) => ({ amountMinor: a.balance.postedMinor, currency: a.currency })),
  ...moneyColumns<AccountRow>("Pending", (a) => ({ amountMinor: a.balance.pendingMinor, currency: a.currency })),
  ...moneyColumns<AccountRow>("Available", (a) => ({ amountMinor: a.balance.availableMinor, currency: a.currency })),
];

const columns: ColumnDef<AccountRow>[] = [
  {
    id: "code",
    header: "Code",
    meta: { className: "font-mono text-xs" },
    cell: ({ row: { original: a } }) => (
      <Link href={`/accounts/${a.id}`} className={linkClass}>
        {a.code}
      </Link>
    ),
  },
  { id: "name", header: "Name", cell: ({ row }) => row.original.name },
  { id: "type", header: "Type", cell: ({ row }) => row.original.type },
  { id: "currency", header: "Currency", meta: { className: "font-mono" }, cell: ({ row }) => row.original.currency },
  { id: "status", header: "Status", cell: ({ row }) => (row.original.status === "frozen" ? <Badge tone="bad">Frozen</Badge> : <Badge tone="good">Active</Badge>) },
  { id: "noOverdraft", header: "No overdraft", cell: ({ row }) => (row.original.isNoOverdraft ? "Yes" : "No") },
  { id: "posted", header: "Posted", meta: { align: "right" }, cell: ({ row: { original: a } }) => <Money amountMinor={a.balance.postedMinor} currency={a.currency} /> },
  { id: "pending", header: "Pending", meta: { align: "right" }, cell: ({ row: { original: a } }) => <Money amountMinor={a.balance.pendingMinor} currency={a.currency} /> },
  { id: "available", header: "Available", meta: { align: "right" }, cell: ({ row: { original: a } }) => <Money amountMinor={a.balance.availableMinor} currency={a.currency} /> },
];

export function AccountsTable({
  page,
  filters,
  exportQuery,
  empty,
}: {
  page: AccountPage;
  filters: Partial<AccountListParams>;
  /** ledger.accounts.page's input for these filters at the largest page size, for the CSV export. */
  exportQuery: RouterInputs["ledger"]["accounts"]["page"];
  empty: ReactNode;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const count = page.items.length;
  return (
    <DataTable
      columns={columns}
      rows={page.items}
      getRowId={(a) => a.id}
      caption="Accounts ordered by code"
      empty={empty}
      keyboard={{ noun: "account", rowHref: (a) => `/accounts/${a.id}` }}
      pagination={{
        label: "Account pages",
        summary: `${count} account${count === 1 ? "" : "s"} on this page, by code`,
        links: [
          { label: "Previous", rel: "prev", href: page.prevCursor ? accountsHref({ ...filters, before: page.prevCursor }) : null },
          { label: "Next", rel: "next", href: page.nextCursor ? accountsHref({ ...filters, after: page.nextCursor }) : null },
        ],
      }}
      csv={{
        fileName: "accounts",
        columns: CSV_COLUMNS,
        fetchPage: async (cursor) => {
          const p = await queryClient.fetchQuery({ ...trpc.ledger.accounts.page.queryOptions({ ...exportQuery, after: cursor ?? undefined, before: undefined }), staleTime: 0, gcTime: 0 });
          return { rows: p.items, nextCursor: p.nextCursor };
        },
      }}
    />
  );
}
