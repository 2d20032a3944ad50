"use client";
/**
 * A transfer's state timeline: one row per stored transition (transfer_events), with the time
 * spent in the previous state, the cause, who or what caused it and the partner's message id.
 * The last row of an active transfer says how long it has waited so far.
 */
import { isActive, type TransferState } from "../../server/transfers/state-machine";
import { formatUtc } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { JsonBlock } from "./json-block";
import { TransferStateBadge, formatDuration, secondsBetween } from "./transfer-ui";

type TransferEvent = RouterOutputs["transfers"]["get"]["events"][number];

/** A stored transition with the time since the one before, or the "still waiting" row at the end. */
type TimelineRow = { kind: "event"; event: TransferEvent; previousAt: Date } | { kind: "now"; state: TransferState; stateChangedAt: Date; now: Date };

function detailOf(detail: unknown): { reason?: string; evidence?: string; rest: Record<string, unknown> | null } {
  if (!detail || typeof detail !== "object") return { rest: null };
  const { reason, evidence, ...rest } = detail as Record<string, unknown>;
  return {
    reason: typeof reason === "string" ? reason : undefined,
    evidence: typeof evidence === "string" ? evidence : undefined,
    rest: Object.keys(rest).length ? rest : null,
  };
}

const none = <span className="text-zinc-400">—</span>;

const columns: ColumnDef<TimelineRow>[] = [
  { id: "at", header: "At (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row: { original: r } }) => (r.kind === "now" ? "now" : formatUtc(r.event.createdAt)) },
  {
    id: "transition",
    header: "Transition",
    meta: { className: "whitespace-nowrap" },
    cell: ({ row: { original: r } }) =>
      r.kind === "now" ? (
        <>
          <span className="text-xs text-zinc-600 dark:text-zinc-400">still</span> <TransferStateBadge state={r.state} />
        </>
      ) : (
        <>
          {r.event.fromState ? (
            <>
              <TransferStateBadge state={r.event.fromState} /> <span aria-label="to">→</span>{" "}
            </>
          ) : null}
          <TransferStateBadge state={r.event.toState} />
        </>
      ),
  },
  {
    id: "after",
    header: "After",
    meta: { className: "text-xs whitespace-nowrap tabular-nums" },
    cell: ({ row: { original: r } }) =>
      r.kind === "now" ? (
        `${formatDuration(secondsBetween(r.stateChangedAt, r.now))} so far`
      ) : (
        <span title={r.event.fromState ? `time spent ${r.event.fromState}` : "since creation"}>{formatDuration(secondsBetween(r.previousAt, r.event.createdAt))}</span>
      ),
  },
  {
    id: "cause",
    header: "Cause",
    meta: { className: "font-mono text-xs" },
    cell: ({ row: { original: r } }) => (r.kind === "now" ? <span className="font-sans text-zinc-500 dark:text-zinc-400">Waiting in {r.state}</span> : r.event.cause),
  },
  {
    id: "actor",
    header: "Actor",
    meta: { className: "text-xs" },
    cell: ({ row: { original: r } }) =>
      r.kind === "now" ? null : (
        <>
          {r.event.actorLabel}
          <span className="ml-1 text-zinc-500 dark:text-zinc-400">({r.event.actorType})</span>
        </>
      ),
  },
  { id: "message", header: "Partner message", meta: { className: "font-mono text-xs break-all" }, cell: ({ row: { original: r } }) => (r.kind === "now" ? null : (r.event.partnerMessageId ?? none)) },
  {
    id: "detail",
    header: "Detail",
    meta: { className: "max-w-sm text-xs" },
    cell: ({ row: { original: r } }) => {
      if (r.kind === "now") return null;
      const d = detailOf(r.event.detail);
      return (
        <>
          {d.reason ? <p>Reason: {d.reason}</p> : null}
          {d.evidence ? <p>Evidence: {d.evidence}</p> : null}
          {d.rest ? <JsonBlock summary="Event detail" value={d.rest} /> : null}
          {!d.reason && !d.evidence && !d.rest ? none : null}
        </>
      );
    },
  },
];

export function TransferTimeline({ events, state, stateChangedAt, createdAt, now }: { events: TransferEvent[]; state: TransferState; stateChangedAt: Date; createdAt: Date; now: Date }) {
  const rows: TimelineRow[] = events.map((event, i) => ({ kind: "event", event, previousAt: i === 0 ? createdAt : events[i - 1]!.createdAt }));
  if (isActive(state)) rows.push({ kind: "now", state, stateChangedAt, now });
  return (
    <DataTable
      columns={columns}
      rows={rows}
      getRowId={(r) => (r.kind === "now" ? "now" : r.event.id)}
      caption="State transitions, oldest first, with the time spent in the state before each"
      rowClassName={(r) => (r.kind === "now" ? "bg-sky-50/50 dark:bg-sky-950/20" : undefined)}
    />
  );
}
