/**
 * Writing a break off or correcting it to suspense, and acting on a transfer from a break: all go
 * through the approvals flow (four eyes). Both adjustments post a balanced entry between the
 * source's ledger account and a counter account of the break's currency so that the ledger agrees
 * with the statement, and, in the same transaction, match what the break named with the new
 * posting and close the break (server/recon/adjustment-kinds.ts):
 * - write-off (kind recon_break_write_off): against the expense account WRITE_OFF_ACCOUNT; the
 *   difference is accepted as a loss or gain. Resolution `written_off`.
 * - correction to suspense (kind recon_break_suspense_correction): against the liability account
 *   SUSPENSE_ACCOUNT; the difference is parked there until someone clears it with a journal entry
 *   (docs/runbook-reconciliation.md). Resolution `corrected_to_suspense`.
 *
 * What is posted, by break type (amounts from the statement's side: credit raises the account):
 * - missing_in_ledger, duplicate: the line's amount in the line's direction (the bank has it).
 * - missing_in_statement: the posting's amount, reversing its effect (the bank does not have it).
 * - amount_mismatch: the line minus its candidate posting, signed.
 * Gaps, balance breaks and currency mismatches can be neither written off nor corrected (nothing
 * to post in the account's currency for them).
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
import type { AccountType, LedgerCommand } from "../ledger/types";
import { proposeAdjustment, type ActorContext } from "../approvals/proposals";
import { addBreakEvent, getBreak, lineEvidence } from "./breaks";
import { getSource, type ReconSource } from "./sources";

export const WRITE_OFF_ACCOUNT = (currency: string) => `ops:recon:write-off:${currency}`;
export const SUSPENSE_ACCOUNT = (currency: string) => `ops:recon:suspense:${currency}`;
export const WRITABLE_BREAK_TYPES = ["missing_in_ledger", "duplicate", "missing_in_statement", "amount_mismatch"] as const;

/** Where a break's adjustment posts: the write-off account, or the suspense account. */
export type BreakAdjustmentTarget = "write_off" | "suspense";

interface TargetSpec {
  accountCode: (currency: string) => string;
  accountName: (currency: string) => string;
  accountType: AccountType;
  /** For messages: "written off", "corrected to suspense". */
  done: string;
  /** The break's resolution, its timeline events and the rule recorded on its match. */
  resolution: string;
  proposedEvent: string;
  rule: string;
  /** The break's column that holds the pending proposal. */
  proposalColumn: "write_off_proposal_id" | "suspense_proposal_id";
  kind: string;
}

export const BREAK_ADJUSTMENTS: Record<BreakAdjustmentTarget, TargetSpec> = {
  write_off: {
    accountCode: WRITE_OFF_ACCOUNT,
    accountName: (c) => `Reconciliation write-offs ${c}`,
    accountType: "expense",
    done: "written off",
    resolution: "written_off",
    proposedEvent: "write_off_proposed",
    rule: "write_off",
    proposalColumn: "write_off_proposal_id",
    kind: "recon_break_write_off",
  },
  suspense: {
    accountCode: SUSPENSE_ACCOUNT,
    accountName: (c) => `Reconciliation suspense ${c}`,
    // A liability: money the bank holds that nobody has explained yet is owed to someone.
    accountType: "liability",
    done: "corrected to suspense",
    resolution: "corrected_to_suspense",
    proposedEvent: "suspense_correction_proposed",
    rule: "suspense",
    proposalColumn: "suspense_proposal_id",
    kind: "recon_break_suspense_correction",
  },
};

export interface WriteOffPlan {
  breakId: string;
  target: BreakAdjustmentTarget;
  source: ReconSource;
  currency: string;
  amountMinor: bigint;
  /** Whether the entry raises the source's account (its normal side). */
  isIncrease: boolean;
  lineIds: string[];
  postingIds: string[];
  /** The write-off or suspense account the entry posts against. */
  counterAccountId: string;
  counterAccountCode: string;
}

/**
 * Works out what writing a break off (or correcting it to suspense) posts. Errors, in order:
 * NOT_FOUND (break; the write-off or suspense account); CONFLICT (resolved, or its line or posting
 * was matched meanwhile); BAD_INPUT (a type that cannot be adjusted; nothing to post).
 */
export async function planWriteOff(sql: SqlRunner, breakId: string, target: BreakAdjustmentTarget = "write_off"): Promise<WriteOffPlan> {
  const spec = BREAK_ADJUSTMENTS[target];
  const b = (
    await sql.query<{ id: string; source_id: string; type: string; status: string; line_id: string | null; posting_id: string | null; currency: string }>(
      `SELECT id, source_id, type::text, status::text, line_id::text, posting_id::text, currency::text FROM recon_breaks WHERE id = $1`,
      [breakId],
    )
  )[0];
  if (!b) throw new AppError("NOT_FOUND", `break ${breakId} does not exist`, { details: { breakId } });
  if (b.status === "resolved") throw new AppError("CONFLICT", `break ${b.id} is already resolved`);
  if (!(WRITABLE_BREAK_TYPES as readonly string[]).includes(b.type)) throw new AppError("BAD_INPUT", `a ${b.type} break cannot be ${spec.done}`);
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
  const code = spec.accountCode(source.currency);
  const acct = (await sql.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = $1`, [code]))[0];
  if (!acct) throw new AppError("NOT_FOUND", `${target === "suspense" ? "suspense" : "write-off"} account ${code} does not exist`);
  return { breakId: b.id, target, source, currency: source.currency, amountMinor: effect < 0n ? -effect : effect, isIncrease: effect > 0n, lineIds, postingIds, counterAccountId: acct.id, counterAccountCode: code };
}

/** The balanced entry of a write-off or suspense plan. */
export function writeOffCommand(plan: WriteOffPlan, proposalId: string): LedgerCommand {
  const other = plan.source.normalSide === "debit" ? "credit" : "debit";
  const accountSide = plan.isIncrease ? plan.source.normalSide : other;
  const counterSide = accountSide === "debit" ? "credit" : "debit";
  const what = plan.target === "suspense" ? "correction to suspense" : "write-off";
  return {
    type: "post_entry",
    entry: {
      description: `${what} of reconciliation break ${plan.breakId} on ${plan.source.ledgerAccountCode}`,
      metadata: { adjustmentId: proposalId, reconBreakId: plan.breakId },
      postings: [
        { accountId: plan.source.ledgerAccountId, side: accountSide, amountMinor: plan.amountMinor, currency: plan.currency },
        { accountId: plan.counterAccountId, side: counterSide, amountMinor: plan.amountMinor, currency: plan.currency },
      ],
    },
  };
}

/** Opens the write-off or suspense account of a currency if it does not exist (idempotent). */
export async function ensureAdjustmentAccount(db: Pick<DbHandles, "pool">, currency: string, target: BreakAdjustmentTarget = "write_off"): Promise<void> {
  const spec = BREAK_ADJUSTMENTS[target];
  const code = spec.accountCode(currency);
  const exists = await db.pool.query(`SELECT 1 FROM ledger_accounts WHERE code = $1`, [code]);
  if (exists.rowCount) return;
  const purpose = target === "suspense" ? "recon_suspense" : "recon_write_off";
  const keyPart = target === "suspense" ? "suspense" : "write-off";
  await createAccount(db, SYSTEM_ACTOR, { code, name: spec.accountName(currency), currency, type: spec.accountType, isNoOverdraft: false, metadata: { purpose } }, { idempotencyKey: `recon:${keyPart}-account:${currency}` });
}

/**
 * Proposes writing a break off (four eyes). Errors: as planWriteOff, then as proposeAdjustment
 * (FORBIDDEN without adjustments:propose, IDEMPOTENCY_CONFLICT, the ledger's refusal of the dry run).
 */
export function proposeBreakWriteOff(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { breakId: string; reason: string; idempotencyKey: string }) {
  return proposeBreakAdjustment(db, ctx, input, "write_off");
}

/**
 * Proposes correcting a break to the currency's suspense account (four eyes). Errors: as
 * proposeBreakWriteOff.
 */
export function proposeBreakSuspenseCorrection(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { breakId: string; reason: string; idempotencyKey: string }) {
  return proposeBreakAdjustment(db, ctx, input, "suspense");
}

async function proposeBreakAdjustment(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { breakId: string; reason: string; idempotencyKey: string }, target: BreakAdjustmentTarget) {
  const spec = BREAK_ADJUSTMENTS[target];
  const b = await getBreak(db, input.breakId);
  await ensureAdjustmentAccount(db, b.currency, target);
  await planWriteOff(pgRunner(db.pool), input.breakId, target);
  const proposal = await proposeAdjustment(db, ctx, { kind: spec.kind, payload: { breakId: b.id }, reason: input.reason, idempotencyKey: input.idempotencyKey });
  if (!proposal.isReplay) await noteOnBreak(db, ctx.actor, b.id, spec.proposedEvent, { proposalId: proposal.id }, input.reason, ctx.now, async (c) => {
    await c.query(`UPDATE recon_breaks SET ${spec.proposalColumn} = $2, version = version + 1 WHERE id = $1 AND status <> 'resolved'`, [b.id, proposal.id]);
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
