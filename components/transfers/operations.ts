/**
 * The operator and approver actions on a transfer, described once for the transfer page and the
 * stuck queue: which states each applies to, who may take it, what it does to the money, and how
 * its result reads. The server decides (permissions, state checks, idempotency); the console only
 * offers what can apply and says so plainly. Settling or failing a transfer the partner already
 * has is never one person's decision: the console proposes it through the approvals flow.
 */
import type { TransferState } from "../../server/transfers/state-machine";

export type OperationKind = "retry" | "query" | "cancel" | "markFailed" | "forceSettled" | "forceFailed";

export interface OperationSpec {
  kind: OperationKind;
  /** The button's name. */
  label: string;
  /** The dialog's confirm button. */
  confirmLabel: string;
  /**
   * Who may: operators (transfers:operate), or those who may propose a four-eyes adjustment
   * (transfers:operate and adjustments:propose) for decisions on money after submission.
   */
  needs: "operate" | "propose";
  states: readonly TransferState[];
  isDanger: boolean;
  /** What it does, in the dialog. */
  effect: string;
  /** The keyboard shortcut in the stuck queue, if any. */
  key?: string;
}

export const OPERATIONS: Record<OperationKind, OperationSpec> = {
  retry: {
    kind: "retry",
    label: "Retry now",
    confirmLabel: "Retry",
    needs: "operate",
    // A submitted or acknowledged transfer is never sent again; Query partner is its action.
    states: ["created", "reserved"],
    isDanger: false,
    effect:
      "The transfer is submitted again at once, with the same idempotency key, so the partner cannot execute it twice; its backoff and any wait for an operator are cleared. The worker picks it up within seconds.",
    key: "r",
  },
  query: {
    kind: "query",
    label: "Query partner",
    confirmLabel: "Query partner",
    needs: "operate",
    states: ["reserved", "submitted", "acknowledged"],
    isDanger: false,
    effect:
      "Asks the partner for this transfer's status now and applies what it says: forward moves along the state machine; a reserved transfer the partner has no record of is failed and its hold released.",
    key: "q",
  },
  cancel: {
    kind: "cancel",
    label: "Cancel transfer",
    confirmLabel: "Cancel transfer",
    needs: "operate",
    states: ["created", "reserved"],
    isDanger: true,
    effect: "Cancels the transfer before submission and releases its hold. Refused if a submission may already have reached the partner: query the partner first.",
    key: "c",
  },
  markFailed: {
    kind: "markFailed",
    label: "Mark failed",
    confirmLabel: "Mark failed",
    needs: "operate",
    states: ["created", "reserved"],
    isDanger: true,
    effect: "Fails the transfer before the partner has it and voids the hold, returning the funds to the source account. Refused if a submission may already have reached the partner.",
    key: "f",
  },
  forceSettled: {
    kind: "forceSettled",
    label: "Propose force settle",
    confirmLabel: "Propose settlement",
    needs: "propose",
    states: ["submitted", "acknowledged"],
    isDanger: true,
    effect:
      "Proposes to post the hold, so the funds leave the source account for good, on evidence that the partner paid (a statement line, a partner message id). Nothing moves now: a different person with the approver role must approve the proposal, and the transfer must still be submitted or acknowledged then.",
  },
  forceFailed: {
    kind: "forceFailed",
    label: "Propose force fail",
    confirmLabel: "Propose failure",
    needs: "propose",
    states: ["submitted", "acknowledged"],
    isDanger: true,
    effect:
      "Proposes to void the hold after submission, returning the funds to the source account, on evidence that the partner did not and will not pay. Nothing moves now: a different person with the approver role must approve the proposal, and the transfer must still be submitted or acknowledged then.",
  },
};

export const OPERATION_ORDER: readonly OperationKind[] = ["retry", "query", "cancel", "markFailed", "forceSettled", "forceFailed"];

export interface ActorPowers {
  canOperate: boolean;
  /** May propose a force settle or fail (a four-eyes adjustment an approver must approve). */
  canPropose: boolean;
}

export function isAllowed(spec: OperationSpec, powers: ActorPowers): boolean {
  return spec.needs === "operate" ? powers.canOperate : powers.canOperate && powers.canPropose;
}

/** The approvals flow's kind for each decision on money (server/transfers/adjustment-kinds.ts). */
export const PROPOSAL_KIND = { forceSettled: "transfer_force_settle", forceFailed: "transfer_force_fail" } as const;

/** The actions this actor can take on a transfer in `state`, in display order. */
export function operationsFor(state: TransferState, powers: ActorPowers): OperationSpec[] {
  return OPERATION_ORDER.map((k) => OPERATIONS[k]).filter((s) => isAllowed(s, powers) && s.states.includes(state));
}
