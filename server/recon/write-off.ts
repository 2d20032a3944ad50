/**
 * Writing a break off, and acting on a transfer from a break: both go through the approvals flow
 * (four eyes). A write-off posts a balanced entry between the source's ledger account and the
 * currency's write-off account (WRITE_OFF_ACCOUNT) so that the ledger agrees with the statement,
 * and, in the same transaction, matches what the break named with the new posting and closes the
 * break (kind recon_break_write_off, server/recon/adjustment-kinds.ts).
 *
 * What is posted, by break type (amounts from the statement's side: credit raises the account):
 * - missing_in_ledger, duplicate: the line's amount in the line's direction (the bank has it).
 * - missing_in_statement: the posting's amount, reversing its effect (the bank does not have it).
 * - amount_mismatch: the line minus its candidate posting, signed.
 * Gaps, balance breaks and currency mismatches cannot be written off (nothing to post in the
 * account's currency for them).
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import type { SqlRunner } from "../db/sql";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { SYSTEM_ACTOR, auditActorOf, type Actor } from "../core/actor";
import { appendAudit } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { createAccount } from "../ledger/accounts";
import type { LedgerCommand } from "../ledger/types";
import { proposeAdjustment, type ActorContext } from "../approvals/proposals";
import { addBreakEvent, getBreak, lineEvidence } from "./breaks";
import { getSource, type ReconSource } from "./sources";

export const WRITE_OFF_ACCOUNT = (currency: string) => `ops:recon:write-off:${currency}`;
export const WRITABLE_BREAK_TYPES = ["missing_in_ledger", "duplicate", "missing_in_statement", "amount_mismatch"] as const;

export interface WriteOffPlan {
  breakId: string;
  source: ReconSource;
  currency: string;
  amountMinor: bigint;
  /** Whether the entry raises the source's account (its normal side). */
  isIncrease: boolean;
  lineIds: string[];
  postingIds: string[];
  writeOffAccountId: string;
  writeOffAccountCode: string;
}

/**
 * Works out what writing a break off posts. Errors, in order: NOT_FOUND (break; the write-off
 * account); CONFLICT (resolved, or its line or posting was matched meanwhile); BAD_INPUT (a type
 * that cannot be written off; nothing to post).
 */
export async function planWriteOff(sql: SqlRunner, breakId: string): Promise<WriteOffPlan> {
  const b = (
    await sql.query<{ id: string; source_id: string; type: string; status: string; line_id: string | null; posting_id: string | null; currency: string }>(
      `SELECT id, source_id, type::text, status::text, line_id::text, posting_id::text, currency::text FROM recon_breaks WHERE id = $1`,
      [breakId],
    )
  )[0];
  if (!b) throw new AppError("NOT_FOUND", `break ${breakId} does not exist`, { details: { breakId } });
  if (b.status === "resolved") throw new AppError("CONFLICT", `break ${b.id} is already resolved`);
  if (!(WRITABLE_BREAK_TYPES as readonly string[]).includes(b.type)) throw new AppError("BAD_INPUT", `a ${b.type} break cannot be written off`);
  const source = await getSource({ sql }, b.source_id);
  const line = b.line_id
    ? (await sql.query<{ amount_minor: string; direction: string; currency: string; matched: boolean }>(
        `SELECT amount_minor::text, direction, currency::text, EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id) AS matched FROM recon_lines l WHERE id = $1`,
        [b.line_id],
      ))[0]!
    : null;
  const item = b.posting_id
    ? (await sql.query<{ amount_minor: string; direction: string; matched: boolean }>(
        `SELECT amount_minor::text, CASE WHEN side::text = $2 THEN 'credit' ELSE 'debit' END AS direction,
                EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = $3 AND m.posting_id = p.id) AS matched FROM postings p WHERE id = $1`,
        [b.posting_id, source.normalSide, source.id],
      ))[0]!
    : null;
  if (line?.matched || item?.matched) throw new AppError("CONFLICT", `break ${b.id}: its ${line?.matched ? "line" : "posting"} was matched meanwhile`);
  const signed = (x: { amount_minor: string; direction: string }) => (x.direction === "credit" ? BigInt(x.amount_minor) : -BigInt(x.amount_minor));
  let effect: bigint;
  let lineIds: string[] = [];
  let postingIds: string[] = [];
  if (b.type === "missing_in_statement") {
    effect = -signed(item!);
    postingIds = [b.posting_id!];
  } else if (b.type === "amount_mismatch") {
    effect = signed(line!) - signed(item!);
    lineIds = [b.line_id!];
    postingIds = [b.posting_id!];
  } else {
    if (line!.currency.trim() !== source.currency) throw new AppError("BAD_INPUT", `the line is in ${line!.currency.trim()}, the account in ${source.currency}`);
    effect = signed(line!);
    lineIds = [b.line_id!];
  }
  if (effect === 0n) throw new AppError("BAD_INPUT", `break ${b.id} leaves nothing to post`);
  const code = WRITE_OFF_ACCOUNT(source.currency);
  const acct = (await sql.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = $1`, [code]))[0];
  if (!acct) throw new AppError("NOT_FOUND", `write-off account ${code} does not exist`);
  return { breakId: b.id, source, currency: source.currency, amountMinor: effect < 0n ? -effect : effect, isIncrease: effect > 0n, lineIds, postingIds, writeOffAccountId: acct.id, writeOffAccountCode: code };
}

/** The balanced entry of a write-off plan. */
export function writeOffCommand(plan: WriteOffPlan, proposalId: string): LedgerCommand {
  const other = plan.source.normalSide === "debit" ? "credit" : "debit";
  const accountSide = plan.isIncrease ? plan.source.normalSide : other;
  const writeOffSide = accountSide === "debit" ? "credit" : "debit";
  return {
    type: "post_entry",
    entry: {
      description: `write-off of reconciliation break ${plan.breakId} on ${plan.source.ledgerAccountCode}`,
      metadata: { adjustmentId: proposalId, reconBreakId: plan.breakId },
      postings: [
        { accountId: plan.source.ledgerAccountId, side: accountSide, amountMinor: plan.amountMinor, currency: plan.currency },
        { accountId: plan.writeOffAccountId, side: writeOffSide, amountMinor: plan.amountMinor, currency: plan.currency },
      ],
    },
  };
}

/** Opens the write-off account of a currency if it does not exist (idempotent). */
export async function ensureWriteOffAccount(db: Pick<DbHandles, "pool">, currency: string): Promise<void> {
  const code = WRITE_OFF_ACCOUNT(currency);
  const exists = await db.pool.query(`SELECT 1 FROM ledger_accounts WHERE code = $1`, [code]);
  if (exists.rowCount) return;
  await createAccount(db, SYSTEM_ACTOR, { code, name: `Reconciliation write-offs ${currency}`, currency, type: "expense", isNoOverdraft: false, metadata: { purpose: "recon_write_off" } }, { idempotencyKey: `recon:write-off-account:${currency}` });
}

/**
 * Proposes writing a break off (four eyes). Errors: as planWriteOff, then as proposeAdjustment
 * (FORBIDDEN without adjustments:propose, IDEMPOTENCY_CONFLICT, the ledger's refusal of the dry run).
 */
export async function proposeBreakWriteOff(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { breakId: string; reason: string; idempotencyKey: string }) {
  const b = await getBreak(db, input.breakId);
  await ensureWriteOffAccount(db, b.currency);
  await planWriteOff(pgRunner(db.pool), input.breakId);
  const proposal = await proposeAdjustment(db, ctx, { kind: "recon_break_write_off", payload: { breakId: b.id }, reason: input.reason, idempotencyKey: input.idempotencyKey });
  if (!proposal.isReplay) await noteOnBreak(db, ctx.actor, b.id, "write_off_proposed", { proposalId: proposal.id }, input.reason, ctx.now, async (c) => {
    await c.query(`UPDATE recon_breaks SET write_off_proposal_id = $2, version = version + 1 WHERE id = $1 AND status <> 'resolved'`, [b.id, proposal.id]);
  });
  return proposal;
}

/**
 * Proposes force-settling the transfer a break's statement line proves settled, with the line as
 * evidence (kind transfer_force_settle of the transfers domain), and links the break to it.
 * Errors: NOT_FOUND (break, transfer); BAD_INPUT (a break without a statement line, or no transfer
 * given or linked); then as proposeAdjustment (ILLEGAL_TRANSITION when the transfer is not
 * submitted or acknowledged).
 */
export async function proposeTransferSettleFromBreak(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { breakId: string; transferId?: string | null; reason: string; idempotencyKey: string }) {
  const b = await getBreak(db, input.breakId);
  if (!b.line) throw new AppError("BAD_INPUT", `break ${b.id} has no statement line to prove a transfer settled`);
  const transferId = input.transferId ?? b.transferId;
  if (!transferId) throw new AppError("BAD_INPUT", "name the transfer the statement line settles");
  const t = await db.pool.query(`SELECT 1 FROM transfers WHERE id = $1`, [transferId]);
  if (!t.rowCount) throw new AppError("NOT_FOUND", `transfer ${transferId} does not exist`);
  const proposal = await proposeAdjustment(db, ctx, {
    kind: "transfer_force_settle",
    payload: { transferId, evidence: lineEvidence(b.line, b.sourceName) },
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
  });
  if (!proposal.isReplay) {
    await noteOnBreak(db, ctx.actor, b.id, "transfer_settle_proposed", { proposalId: proposal.id, transferId }, input.reason, ctx.now, async (c) => {
      await c.query(`UPDATE recon_breaks SET transfer_id = $2, version = version + 1 WHERE id = $1 AND status <> 'resolved'`, [b.id, transferId]);
    });
  }
  return proposal;
}

async function noteOnBreak(db: Pick<DbHandles, "pool">, actor: Actor, breakId: string, kind: string, detail: Record<string, unknown>, note: string, now: Date | undefined, change: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const at = now ?? new Date();
  const who = auditActorOf(actor);
  await runTransaction(db.pool, async (c) => {
    await change(c);
    await addBreakEvent(c, breakId, kind, who, note, detail, at);
    await appendAudit(pgRunner(c), { actor: who, action: `recon.break.${kind}`, targetType: "recon_break", targetId: breakId, reason: note, after: detail, at });
  });
}
