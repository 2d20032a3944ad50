"use client";
/**
 * One dialog for every action on a transfer: it names the transfer and what the action does to
 * the money, asks for the reason (audited) and, for decisions on money (proposed to approvers),
 * the evidence. One
 * idempotency key per opening, so a double submit or a retried request applies once. The dialog
 * shows "Working…" until the server answers and stays open with the server's message on refusal;
 * nothing on the page changes before the server confirms.
 */
import { useId, useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Dialog } from "../dialog";
import { buttonClass, inputClass, labelClass } from "../ui";
import { newIdempotencyKey, OPERATIONS, PROPOSAL_KIND, type OperationKind } from "./operations";

export interface OperationTarget {
  id: string;
  label: string;
}

const REASON_MAX = 500;
const EVIDENCE_MAX = 2000;

/** What the server said, for the toast; a proposal also links to where it waits for approval. */
export interface OperationOutcome {
  message: string;
  link?: { href: string; label: string };
}

/** Runs one action against the API and says what the server confirmed. */
export function useRunOperation() {
  const trpc = useTRPC();
  const retry = useMutation(trpc.transfers.retry.mutationOptions());
  const query = useMutation(trpc.transfers.queryPartner.mutationOptions());
  const cancel = useMutation(trpc.transfers.cancel.mutationOptions());
  const markFailed = useMutation(trpc.transfers.markFailed.mutationOptions());
  const propose = useMutation(trpc.approvals.propose.mutationOptions());

  return async function run(kind: OperationKind, target: OperationTarget, input: { reason: string; idempotencyKey: string; evidence?: string }): Promise<OperationOutcome> {
    const base = { transferId: target.id, reason: input.reason, idempotencyKey: input.idempotencyKey };
    switch (kind) {
      case "retry": {
        const t = await retry.mutateAsync(base);
        return { message: `Retry of ${target.label} accepted (${t.state}); the worker submits it again now.` };
      }
      case "query": {
        const r = await query.mutateAsync(base);
        return {
          message:
            r.partnerStatus === "unavailable"
              ? `The partner did not answer for ${target.label}; it stays ${r.transfer.state}. Try again later.`
              : `The partner reports ${target.label} as ${r.partnerStatus.replace("_", " ")}; it is now ${r.transfer.state}.`,
        };
      }
      case "cancel": {
        const t = await cancel.mutateAsync(base);
        return { message: `${target.label} is ${t.state}; its hold was released.` };
      }
      case "markFailed": {
        const t = await markFailed.mutateAsync(base);
        return { message: `${target.label} is ${t.state}; its hold was voided.` };
      }
      case "forceSettled":
      case "forceFailed": {
        const p = await propose.mutateAsync({
          kind: PROPOSAL_KIND[kind],
          payload: { transferId: target.id, evidence: input.evidence ?? "" },
          reason: input.reason,
          evidenceUrl: /^https?:\/\/\S+$/.test(input.evidence ?? "") ? input.evidence : null,
          idempotencyKey: input.idempotencyKey,
        });
        const what = kind === "forceSettled" ? "settle" : "fail";
        return {
          message: `Proposal to ${what} ${target.label} ${p.isReplay ? "already exists" : "created"}: it waits for ${p.requiredApprovals} approval${p.requiredApprovals === 1 ? "" : "s"} by someone else; nothing has moved yet.`,
          link: { href: `/approvals/${p.id}`, label: `Open the proposal to ${what} ${target.label}` },
        };
      }
    }
  };
}

export function OperationDialog({
  kind,
  target,
  onClose,
  onDone,
}: {
  /** The action to confirm; null keeps the dialog closed. */
  kind: OperationKind | null;
  target: OperationTarget | null;
  onClose: () => void;
  /** Called after the server confirmed (the caller refreshes its data). */
  onDone: (kind: OperationKind, target: OperationTarget, outcome: OperationOutcome) => void;
}) {
  const spec = kind ? OPERATIONS[kind] : null;
  return (
    <Dialog isOpen={Boolean(spec && target)} title={spec && target ? `${spec.label}: ${target.label}` : ""} onClose={onClose}>
      {spec && target ? <OperationForm key={`${spec.kind}:${target.id}`} kind={spec.kind} target={target} onClose={onClose} onDone={onDone} /> : null}
    </Dialog>
  );
}

function OperationForm({
  kind,
  target,
  onClose,
  onDone,
}: {
  kind: OperationKind;
  target: OperationTarget;
  onClose: () => void;
  onDone: (kind: OperationKind, target: OperationTarget, outcome: OperationOutcome) => void;
}) {
  const spec = OPERATIONS[kind];
  const run = useRunOperation();
  const toast = useToast();
  const ids = useId();
  const [idempotencyKey] = useState(() => newIdempotencyKey(kind));
  const [reason, setReason] = useState("");
  const [evidence, setEvidence] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);
  const needsEvidence = spec.needs === "propose";

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (reason.trim().length < 3) {
      setError("Give a reason of at least 3 characters: it is recorded in the audit log.");
      return;
    }
    if (needsEvidence && evidence.trim().length < 3) {
      setError("Give the evidence this decision rests on: a statement line, a partner message id or a link.");
      return;
    }
    setIsPending(true);
    setError(null);
    try {
      const outcome = await run(kind, target, { reason: reason.trim(), idempotencyKey, evidence: needsEvidence ? evidence.trim() : undefined });
      toast.success(outcome.message);
      onDone(kind, target, outcome);
      onClose();
    } catch (err) {
      const message = errorMessageOf(err);
      setIsPending(false);
      setError(message);
      toast.error(`${spec.label} refused for ${target.label}: ${message}`);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-busy={isPending}>
      {needsEvidence ? (
        <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm font-medium text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          Decision on money, under four eyes: you propose, a different approver decides. This is not a retry: it decides where the funds end up.
        </p>
      ) : null}
      <p className="text-sm text-zinc-700 dark:text-zinc-300">{spec.effect}</p>
      <div>
        <label htmlFor={`${ids}-reason`} className={labelClass}>
          Reason
        </label>
        <textarea
          id={`${ids}-reason`}
          rows={3}
          maxLength={REASON_MAX}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          required
          minLength={3}
          autoFocus
          placeholder="Why, for the audit log (ticket, what you checked)"
          className={`${inputClass} mt-1`}
        />
      </div>
      {needsEvidence ? (
        <div>
          <label htmlFor={`${ids}-evidence`} className={labelClass}>
            Evidence
          </label>
          <textarea
            id={`${ids}-evidence`}
            rows={3}
            maxLength={EVIDENCE_MAX}
            value={evidence}
            onChange={(e) => setEvidence(e.target.value)}
            required
            minLength={3}
            placeholder="Statement line, partner message id or a link to the partner's confirmation"
            className={`${inputClass} mt-1`}
          />
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <div className="flex justify-end gap-2">
        <button type="button" className={buttonClass.secondary} onClick={onClose} disabled={isPending}>
          Close
        </button>
        <button type="submit" className={spec.isDanger ? buttonClass.danger : buttonClass.primary} disabled={isPending}>
          {isPending ? "Working…" : spec.confirmLabel}
        </button>
      </div>
    </form>
  );
}
