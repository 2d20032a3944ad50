/**
 * The webhooks a partner sent about one transfer: each stored event with its raw payload and
 * evidence headers, the signature result, whether it was a redelivery (duplicate), and the effect
 * applying it had (applied, ignored as backwards, ...). Operators can replay an event (reason
 * required, audited). Server component; the replay button is a client island.
 */
import type { WebhookEventItem } from "../../server/partners/webhooks";
import { Badge, EmptyState, formatUtc, tableClass } from "../ui";
import { JsonBlock } from "./json-block";
import { ReplayWebhookButton } from "./replay-webhook-button";

const EFFECT_LABEL: Record<string, { text: string; tone: "good" | "bad" | "info" | "neutral" }> = {
  applied: { text: "applied", tone: "good" },
  duplicate_state: { text: "no change (already in that state)", tone: "neutral" },
  ignored_backwards: { text: "ignored: would move backwards", tone: "info" },
  ignored_terminal: { text: "ignored: transfer is final", tone: "info" },
  unknown_transfer: { text: "no matching transfer", tone: "bad" },
  duplicate_event: { text: "not applied: redelivery", tone: "neutral" },
  error: { text: "failed to apply", tone: "bad" },
};

export function WebhooksSection({ events, partner, canReplay }: { events: WebhookEventItem[]; partner: string; canReplay: boolean }) {
  if (events.length === 0) {
    return (
      <EmptyState title="No webhooks received">
        <p>{partner} has not sent a verified webhook about this transfer. Acknowledgements, settlements, failures and returns arrive here; refused webhooks (bad signature, stale) are kept only in the security log.</p>
      </EmptyState>
    );
  }
  return (
    <div className={tableClass.wrap}>
      <table className={tableClass.table}>
        <caption className="sr-only">Webhooks from {partner} about this transfer, in arrival order</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={tableClass.th}>Received (UTC)</th>
            <th scope="col" className={tableClass.th}>Event</th>
            <th scope="col" className={tableClass.th}>Signature</th>
            <th scope="col" className={tableClass.th}>Duplicate</th>
            <th scope="col" className={tableClass.th}>Effect</th>
            <th scope="col" className={tableClass.th}>Payload</th>
            {canReplay ? (
              <th scope="col" className={tableClass.th}>
                <span className="sr-only">Replay</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {events.map((w) => {
            const effect = w.effect ? (EFFECT_LABEL[w.effect] ?? { text: w.effect, tone: "neutral" as const }) : null;
            return (
              <tr key={w.id} className={tableClass.tr}>
                <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>
                  {formatUtc(w.receivedAt)}
                  <div className="text-zinc-500 dark:text-zinc-400" title="When the partner says it happened">
                    occurred {formatUtc(w.occurredAt)}
                  </div>
                </td>
                <td className={`${tableClass.td} text-xs`}>
                  <span className="font-medium">{w.eventType}</span>
                  <div className="font-mono break-all text-zinc-500 dark:text-zinc-400">{w.eventId}</div>
                </td>
                <td className={tableClass.td}>
                  <Badge tone={w.signatureResult === "valid" ? "good" : "bad"}>{w.signatureResult}</Badge>
                  <div className="mt-0.5 font-mono text-xs text-zinc-500 dark:text-zinc-400">signed {formatUtc(w.signedAt)}</div>
                </td>
                <td className={`${tableClass.td} text-xs`}>{w.isDuplicate ? <Badge tone="info">duplicate</Badge> : "original"}</td>
                <td className={`${tableClass.td} text-xs`}>
                  {effect ? <Badge tone={effect.tone}>{effect.text}</Badge> : <Badge tone="info">pending</Badge>}
                  {w.lastError ? <p className="mt-0.5 max-w-xs text-red-700 dark:text-red-400">{w.lastError}</p> : null}
                  <p className="mt-0.5 text-zinc-500 dark:text-zinc-400">
                    {w.processAttempts} attempt{w.processAttempts === 1 ? "" : "s"}
                    {w.replayCount > 0 ? ` · replayed ${w.replayCount}× (last ${formatUtc(w.lastReplayedAt)})` : ""}
                  </p>
                </td>
                <td className={`${tableClass.td} space-y-1`}>
                  <JsonBlock summary="Raw payload" value={w.rawBody} />
                  <JsonBlock summary="Headers" value={w.headers} />
                  {w.effectDetail ? <JsonBlock summary="Effect detail" value={w.effectDetail} /> : null}
                </td>
                {canReplay ? (
                  <td className={tableClass.td}>
                    {w.isDuplicate ? null : <ReplayWebhookButton webhookEventId={w.id} eventLabel={`${w.eventType} event ${w.eventId}`} />}
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
