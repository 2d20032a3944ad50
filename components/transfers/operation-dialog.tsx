"use client";
/**
 * Every action on a transfer goes through the kit's ReasonDialog: it names the transfer and what
 * the action does to the money, asks for the reason (audited) and, for decisions on money
 * (proposed to approvers), the evidence. One idempotency key per opening, so a double submit or a
 * retried request applies once; "Working…" until the server answers, the server's message on
 * refusal; nothing on the page changes before the server confirms.
 */
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { ReasonDialog } from "../kit/reason-dialog";
import { OPERATIONS, PROPOSAL_KIND, type OperationKind } from "./operations";

export interface OperationTarget {
  id: string;
  label: string;
}

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
              : !r.isApplied
                ? `The partner reported ${target.label} as ${r.partnerStatus.replace("_", " ")}, but the transfer changed while it was asked (the worker submitted it again), so the answer was not applied; it stays ${r.transfer.state}. Ask again.`
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

/**
 * The kit's ReasonDialog configured for one action on a transfer: its title names the transfer,
 * its text says what the action does to the money, decisions on money ask for evidence too.
 */
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
  const run = useRunOperation();
  const toast = useToast();
  const spec = kind ? OPERATIONS[kind] : null;
  const needsEvidence = spec?.needs === "propose";
  return (
    <ReasonDialog
      isOpen={Boolean(spec && target)}
      onClose={onClose}
      title={spec && target ? `${spec.label}: ${target.label}` : ""}
      keyScope={`transfer-${kind ?? "operation"}`}
      confirmLabel={spec?.confirmLabel ?? ""}
      isDanger={spec?.isDanger}
      evidence={needsEvidence ? {} : undefined}
      description={
        <>
          {needsEvidence ? (
            <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 font-medium text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
              Decision on money, under four eyes: you propose, a different approver decides. This is not a retry: it decides where the funds end up.
            </p>
          ) : null}
          <p>{spec?.effect}</p>
        </>
      }
      onConfirm={async ({ reason, evidence, idempotencyKey }) => {
        if (!spec || !target) return;
        try {
          const outcome = await run(spec.kind, target, { reason, idempotencyKey, evidence });
          toast.success(outcome.message);
          onDone(spec.kind, target, outcome);
        } catch (err) {
          toast.error(`${spec.label} refused for ${target.label}: ${errorMessageOf(err)}`);
          throw err;
        }
      }}
    />
  );
}
