"use client";
/**
 * The transfer page's reconciliation: the matches that explain its settlement or return entry, each
 * with the statement lines it matched. Data from the page's server render
 * (recon.matches.ofTransfer); null when the reader lacks recon:read.
 */
import { Badge, EmptyState, formatUtc } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";

type Match = RouterOutputs["recon"]["matches"]["ofTransfer"][number];

const KIND_LABEL: Record<string, string> = { auto: "automatic", confirmed: "suggestion confirmed", manual: "by hand" };

const columns: ColumnDef<Match>[] = [
  {
    id: "entry",
    header: "Explains",
    cell: ({ row: { original: m } }) => (
      <span className="flex flex-wrap items-center gap-1">
        {m.entry === "settlement" ? "the settlement" : "the return"}
        {m.undoneAt ? <Badge tone="neutral">undone {formatUtc(m.undoneAt)}</Badge> : <Badge tone="good">matched</Badge>}
      </span>
    ),
  },
  { id: "source", header: "Source", cell: ({ row }) => row.original.sourceName },
  {
    id: "lines",
    header: "Statement lines",
    cell: ({ row: { original: m } }) => (
      <ul className="space-y-0.5">
        {m.lines.map((l) => (
          <li key={l.lineId} className="flex flex-wrap items-center gap-2">
            <span className="font-mono text-xs">{`${l.statementRef}, ${l.bookingDate}`}</span>
            <Money amountMinor={l.direction === "debit" ? -l.amountMinor : l.amountMinor} currency={l.currency} />
            {l.reference ? <span className="font-mono text-xs break-all">{l.reference}</span> : null}
          </li>
        ))}
      </ul>
    ),
  },
  { id: "how", header: "How", cell: ({ row: { original: m } }) => `${KIND_LABEL[m.kind] ?? m.kind}, rule ${m.rule}` },
  { id: "match", header: "Match", meta: { className: "font-mono text-xs" }, cell: ({ row }) => `#${row.original.matchId}` },
  { id: "at", header: "Matched (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row: { original: m } }) => `${formatUtc(m.createdAt)} by ${m.actorLabel}` },
];

export function ReconciliationSection({ recon, state }: { recon: { matches: Match[]; error: string | null } | null; state: string }) {
  if (recon === null) return <p className="text-sm text-zinc-600 dark:text-zinc-400">Reading reconciliation needs the recon:read permission.</p>;
  if (recon.error) return <p className="text-sm text-red-700 dark:text-red-400">Could not read this transfer&apos;s reconciliation: {recon.error}</p>;
  if (recon.matches.length === 0) {
    return (
      <EmptyState title="No statement line matched yet">
        {state === "settled" || state === "returned"
          ? "Reconciliation matches the settlement when the partner's statement or settlement file with it is imported; until then it may show as a break in the queue."
          : "Only a settled or returned transfer has a ledger entry for a statement to match."}
      </EmptyState>
    );
  }
  return <DataTable columns={columns} rows={recon.matches} getRowId={(m) => m.matchId} caption="Statement lines matched to this transfer's ledger entries; the match run is in the transfer's trace" />;
}
