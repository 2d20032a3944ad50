"use client";
/**
 * For admins: approvers locked out of step-up after repeated wrong codes, with Unlock (the same
 * authenticator works again) and Reset (the person enrols a new authenticator). Both ask for a
 * reason, which goes into the audit record.
 */
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { ReasonDialog } from "../admin/reason-dialog";
import { buttonClass, tableClass, formatUtc } from "../ui";

interface Locked {
  userId: string;
  email: string | null;
  name: string | null;
  lockedAt: Date;
  failedAttempts: number;
}

export function LockedApprovers({ locked }: { locked: Locked[] }) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [, startRefresh] = useTransition();
  const [target, setTarget] = useState<{ user: Locked; action: "unlock" | "reset" } | null>(null);
  const unlock = useMutation(trpc.approvals.stepUp.unlock.mutationOptions());
  const reset = useMutation(trpc.approvals.stepUp.reset.mutationOptions());

  async function confirm(reason: string) {
    if (!target) return;
    try {
      await (target.action === "unlock" ? unlock : reset).mutateAsync({ userId: target.user.userId, reason });
      toast.success(`${target.action === "unlock" ? "Unlocked" : "Reset the authenticator of"} ${target.user.email ?? target.user.userId}.`);
      startRefresh(() => router.refresh());
    } catch (e) {
      throw new Error(errorMessageOf(e));
    }
  }

  if (locked.length === 0) return <p className="text-sm text-zinc-600 dark:text-zinc-400">No approver is locked out.</p>;
  return (
    <>
      <div className={tableClass.wrap}>
        <table className={tableClass.table}>
          <caption className="sr-only">Approvers locked out of step-up</caption>
          <thead className="bg-zinc-50 dark:bg-zinc-900">
            <tr>
              <th scope="col" className={tableClass.th}>Person</th>
              <th scope="col" className={tableClass.th}>Locked (UTC)</th>
              <th scope="col" className={tableClass.th}>Wrong codes</th>
              <th scope="col" className={tableClass.th}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {locked.map((u) => (
              <tr key={u.userId} className={tableClass.tr}>
                <td className={tableClass.td}>{u.name ? `${u.name} (${u.email})` : (u.email ?? u.userId)}</td>
                <td className={`${tableClass.td} font-mono text-xs`}>{formatUtc(u.lockedAt)}</td>
                <td className={tableClass.td}>{u.failedAttempts}</td>
                <td className={`${tableClass.td} flex gap-2`}>
                  <button type="button" className={buttonClass.secondary} onClick={() => setTarget({ user: u, action: "unlock" })}>
                    Unlock
                  </button>
                  <button type="button" className={buttonClass.ghost} onClick={() => setTarget({ user: u, action: "reset" })}>
                    Reset authenticator
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ReasonDialog
        isOpen={target !== null}
        title={target?.action === "reset" ? "Reset authenticator" : "Unlock approvals"}
        description={
          target?.action === "reset" ? (
            <p>The person&apos;s authenticator and recovery codes are removed; they set up a new one before approving again.</p>
          ) : (
            <p>Confirm you have verified with the person that the wrong codes were theirs. Their authenticator works again at once.</p>
          )
        }
        confirmLabel={target?.action === "reset" ? "Reset" : "Unlock"}
        onConfirm={confirm}
        onClose={() => setTarget(null)}
      />
    </>
  );
}
