"use client";
/**
 * The blast radius of a selected bad interval: how many transfers were hit and how much money, per
 * currency (exact), the hit transfers on the kit's DataTable (keyset pages, selection, CSV), and
 * what to do about them: retry the selected ones (those not yet at the partner) and open an
 * incident from the interval with the transfers linked. No optimistic updates: dialogs say
 * "Working…" until the server answers, then the page is read again.
 */
import { useState } from "react";
import Link from "next/link";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { formatUtc, inputClass, labelClass, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { moneyColumns, type CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";
import { TransferStateBadge } from "../transfers/transfer-ui";

type Radius = RouterOutputs["slo"]["blastRadius"];
type HitRow = Radius["items"][number];

const RETRYABLE_STATES = ["created", "reserved"];

const columns: ColumnDef<HitRow>[] = [
  {
    id: "transfer",
    header: "Transfer",
    cell: ({ row: { original: t } }) => (
      <>
        <Link href={`/transfers/${t.id}`} className={linkClass}>
          {t.reference || t.id.slice(0, 8)}
        </Link>
        <div className="font-mono text-xs text-zinc-500 dark:text-zinc-400">
          {t.id.slice(0, 8)} · {t.rail} · {t.partner}
        </div>
      </>
    ),
  },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  { id: "state", header: "State", cell: ({ row }) => <TransferStateBadge state={row.original.state as never} /> },
  { id: "amount", header: "Amount", meta: { className: "text-right" }, cell: ({ row }) => <Money amountMinor={row.original.amountMinor} currency={row.original.currency} /> },
  { id: "error", header: "Last error", meta: { className: "max-w-xs text-xs" }, cell: ({ row }) => row.original.lastError ?? <span className="text-zinc-400">—</span> },
];

const CSV_COLUMNS: CsvColumn<HitRow>[] = [
  { header: "Transfer", value: (r) => r.id },
  { header: "Created (UTC)", value: (r) => r.createdAt },
  { header: "State", value: (r) => r.state },
  ...moneyColumns<HitRow>("Amount", (r) => ({ amountMinor: r.amountMinor, currency: r.currency })),
  { header: "Rail", value: (r) => r.rail },
  { header: "Partner", value: (r) => r.partner },
  { header: "Reference", value: (r) => r.reference },
  { header: "Last error", value: (r) => r.lastError },
];

export interface BlastScope {
  from: string;
  to: string;
  partner: string | null;
  rail: string | null;
  lateAfterMs: number | null;
  hit: "failed" | "late" | "both";
  sloKey: string;
  sloName: string;
}

export function BlastRadiusPanel({
  radius,
  scope,
  pages,
  canOperate,
  canOpenIncident,
}: {
  radius: Radius;
  scope: BlastScope;
  pages: { first: string | null; next: string | null };
  canOperate: boolean;
  canOpenIncident: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { refresh } = useServerRefresh();
  const [retrying, setRetrying] = useState<HitRow[] | null>(null);
  const [isOpening, setIsOpening] = useState(false);
  const input = { from: new Date(scope.from), to: new Date(scope.to), partner: scope.partner, rail: scope.rail, lateAfterMs: scope.lateAfterMs, hit: scope.hit };

  return (
    <section aria-labelledby="blast-radius" className="mt-6 rounded-lg border border-red-200 bg-red-50/40 p-4 dark:border-red-900 dark:bg-red-950/20">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h2 id="blast-radius" className="text-base font-semibold text-zinc-900 dark:text-zinc-50">
            Blast radius: {formatUtc(scope.from)} – {formatUtc(scope.to)} UTC
          </h2>
          <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">
            Transfers created in this interval{scope.rail ? ` on the ${scope.rail} rail` : ""}
            {scope.partner ? ` of ${scope.partner}` : ""}{" "}
            {scope.hit === "failed"
              ? "that failed through our or the partner's fault (failures the customer caused are left out)."
              : `that ${scope.hit === "both" ? "failed through our or the partner's fault, or " : ""}settled later than ${(scope.lateAfterMs ?? 30_000) / 1000} s, or are still moving past it.`}
          </p>
        </div>
        <div className="flex gap-2">
          {canOpenIncident ? (
            <Button variant="danger" onClick={() => setIsOpening(true)}>
              Open incident from this interval
            </Button>
          ) : null}
          <Link href={pages.first ? pages.first.replace(/[?&]sel(From|To)=[^&]*/g, "") : "/slos"} className={`${linkClass} self-center text-sm`}>
            Clear selection
          </Link>
        </div>
      </div>
      <dl className="mt-3 flex flex-wrap gap-6">
        <div>
          <dt className="text-xs text-zinc-600 dark:text-zinc-400">Transfers hit</dt>
          <dd className="text-2xl font-semibold tabular-nums" data-testid="blast-count">
            {radius.count}
          </dd>
        </div>
        {radius.byCurrency.map((c) => (
          <div key={c.currency}>
            <dt className="text-xs text-zinc-600 dark:text-zinc-400">
              Total in {c.currency} ({c.count})
            </dt>
            <dd className="text-2xl font-semibold" data-testid={`blast-total-${c.currency}`}>
              <Money amountMinor={c.totalMinor} currency={c.currency} />
            </dd>
          </div>
        ))}
      </dl>
      <DataTable
        className="mt-4"
        columns={columns}
        rows={radius.items}
        getRowId={(r) => r.id}
        caption="Transfers hit in the selected interval"
        isCaptionVisible
        empty={<p>No transfer was hit in this interval: the bad minutes had no transfers of their own, or only failures the customer caused.</p>}
        pagination={{
          label: "Pages of hit transfers",
          summary: `${radius.items.length} of ${radius.count} shown, newest first`,
          links: [
            { label: "First", href: pages.first, rel: "prev" },
            { label: "Older", href: pages.next, rel: "next" },
          ],
        }}
        selection={
          canOperate
            ? {
                rowLabel: (r) => `Select transfer ${r.reference || r.id}`,
                allLabel: "Select all hit transfers on this page",
                actions: (selected, clear) => (
                  <Button
                    onClick={() => {
                      setRetrying(selected);
                      clear();
                    }}
                  >
                    Retry selected ({selected.length})
                  </Button>
                ),
              }
            : undefined
        }
        keyboard={{ noun: "transfer", rowHref: (r) => `/transfers/${r.id}` }}
        csv={{
          fileName: `blast-radius-${scope.from.slice(0, 16)}.csv`,
          columns: CSV_COLUMNS,
          fetchPage: async (cursor) => {
            const after = cursor ? { createdAt: new Date(Number(cursor.split(".")[0])), id: cursor.split(".")[1]! } : undefined;
            const page = await queryClient.fetchQuery(trpc.slo.blastRadius.queryOptions({ ...input, limit: 200, ...(after ? { after } : {}) }));
            return { rows: page.items, nextCursor: page.next ? `${page.next.createdAt.getTime()}.${page.next.id}` : null };
          },
        }}
      />
      <RetryDialog rows={retrying} onClose={() => setRetrying(null)} onDone={refresh} />
      {canOpenIncident ? <OpenIncidentDialog isOpen={isOpening} onClose={() => setIsOpening(false)} scope={scope} count={radius.count} onDone={refresh} /> : null}
    </section>
  );
}

function RetryDialog({ rows, onClose, onDone }: { rows: HitRow[] | null; onClose: () => void; onDone: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const bulkRetry = useMutation(trpc.transfers.bulkRetry.mutationOptions());
  const list = rows ?? [];
  const retryable = list.filter((t) => RETRYABLE_STATES.includes(t.state));
  return (
    <ReasonDialog
      isOpen={rows !== null}
      onClose={onClose}
      title={`Retry ${list.length} transfer${list.length === 1 ? "" : "s"}`}
      keyScope="transfer-bulkRetry"
      confirmLabel={`Retry ${retryable.length}`}
      reasonPlaceholder="Why, for the audit log (incident, ticket)"
      confirmBlockedReason={retryable.length === 0 ? "None of the selected transfers can be retried: they failed, settled or are already at the partner." : null}
      description={<p>Transfers not yet at the partner are submitted again with their own idempotency key, so none can be paid twice. Failed and settled ones are final and are skipped.</p>}
      onConfirm={async ({ reason, idempotencyKey }) => {
        let answer;
        try {
          answer = await bulkRetry.mutateAsync({ transferIds: retryable.map((t) => t.id), reason, idempotencyKey });
        } catch (err) {
          toast.error(`Bulk retry refused: ${errorMessageOf(err)}`);
          throw err;
        }
        const accepted = answer.filter((r) => r.ok).length;
        if (accepted === list.length) toast.success(`Retry accepted for all ${accepted} selected transfers.`);
        else toast.error(`Retry accepted for ${accepted} of ${list.length} selected transfers (${list.length - retryable.length} skipped as final or at the partner).`);
        onDone();
      }}
    />
  );
}

function OpenIncidentDialog({ isOpen, onClose, scope, count, onDone }: { isOpen: boolean; onClose: () => void; scope: BlastScope; count: number; onDone: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const open = useMutation(trpc.slo.incidents.open.mutationOptions());
  const [title, setTitle] = useState(`${scope.sloName}: below target${scope.partner ? ` (${scope.partner})` : ""}`);
  const [severity, setSeverity] = useState<"sev1" | "sev2" | "sev3" | "sev4">("sev3");
  return (
    <ReasonDialog
      isOpen={isOpen}
      onClose={onClose}
      title="Open an incident from this interval"
      keyScope="incident-open"
      confirmLabel="Open incident"
      reasonPlaceholder="What is known so far (becomes the incident's first notes)"
      confirmBlockedReason={title.trim().length === 0 ? "Give the incident a title." : null}
      description={<p>The incident starts at the interval&apos;s start, stays open until resolved, and links the {count} transfer{count === 1 ? "" : "s"} hit in the interval.</p>}
      onConfirm={async ({ reason }) => {
        try {
          const incident = await open.mutateAsync({
            title,
            severity,
            startedAt: new Date(scope.from),
            partner: scope.partner,
            rail: scope.rail,
            sloKey: scope.sloKey,
            notes: reason,
            linkBlastRadius: { to: new Date(scope.to), lateAfterMs: scope.lateAfterMs, hit: scope.hit },
          });
          toast.success(`Incident opened with ${incident.linkedTransfers} transfers linked.`);
        } catch (err) {
          toast.error(`The incident was not opened: ${errorMessageOf(err)}`);
          throw err;
        }
        onDone();
      }}
    >
      <label className={labelClass} htmlFor="incident-title">
        Title
      </label>
      <input id="incident-title" className={inputClass} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      <label className={`${labelClass} mt-2`} htmlFor="incident-severity">
        Severity
      </label>
      <select id="incident-severity" className={inputClass} value={severity} onChange={(e) => setSeverity(e.target.value as typeof severity)}>
        <option value="sev1">sev1 — money is not moving for many customers</option>
        <option value="sev2">sev2 — a partner or rail is down</option>
        <option value="sev3">sev3 — degraded: slow or failing for some</option>
        <option value="sev4">sev4 — minor, no customer impact yet</option>
      </select>
    </ReasonDialog>
  );
}
