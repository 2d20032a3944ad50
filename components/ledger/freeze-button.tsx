"use client";
/**
 * Freeze or unfreeze an account (permission accounts:manage). Asks for the reason, which goes into
 * the audit record; one idempotency key per dialog, so a double submit applies once. No optimistic
 * update: the status changes on screen only after the server confirms and the page is refetched.
 */
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { ReasonDialog } from "../admin/reason-dialog";
import { buttonClass } from "../ui";

export function FreezeButton({ accountId, code, status }: { accountId: string; code: string; status: "active" | "frozen" }) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [isOpen, setIsOpen] = useState(false);
  const [idempotencyKey, setIdempotencyKey] = useState("");
  const [isRefreshing, startRefresh] = useTransition();
  const freeze = useMutation(trpc.ledger.accounts.freeze.mutationOptions());
  const unfreeze = useMutation(trpc.ledger.accounts.unfreeze.mutationOptions());
  const isFreeze = status === "active";
  const label = isFreeze ? "Freeze account" : "Unfreeze account";

  async function confirm(reason: string) {
    try {
      const m = isFreeze ? freeze : unfreeze;
      const account = await m.mutateAsync({ accountId, reason, idempotencyKey });
      toast.success(`Account ${code} is now ${account.status === "frozen" ? "frozen" : "active"}.`);
      startRefresh(() => router.refresh());
    } catch (e) {
      toast.error(`Could not ${isFreeze ? "freeze" : "unfreeze"} ${code}: ${errorMessageOf(e)}`);
      throw new Error(errorMessageOf(e));
    }
  }

  return (
    <>
      <button
        type="button"
        className={isFreeze ? buttonClass.danger : buttonClass.secondary}
        disabled={isRefreshing}
        onClick={() => {
          setIdempotencyKey(`console:account-status:${crypto.randomUUID()}`);
          setIsOpen(true);
        }}
      >
        {isRefreshing ? "Updating…" : label}
      </button>
      <ReasonDialog
        isOpen={isOpen}
        title={`${label} ${code}`}
        description={
          isFreeze ? (
            <p>A frozen account refuses new postings and holds until it is unfrozen. The reason is recorded in the audit log.</p>
          ) : (
            <p>The account will accept postings and holds again. The reason is recorded in the audit log.</p>
          )
        }
        confirmLabel={isFreeze ? "Freeze" : "Unfreeze"}
        isDanger={isFreeze}
        onConfirm={confirm}
        onClose={() => setIsOpen(false)}
      />
    </>
  );
}
