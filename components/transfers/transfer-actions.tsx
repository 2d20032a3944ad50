"use client";
/**
 * The actions panel of the transfer page. The page decides on the server which powers the
 * signed-in person has and passes booleans; a viewer gets no panel at all. Operators' actions and
 * proposals of decisions on money (four eyes: an approver decides) are shown apart, the latter
 * labelled as such.
 */
import { useState } from "react";
import Link from "next/link";
import type { TransferState } from "../../server/transfers/state-machine";
import { linkClass } from "../ui";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { OperationDialog, type OperationOutcome, type OperationTarget } from "./operation-dialog";
import { OPERATIONS, operationsFor, type ActorPowers, type OperationKind } from "./operations";

const AFTER_SUBMISSION: readonly TransferState[] = OPERATIONS.forceSettled.states;

export function TransferActions({ transfer, powers, canApprove }: { transfer: OperationTarget & { state: TransferState }; powers: ActorPowers; canApprove: boolean }) {
  const [kind, setKind] = useState<OperationKind | null>(null);
  const [lastLink, setLastLink] = useState<OperationOutcome["link"] | null>(null);
  const { isRefreshing, refresh } = useServerRefresh();
  const available = operationsFor(transfer.state, powers);
  const operate = available.filter((s) => s.needs === "operate");
  const propose = available.filter((s) => s.needs === "propose");
  const isAtPartner = AFTER_SUBMISSION.includes(transfer.state);

  return (
    <div className="space-y-3" aria-busy={isRefreshing}>
      {available.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {canApprove && isAtPartner
            ? "Settling or failing a transfer the partner already has is proposed by an operator, with evidence; you decide on such proposals in Approvals."
            : `No action applies to a ${transfer.state} transfer.${transfer.state === "settled" ? " A return after settlement comes from the partner." : ""}`}
          {canApprove && isAtPartner ? (
            <>
              {" "}
              <Link href="/approvals" className={linkClass}>
                Open Approvals
              </Link>
            </>
          ) : null}
        </p>
      ) : null}
      {operate.length > 0 ? (
        <div role="group" aria-label="Operator actions" className="flex flex-wrap gap-2">
          {operate.map((s) => (
            <Button key={s.kind} variant={s.isDanger ? "danger" : "secondary"} disabled={isRefreshing} onClick={() => setKind(s.kind)}>
              {s.label}
            </Button>
          ))}
        </div>
      ) : null}
      {propose.length > 0 ? (
        <div role="group" aria-label="Decisions on money" className="rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-800 dark:bg-amber-950/40">
          <p className="mb-2 text-sm text-amber-900 dark:text-amber-100">
            <strong>Decisions on money, under four eyes.</strong> The partner already has this transfer: settling or failing it by hand decides where the funds end up. You
            propose it with evidence; a different person with the approver role approves it before anything moves. Query the partner first.
          </p>
          <div className="flex flex-wrap gap-2">
            {propose.map((s) => (
              <Button key={s.kind} variant="danger" disabled={isRefreshing} onClick={() => setKind(s.kind)}>
                {s.label}
              </Button>
            ))}
          </div>
        </div>
      ) : null}
      {lastLink ? (
        <p role="status" className="text-sm">
          <Link href={lastLink.href} className={linkClass}>
            {lastLink.label}
          </Link>
        </p>
      ) : null}
      {isRefreshing ? (
        <p role="status" className="text-sm text-zinc-600 dark:text-zinc-400">
          Refreshing from the server…
        </p>
      ) : null}
      <OperationDialog
        kind={kind}
        target={kind ? transfer : null}
        onClose={() => setKind(null)}
        onDone={(_kind, _target, outcome) => {
          setLastLink(outcome.link ?? null);
          refresh();
        }}
      />
    </div>
  );
}
