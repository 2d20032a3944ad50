"use client";
/**
 * The webhooks a partner sent about one transfer: each stored event with its raw payload and
 * evidence headers, the signature result, whether it was a redelivery (duplicate), and the effect
 * applying it had (applied, ignored as backwards, ...). Operators can replay an event (reason
 * required, audited).
 */
import { Badge, EmptyState, formatUtc } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { JsonBlock } from "./json-block";
import { ReplayWebhookButton } from "./replay-webhook-button";

type WebhookEvent = RouterOutputs["transfers"]["get"]["webhooks"][number];

const EFFECT_LABEL: Record<string, { text: string; tone: "good" | "bad" | "info" | "neutral" }> = {
  applied: { text: "applied", tone: "good" },
  duplicate_state: { text: "no change (already in that state)", tone: "neutral" },
  ignored_backwards: { text: "ignored: would move backwards", tone: "info" },
  ignored_terminal: { text: "ignored: transfer is final", tone: "info" },
  unknown_transfer: { text: "no matching transfer", tone: "bad" },
  duplicate_event: { text: "not applied: redelivery", tone: "neutral" },
  error: { text: "failed to apply", tone: "bad" },
};

const columns: ColumnDef<WebhookEvent>[] = [
  {
    id: "received",
    header: "Received (UTC)",
    meta: { className: "font-mono text-xs whitespace-nowrap" },
    cell: ({ row: { original: w } }) => (
      <>
        {formatUtc(w.receivedAt)}
        <div className="text-zinc-500 dark:text-zinc-400" title="When the partner says it happened">
          occurred {formatUtc(w.occurredAt)}
        </div>
      </>
    ),
  },
  {
    id: "event",
    header: "Event",
    meta: { className: "text-xs" },
    cell: ({ row: { original: w } }) => (
      <>
        <span className="font-medium">{w.eventType}</span>
        <div className="font-mono break-all text-zinc-500 dark:text-zinc-400">{w.eventId}</div>
      </>
    ),
  },
  {
    id: "signature",
    header: "Signature",
    cell: ({ row: { original: w } }) => (
      <>
        <Badge tone={w.signatureResult === "valid" ? "good" : "bad"}>{w.signatureResult}</Badge>
        <div className="mt-0.5 font-mono text-xs text-zinc-500 dark:text-zinc-400">signed {formatUtc(w.signedAt)}</div>
      </>
    ),
  },
  { id: "duplicate", header: "Duplicate", meta: { className: "text-xs" }, cell: ({ row: { original: w } }) => (w.isDuplicate ? <Badge tone="info">duplicate</Badge> : "original") },
  {
    id: "effect",
    header: "Effect",
    meta: { className: "text-xs" },
    cell: ({ row: { original: w } }) => {
      const effect = w.effect ? (EFFECT_LABEL[w.effect] ?? { text: w.effect, tone: "neutral" as const }) : null;
      return (
        <>
          {effect ? <Badge tone={effect.tone}>{effect.text}</Badge> : <Badge tone="info">pending</Badge>}
          {w.lastError ? <p className="mt-0.5 max-w-xs text-red-700 dark:text-red-400">{w.lastError}</p> : null}
          <p className="mt-0.5 text-zinc-500 dark:text-zinc-400">
            {w.processAttempts} attempt{w.processAttempts === 1 ? "" : "s"}
            {w.replayCount > 0 ? ` · replayed ${w.replayCount}× (last ${formatUtc(w.lastReplayedAt)})` : ""}
          </p>
        </>
      );
    },
  },
  {
    id: "payload",
    header: "Payload",
    meta: { className: "space-y-1" },
    cell: ({ row: { original: w } }) => (
      <>
        <JsonBlock summary="Raw payload" value={w.rawBody} />
        <JsonBlock summary="Headers" value={w.headers} />
        {w.effectDetail ? <JsonBlock summary="Effect detail" value={w.effectDetail} /> : null}
      </>
    ),
  },
];

const replayColumn: ColumnDef<WebhookEvent> = {
  id: "replay",
  header: "Replay",
  meta: { isHeaderHidden: true },
  cell: ({ row: { original: w } }) => (w.isDuplicate ? null : <ReplayWebhookButton webhookEventId={w.id} eventLabel={`${w.eventType} event ${w.eventId}`} />),
};
const columnsWithReplay = [...columns, replayColumn];

export function WebhooksSection({ events, partner, canReplay }: { events: WebhookEvent[]; partner: string; canReplay: boolean }) {
  return (
    <DataTable
      columns={canReplay ? columnsWithReplay : columns}
      rows={events}
      getRowId={(w) => w.id}
      caption={`Webhooks from ${partner} about this transfer, in arrival order`}
      empty={
        <EmptyState title="No webhooks received">
          <p>
            {partner} has not sent a verified webhook about this transfer. Acknowledgements, settlements, failures and returns arrive here; refused webhooks (bad signature, stale) are
            kept only in the security log.
          </p>
        </EmptyState>
      }
    />
  );
}
