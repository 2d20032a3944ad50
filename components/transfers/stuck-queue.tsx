"use client";
/**
 * The stuck queue: stuck transfers oldest first, with how long and why, per-row actions, a
 * checkbox selection for bulk retry, and keyboard shortcuts (j/k move, x select, r retry, q query
 * partner, c cancel, f mark failed, Enter open, ? help).
 *
 * No optimistic updates: an action shows "Working…" in its dialog until the server answers; a
 * confirmed action marks its row as waiting for the worker, and the queue re-reads itself from
 * the server every few seconds until each such row has moved (its version changed) or left.
 * The actions offered follow the powers the server passed; the API checks every call again.
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, useTransition, type FormEvent } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import type { TransferListItem } from "../../server/transfers/queries";
import { Money, amountCellClass } from "../ledger/money";
import { Dialog } from "../dialog";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { buttonClass, formatUtc, inputClass, labelClass, linkClass, tableClass } from "../ui";
import { OperationDialog, type OperationTarget } from "./operation-dialog";
import { OPERATIONS, isAllowed, newIdempotencyKey, operationsFor, type ActorPowers, type OperationKind } from "./operations";
import { StuckNote, TransferStateBadge, formatDuration, secondsBetween, shortId } from "./transfer-ui";
import { transferLabel } from "./transfers-table";

/** Rows retried, by id: when, and when the row had last changed state then. */
type Requested = Map<string, { stateChangedAtMs: number; at: number }>;

const POLL_MS = 3000;
/** Stop re-reading after this long even if the worker has not moved a row (it says so). */
const POLL_LIMIT_MS = 90_000;
const ROW_ACTIONS: readonly OperationKind[] = ["retry", "query", "cancel", "markFailed"];

const SHORTCUTS: readonly [string, string][] = [
  ["j / k", "Move to the next / previous transfer"],
  ["x", "Select or unselect the current transfer"],
  ["r", "Retry the selection, or the current transfer when nothing is selected"],
  ["q", "Query the partner for the current transfer"],
  ["c", "Cancel the current transfer (before submission only)"],
  ["f", "Mark the current transfer failed (before submission only)"],
  ["Enter", "Open the current transfer"],
  ["?", "Show this help"],
];

/** Keys typed into a text field are text, not shortcuts (a focused checkbox or button is not a text field). */
function isTypingTarget(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  if (el instanceof HTMLInputElement) return !["checkbox", "radio", "button", "submit", "reset"].includes(el.type);
  return el.isContentEditable || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
}

export function StuckQueue({ items, powers, nowIso }: { items: TransferListItem[]; powers: ActorPowers; nowIso: string }) {
  const router = useRouter();
  const toast = useToast();
  const now = useMemo(() => new Date(nowIso), [nowIso]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [activeIndex, setActiveIndex] = useState(0);
  const [dialog, setDialog] = useState<{ kind: OperationKind; target: OperationTarget } | null>(null);
  const [isBulkOpen, setIsBulkOpen] = useState(false);
  const [isHelpOpen, setIsHelpOpen] = useState(false);
  const [requested, setRequested] = useState<Requested>(new Map());
  const [bulkResults, setBulkResults] = useState<BulkResult[] | null>(null);
  const [isRefreshing, startRefresh] = useTransition();
  const rowRefs = useRef<(HTMLTableRowElement | null)[]>([]);
  const canSelect = powers.canOperate;

  const byId = useMemo(() => new Map(items.map((t) => [t.id, t])), [items]);
  // The selection and the waiting marks only ever refer to rows still in the queue; a retried row
  // waits until the worker moves it to another state or it leaves the queue (derived, not stored).
  const visibleSelected = useMemo(() => new Set([...selected].filter((id) => byId.has(id))), [selected, byId]);
  const waiting = useMemo(() => new Map([...requested].filter(([id, r]) => byId.get(id)?.stateChangedAt.getTime() === r.stateChangedAtMs)), [requested, byId]);
  const current = items[Math.min(activeIndex, items.length - 1)];

  const refresh = useCallback(() => startRefresh(() => router.refresh()), [router]);

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

  const toggle = useCallback((id: string) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  const openAction = useCallback(
    (kind: OperationKind, t: TransferListItem | undefined) => {
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

  const moveTo = useCallback(
    (index: number) => {
      const i = Math.max(0, Math.min(items.length - 1, index));
      setActiveIndex(i);
      rowRefs.current[i]?.focus();
    },
    [items.length],
  );

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (isTypingTarget(e.target) || document.querySelector("dialog[open]")) return;
      const t = current;
      switch (e.key) {
        case "j":
          moveTo(activeIndex + 1);
          break;
        case "k":
          moveTo(activeIndex - 1);
          break;
        case "x":
          if (canSelect && t) toggle(t.id);
          break;
        case "r":
          if (canSelect && visibleSelected.size > 0) setIsBulkOpen(true);
          else openAction("retry", t);
          break;
        case "q":
          openAction("query", t);
          break;
        case "c":
          openAction("cancel", t);
          break;
        case "f":
          openAction("markFailed", t);
          break;
        case "Enter":
          if (t && !(e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement)) router.push(`/transfers/${t.id}`);
          else return;
          break;
        case "?":
          setIsHelpOpen(true);
          break;
        default:
          return;
      }
      e.preventDefault();
    }
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [current, activeIndex, canSelect, visibleSelected, moveTo, toggle, openAction, router]);

  const isAllSelected = canSelect && items.length > 0 && visibleSelected.size === items.length;

  return (
    <section aria-label="Stuck queue">
      <p id="stuck-shortcuts-hint" className="mb-2 text-xs text-zinc-600 dark:text-zinc-400">
        Keys: <kbd className="font-mono">j</kbd>/<kbd className="font-mono">k</kbd> move ·{" "}
        {canSelect ? (
          <>
            <kbd className="font-mono">x</kbd> select · <kbd className="font-mono">r</kbd> retry · <kbd className="font-mono">q</kbd> query partner · <kbd className="font-mono">c</kbd> cancel ·{" "}
            <kbd className="font-mono">f</kbd> mark failed ·{" "}
          </>
        ) : null}
        <kbd className="font-mono">Enter</kbd> open · <kbd className="font-mono">?</kbd> help
      </p>

      {canSelect ? (
        <div role="toolbar" aria-label="Bulk actions" className="mb-2 flex flex-wrap items-center gap-2 rounded-md border border-zinc-200 bg-white px-3 py-2 text-sm dark:border-zinc-800 dark:bg-zinc-900">
          <span aria-live="polite">{visibleSelected.size === 0 ? "Nothing selected" : `${visibleSelected.size} selected`}</span>
          <button type="button" className={buttonClass.primary} disabled={visibleSelected.size === 0 || isRefreshing} onClick={() => setIsBulkOpen(true)}>
            Retry selected ({visibleSelected.size})
          </button>
          {visibleSelected.size > 0 ? (
            <button type="button" className={buttonClass.ghost} onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          ) : null}
          <span className="ml-auto flex items-center gap-2">
            {isRefreshing ? (
              <span role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
                Refreshing from the server…
              </span>
            ) : null}
            <button type="button" className={buttonClass.secondary} onClick={refresh} disabled={isRefreshing}>
              Refresh
            </button>
          </span>
        </div>
      ) : null}

      {bulkResults ? <BulkResults results={bulkResults} onDismiss={() => setBulkResults(null)} /> : null}

      <div className={tableClass.wrap}>
        <table className={tableClass.table} aria-describedby="stuck-shortcuts-hint">
          <caption className="sr-only">Stuck transfers, oldest first</caption>
          <thead className="bg-zinc-50 dark:bg-zinc-900">
            <tr>
              {canSelect ? (
                <th scope="col" className={`${tableClass.th} w-8`}>
                  <input
                    type="checkbox"
                    aria-label="Select all transfers on this page"
                    checked={isAllSelected}
                    onChange={() => setSelected(isAllSelected ? new Set() : new Set(items.map((t) => t.id)))}
                    className="size-4 accent-zinc-800 dark:accent-zinc-200"
                  />
                </th>
              ) : null}
              <th scope="col" className={tableClass.th}>Transfer</th>
              <th scope="col" className={`${tableClass.th} text-right`}>Amount</th>
              <th scope="col" className={tableClass.th}>State</th>
              <th scope="col" className={tableClass.th}>Stuck for and why</th>
              <th scope="col" className={tableClass.th}>Created (UTC)</th>
              {powers.canOperate ? (
                <th scope="col" className={tableClass.th}>
                  Actions
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {items.map((t, i) => {
              const label = transferLabel(t);
              const isActiveRow = i === activeIndex;
              const wait = waiting.get(t.id);
              const actions = operationsFor(t.state, powers).filter((s) => ROW_ACTIONS.includes(s.kind));
              return (
                <tr
                  key={t.id}
                  ref={(el) => {
                    rowRefs.current[i] = el;
                  }}
                  tabIndex={isActiveRow ? 0 : -1}
                  aria-current={isActiveRow ? "true" : undefined}
                  aria-busy={wait ? true : undefined}
                  onFocus={() => setActiveIndex(i)}
                  onClick={() => setActiveIndex(i)}
                  className={`${tableClass.tr} outline-none focus-visible:ring-2 focus-visible:ring-sky-600 focus-visible:ring-inset ${isActiveRow ? "bg-sky-50/70 dark:bg-sky-950/30" : ""}`}
                >
                  {canSelect ? (
                    <td className={tableClass.td}>
                      <input type="checkbox" aria-label={`Select ${label}`} checked={visibleSelected.has(t.id)} onChange={() => toggle(t.id)} className="size-4 accent-zinc-800 dark:accent-zinc-200" />
                    </td>
                  ) : null}
                  <td className={tableClass.td}>
                    <Link href={`/transfers/${t.id}`} className={linkClass}>
                      {label}
                    </Link>
                    <div className="font-mono text-xs text-zinc-500 dark:text-zinc-400" title={t.id}>
                      {shortId(t.id)} · {t.rail} · {t.partner}
                    </div>
                    <div className="max-w-[14rem] truncate text-xs text-zinc-600 dark:text-zinc-400" title={t.counterpartyName}>
                      to {t.counterpartyName}
                    </div>
                  </td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={t.amountMinor} currency={t.currency} />
                  </td>
                  <td className={tableClass.td}>
                    <TransferStateBadge state={t.state} />
                    <div className="mt-0.5 text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">for {formatDuration(secondsBetween(t.stateChangedAt, now))}</div>
                  </td>
                  <td className={`${tableClass.td} max-w-md`}>
                    <StuckNote stuckForSeconds={t.stuckForSeconds} reason={t.stuckReason} />
                    {t.lastError && t.lastError !== t.stuckReason ? <p className="mt-0.5 text-xs text-red-700 dark:text-red-400">Last error: {t.lastError}</p> : null}
                    {wait ? (
                      <p role="status" className="mt-1 text-xs font-medium text-sky-800 dark:text-sky-300">
                        Retry accepted: waiting for the worker to move it…
                      </p>
                    ) : null}
                  </td>
                  <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(t.createdAt)}</td>
                  {powers.canOperate ? (
                    <td className={tableClass.td}>
                      <div className="flex flex-wrap gap-1">
                        {actions.length === 0 ? <span className="text-xs text-zinc-500">—</span> : null}
                        {actions.map((s) => (
                          <button
                            key={s.kind}
                            type="button"
                            aria-label={`${s.label} ${label}`}
                            title={`${s.label} (${s.key})`}
                            disabled={Boolean(wait)}
                            className={`${s.isDanger ? buttonClass.ghost : buttonClass.secondary} px-2 py-0.5 text-xs ${s.isDanger ? "text-red-700 dark:text-red-400" : ""}`}
                            onClick={() => {
                              setActiveIndex(i);
                              openAction(s.kind, t);
                            }}
                          >
                            {s.kind === "retry" ? "Retry" : s.kind === "query" ? "Query" : s.kind === "cancel" ? "Cancel" : "Mark failed"}
                          </button>
                        ))}
                      </div>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <OperationDialog kind={dialog?.kind ?? null} target={dialog?.target ?? null} onClose={() => setDialog(null)} onDone={(kind, target) => afterConfirmed([target.id], kind)} />
      <BulkRetryDialog
        isOpen={isBulkOpen}
        transfers={items.filter((t) => visibleSelected.has(t.id))}
        onClose={() => setIsBulkOpen(false)}
        onDone={(results) => {
          setBulkResults(results);
          setSelected(new Set());
          afterConfirmed(
            results.filter((r) => r.ok).map((r) => r.transferId),
            "bulkRetry",
          );
        }}
      />
      <Dialog isOpen={isHelpOpen} title="Keyboard shortcuts" onClose={() => setIsHelpOpen(false)}>
        <dl className="grid grid-cols-[6rem_1fr] gap-x-4 gap-y-1 text-sm">
          {SHORTCUTS.map(([k, what]) => (
            <div key={k} className="contents">
              <dt>
                <kbd className="rounded border border-zinc-300 px-1 font-mono text-xs dark:border-zinc-700">{k}</kbd>
              </dt>
              <dd>{what}</dd>
            </div>
          ))}
        </dl>
        <p className="mt-3 text-xs text-zinc-600 dark:text-zinc-400">Shortcuts are off while you type in a field or a dialog is open. Actions need the operator role.</p>
        <div className="mt-4 flex justify-end">
          <button type="button" className={buttonClass.secondary} onClick={() => setIsHelpOpen(false)}>
            Close
          </button>
        </div>
      </Dialog>
    </section>
  );
}

interface BulkResult {
  transferId: string;
  label: string;
  ok: boolean;
  message: string;
}

function BulkResults({ results, onDismiss }: { results: BulkResult[]; onDismiss: () => void }) {
  const failed = results.filter((r) => !r.ok).length;
  return (
    <section aria-label="Bulk retry results" className="mb-3 rounded-md border border-zinc-200 bg-white p-3 text-sm dark:border-zinc-800 dark:bg-zinc-900">
      <div className="mb-1 flex items-center justify-between gap-2">
        <h2 className="font-semibold">
          Bulk retry: {results.length - failed} accepted, {failed} not retried
        </h2>
        <button type="button" className={buttonClass.ghost} onClick={onDismiss}>
          Dismiss results
        </button>
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

function BulkRetryDialog({ isOpen, transfers, onClose, onDone }: { isOpen: boolean; transfers: TransferListItem[]; onClose: () => void; onDone: (results: BulkResult[]) => void }) {
  return (
    <Dialog isOpen={isOpen} title={`Retry ${transfers.length} transfer${transfers.length === 1 ? "" : "s"}`} onClose={onClose}>
      {isOpen ? <BulkRetryForm transfers={transfers} onClose={onClose} onDone={onDone} /> : null}
    </Dialog>
  );
}

function BulkRetryForm({ transfers, onClose, onDone }: { transfers: TransferListItem[]; onClose: () => void; onDone: (results: BulkResult[]) => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const bulkRetry = useMutation(trpc.transfers.bulkRetry.mutationOptions());
  const ids = useId();
  const [idempotencyKey] = useState(() => newIdempotencyKey("bulkRetry"));
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);
  // Retry re-submits created and reserved transfers; one the partner already has is queried instead, by hand.
  const retryable = transfers.filter((t) => OPERATIONS.retry.states.includes(t.state));
  const skipped = transfers.filter((t) => !OPERATIONS.retry.states.includes(t.state));

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim().length < 3) {
      setError("Give a reason of at least 3 characters: it is recorded in the audit log of each transfer.");
      return;
    }
    if (retryable.length === 0) {
      setError("None of the selected transfers can be retried: they are already at the partner. Query the partner for each instead.");
      return;
    }
    setIsPending(true);
    setError(null);
    try {
      const answer = await bulkRetry.mutateAsync({ transferIds: retryable.map((t) => t.id), reason: reason.trim(), idempotencyKey });
      const labels = new Map(transfers.map((t) => [t.id, transferLabel(t)]));
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
      onClose();
    } catch (err) {
      const message = errorMessageOf(err);
      setIsPending(false);
      setError(message);
      toast.error(`Bulk retry refused: ${message}`);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-busy={isPending}>
      <p className="text-sm text-zinc-700 dark:text-zinc-300">{OPERATIONS.retry.effect} Each transfer is retried on its own: one refusal does not stop the others.</p>
      <ul className="max-h-32 overflow-auto rounded border border-zinc-200 px-2 py-1 text-xs dark:border-zinc-800">
        {transfers.map((t) => (
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
      <div>
        <label htmlFor={`${ids}-reason`} className={labelClass}>
          Reason
        </label>
        <textarea
          id={`${ids}-reason`}
          rows={3}
          maxLength={500}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          required
          minLength={3}
          autoFocus
          placeholder="Why, for the audit log (incident, ticket)"
          className={`${inputClass} mt-1`}
        />
      </div>
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <div className="flex justify-end gap-2">
        <button type="button" className={buttonClass.secondary} onClick={onClose} disabled={isPending}>
          Close
        </button>
        <button type="submit" className={buttonClass.primary} disabled={isPending || retryable.length === 0}>
          {isPending ? "Working…" : `Retry ${retryable.length}`}
        </button>
      </div>
    </form>
  );
}
