"use client";
/**
 * Replays one stored partner webhook (operators; a reason is required and audited). Applying is
 * idempotent on the server: a replay changes the transfer only when the first application did not.
 * The page re-reads itself from the server only after the server answered.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { useToast } from "../toast";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

export function ReplayWebhookButton({ webhookEventId, eventLabel }: { webhookEventId: string; eventLabel: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { isRefreshing, refresh } = useServerRefresh();
  const replay = useMutation(trpc.transfers.replayWebhook.mutationOptions());
  const [isOpen, setIsOpen] = useState(false);

  return (
    <>
      <Button onClick={() => setIsOpen(true)} disabled={isRefreshing} aria-label={`Replay ${eventLabel}`}>
        Replay
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={`Replay ${eventLabel}`}
        keyScope="webhook-replay"
        confirmLabel="Replay event"
        description={<p>The stored event is applied again. It changes the transfer only if the first application did not (it failed, or the transfer did not exist yet).</p>}
        onConfirm={async ({ reason }) => {
          const r = await replay.mutateAsync({ webhookEventId, reason });
          toast.success(`Replayed ${eventLabel}: ${r.effect.replaceAll("_", " ")}.`);
          refresh();
        }}
      />
    </>
  );
}
