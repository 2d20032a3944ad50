"use client";
/**
 * The one dialog for an action that needs a reason (it goes into the audit record), and for
 * decisions on money also the evidence. It names what the action does, asks for the reason,
 * shows "Working…" until the server answers, and stays open with the server's message when the
 * server refuses; it closes only after the server confirmed (no optimistic update). Each opening
 * gets its own idempotency key, so a double submit or a retried request applies once.
 */
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { errorMessageOf } from "../trpc-provider";
import { Button } from "./button";
import { Dialog } from "./dialog";
import { inputClass, labelClass } from "../ui";

/** The console asks for at least this much; the API checks its own rule again. */
export const REASON_MIN_LENGTH = 3;
export const REASON_MAX_LENGTH = 500;
const EVIDENCE_MAX_LENGTH = 2000;

export interface ReasonDialogValues {
  reason: string;
  /** Present when the dialog asked for evidence. */
  evidence?: string;
  /** `console:<keyScope>:<uuid>`, fixed for this opening of the dialog. */
  idempotencyKey: string;
}

export interface ReasonDialogProps {
  isOpen: boolean;
  onClose: () => void;
  title: string;
  /** What the action does, above the reason field. */
  description?: ReactNode;
  /** More to show before the reason field (the rows a bulk action covers, a warning). */
  children?: ReactNode;
  confirmLabel: string;
  isDanger?: boolean;
  /** Ask for evidence as well (decisions on money). */
  evidence?: { label?: string; placeholder?: string };
  reasonPlaceholder?: string;
  /** Names the action in the idempotency key (`console:transfer-retry:…`). */
  keyScope: string;
  /** When set, the confirm button is disabled and this says why. */
  confirmBlockedReason?: string | null;
  /** Runs the action; resolve when the server confirmed, throw (any error) when it refused. */
  onConfirm: (values: ReasonDialogValues) => Promise<void>;
}

export function ReasonDialog(props: ReasonDialogProps) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog isOpen={props.isOpen} onClose={props.onClose} title={props.title} isDismissable={!isPending}>
      {props.isOpen ? <ReasonForm {...props} onPendingChange={setIsPending} /> : null}
    </Dialog>
  );
}

function ReasonForm({
  onClose,
  description,
  children,
  confirmLabel,
  isDanger = false,
  evidence,
  reasonPlaceholder,
  keyScope,
  confirmBlockedReason,
  onConfirm,
  onPendingChange,
}: ReasonDialogProps & { onPendingChange: (isPending: boolean) => void }) {
  const ids = useId();
  const [idempotencyKey] = useState(() => `console:${keyScope}:${crypto.randomUUID()}`);
  const [reason, setReason] = useState("");
  const [evidenceText, setEvidenceText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);

  function pending(value: boolean) {
    setIsPending(value);
    onPendingChange(value);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (isPending) return;
    if (reason.trim().length < REASON_MIN_LENGTH) {
      setError(`Give a reason of at least ${REASON_MIN_LENGTH} characters: it is recorded in the audit log.`);
      return;
    }
    if (evidence && evidenceText.trim().length < REASON_MIN_LENGTH) {
      setError("Give the evidence this decision rests on: a statement line, a partner message id or a link.");
      return;
    }
    pending(true);
    setError(null);
    try {
      await onConfirm({ reason: reason.trim(), idempotencyKey, ...(evidence ? { evidence: evidenceText.trim() } : {}) });
      pending(false);
      onClose();
    } catch (err) {
      pending(false);
      setError(errorMessageOf(err));
    }
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-busy={isPending}>
      {description ? <div className="space-y-2 text-sm text-zinc-700 dark:text-zinc-300">{description}</div> : null}
      {children}
      <div>
        <label htmlFor={`${ids}-reason`} className={labelClass}>
          Reason
        </label>
        <textarea
          id={`${ids}-reason`}
          name="reason"
          rows={3}
          maxLength={REASON_MAX_LENGTH}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          required
          minLength={REASON_MIN_LENGTH}
          autoFocus
          placeholder={reasonPlaceholder ?? "Why, for the audit log (ticket, what you checked)"}
          className={`${inputClass} mt-1`}
        />
      </div>
      {evidence ? (
        <div>
          <label htmlFor={`${ids}-evidence`} className={labelClass}>
            {evidence.label ?? "Evidence"}
          </label>
          <textarea
            id={`${ids}-evidence`}
            name="evidence"
            rows={3}
            maxLength={EVIDENCE_MAX_LENGTH}
            value={evidenceText}
            onChange={(e) => setEvidenceText(e.target.value)}
            required
            minLength={REASON_MIN_LENGTH}
            placeholder={evidence.placeholder ?? "Statement line, partner message id or a link to the partner's confirmation"}
            className={`${inputClass} mt-1`}
          />
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      {confirmBlockedReason ? <p className="text-sm text-amber-800 dark:text-amber-300">{confirmBlockedReason}</p> : null}
      <div className="flex justify-end gap-2">
        <Button onClick={onClose} disabled={isPending}>
          Close
        </Button>
        <Button type="submit" variant={isDanger ? "danger" : "primary"} disabled={isPending || Boolean(confirmBlockedReason)}>
          {isPending ? "Working…" : confirmLabel}
        </Button>
      </div>
    </form>
  );
}
