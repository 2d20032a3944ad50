"use client";
/**
 * Redeliver or skip a dead delivery (permission outbox:manage). Asks for the reason, which goes
 * into the audit record. No optimistic update: the row changes only after the server confirms
 * and the page is re-read.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

type Action = "redeliver" | "skip";

export function DeadDeliveryActions({ deliveryId, topic, aggregateId }: { deliveryId: string; topic: string; aggregateId: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { isRefreshing, refresh } = useServerRefresh();
  const [action, setAction] = useState<Action | null>(null);
  const redeliver = useMutation(trpc.outbox.deliveries.redeliver.mutationOptions());
  const skip = useMutation(trpc.outbox.deliveries.skip.mutationOptions());

  return (
    <span className="inline-flex gap-1.5">
      <Button disabled={isRefreshing} onClick={() => setAction("redeliver")} aria-label={`Redeliver ${topic} for ${aggregateId}`}>
        Redeliver
      </Button>
      <Button variant="ghost" disabled={isRefreshing} onClick={() => setAction("skip")} aria-label={`Skip ${topic} for ${aggregateId}`}>
        Skip
      </Button>
      <ReasonDialog
        isOpen={action !== null}
        onClose={() => setAction(null)}
        title={action === "redeliver" ? "Redeliver this event" : "Skip this event"}
        keyScope={`delivery-${action ?? "redeliver"}`}
        description={
          action === "redeliver" ? (
            <p>
              <span className="font-mono">{topic}</span> for <span className="font-mono">{aggregateId}</span> is sent again with the same delivery id and a fresh set of attempts,
              before the later events of the same aggregate.
            </p>
          ) : (
            <p>
              <span className="font-mono">{topic}</span> for <span className="font-mono">{aggregateId}</span> is given up for good: the receiver never gets it, and the later events
              of the same aggregate are sent. This cannot be undone.
            </p>
          )
        }
        confirmLabel={action === "redeliver" ? "Redeliver" : "Skip event"}
        isDanger={action === "skip"}
        onConfirm={async ({ reason }) => {
          if (!action) return;
          try {
            await (action === "redeliver" ? redeliver : skip).mutateAsync({ deliveryId, reason });
          } catch (e) {
            toast.error(`Could not ${action} delivery ${deliveryId}: ${errorMessageOf(e)}`);
            throw e;
          }
          toast.success(action === "redeliver" ? `Delivery ${deliveryId} will be sent again.` : `Delivery ${deliveryId} was skipped; later events of ${aggregateId} proceed.`);
          refresh();
        }}
      />
    </span>
  );
}
