"use client";
import { useState, type FormEvent, type ReactNode } from "react";
import { Dialog } from "../dialog";
import { buttonClass, inputClass, labelClass } from "../ui";

export const REASON_MAX_LENGTH = 500;

/**
 * Asks for the reason an action is taken (it goes into the audit record) and confirms it. The
 * dialog stays open, with the server's message, until the server accepts the action.
 */
export function ReasonDialog({
  isOpen,
  title,
  description,
  confirmLabel,
  isDanger = false,
  onConfirm,
  onClose,
}: {
  isOpen: boolean;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  isDanger?: boolean;
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);

  function close() {
    setReason("");
    setError(null);
    setIsPending(false);
    onClose();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim().length === 0) {
      setError("Give a reason: it is recorded in the audit log.");
      return;
    }
    setIsPending(true);
    setError(null);
    try {
      await onConfirm(reason.trim());
      close();
    } catch (err) {
      setIsPending(false);
      setError(err instanceof Error ? err.message : "The request failed.");
    }
  }

  return (
    <Dialog isOpen={isOpen} title={title} onClose={close}>
      <form onSubmit={submit} className="space-y-3">
        <div className="text-sm text-zinc-700 dark:text-zinc-300">{description}</div>
        <div>
          <label htmlFor="reason-dialog-reason" className={labelClass}>
            Reason
          </label>
          <textarea
            id="reason-dialog-reason"
            name="reason"
            rows={3}
            maxLength={REASON_MAX_LENGTH}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            required
            autoFocus
            className={`${inputClass} mt-1`}
          />
        </div>
        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        ) : null}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass.secondary} onClick={close}>
            Cancel
          </button>
          <button type="submit" className={isDanger ? buttonClass.danger : buttonClass.primary} disabled={isPending}>
            {isPending ? "Working…" : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
