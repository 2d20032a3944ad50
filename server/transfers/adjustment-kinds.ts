/**
 * Transfer decisions that need four eyes, as adjustment kinds of the approvals flow: settle or
 * fail a transfer the partner already has (submitted or acknowledged), on evidence. An operator
 * proposes; a different approver approves; approving applies the transition inside the approval
 * transaction.
 *
 * Invariants kept:
 * - The preview is the ledger's own dry run of what the transition does to the hold (post it, or
 *   void it); the transition itself moves money only through executeLedgerCommandInTransaction,
 *   with the transfer's own effect keys (`transfer:<id>:settle|void`), so it can happen once.
 * - The transfer's state is checked when proposing, when previewing and again under the row lock
 *   when applying: a transfer that moved on meanwhile makes the approval fail cleanly.
 */
import { z } from "zod";
import type { SqlRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { defineKind, type AdjustmentKind } from "../approvals/kinds";
import { forceTransferOutcomeInTransaction } from "./operations";

const payloadSchema = z.strictObject({
  transferId: z.uuid(),
  /** A statement line, the partner's confirmation, a link. */
  evidence: z.string().trim().min(3).max(2000),
});
type ForcePayload = z.infer<typeof payloadSchema>;

async function readForcible(sql: SqlRunner, transferId: string, outcome: "settled" | "failed") {
  const rows = await sql.query<{ id: string; state: string; hold_id: string | null; amount_minor: string; currency: string; reference: string }>(
    `SELECT id, state, hold_id, amount_minor::text, currency, reference FROM transfers WHERE id = $1`,
    [transferId.toLowerCase()],
  );
  const t = rows[0];
  if (!t) throw new AppError("NOT_FOUND", `transfer ${transferId} does not exist`, { details: { transferId } });
  if (t.state !== "submitted" && t.state !== "acknowledged") {
    throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} is ${t.state}; only submitted or acknowledged transfers can be forced to ${outcome}`, { details: { transferId: t.id, state: t.state } });
  }
  if (!t.hold_id) throw new AppError("ILLEGAL_TRANSITION", `transfer ${t.id} has no hold`);
  return { ...t, hold_id: t.hold_id };
}

function forceKind(outcome: "settled" | "failed"): AdjustmentKind {
  const verb = outcome === "settled" ? "settle" : "fail";
  return defineKind<ForcePayload>({
    kind: `transfer_force_${verb}`,
    label: outcome === "settled" ? "Force-settle a transfer" : "Force-fail a transfer",
    proposePermission: "transfers:operate",
    payloadSchema,
    async normalize(sql, p) {
      const t = await readForcible(sql, p.transferId, outcome);
      return { transferId: t.id, evidence: p.evidence.trim() };
    },
    describe: (p) => `${outcome === "settled" ? "Settle" : "Fail"} transfer ${p.transferId} on evidence: ${p.evidence.slice(0, 120)}`,
    links: (p) => [{ type: "transfer", id: p.transferId }],
    async toLedgerCommand(sql, p) {
      const t = await readForcible(sql, p.transferId, outcome);
      return outcome === "settled" ? { type: "post_hold", holdId: t.hold_id, description: `transfer ${t.id} settled on evidence` } : { type: "void_hold", holdId: t.hold_id };
    },
    async previewChanges(sql, p) {
      const rows = await sql.query<{ state: string }>(`SELECT state FROM transfers WHERE id = $1`, [p.transferId]);
      return [{ label: `Transfer ${p.transferId} state`, before: rows[0]?.state ?? "missing", after: outcome }];
    },
    async apply(client, p, ctx) {
      const t = await forceTransferOutcomeInTransaction(client, ctx.actor, {
        transferId: p.transferId,
        outcome,
        evidence: p.evidence,
        reason: `approved proposal ${ctx.proposalId}`,
        idempotencyKey: ctx.idempotencyKey,
        proposalId: ctx.proposalId,
        requestId: ctx.requestId,
        now: ctx.now,
      });
      return { entryIds: t.settlementEntryId && outcome === "settled" ? [t.settlementEntryId] : [], result: { transferId: t.id, state: t.state } };
    },
  });
}

/** The transfers domain's kinds: settle or fail a transfer after submission, on evidence. */
export const TRANSFER_KINDS: readonly AdjustmentKind[] = [forceKind("settled"), forceKind("failed")];
