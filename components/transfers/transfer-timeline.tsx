/**
 * A transfer's state timeline: one row per stored transition (transfer_events), with the time
 * spent in the previous state, the cause, who or what caused it and the partner's message id.
 * The last row of an active transfer says how long it has waited so far.
 */
import type { TransferEventRow } from "../../server/transfers/types";
import { isActive, type TransferState } from "../../server/transfers/state-machine";
import { formatUtc, tableClass } from "../ui";
import { JsonBlock } from "./json-block";
import { TransferStateBadge, formatDuration, secondsBetween } from "./transfer-ui";

function detailOf(detail: unknown): { reason?: string; evidence?: string; rest: Record<string, unknown> | null } {
  if (!detail || typeof detail !== "object") return { rest: null };
  const { reason, evidence, ...rest } = detail as Record<string, unknown>;
  return {
    reason: typeof reason === "string" ? reason : undefined,
    evidence: typeof evidence === "string" ? evidence : undefined,
    rest: Object.keys(rest).length ? rest : null,
  };
}

export function TransferTimeline({ events, state, stateChangedAt, createdAt, now }: { events: TransferEventRow[]; state: TransferState; stateChangedAt: Date; createdAt: Date; now: Date }) {
  return (
    <div className={tableClass.wrap}>
      <table className={tableClass.table}>
        <caption className="sr-only">State transitions, oldest first, with the time spent in the state before each</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={tableClass.th}>At (UTC)</th>
            <th scope="col" className={tableClass.th}>Transition</th>
            <th scope="col" className={tableClass.th}>After</th>
            <th scope="col" className={tableClass.th}>Cause</th>
            <th scope="col" className={tableClass.th}>Actor</th>
            <th scope="col" className={tableClass.th}>Partner message</th>
            <th scope="col" className={tableClass.th}>Detail</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {events.map((e, i) => {
            const previousAt = i === 0 ? createdAt : events[i - 1]!.createdAt;
            const d = detailOf(e.detail);
            return (
              <tr key={e.id} className={tableClass.tr}>
                <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(e.createdAt)}</td>
                <td className={`${tableClass.td} whitespace-nowrap`}>
                  {e.fromState ? (
                    <>
                      <TransferStateBadge state={e.fromState} /> <span aria-label="to">→</span>{" "}
                    </>
                  ) : null}
                  <TransferStateBadge state={e.toState} />
                </td>
                <td className={`${tableClass.td} text-xs whitespace-nowrap tabular-nums`} title={e.fromState ? `time spent ${e.fromState}` : "since creation"}>
                  {formatDuration(secondsBetween(previousAt, e.createdAt))}
                </td>
                <td className={`${tableClass.td} font-mono text-xs`}>{e.cause}</td>
                <td className={`${tableClass.td} text-xs`}>
                  {e.actorLabel}
                  <span className="ml-1 text-zinc-500 dark:text-zinc-400">({e.actorType})</span>
                </td>
                <td className={`${tableClass.td} font-mono text-xs break-all`}>{e.partnerMessageId ?? <span className="text-zinc-400">—</span>}</td>
                <td className={`${tableClass.td} max-w-sm text-xs`}>
                  {d.reason ? <p>Reason: {d.reason}</p> : null}
                  {d.evidence ? <p>Evidence: {d.evidence}</p> : null}
                  {d.rest ? <JsonBlock summary="Event detail" value={d.rest} /> : null}
                  {!d.reason && !d.evidence && !d.rest ? <span className="text-zinc-400">—</span> : null}
                </td>
              </tr>
            );
          })}
          {isActive(state) ? (
            <tr className="bg-sky-50/50 dark:bg-sky-950/20">
              <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>now</td>
              <td className={tableClass.td}>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">still</span> <TransferStateBadge state={state} />
              </td>
              <td className={`${tableClass.td} text-xs whitespace-nowrap tabular-nums`}>{formatDuration(secondsBetween(stateChangedAt, now))} so far</td>
              <td className={`${tableClass.td} text-xs text-zinc-500 dark:text-zinc-400`} colSpan={4}>
                Waiting in {state}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
