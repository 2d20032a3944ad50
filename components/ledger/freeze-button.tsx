"use client";
/**
 * Freeze or unfreeze a ledger account (accounts:manage), with a reason for the audit record. The
 * page shows the new status only after the server confirmed and the page was re-read.
 */
import { useState } from "react";
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
  const [isOpen, setIsOpen] = useState(false);
  const freeze = useMutation(trpc.ledger.accounts.freeze.mutationOptions());
  const unfreeze = useMutation(trpc.ledger.accounts.unfreeze.mutationOptions());
  const isFreeze = status === "active";
  const label = isFreeze ? "Freeze account" : "Unfreeze account";

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
            <p>The account will accept postings and holds again. The reason is recorded in the audit log.</p>
          )
        }
        confirmLabel={isFreeze ? "Freeze" : "Unfreeze"}
        isDanger={isFreeze}
        onConfirm={async ({ reason, idempotencyKey }) => {
          try {
            const account = await (isFreeze ? freeze : unfreeze).mutateAsync({ accountId, reason, idempotencyKey });
            toast.success(`Account ${code} is now ${account.status === "frozen" ? "frozen" : "active"}.`);
            refresh();
          } catch (e) {
            toast.error(`Could not ${isFreeze ? "freeze" : "unfreeze"} ${code}: ${errorMessageOf(e)}`);
            throw e;
          }
        }}
      />
    </>
  );
}
