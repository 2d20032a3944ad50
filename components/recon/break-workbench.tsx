"use client";
/**
 * The working part of a break's page: ranked candidates for the other side with the running
 * difference of what is picked, matching by hand (exact, or with the difference accepted and a
 * note), and the actions (assign to me, note, timing difference, write-off or suspense correction
 * proposal, transfer settlement proposal, confirm the suggestion). Nothing changes on screen until the server
 * confirmed; then the page is re-read from the server.
 */
import { useMemo, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { formatAmount } from "../../server/money/amount";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Card, inputClass, labelClass } from "../ui";
import { Money } from "../ledger/money";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { Dialog } from "../kit/dialog";
import { ReasonDialog } from "../kit/reason-dialog";

type Detail = RouterOutputs["recon"]["breaks"]["get"];
type Candidate = Detail["candidates"][number];

const candidateColumns: ColumnDef<Candidate>[] = [
  { id: "side", header: "Side", cell: ({ row: { original: c } }) => (c.side === "ledger" ? `Posting ${c.id}` : `Statement line ${c.id}`) },
  { id: "amount", header: "Amount", meta: { align: "right" }, cell: ({ row: { original: c } }) => <Money amountMinor={c.amountMinor} currency={c.currency} /> },
  { id: "date", header: "Date", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.date },
  { id: "reference", header: "Reference", meta: { className: "max-w-[14rem] truncate font-mono text-xs" }, cell: ({ row }) => row.original.reference ?? "—" },
  { id: "score", header: "Score", meta: { align: "right" }, cell: ({ row }) => <span className="tabular-nums">{row.original.score}</span> },
  { id: "why", header: "Why", meta: { className: "text-xs" }, cell: ({ row }) => row.original.reasons.join(", ") },
];

export function BreakWorkbench({ detail, canOperate, canProposeWriteOff, canProposeTransfer, isUser }: { detail: Detail; canOperate: boolean; canProposeWriteOff: boolean; canProposeTransfer: boolean; isUser: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [note, setNote] = useState("");
  const [acceptDifference, setAcceptDifference] = useState(false);
  const [dialog, setDialog] = useState<null | "timing" | "writeOff" | "suspense" | "transfer" | "note">(null);
  const match = useMutation(trpc.recon.breaks.match.mutationOptions());
  const assign = useMutation(trpc.recon.breaks.assignToMe.mutationOptions());
  const confirm = useMutation(trpc.recon.breaks.confirmSuggestion.mutationOptions());
  const addNote = useMutation(trpc.recon.breaks.note.mutationOptions());
  const timing = useMutation(trpc.recon.breaks.acceptTiming.mutationOptions());
  const writeOff = useMutation(trpc.recon.breaks.proposeWriteOff.mutationOptions());
  const suspense = useMutation(trpc.recon.breaks.proposeSuspenseCorrection.mutationOptions());
  // One four-eyes adjustment at a time: once either is proposed, the approver decides first.
  const canAdjust = canProposeWriteOff && ["missing_in_ledger", "duplicate", "missing_in_statement", "amount_mismatch"].includes(detail.type) && !detail.writeOffProposalId && !detail.suspenseProposalId;
  const settle = useMutation(trpc.recon.breaks.proposeTransferSettle.mutationOptions());
  const isOpen = detail.status !== "resolved";
  const own = detail.line ?? detail.posting;
  const ownSigned = own ? (own.direction === "credit" ? own.amountMinor : -own.amountMinor) : 0n;
  const chosen = detail.candidates.filter((c) => picked.has(c.id));
  const chosenSigned = chosen.reduce((s, c) => s + (own?.direction === "credit" ? c.amountMinor : -c.amountMinor), 0n);
  // Lines minus postings, signed from the account holder's side.
  const difference = detail.line ? ownSigned - chosenSigned : chosenSigned - ownSigned;
  const currency = own?.currency ?? detail.currency;
  const done = (message: string) => {
    toast.success(message);
    setDialog(null);
    router.refresh();
  };

  const selectionColumns = useMemo<ColumnDef<Candidate>[]>(
    () => [
      {
        id: "pick",
        header: "Pick",
        cell: ({ row: { original: c } }) => (
          <input
            type="checkbox"
            aria-label={`Pick ${c.side === "ledger" ? "posting" : "statement line"} ${c.id}`}
            checked={picked.has(c.id)}
            disabled={!canOperate || !isOpen}
            onChange={(e) =>
              setPicked((prev) => {
                const next = new Set(prev);
                if (e.target.checked) next.add(c.id);
                else next.delete(c.id);
                return next;
              })
            }
          />
        ),
      },
      ...candidateColumns,
    ],
    [picked, canOperate, isOpen],
  );

  const submitMatch = async () => {
    if (!own || chosen.length === 0) return;
    const sourceId = detail.sourceId;
    const input = detail.line
      ? { sourceId, lineIds: [detail.line.id], postingIds: chosen.map((c) => c.id), note, acceptDifference: difference !== 0n ? acceptDifference : undefined, idempotencyKey: `console:recon-match:${crypto.randomUUID()}` }
      : { sourceId, lineIds: chosen.map((c) => c.id), postingIds: [detail.posting!.id], note, acceptDifference: difference !== 0n ? acceptDifference : undefined, idempotencyKey: `console:recon-match:${crypto.randomUUID()}` };
    try {
      await match.mutateAsync(input);
      setPicked(new Set());
      setNote("");
      done("Matched: the break is resolved");
    } catch (e) {
      toast.error(errorMessageOf(e));
    }
  };

  return (
    <>
      {isOpen && canOperate ? (
        <div className="mb-4 flex flex-wrap gap-2" role="group" aria-label="Break actions">
          {isUser ? (
            <Button
              variant="secondary"
              disabled={assign.isPending}
              onClick={async () => {
                try {
                  await assign.mutateAsync({ breakIds: [detail.id], idempotencyKey: `console:recon-assign:${crypto.randomUUID()}` });
                  done("Assigned to you");
                } catch (e) {
                  toast.error(errorMessageOf(e));
                }
              }}
            >
              {assign.isPending ? "Working…" : "Assign to me"}
            </Button>
          ) : null}
          <Button variant="secondary" onClick={() => setDialog("note")}>
            Add a note
          </Button>
          {detail.line || detail.posting ? (
            <Button variant="secondary" onClick={() => setDialog("timing")}>
              Accept as timing difference
            </Button>
          ) : null}
          {canAdjust ? (
            <>
              <Button variant="danger" onClick={() => setDialog("writeOff")}>
                Propose write-off
              </Button>
              <Button variant="secondary" onClick={() => setDialog("suspense")}>
                Propose correction to suspense
              </Button>
            </>
          ) : null}
          {canProposeTransfer && detail.line ? (
            <Button variant="secondary" onClick={() => setDialog("transfer")}>
              Settle a transfer on this evidence
            </Button>
          ) : null}
          {detail.suggestion ? (
            <Button
              disabled={confirm.isPending}
              onClick={async () => {
                try {
                  await confirm.mutateAsync({ suggestionId: detail.suggestion!.id, idempotencyKey: `console:recon-confirm:${crypto.randomUUID()}` });
                  done("Suggestion confirmed: matched");
                } catch (e) {
                  toast.error(errorMessageOf(e));
                }
              }}
            >
              {confirm.isPending ? "Working…" : `Confirm the suggestion (${detail.suggestion.rule}, ${detail.suggestion.confidence})`}
            </Button>
          ) : null}
        </div>
      ) : null}

      {isOpen && own ? (
        <Card title="Candidates">
          <DataTable columns={selectionColumns} rows={detail.candidates} getRowId={(c) => c.id} caption="Candidates for the other side, best first" isCaptionVisible={false} empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No unmatched {detail.line ? "posting" : "statement line"} in the same currency and direction within ten days.</p>} />
          {canOperate ? (
            <div className="mt-3 space-y-2 text-sm">
              <p role="status" aria-live="polite">
                Picked {chosen.length}: running difference <Money amountMinor={difference} currency={currency} /> {difference === 0n ? "(exact)" : "(statement minus ledger)"}
              </p>
              <label className={labelClass} htmlFor="match-note">
                Why these belong together
              </label>
              <input id="match-note" className={inputClass} value={note} onChange={(e) => setNote(e.target.value)} placeholder="e.g. the bank booked the two invoices together" />
              {difference !== 0n && chosen.length > 0 ? (
                <label className="flex items-center gap-2 text-xs">
                  <input type="checkbox" checked={acceptDifference} onChange={(e) => setAcceptDifference(e.target.checked)} /> Accept the difference of {formatAmount(difference, currency)} {currency} (recorded on the match)
                </label>
              ) : null}
              <Button disabled={match.isPending || chosen.length === 0 || note.trim().length < 3 || (difference !== 0n && !acceptDifference)} onClick={() => void submitMatch()}>
                {match.isPending ? "Working…" : "Match by hand"}
              </Button>
            </div>
          ) : null}
        </Card>
      ) : null}

      <ReasonDialog
        isOpen={dialog === "note"}
        onClose={() => setDialog(null)}
        title="Add a note"
        confirmLabel="Add note"
        keyScope="recon-note"
        reasonPlaceholder="What you found, who you asked"
        onConfirm={async ({ reason, idempotencyKey }) => {
          await addNote.mutateAsync({ breakId: detail.id, note: reason, idempotencyKey });
          done("Note added");
        }}
      />
      <ReasonDialog
        isOpen={dialog === "writeOff"}
        onClose={() => setDialog(null)}
        title="Propose a write-off"
        description={<>An approver must approve it. Approving posts the entry against the write-off account, matches and closes this break in one transaction.</>}
        confirmLabel="Propose write-off"
        isDanger
        keyScope="recon-write-off"
        onConfirm={async ({ reason, idempotencyKey }) => {
          const p = await writeOff.mutateAsync({ breakId: detail.id, reason, idempotencyKey });
          done(`Write-off proposed (proposal ${p.id.slice(0, 8)}); an approver decides`);
        }}
      />
      <ReasonDialog
        isOpen={dialog === "suspense"}
        onClose={() => setDialog(null)}
        title="Propose a correction to suspense"
        description={<>An approver must approve it. Approving posts the entry against the suspense account ops:recon:suspense:{detail.currency}, matches and closes this break in one transaction; the suspense balance stays to be cleared.</>}
        confirmLabel="Propose correction"
        keyScope="recon-suspense"
        onConfirm={async ({ reason, idempotencyKey }) => {
          const p = await suspense.mutateAsync({ breakId: detail.id, reason, idempotencyKey });
          done(`Correction to suspense proposed (proposal ${p.id.slice(0, 8)}); an approver decides`);
        }}
      />
      <TransferDialog isOpen={dialog === "transfer"} onClose={() => setDialog(null)} defaultTransferId={detail.transferId} onConfirm={async (transferId, reason, idempotencyKey) => {
        const p = await settle.mutateAsync({ breakId: detail.id, transferId, reason, idempotencyKey });
        done(`Force-settle proposed with the statement line as evidence (proposal ${p.id.slice(0, 8)})`);
      }} />
      <TimingDialog isOpen={dialog === "timing"} onClose={() => setDialog(null)} onConfirm={async (deadlineAt, n) => {
        await timing.mutateAsync({ breakId: detail.id, deadlineAt, note: n, idempotencyKey: `console:recon-timing:${crypto.randomUUID()}` });
        done("Accepted as a timing difference");
      }} />
    </>
  );
}

function TimingDialog({ isOpen, onClose, onConfirm }: { isOpen: boolean; onClose: () => void; onConfirm: (deadlineAt: Date, note: string) => Promise<void> }) {
  const [days, setDays] = useState("3");
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog isOpen={isOpen} onClose={onClose} title="Accept as a timing difference" isDismissable={!isPending}>
      <form
        className="space-y-3 text-sm"
        onSubmit={async (e) => {
          e.preventDefault();
          setIsPending(true);
          setError(null);
          try {
            await onConfirm(new Date(Date.now() + Number(days) * 86_400_000), note);
          } catch (err) {
            setError(errorMessageOf(err));
          } finally {
            setIsPending(false);
          }
        }}
      >
        <p>The break closes itself when its counterpart is matched; if it has not arrived by the deadline, it comes back to the queue, escalated.</p>
        <label className={labelClass} htmlFor="timing-days">
          Deadline, in days from now (1 to 90)
        </label>
        <input id="timing-days" className={inputClass} inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value.replace(/\D/g, "").slice(0, 2))} />
        <label className={labelClass} htmlFor="timing-note">
          Why it is a timing difference
        </label>
        <input id="timing-note" className={inputClass} value={note} onChange={(e) => setNote(e.target.value)} />
        {error ? <p role="alert" className="text-red-700 dark:text-red-400">{error}</p> : null}
        <Button type="submit" disabled={isPending || note.trim().length < 3 || !days || Number(days) < 1 || Number(days) > 90}>
          {isPending ? "Working…" : "Accept"}
        </Button>
      </form>
    </Dialog>
  );
}

function TransferDialog({ isOpen, onClose, defaultTransferId, onConfirm }: { isOpen: boolean; onClose: () => void; defaultTransferId: string | null; onConfirm: (transferId: string, reason: string, idempotencyKey: string) => Promise<void> }) {
  const [transferId, setTransferId] = useState(defaultTransferId ?? "");
  return (
    <ReasonDialog
      isOpen={isOpen}
      onClose={onClose}
      title="Settle a transfer on this statement line"
      description={
        <div className="space-y-2">
          <p>Proposes force-settling the transfer, with this statement line as its evidence. An approver decides; once settled, the next run matches the line and closes this break.</p>
          <label className={labelClass} htmlFor="transfer-id">
            Transfer id
          </label>
          <input id="transfer-id" className={inputClass} value={transferId} onChange={(e) => setTransferId(e.target.value.trim())} placeholder="the stuck transfer's id" />
        </div>
      }
      confirmLabel="Propose settlement"
      keyScope="recon-transfer-settle"
      confirmBlockedReason={/^[0-9a-f-]{36}$/i.test(transferId) ? null : "Enter the transfer's id"}
      onConfirm={({ reason, idempotencyKey }) => onConfirm(transferId, reason, idempotencyKey)}
    />
  );
}
