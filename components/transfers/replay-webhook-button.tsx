"use client";
/**
 * Replays one stored partner webhook (operators; a reason is required and audited). Applying is
 * idempotent on the server: a replay changes the transfer only when the first application did not.
 * The page refreshes only after the server answered.
 */
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Dialog } from "../dialog";
import { buttonClass, inputClass, labelClass } from "../ui";

export function ReplayWebhookButton({ webhookEventId, eventLabel }: { webhookEventId: string; eventLabel: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const replay = useMutation(trpc.transfers.replayWebhook.mutationOptions());
  const [isOpen, setIsOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim().length < 3) {
      setError("Give a reason of at least 3 characters: it is recorded in the audit log.");
      return;
    }
    setError(null);
    try {
      const r = await replay.mutateAsync({ webhookEventId, reason: reason.trim() });
      toast.success(`Replayed ${eventLabel}: ${r.effect.replaceAll("_", " ")}.`);
      setIsOpen(false);
      setReason("");
      router.refresh();
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <>
      <button type="button" className={buttonClass.secondary} onClick={() => setIsOpen(true)} aria-label={`Replay ${eventLabel}`}>
        Replay
      </button>
      <Dialog isOpen={isOpen} title={`Replay ${eventLabel}`} onClose={() => setIsOpen(false)}>
        <form onSubmit={submit} className="space-y-3">
          <p className="text-sm text-zinc-600 dark:text-zinc-300">
            The stored event is applied again. It changes the transfer only if the first application did not (it failed, or the transfer did not exist yet).
          </p>
          <label className={labelClass}>
            Reason
            <input className={inputClass} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} required />
          </label>
          {error ? (
            <p role="alert" className="text-sm text-red-700 dark:text-red-400">
              {error}
            </p>
          ) : null}
          <div className="flex justify-end gap-2">
            <button type="button" className={buttonClass.secondary} onClick={() => setIsOpen(false)}>
              Close
            </button>
            <button type="submit" className={buttonClass.primary} disabled={replay.isPending}>
              {replay.isPending ? "Working…" : "Replay event"}
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
