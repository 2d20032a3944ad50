"use client";
/**
 * The stuck queue on the kit's DataTable: stuck transfers oldest first, with how long and why,
 * per-row actions, a checkbox selection for bulk retry, keyboard shortcuts (j/k move, x select,
 * r retry, q query partner, c cancel, f mark failed, Enter open, ? help) and CSV export.
 *
 * No optimistic updates: an action shows "Working…" in its dialog until the server answers; a
 * confirmed action marks its row as waiting for the worker, and the queue re-reads itself from
 * the server every few seconds until each such row has moved (its state changed) or left.
 * The actions offered follow the powers the server passed; the API checks every call again.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import Link from "next/link";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { formatUtc, linkClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterInputs, RouterOutputs } from "../kit/api-types";
import { ActionsMenu } from "../kit/actions-menu";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef, type TableShortcut } from "../kit/data-table";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";
import { OperationDialog, type OperationTarget } from "./operation-dialog";
import { OPERATIONS, isAllowed, operationsFor, type ActorPowers, type OperationKind } from "./operations";
import { StuckNote, TransferStateBadge, formatDuration, secondsBetween, shortId, transferLabel } from "./transfer-ui";
import { TRANSFER_CSV_COLUMNS, type TransferRow } from "./transfers-table";

/** Rows retried, by id: when, and when the row had last changed state then. */
type Requested = Map<string, { stateChangedAtMs: number; at: number }>;

const POLL_MS = 3000;
/** Stop re-reading after this long even if the worker has not moved a row (it says so). */
const POLL_LIMIT_MS = 90_000;
const ROW_ACTIONS: readonly OperationKind[] = ["retry", "query", "cancel", "markFailed"];
const ROW_ACTION_TEXT: Record<string, string> = { retry: "Retry", query: "Query" };

interface QueueMeta {
  now: Date;
  powers: ActorPowers;
  waiting: Requested;
  openAction: (kind: OperationKind, t: TransferRow) => void;
}

const columns: ColumnDef<TransferRow>[] = [
  {
    id: "transfer",
    header: "Transfer",
    cell: ({ row: { original: t } }) => (
      <>
        <Link href={`/transfers/${t.id}`} className={linkClass}>
          {transferLabel(t)}
        </Link>
        <div className="font-mono text-xs text-zinc-500 dark:text-zinc-400" title={t.id}>
          {shortId(t.id)} · {t.rail} · {t.partner}
        </div>
        <div className="max-w-[14rem] truncate text-xs text-zinc-600 dark:text-zinc-400" title={t.counterpartyName}>
          to {t.counterpartyName}
        </div>
      </>
    ),
  },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: t } }) => <Money amountMinor={t.amountMinor} currency={t.currency} /> },
  {
    id: "state",
    header: "State",
    cell: ({ row: { original: t }, table }) => (
      <>
        <TransferStateBadge state={t.state} />
        <div className="mt-0.5 text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">for {formatDuration(secondsBetween(t.stateChangedAt, (table.options.meta as QueueMeta).now))}</div>
      </>
    ),
  },
  {
    id: "why",
    header: "Stuck for and why",
    meta: { className: "max-w-md" },
    cell: ({ row: { original: t }, table }) => (
      <>
        <StuckNote stuckForSeconds={t.stuckForSeconds} reason={t.stuckReason} />
        {t.lastError && t.lastError !== t.stuckReason ? <p className="mt-0.5 text-xs text-red-700 dark:text-red-400">Last error: {t.lastError}</p> : null}
        {(table.options.meta as QueueMeta).waiting.has(t.id) ? (
          <p role="status" className="mt-1 text-xs font-medium text-sky-800 dark:text-sky-300">
            Retry accepted: waiting for the worker to move it…
          </p>
        ) : null}
      </>
    ),
  },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
];

const actionsColumn: ColumnDef<TransferRow> = {
  id: "actions",
  header: "Actions",
  cell: ({ row: { original: t }, table }) => {
    const { powers, waiting, openAction } = table.options.meta as QueueMeta;
    const label = transferLabel(t);
    const actions = operationsFor(t.state, powers).filter((s) => ROW_ACTIONS.includes(s.kind));
    // Retry and query are one click away; cancelling and failing sit behind a menu.
    const direct = actions.filter((s) => !s.isDanger);
    const guarded = actions.filter((s) => s.isDanger);
    const isWaiting = waiting.has(t.id);
    return (
      <div className="flex flex-wrap items-center gap-1">
        {actions.length === 0 ? <span className="text-xs text-zinc-500">—</span> : null}
        {direct.map((s) => (
          <Button key={s.kind} size="xs" aria-label={`${s.label} ${label}`} title={`${s.label} (${s.key})`} disabled={isWaiting} onClick={() => openAction(s.kind, t)}>
            {ROW_ACTION_TEXT[s.kind]}
          </Button>
        ))}
        {guarded.length > 0 ? (
          <ActionsMenu
            label={`More actions for ${label}`}
            isDisabled={isWaiting}
            items={guarded.map((s) => ({ label: s.label, shortcut: s.key, isDanger: true, onSelect: () => openAction(s.kind, t) }))}
          />
        ) : null}
      </div>
    );
  },
};

interface BulkResult {
  transferId: string;
  label: string;
  ok: boolean;
  message: string;
}

export function StuckQueue({
  page,
  powers,
  now,
  nextHref,
  firstHref,
  exportQuery,
}: {
  page: RouterOutputs["transfers"]["list"];
  powers: ActorPowers;
  /** The server's clock when it read the queue. */
  now: Date;
  nextHref: string | null;
  /** The oldest page, when this is a later one. */
  firstHref: string | null;
  exportQuery: RouterInputs["transfers"]["list"];
}) {
  const toast = useToast();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { isRefreshing, refresh } = useServerRefresh();
  const items = page.items;
  const [dialog, setDialog] = useState<{ kind: OperationKind; target: OperationTarget } | null>(null);
  const [bulk, setBulk] = useState<{ transfers: TransferRow[]; clear: () => void } | null>(null);
  const [requested, setRequested] = useState<Requested>(new Map());
  const [bulkResults, setBulkResults] = useState<BulkResult[] | null>(null);
  const canSelect = powers.canOperate;

  const byId = useMemo(() => new Map(items.map((t) => [t.id, t])), [items]);
  // A retried row waits until the worker moves it to another state or it leaves the queue (derived, not stored).
  const waiting = useMemo(() => new Map([...requested].filter(([id, r]) => byId.get(id)?.stateChangedAt.getTime() === r.stateChangedAtMs)), [requested, byId]);

  // While a retried row waits for the worker, re-read the queue from the server every few seconds;
  // a row the worker has not moved within POLL_LIMIT_MS stops the polling and says so.
  useEffect(() => {
    if (waiting.size === 0) return;
    const id = setTimeout(() => {
      const cutoff = Date.now() - POLL_LIMIT_MS;
      const stale = [...waiting].filter(([, r]) => r.at < cutoff).map(([tid]) => tid);
      if (stale.length > 0) {
        setRequested((prev) => new Map([...prev].filter(([tid]) => !stale.includes(tid))));
        toast.info(`${stale.length} retried transfer${stale.length === 1 ? " has" : "s have"} not moved after ${POLL_LIMIT_MS / 1000} s; open ${stale.length === 1 ? "it" : "them"} to see the partner calls.`);
      }
      refresh();
    }, POLL_MS);
    return () => clearTimeout(id);
  }, [waiting, refresh, toast]);

  /** After the server confirmed: retries wait for the worker; every action re-reads the queue. */
  const afterConfirmed = useCallback(
    (ids: string[], kind: OperationKind | "bulkRetry") => {
      if (kind === "retry" || kind === "bulkRetry") {
        setRequested((prev) => {
          const next = new Map(prev);
          for (const id of ids) {
            const t = byId.get(id);
            if (t) next.set(id, { stateChangedAtMs: t.stateChangedAt.getTime(), at: Date.now() });
          }
          return next;
        });
      }
      refresh();
    },
    [byId, refresh],
  );

  const openAction = useCallback(
    (kind: OperationKind, t: TransferRow | undefined) => {
      if (!t) return;
      const spec = OPERATIONS[kind];
      if (!isAllowed(spec, powers)) {
        toast.info(`${spec.label} needs the operator role.`);
        return;
      }
      if (!spec.states.includes(t.state)) {
        toast.info(`${spec.label} does not apply to ${transferLabel(t)}: it is ${t.state}${kind === "cancel" || kind === "markFailed" ? " (after submission, query the partner)" : ""}.`);
        return;
      }
      setDialog({ kind, target: { id: t.id, label: transferLabel(t) } });
    },
    [powers, toast],
  );

  const shortcuts = useMemo<TableShortcut<TransferRow>[]>(
    () =>
      canSelect
        ? [
            {
              key: "r",
              hint: "retry",
              description: "Retry the selection, or the current transfer when nothing is selected",
              run: ({ row, selected, clearSelection }) => (selected.length > 0 ? setBulk({ transfers: selected, clear: clearSelection }) : openAction("retry", row)),
            },
            { key: "q", hint: "query partner", description: "Query the partner for the current transfer", run: ({ row }) => openAction("query", row) },
            { key: "c", hint: "cancel", description: "Cancel the current transfer (before submission only)", run: ({ row }) => openAction("cancel", row) },
            { key: "f", hint: "mark failed", description: "Mark the current transfer failed (before submission only)", run: ({ row }) => openAction("markFailed", row) },
          ]
        : [],
    [canSelect, openAction],
  );

  const meta: QueueMeta = { now, powers, waiting, openAction };
  const allColumns = useMemo(() => (powers.canOperate ? [...columns, actionsColumn] : columns), [powers.canOperate]);

  return (
    <section aria-label="Stuck queue">
      {bulkResults ? <BulkResults results={bulkResults} onDismiss={() => setBulkResults(null)} /> : null}

      <DataTable
        columns={allColumns}
        rows={items}
        getRowId={(t) => t.id}
        caption="Stuck transfers, oldest first"
        meta={meta}
        isRowBusy={(t) => waiting.has(t.id)}
        keyboard={{ noun: "transfer", rowHref: (t) => `/transfers/${t.id}`, shortcuts, isQueue: true }}
        selection={
          canSelect
            ? {
                rowLabel: transferLabel,
                allLabel: "Select all transfers on this page",
                actions: (selected, clear) => (
                  <Button variant="primary" disabled={selected.length === 0 || isRefreshing} onClick={() => setBulk({ transfers: selected, clear })}>
                    Retry selected ({selected.length})
                  </Button>
                ),
              }
            : undefined
        }
        toolbar={
          canSelect ? (
            <Button onClick={refresh} disabled={isRefreshing}>
              Refresh
            </Button>
          ) : undefined
        }
        pagination={{
          label: "Queue pages",
          links: [
            { label: "Oldest first", rel: "prev", href: firstHref },
            { label: "Next", rel: "next", href: nextHref },
          ],
        }}
        csv={{
          fileName: "stuck-transfers",
          columns: TRANSFER_CSV_COLUMNS,
          fetchPage: async (c) => {
            const p = await queryClient.fetchQuery({ ...trpc.transfers.list.queryOptions({ ...exportQuery, cursor: c ?? undefined }), staleTime: 0, gcTime: 0 });
            return { rows: p.items, nextCursor: p.nextCursor };
          },
        }}
      />

      <OperationDialog kind={dialog?.kind ?? null} target={dialog?.target ?? null} onClose={() => setDialog(null)} onDone={(kind, target) => afterConfirmed([target.id], kind)} />
      <BulkRetryDialog
        transfers={bulk?.transfers ?? null}
        onClose={() => setBulk(null)}
        onDone={(results) => {
          setBulkResults(results);
          bulk?.clear();
          afterConfirmed(
            results.filter((r) => r.ok).map((r) => r.transferId),
            "bulkRetry",
          );
        }}
      />
    </section>
  );
}

function BulkResults({ results, onDismiss }: { results: BulkResult[]; onDismiss: () => void }) {
  const failed = results.filter((r) => !r.ok).length;
  return (
    <section aria-label="Bulk retry results" className="mb-3 rounded-md border border-zinc-200 bg-white p-3 text-sm dark:border-zinc-800 dark:bg-zinc-900">
      <div className="mb-1 flex items-center justify-between gap-2">
        <h2 className="font-semibold">
          Bulk retry: {results.length - failed} accepted, {failed} not retried
        </h2>
        <Button variant="ghost" onClick={onDismiss}>
          Dismiss results
        </Button>
      </div>
      <ul className="max-h-48 space-y-0.5 overflow-auto text-xs">
        {results.map((r) => (
          <li key={r.transferId} className={r.ok ? "text-emerald-800 dark:text-emerald-300" : "text-red-800 dark:text-red-300"}>
            <span className="font-medium">{r.ok ? "Accepted" : "Not retried"}</span>{" "}
            <Link href={`/transfers/${r.transferId}`} className="underline">
              {r.label}
            </Link>
            : {r.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Bulk retry through the kit's ReasonDialog: each transfer retried on its own, results per transfer. */
function BulkRetryDialog({ transfers, onClose, onDone }: { transfers: TransferRow[] | null; onClose: () => void; onDone: (results: BulkResult[]) => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const bulkRetry = useMutation(trpc.transfers.bulkRetry.mutationOptions());
  const list = transfers ?? [];
  // Retry re-submits created and reserved transfers; one the partner already has is queried instead, by hand.
  const retryable = list.filter((t) => OPERATIONS.retry.states.includes(t.state));
  const skipped = list.filter((t) => !OPERATIONS.retry.states.includes(t.state));

  return (
    <ReasonDialog
      isOpen={transfers !== null}
      onClose={onClose}
      title={`Retry ${list.length} transfer${list.length === 1 ? "" : "s"}`}
      keyScope="transfer-bulkRetry"
      confirmLabel={`Retry ${retryable.length}`}
      reasonPlaceholder="Why, for the audit log (incident, ticket)"
      confirmBlockedReason={retryable.length === 0 ? "None of the selected transfers can be retried: they are already at the partner. Query the partner for each instead." : null}
      description={<p>{OPERATIONS.retry.effect} Each transfer is retried on its own: one refusal does not stop the others.</p>}
      onConfirm={async ({ reason, idempotencyKey }) => {
        let answer;
        try {
          answer = await bulkRetry.mutateAsync({ transferIds: retryable.map((t) => t.id), reason, idempotencyKey });
        } catch (err) {
          toast.error(`Bulk retry refused: ${errorMessageOf(err)}`);
          throw err;
        }
        const labels = new Map(list.map((t) => [t.id, transferLabel(t)]));
        const results: BulkResult[] = [
          ...answer.map((r) => ({
            transferId: r.transferId,
            label: labels.get(r.transferId) ?? r.transferId,
            ok: r.ok,
            message: r.ok ? `retry accepted (${r.state ?? "state unchanged"})` : `${r.error?.code ?? "refused"}: ${r.error?.message ?? "refused"}`,
          })),
          ...skipped.map((t) => ({ transferId: t.id, label: transferLabel(t), ok: false, message: `skipped: ${t.state}, already at the partner; use Query partner` })),
        ];
        const accepted = results.filter((r) => r.ok).length;
        if (accepted === results.length) toast.success(`Retry accepted for all ${accepted} selected transfer${accepted === 1 ? "" : "s"}; the worker submits them now.`);
        else toast.error(`Retry accepted for ${accepted} of ${results.length} selected transfers; see the results above the queue.`);
        onDone(results);
      }}
    >
      <ul className="max-h-32 overflow-auto rounded border border-zinc-200 px-2 py-1 text-xs dark:border-zinc-800">
        {list.map((t) => (
          <li key={t.id} className="flex justify-between gap-2">
            <span className="truncate">{transferLabel(t)}</span>
            <span className="shrink-0 text-zinc-500">{OPERATIONS.retry.states.includes(t.state) ? t.state : `${t.state}: skipped`}</span>
          </li>
        ))}
      </ul>
      {skipped.length > 0 ? (
        <p className="text-xs text-amber-800 dark:text-amber-300">
          {skipped.length} selected transfer{skipped.length === 1 ? " is" : "s are"} already at the partner and will be skipped: query the partner for {skipped.length === 1 ? "it" : "them"} instead.
        </p>
      ) : null}
    </ReasonDialog>
  );
}
