"use client";
/**
 * Sections of the transfer page that only read: the ledger effect (hold and entries), the partner
 * calls, and the audit trail. Tables are the kit's DataTable; the data comes from the page's
 * server render (transfers.get).
 */
import Link from "next/link";
import { Badge, EmptyState, formatUtc, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { AuditTrail } from "../kit/audit-trail";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { JsonBlock } from "./json-block";
import { formatMs } from "./transfer-ui";

type TransferDetail = RouterOutputs["transfers"]["get"];
type Hold = NonNullable<TransferDetail["hold"]>;
type Entry = TransferDetail["entries"][number];
type Posting = Entry["postings"][number];
type PartnerRequest = TransferDetail["partnerRequests"][number];

const holdColumns: ColumnDef<Hold & { currency: string }>[] = [
  { id: "hold", header: "Hold", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.id },
  {
    id: "status",
    header: "Status",
    cell: ({ row: { original: h } }) => <Badge tone={h.status === "pending" ? "info" : h.status === "posted" ? "good" : "neutral"}>{h.status}</Badge>,
  },
  { id: "held", header: "Held", meta: { align: "right" }, cell: ({ row: { original: h } }) => <Money amountMinor={h.amountMinor} currency={h.currency} /> },
  { id: "posted", header: "Posted", meta: { align: "right" }, cell: ({ row: { original: h } }) => <Money amountMinor={h.amountPostedMinor} currency={h.currency} /> },
  { id: "expires", header: "Expires (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.expiresAt) },
  { id: "ended", header: "Ended (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.endedAt) },
];

const postingColumns: ColumnDef<Pick<Posting, "id" | "accountId" | "accountCode" | "side" | "amountMinor" | "currency">>[] = [
  {
    id: "account",
    header: "Account",
    meta: { className: "font-mono text-xs" },
    cell: ({ row: { original: p } }) => (
      <Link href={`/accounts/${p.accountId}`} className={linkClass}>
        {p.accountCode}
      </Link>
    ),
  },
  { id: "side", header: "Side", cell: ({ row }) => row.original.side },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: p } }) => <Money amountMinor={p.amountMinor} currency={p.currency} /> },
];

export function LedgerSection({ detail }: { detail: TransferDetail }) {
  const { transfer: t, hold, entries } = detail;
  const entryRole = (id: string) => (id === t.settlementEntryId ? "Settlement entry" : id === t.returnEntryId ? "Return entry (reversal)" : "Entry");
  return (
    <>
      {hold ? (
        <DataTable className="mb-3" columns={holdColumns} rows={[{ ...hold, currency: t.currency }]} getRowId={(h) => h.id} caption="The transfer's hold on its source account" />
      ) : (
        <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">No hold: the transfer never reserved funds (it ended before reservation, or is still being created).</p>
      )}
      {entries.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {t.state === "settled" || t.state === "returned" ? "The settlement entry could not be read." : "Nothing posted yet: the hold is posted as a journal entry when the transfer settles; a return posts its reversal."}
        </p>
      ) : (
        entries.map((e) => (
          <div key={e.id} className="mb-3">
            <h3 className="mb-1 text-sm font-medium text-zinc-800 dark:text-zinc-200">
              {entryRole(e.id)}{" "}
              <Link href={`/entries/${e.id}`} className={`${linkClass} font-mono text-xs`}>
                {e.id}
              </Link>{" "}
              <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">effective {formatUtc(e.effectiveAt)}</span>
            </h3>
            <DataTable columns={postingColumns} rows={e.postings} getRowId={(p) => p.id.toString()} caption={`Postings of the ${entryRole(e.id).toLowerCase()}`} />
          </div>
        ))
      )}
    </>
  );
}

function outcomeTone(outcome: string): "good" | "bad" | "info" | "neutral" {
  if (/accepted|ok|settled|acknowledged|submitted/.test(outcome)) return "good";
  if (/rejected|failed|error/.test(outcome)) return "bad";
  if (/unknown|timeout|retryable|unavailable/.test(outcome)) return "info";
  return "neutral";
}

const requestColumns: ColumnDef<PartnerRequest>[] = [
  { id: "started", header: "Started (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.startedAt) },
  { id: "kind", header: "Kind", cell: ({ row }) => row.original.kind },
  { id: "attempt", header: "Attempt", meta: { align: "right" }, cell: ({ row }) => row.original.attempt },
  {
    id: "outcome",
    header: "Outcome",
    cell: ({ row: { original: r } }) => (
      <>
        {r.outcome ? <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge> : <Badge tone="info">{r.finishedAt ? "no outcome" : "in flight"}</Badge>}
        {r.error ? <p className="mt-1 max-w-xs text-xs text-red-700 dark:text-red-400">{r.error}</p> : null}
      </>
    ),
  },
  { id: "http", header: "HTTP", meta: { align: "right", className: "font-mono text-xs" }, cell: ({ row }) => row.original.httpStatus ?? "—" },
  { id: "duration", header: "Duration", meta: { align: "right", className: "text-xs" }, cell: ({ row }) => formatMs(row.original.durationMs) },
  {
    id: "payloads",
    header: "Request and response",
    meta: { className: "space-y-1" },
    cell: ({ row: { original: r } }) => (
      <>
        <JsonBlock summary={`Request #${r.id}`} value={r.request} />
        <JsonBlock summary={`Response #${r.id}`} value={r.response} />
      </>
    ),
  },
];

export function PartnerRequestsTable({ requests, partner }: { requests: TransferDetail["partnerRequests"]; partner: string }) {
  return (
    <DataTable
      columns={requestColumns}
      rows={requests}
      getRowId={(r) => r.id}
      caption={`Calls to ${partner} for this transfer, oldest first`}
      empty={
        <EmptyState title="No partner calls yet">
          <p>The worker has not called {partner} for this transfer. Submissions and status queries appear here with their request, response, outcome and duration.</p>
        </EmptyState>
      }
    />
  );
}

export function TransferAuditTrail({ records, transferId, canRead }: { records: NonNullable<TransferDetail["audit"]>; transferId: string; canRead: boolean }) {
  return (
    <AuditTrail
      records={records}
      canRead={canRead}
      caption="Audit records of this transfer, newest first"
      emptyText="No person or service has acted on this transfer by hand; the worker's own steps are in the timeline. Actions taken here are recorded with their reason."
      allHref={`/audit?targetType=transfer&targetId=${encodeURIComponent(transferId)}`}
      allLabel="All audit records for this transfer"
    />
  );
}
