"use client";
/**
 * Freeze a ledger account, or propose to unfreeze it (accounts:manage), with a reason for the
 * audit record. Freezing takes effect at once; unfreezing undoes a control, so it becomes a
 * four-eyes proposal another approver must approve (docs/separation-of-duties.md), and the page
 * moves to the proposal. The page shows a new status only after the server confirmed and re-read.
 */
import { useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

export function FreezeButton({ accountId, code, status }: { accountId: string; code: string; status: "active" | "frozen" }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { isRefreshing, refresh } = useServerRefresh();
  const router = useRouter();
  const [isOpen, setIsOpen] = useState(false);
  const freeze = useMutation(trpc.ledger.accounts.freeze.mutationOptions());
  const unfreeze = useMutation(trpc.ledger.accounts.unfreeze.mutationOptions());
  const isFreeze = status === "active";
  const label = isFreeze ? "Freeze account" : "Propose unfreeze";

  return (
    <>
      <Button variant={isFreeze ? "danger" : "secondary"} disabled={isRefreshing} onClick={() => setIsOpen(true)}>
        {isRefreshing ? "Updating…" : label}
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={`${label} ${code}`}
        keyScope="account-status"
        description={
          isFreeze ? (
            <p>A frozen account refuses new postings and holds until it is unfrozen. The reason is recorded in the audit log.</p>
          ) : (
            <p>
              Unfreezing undoes a control, so it needs a second person: this proposes it, and the account accepts postings and holds again only when another
              approver approves. The reason is recorded with the proposal.
            </p>
          )
        }
        confirmLabel={isFreeze ? "Freeze" : "Propose"}
        isDanger={isFreeze}
        onConfirm={async ({ reason, idempotencyKey }) => {
          try {
            if (isFreeze) {
              const account = await freeze.mutateAsync({ accountId, reason, idempotencyKey });
              toast.success(`Account ${code} is now ${account.status === "frozen" ? "frozen" : "active"}.`);
              refresh();
            } else {
              const proposal = await unfreeze.mutateAsync({ accountId, reason, idempotencyKey });
              toast.success(`Unfreezing ${code} is proposed; it stays frozen until another approver approves proposal ${proposal.id}.`);
              router.push(`/approvals/${proposal.id}`);
            }
          } catch (e) {
            toast.error(`Could not ${isFreeze ? "freeze" : "unfreeze"} ${code}: ${errorMessageOf(e)}`);
            throw e;
          }
        }}
      />
    </>
  );
}
