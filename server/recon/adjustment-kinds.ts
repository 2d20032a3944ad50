/**
 * Reconciliation decisions that need four eyes, as adjustment kinds of the approvals flow
 * (server/approvals/kinds.ts):
 * - recon_rule_set_activation: make a draft rule set the active one (it changes what is matched
 *   without a person).
 * - recon_break_write_off: post the entry that makes the ledger agree with the statement (to the
 *   currency's write-off account), match what the break named with it and close the break, all in
 *   the approval's transaction (server/recon/write-off.ts says what is posted per break type).
 * - recon_break_suspense_correction: the same, against the currency's suspense account
 *   (ops:recon:suspense:<CCY>), for a difference someone must still clear; the break closes as
 *   corrected_to_suspense.
 * - recon_period_reopen: reopen a closed period, so postings into it are accepted again.
 *
 * Invariants kept:
 * - What a proposal names is checked when proposing and again, under row locks, when the
 *   approval applies it: a rule set activated meanwhile makes the approval fail cleanly.
 */
import { z } from "zod";
import { defineControlKind, defineKind, type AdjustmentKind } from "../approvals/kinds";
import { AppError } from "../errors/app-error";
import { pgRunner, type SqlRunner } from "../db/sql";
import { executeLedgerCommandInTransaction } from "../ledger/write-path";
import { addBreakEvent, matchByHand } from "./breaks";
import { reopenPeriodInTransaction } from "./periods";
import { activateRuleSetInTransaction } from "./rule-sets";
import { BREAK_ADJUSTMENTS, planWriteOff, writeOffCommand, type BreakAdjustmentTarget } from "./write-off";

const activationPayload = z.object({
  version: z.number().int().min(1),
  /** The active version the proposer saw; approval fails if another became active meanwhile. */
  basedOnActiveVersion: z.number().int().min(1).optional(),
});
type ActivationPayload = z.infer<typeof activationPayload>;

async function ruleSetStatus(sql: SqlRunner, version: number): Promise<{ status: string; active: number | null }> {
  const rows = await sql.query<{ status: string; active: number | null }>(
    `SELECT (SELECT status FROM recon_rule_sets WHERE version = $1) AS status, (SELECT version FROM recon_rule_sets WHERE active_marker) AS active`,
    [version],
  );
  const r = rows[0]!;
  if (r.status === null) throw new AppError("NOT_FOUND", `rule set version ${version} does not exist`, { details: { version } });
  return r;
}

const activationKind = defineControlKind<ActivationPayload>({
  kind: "recon_rule_set_activation",
  label: "Activate a reconciliation rule set",
  proposePermission: "recon:rules",
  payloadSchema: activationPayload,
  async normalize(sql, p) {
    const s = await ruleSetStatus(sql, p.version);
    if (s.status !== "draft") throw new AppError("CONFLICT", `rule set version ${p.version} is ${s.status}; only a draft can be activated`);
    if (p.basedOnActiveVersion !== undefined && p.basedOnActiveVersion !== s.active) {
      throw new AppError("CONFLICT", `the active rule set is version ${s.active}, not ${p.basedOnActiveVersion}; reload and propose again`);
    }
    return { version: p.version, basedOnActiveVersion: s.active ?? 0 };
  },
  describe: (p) => `Activate matching rule set version ${p.version} (replacing version ${p.basedOnActiveVersion})`,
  links: (p) => [{ type: "recon_rule_set", id: String(p.version), label: `rules v${p.version}` }],
  async previewChanges(_sql, p) {
    return [{ label: "Active matching rule set", before: `version ${p.basedOnActiveVersion}`, after: `version ${p.version}` }];
  },
  async apply(client, p, ctx) {
    const r = await activateRuleSetInTransaction(client, { version: p.version, basedOnActiveVersion: p.basedOnActiveVersion ?? 0, proposalId: ctx.proposalId, now: ctx.now });
    return { activeVersion: r.active, previousVersion: r.previous };
  },
});

// --- recon_break_write_off, recon_break_suspense_correction ------------------------------------

const breakPayload = z.object({ breakId: z.uuid() });
type BreakPayload = z.infer<typeof breakPayload>;

/** The four-eyes adjustment of a break against the write-off or the suspense account. */
function breakAdjustmentKind(target: BreakAdjustmentTarget, label: string, verb: string) {
  const spec = BREAK_ADJUSTMENTS[target];
  return defineKind<BreakPayload>({
    kind: spec.kind,
    label,
    proposePermission: "adjustments:propose",
    payloadSchema: breakPayload,
    async normalize(sql, p) {
      const plan = await planWriteOff(sql, p.breakId, target);
      return { breakId: plan.breakId };
    },
    describe: (p) => `${verb} reconciliation break ${p.breakId}`,
    links: (p) => [{ type: "recon_break", id: p.breakId }],
    async toLedgerCommand(sql, p, ctx) {
      return writeOffCommand(await planWriteOff(sql, p.breakId, target), ctx.proposalId);
    },
    async previewChanges(sql, p) {
      const plan = await planWriteOff(sql, p.breakId, target);
      return [{ label: `Break ${p.breakId}`, before: "open", after: `${spec.done} (${plan.counterAccountCode}) and matched` }];
    },
    async apply(client, p, ctx) {
      // Lock the break first: a concurrent resolution makes this approval fail cleanly.
      await client.query(`SELECT 1 FROM recon_breaks WHERE id = $1 FOR UPDATE`, [p.breakId]);
      const sql = pgRunner(client);
      const plan = await planWriteOff(sql, p.breakId, target);
      const result = await executeLedgerCommandInTransaction(client, ctx.actor, writeOffCommand(plan, ctx.proposalId), { idempotencyKey: ctx.idempotencyKey, requestId: ctx.requestId, now: ctx.now });
      const entryId = result.entries[0]!.entryId;
      const posting = (await client.query<{ id: string }>(`SELECT id::text FROM postings WHERE entry_id = $1 AND account_id = $2`, [entryId, plan.source.ledgerAccountId])).rows[0]!;
      await client.query(`UPDATE recon_breaks SET status = 'resolved', resolution = $4, resolved_at = $2, resolved_by = $3, version = version + 1 WHERE id = $1`, [p.breakId, ctx.now, ctx.actor.label, spec.resolution]);
      await addBreakEvent(client, p.breakId, spec.resolution, ctx.actor, null, { proposalId: ctx.proposalId, entryId, account: plan.counterAccountCode }, ctx.now);
      const match = await matchByHand(null, ctx.actor, { sourceId: plan.source.id, lineIds: plan.lineIds, postingIds: [...plan.postingIds, posting.id], note: `${spec.done} by approved proposal ${ctx.proposalId}` }, { client, rule: spec.rule, now: ctx.now, requestId: ctx.requestId });
      return { entryIds: [entryId], result: { breakId: p.breakId, entryId, matchId: match.matchId, account: plan.counterAccountCode } };
    },
  });
}

const writeOffKind = breakAdjustmentKind("write_off", "Write off a reconciliation break", "Write off");
const suspenseKind = breakAdjustmentKind("suspense", "Correct a reconciliation break to suspense", "Correct to suspense");

// --- recon_period_reopen ------------------------------------------------------------------------

const reopenPayload = z.object({ closeId: z.uuid() });
type ReopenPayload = z.infer<typeof reopenPayload>;

const reopenKind = defineControlKind<ReopenPayload>({
  kind: "recon_period_reopen",
  label: "Reopen a closed reconciliation period",
  proposePermission: "recon:operate",
  payloadSchema: reopenPayload,
  async normalize(sql, p) {
    const rows = await sql.query<{ id: string; status: string }>(`SELECT id, status FROM recon_period_closes WHERE id = $1`, [p.closeId]);
    if (!rows[0]) throw new AppError("NOT_FOUND", `closed period ${p.closeId} does not exist`);
    if (rows[0].status !== "closed") throw new AppError("CONFLICT", `period ${p.closeId} is ${rows[0].status}, not closed`);
    return { closeId: rows[0].id };
  },
  describe: (p) => `Reopen closed reconciliation period ${p.closeId}`,
  links: (p) => [{ type: "recon_period_close", id: p.closeId }],
  async previewChanges(sql, p) {
    const rows = await sql.query<{ code: string; period_from: string; period_to: string }>(
      `SELECT a.code, c.period_from::text, c.period_to::text FROM recon_period_closes c JOIN ledger_accounts a ON a.id = c.ledger_account_id WHERE c.id = $1`,
      [p.closeId],
    );
    const r = rows[0];
    return r ? [{ label: `${r.code} ${r.period_from} to ${r.period_to}`, before: "closed (postings refused)", after: "reopened" }] : [];
  },
  async apply(client, p, ctx) {
    const r = await reopenPeriodInTransaction(client, { closeId: p.closeId, proposalId: ctx.proposalId, now: ctx.now });
    return { closeId: r.id, status: r.status };
  },
});

/** The reconciliation domain's kinds; the composition root (server/composition/) puts them with the others. */
export const RECON_KINDS: readonly AdjustmentKind[] = [activationKind, writeOffKind, suspenseKind, reopenKind];
