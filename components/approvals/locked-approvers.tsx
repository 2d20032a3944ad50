"use client";
/**
 * For admins: approvers locked out of step-up after repeated wrong codes, with Unlock (the same
 * authenticator works again) and Reset (the person enrols a new authenticator). Both ask for a
 * reason, which goes into the audit record.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "../trpc-provider";
import { useToast } from "../toast";
import { formatUtc } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

type Locked = RouterOutputs["approvals"]["stepUp"]["locked"][number];
type Action = "unlock" | "reset";

interface LockedMeta {
  choose: (user: Locked, action: Action) => void;
}

const columns: ColumnDef<Locked>[] = [
  { id: "person", header: "Person", cell: ({ row: { original: u } }) => (u.name ? `${u.name} (${u.email})` : (u.email ?? u.userId)) },
  { id: "locked", header: "Locked (UTC)", meta: { className: "font-mono text-xs" }, cell: ({ row }) => formatUtc(row.original.lockedAt) },
  { id: "wrong", header: "Wrong codes", meta: { align: "right" }, cell: ({ row }) => row.original.failedAttempts },
  {
    id: "actions",
    header: "Actions",
    meta: { isHeaderHidden: true },
    cell: ({ row: { original: u }, table }) => {
      const { choose } = table.options.meta as LockedMeta;
      return (
        <div className="flex gap-2">
          <Button onClick={() => choose(u, "unlock")}>Unlock</Button>
          <Button variant="ghost" onClick={() => choose(u, "reset")}>
            Reset authenticator
          </Button>
        </div>
      );
    },
  },
];

export function LockedApprovers({ locked }: { locked: Locked[] }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [target, setTarget] = useState<{ user: Locked; action: Action } | null>(null);
  const unlock = useMutation(trpc.approvals.stepUp.unlock.mutationOptions());
  const reset = useMutation(trpc.approvals.stepUp.reset.mutationOptions());
  const meta: LockedMeta = { choose: (user, action) => setTarget({ user, action }) };

  return (
    <>
      <DataTable
        columns={columns}
        rows={locked}
        getRowId={(u) => u.userId}
        caption="Approvers locked out of step-up"
        meta={meta}
        empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No approver is locked out.</p>}
      />
      <ReasonDialog
        isOpen={target !== null}
        onClose={() => setTarget(null)}
        title={target?.action === "reset" ? "Reset authenticator" : "Unlock approvals"}
        keyScope={`step-up-${target?.action ?? "unlock"}`}
        description={
          target?.action === "reset" ? (
            <p>The person&apos;s authenticator and recovery codes are removed; they set up a new one before approving again.</p>
          ) : (
            <p>Confirm you have verified with the person that the wrong codes were theirs. Their authenticator works again at once.</p>
          )
        }
        confirmLabel={target?.action === "reset" ? "Reset" : "Unlock"}
        onConfirm={async ({ reason }) => {
          if (!target) return;
          await (target.action === "unlock" ? unlock : reset).mutateAsync({ userId: target.user.userId, reason });
          toast.success(`${target.action === "unlock" ? "Unlocked" : "Reset the authenticator of"} ${target.user.email ?? target.user.userId}.`);
          refresh();
        }}
      />
    </>
  );
}
