"use client";
/**
 * Approve, reject or withdraw a proposal. Approving needs a current authenticator code unless a
 * recent code opened the step-up window. Keyboard: a approves (or asks for the code first), r
 * opens the rejection dialog. Nothing changes on screen until the server confirms; a failed
 * approval shows the server's reason (the proposal stays open).
 */
import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass, linkClass } from "../ui";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";
import { useKeyboardShortcuts } from "../kit/use-keyboard-shortcuts";
import type { RouterOutputs } from "../kit/api-types";

export interface DecisionPanelProps {
  proposalId: string;
  canApprove: boolean;
  canReject: boolean;
  canWithdraw: boolean;
  approveBlockedReason: string | null;
  approvals: number;
  requiredApprovals: number;
  isStale: boolean;
  stepUp: Pick<RouterOutputs["approvals"]["stepUp"]["status"], "isEnrolled" | "isLocked" | "stepUpUntil"> | null;
}

export function DecisionPanel(props: DecisionPanelProps) {
  const trpc = useTRPC();
  const toast = useToast();
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<"reject" | "withdraw" | null>(null);
  const { isRefreshing, refresh } = useServerRefresh();
  const codeRef = useRef<HTMLInputElement>(null);
  const approve = useMutation(trpc.approvals.approve.mutationOptions());
  const reject = useMutation(trpc.approvals.reject.mutationOptions());
  const withdraw = useMutation(trpc.approvals.withdraw.mutationOptions());
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(t);
  }, []);
  const isWindowOpen = props.stepUp?.stepUpUntil != null && now !== null && props.stepUp.stepUpUntil.getTime() > now;
  const needsCode = !isWindowOpen;
  const isBusy = approve.isPending || isRefreshing;
  const canSubmitApproval = props.canApprove && props.stepUp?.isEnrolled === true && !props.stepUp.isLocked;

  async function submitApproval() {
    if (!canSubmitApproval || isBusy) return;
    if (needsCode && !/^\s*[\d\sa-fA-F-]{6,}\s*$/.test(code)) {
      setError("Enter the current 6-digit code from your authenticator.");
      codeRef.current?.focus();
      return;
    }
    setError(null);
    try {
      const r = await approve.mutateAsync({ proposalId: props.proposalId, code: code.trim() || undefined });
      setCode("");
      toast.success(r.status === "applied" ? "Approved and applied to the ledger." : `Approved (${r.approvals} of ${r.requiredApprovals}); it waits for another approver.`);
      refresh();
    } catch (e) {
      setCode("");
      setError(errorMessageOf(e));
      toast.error(`Not approved: ${errorMessageOf(e)}`);
      refresh();
    }
  }

  useKeyboardShortcuts({
    a: props.canApprove ? () => void submitApproval() : undefined,
    r: props.canReject ? () => setDialog("reject") : undefined,
  });

  const hasActions = props.canApprove || props.canReject || props.canWithdraw;
  return (
    <section aria-label="Decision" className="mb-6 rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
      <h2 className="mb-2 text-base font-semibold">Decision</h2>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        {props.approvals} of {props.requiredApprovals} approval{props.requiredApprovals === 1 ? "" : "s"} given.
        {props.requiredApprovals === 2 ? " This amount needs two different approvers." : ""}
      </p>
      {props.approveBlockedReason && !props.canApprove ? <p className="mb-3 text-sm text-zinc-700 dark:text-zinc-300">{props.approveBlockedReason}</p> : null}

      {props.canApprove && props.stepUp && !props.stepUp.isEnrolled ? (
        <p className="mb-3 text-sm">
          Approving needs an authenticator app.{" "}
          <Link href="/settings/security" className={linkClass}>
            Set up your authenticator
          </Link>{" "}
          first.
        </p>
      ) : null}
      {props.canApprove && props.stepUp?.isLocked ? (
        <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
          Approvals are locked for you after too many wrong codes. Ask an admin to unlock them.
        </p>
      ) : null}

      {hasActions ? (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            void submitApproval();
          }}
        >
          {canSubmitApproval && needsCode ? (
            <div>
              <label htmlFor="approve-code" className={labelClass}>
                Authenticator code
              </label>
              <input
                id="approve-code"
                ref={codeRef}
                name="code"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={24}
                value={code}
                onChange={(e) => setCode(e.target.value)}
                className={`${inputClass} mt-1 w-40 font-mono`}
                placeholder="123456"
              />
            </div>
          ) : null}
          {canSubmitApproval && !needsCode ? (
            <p className="text-xs text-zinc-600 dark:text-zinc-400">Code verified: no code needed until {props.stepUp!.stepUpUntil!.toISOString().slice(11, 19)} UTC.</p>
          ) : null}
          {props.canApprove ? (
            <Button type="submit" variant="primary" disabled={!canSubmitApproval || isBusy} aria-keyshortcuts="a">
              {isBusy ? "Approving…" : props.isStale ? "Approve despite changes" : "Approve"} <kbd className="rounded border border-current px-1 text-[10px] opacity-70">a</kbd>
            </Button>
          ) : null}
          {props.canReject ? (
            <Button variant="danger" onClick={() => setDialog("reject")} aria-keyshortcuts="r">
              Reject <kbd className="rounded border border-current px-1 text-[10px] opacity-70">r</kbd>
            </Button>
          ) : null}
          {props.canWithdraw ? (
            <Button onClick={() => setDialog("withdraw")}>Withdraw</Button>
          ) : null}
        </form>
      ) : null}
      {error ? (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}

      <ReasonDialog
        isOpen={dialog === "reject"}
        onClose={() => setDialog(null)}
        title="Reject this adjustment"
        keyScope="proposal-reject"
        description={<p>The proposal is closed for good and nothing is posted. The reason is shown to the proposer and recorded in the audit log.</p>}
        confirmLabel="Reject"
        isDanger
        onConfirm={async ({ reason }) => {
          await reject.mutateAsync({ proposalId: props.proposalId, reason });
          toast.success("Rejected.");
          refresh();
        }}
      />
      <ReasonDialog
        isOpen={dialog === "withdraw"}
        onClose={() => setDialog(null)}
        title="Withdraw your proposal"
        keyScope="proposal-withdraw"
        description={<p>Nothing is posted and approvers can no longer approve it. The reason is recorded in the audit log.</p>}
        confirmLabel="Withdraw"
        onConfirm={async ({ reason }) => {
          await withdraw.mutateAsync({ proposalId: props.proposalId, reason });
          toast.success("Withdrawn.");
          refresh();
        }}
      />
    </section>
  );
}
