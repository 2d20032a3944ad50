"use client";
/**
 * Redeliver or skip a dead delivery (permission outbox:manage). Asks for the reason, which goes
 * into the audit record. No optimistic update: the row changes only after the server confirms
 * and the page is refetched.
 */
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { ReasonDialog } from "../admin/reason-dialog";
import { buttonClass } from "../ui";

type Action = "redeliver" | "skip";

export function DeadDeliveryActions({ deliveryId, topic, aggregateId }: { deliveryId: string; topic: string; aggregateId: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [action, setAction] = useState<Action | null>(null);
  const [isRefreshing, startRefresh] = useTransition();
  const redeliver = useMutation(trpc.outbox.deliveries.redeliver.mutationOptions());
  const skip = useMutation(trpc.outbox.deliveries.skip.mutationOptions());

  async function confirm(reason: string) {
    if (!action) return;
    try {
      const m = action === "redeliver" ? redeliver : skip;
      await m.mutateAsync({ deliveryId, reason });
      toast.success(action === "redeliver" ? `Delivery ${deliveryId} will be sent again.` : `Delivery ${deliveryId} was skipped; later events of ${aggregateId} proceed.`);
      startRefresh(() => router.refresh());
    } catch (e) {
      toast.error(`Could not ${action} delivery ${deliveryId}: ${errorMessageOf(e)}`);
      throw new Error(errorMessageOf(e));
    }
  }

  return (
    <span className="inline-flex gap-1.5">
      <button type="button" className={buttonClass.secondary} disabled={isRefreshing} onClick={() => setAction("redeliver")} aria-label={`Redeliver ${topic} for ${aggregateId}`}>
        Redeliver
      </button>
      <button type="button" className={buttonClass.ghost} disabled={isRefreshing} onClick={() => setAction("skip")} aria-label={`Skip ${topic} for ${aggregateId}`}>
        Skip
      </button>
      <ReasonDialog
        isOpen={action !== null}
        title={action === "redeliver" ? "Redeliver this event" : "Skip this event"}
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
        onConfirm={confirm}
        onClose={() => setAction(null)}
      />
    </span>
  );
}
