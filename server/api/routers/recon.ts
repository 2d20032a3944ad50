/**
 * Reconciliation (issue 11): sources, statement import, runs, breaks and their resolution, rule
 * sets, period close. Thin: each procedure validates with zod, names its permission (recon:read,
 * recon:operate, recon:rules; four-eyes steps go through the approvals flow with
 * adjustments:propose / transfers:operate), and calls one function in server/recon. Amounts travel
 * as bigint (superjson) or integer minor-unit strings, never JS numbers.
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { idempotencyKey as key, isoDate as date, operatorReason as reason, unsignedMinorUnits as minor, uuid } from "../inputs";
import { auditActorOf } from "../../core/actor";
import { AppError } from "../../errors/app-error";
import { proposeAdjustment } from "../../approvals/proposals";
import { adjustmentKinds } from "../../composition";
import {
  acceptTimingDifference,
  addBreakNote,
  AGE_BUCKETS,
  assignBreaks,
  BREAK_PAGE_MAX,
  BREAK_SORTS,
  BREAK_STATUSES,
  BREAK_TYPES,
  confirmSuggestion,
  dismissSuggestion,
  getBreak,
  linkBreakToTransfer,
  listBreaks,
  matchByHand,
  MAX_BULK_ASSIGN,
  MAX_MANUAL_MATCH_SIDE,
  summarizeBreaks,
  undoMatch,
} from "../../recon/breaks";
import { exportBreaksCsv } from "../../recon/export";
import { API_MAX_IMPORT_BYTES } from "../../recon/import";
import { closePeriod, listPeriodCloses } from "../../recon/periods";
import { backtestRuleSet, createDraftRuleSet, getRuleSet, listRuleSets, updateDraftRuleSet } from "../../recon/rule-sets";
import { getRun, importAndReconcile, listRuns, runSeries, RUN_PAGE_MAX } from "../../recon/runs";
import { runTracedReconciliation } from "../../recon/run-trace";
import { listMatchesOfTransfer } from "../../recon/transfer-links";
import { createSource, createSourceInput, getSource, listSources, updateSourceInput, updateSource } from "../../recon/sources";
import { proposeBreakSuspenseCorrection, proposeBreakWriteOff, proposeTransferSettleFromBreak } from "../../recon/write-off";
import { withReconIdempotency } from "../../recon/idempotency";
import type { Context } from "../trpc";
import type { Actor } from "../../core/actor";

const note = z.string().trim().min(3, "a note of at least 3 characters is required").max(2000);
const id = z.string().regex(/^\d{1,19}$/, "an id");

function withoutKey<T extends { idempotencyKey: string }>(input: T): Omit<T, "idempotencyKey"> {
  const { idempotencyKey: _k, ...rest } = input;
  return rest;
}

/** Runs a recon mutation once per (caller, idempotency key, request): server/recon/idempotency.ts. */
function once<T>(ctx: Context & { actor: Actor }, operation: string, input: { idempotencyKey: string }, work: () => Promise<T>): Promise<T> {
  const { idempotencyKey, ...request } = input;
  return withReconIdempotency(ctx.db, auditActorOf(ctx.actor), operation, idempotencyKey, request, work);
}

const breakFilters = z.strictObject({
  types: z.array(z.enum(BREAK_TYPES)).max(BREAK_TYPES.length).optional(),
  statuses: z.array(z.enum(BREAK_STATUSES)).max(BREAK_STATUSES.length).optional(),
  ageBucket: z.enum(AGE_BUCKETS).optional(),
  sourceId: uuid.optional(),
  currency: z.string().length(3).optional(),
  amountMinMinor: minor.optional(),
  amountMaxMinor: minor.optional(),
  assignee: z.union([uuid, z.literal("unassigned")]).optional(),
});

const sourcesRouter = createRouter({
  list: procedure("recon:read").query(({ ctx }) => listSources(ctx.db)),
  get: procedure("recon:read")
    .input(z.strictObject({ sourceId: uuid }))
    .query(({ ctx, input }) => getSource(ctx.db, input.sourceId)),
  create: procedure("recon:rules")
    .input(createSourceInput.extend({ idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "sources.create", input, () => createSource(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  update: procedure("recon:rules")
    .input(updateSourceInput.extend({ idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "sources.update", input, () => updateSource(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
});

const runsRouter = createRouter({
  list: procedure("recon:read")
    .input(z.strictObject({ sourceId: uuid.optional(), cursor: z.string().max(500).optional(), limit: z.number().int().min(1).max(RUN_PAGE_MAX).optional() }))
    .query(({ ctx, input }) => listRuns(ctx.db, input)),
  get: procedure("recon:read")
    .input(z.strictObject({ runId: uuid }))
    .query(({ ctx, input }) => getRun(ctx.db, input.runId)),
  /** Match rate and unreconciled amount per day (the last completed run of each source and day). */
  series: procedure("recon:read")
    .input(z.strictObject({ sourceId: uuid.optional(), from: date, to: date }))
    .query(({ ctx, input }) => runSeries(ctx.db, input)),
  /** Runs matching for a source and period by hand (re-running changes nothing already settled). */
  start: procedure("recon:operate")
    .input(z.strictObject({ sourceId: uuid, periodFrom: date, periodTo: date, idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "runs.start", input, () => runTracedReconciliation(ctx.db, auditActorOf(ctx.actor), { ...withoutKey(input), trigger: "manual" }, { requestId: ctx.requestId }))),
});

const matchesRouter = createRouter({
  /** The matches that explain a transfer's settlement or return, with their statement lines. */
  ofTransfer: procedure("recon:read")
    .input(z.strictObject({ transferId: uuid }))
    .query(({ ctx, input }) => listMatchesOfTransfer(ctx.db, input.transferId)),
});

const breaksRouter = createRouter({
  list: procedure("recon:read")
    .input(breakFilters.extend({ sort: z.enum(BREAK_SORTS).optional(), cursor: z.string().max(500).optional(), limit: z.number().int().min(1).max(BREAK_PAGE_MAX).optional() }))
    .query(({ ctx, input }) => {
      const { sort, cursor, limit, ...filters } = input;
      return listBreaks(ctx.db, filters, { sort, cursor, limit });
    }),
  get: procedure("recon:read")
    .input(z.strictObject({ breakId: uuid }))
    .query(({ ctx, input }) => getBreak(ctx.db, input.breakId)),
  /** Open breaks by age bucket and type. */
  summary: procedure("recon:read")
    .input(z.strictObject({ sourceId: uuid.optional() }))
    .query(({ ctx, input }) => summarizeBreaks(ctx.db, input)),
  /** The filtered queue as CSV (at most MAX_EXPORT_ROWS rows; amounts as minor units and as decimals). */
  exportCsv: procedure("recon:read")
    .input(breakFilters)
    .query(({ ctx, input }) => exportBreaksCsv(ctx.db, input)),
  assign: procedure("recon:operate")
    .input(z.strictObject({ breakIds: z.array(uuid).min(1).max(MAX_BULK_ASSIGN), assigneeId: uuid.nullable(), assigneeLabel: z.string().trim().min(1).max(200).nullable() , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.assign", input, () => assignBreaks(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Assigns breaks to the caller. */
  assignToMe: procedure("recon:operate")
    .input(z.strictObject({ breakIds: z.array(uuid).min(1).max(MAX_BULK_ASSIGN), idempotencyKey: key }))
    .mutation(({ ctx, input }) => {
      const actor = ctx.actor;
      if (actor.kind !== "user") throw new AppError("BAD_INPUT", "a service key cannot take breaks; assign them to a person");
      return once(ctx, "breaks.assignToMe", input, () => assignBreaks(ctx.db, auditActorOf(actor), { breakIds: input.breakIds, assigneeId: actor.userId, assigneeLabel: actor.email }, { requestId: ctx.requestId }));
    }),
  note: procedure("recon:operate")
    .input(z.strictObject({ breakId: uuid, note: z.string().trim().min(1).max(2000) , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.note", input, () => addBreakNote(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Matches statement lines and ledger postings by hand: 1:1, 1:N or N:1, exact unless acceptDifference. */
  match: procedure("recon:operate")
    .input(z.strictObject({ sourceId: uuid, lineIds: z.array(id).max(MAX_MANUAL_MATCH_SIDE), postingIds: z.array(id).max(MAX_MANUAL_MATCH_SIDE), note, acceptDifference: z.boolean().optional() , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.match", input, () => matchByHand(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  undoMatch: procedure("recon:operate")
    .input(z.strictObject({ matchId: id, reason , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.undoMatch", input, () => undoMatch(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  confirmSuggestion: procedure("recon:operate")
    .input(z.strictObject({ suggestionId: uuid, note: z.string().trim().max(2000).optional() , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.confirmSuggestion", input, () => confirmSuggestion(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  dismissSuggestion: procedure("recon:operate")
    .input(z.strictObject({ suggestionId: uuid, reason , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.dismissSuggestion", input, () => dismissSuggestion(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Accepts a break as a timing difference until the deadline (it escalates after). */
  acceptTiming: procedure("recon:operate")
    .input(z.strictObject({ breakId: uuid, deadlineAt: z.date(), note , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.acceptTiming", input, () => acceptTimingDifference(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  linkTransfer: procedure("recon:operate")
    .input(z.strictObject({ breakId: uuid, transferId: uuid , idempotencyKey: key}))
    .mutation(({ ctx, input }) => once(ctx, "breaks.linkTransfer", input, () => linkBreakToTransfer(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Proposes writing the break off (four eyes: a different approver applies it). */
  proposeWriteOff: procedure("adjustments:propose")
    .input(z.strictObject({ breakId: uuid, reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => proposeBreakWriteOff(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  /** Proposes correcting the break to the currency's suspense account (four eyes, as a write-off). */
  proposeSuspenseCorrection: procedure("adjustments:propose")
    .input(z.strictObject({ breakId: uuid, reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => proposeBreakSuspenseCorrection(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  /** Proposes force-settling the transfer the break's statement line proves settled (four eyes). */
  proposeTransferSettle: procedure("transfers:operate")
    .input(z.strictObject({ breakId: uuid, transferId: uuid.optional(), reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => proposeTransferSettleFromBreak(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
});

const rulesRouter = createRouter({
  list: procedure("recon:read").query(({ ctx }) => listRuleSets(ctx.db)),
  get: procedure("recon:read")
    .input(z.strictObject({ version: z.number().int().min(1) }))
    .query(({ ctx, input }) => getRuleSet(ctx.db.pool, input.version)),
  createDraft: procedure("recon:rules")
    .input(z.strictObject({ rules: z.array(z.unknown()).max(10), autoApplyThreshold: z.number().int().min(0).max(100), note: z.string().max(500).optional(), idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "rules.createDraft", input, () => createDraftRuleSet(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  updateDraft: procedure("recon:rules")
    .input(z.strictObject({ version: z.number().int().min(1), rules: z.array(z.unknown()).max(10), autoApplyThreshold: z.number().int().min(0).max(100), note: z.string().max(500).optional(), idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "rules.updateDraft", input, () => updateDraftRuleSet(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Runs a draft and the active version over a past period, changing nothing, and compares them. */
  backtest: procedure("recon:rules")
    .input(z.strictObject({ version: z.number().int().min(1), sourceId: uuid, periodFrom: date, periodTo: date }))
    .mutation(({ ctx, input }) => backtestRuleSet(ctx.db, input)),
  /** Proposes activating a draft (four eyes: a different approver applies it). */
  proposeActivation: procedure("recon:rules")
    .input(z.strictObject({ version: z.number().int().min(1), basedOnActiveVersion: z.number().int().min(1), reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) =>
      proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: input.version, basedOnActiveVersion: input.basedOnActiveVersion }, reason: input.reason, idempotencyKey: input.idempotencyKey }),
    ),
});

const periodsRouter = createRouter({
  list: procedure("recon:read")
    .input(z.strictObject({ sourceId: uuid.optional() }))
    .query(({ ctx, input }) => listPeriodCloses(ctx.db, input.sourceId)),
  close: procedure("recon:operate")
    .input(z.strictObject({ sourceId: uuid, periodFrom: date, periodTo: date, reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => once(ctx, "periods.close", input, () => closePeriod(ctx.db, auditActorOf(ctx.actor), withoutKey(input), { requestId: ctx.requestId }))),
  /** Proposes reopening a closed period (four eyes). */
  proposeReopen: procedure("recon:operate")
    .input(z.strictObject({ closeId: uuid, reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "recon_period_reopen", payload: { closeId: input.closeId }, reason: input.reason, idempotencyKey: input.idempotencyKey })),
});

export const reconRouter = createRouter({
  sources: sourcesRouter,
  runs: runsRouter,
  matches: matchesRouter,
  breaks: breaksRouter,
  rules: rulesRouter,
  periods: periodsRouter,
  /**
   * Imports a statement file (camt.053 XML, or CSV for a source with a column mapping), base64,
   * up to API_MAX_IMPORT_BYTES, and runs matching for the period it covers. The same file again, or
   * statements already imported, are reported no-ops.
   */
  importStatement: procedure("recon:operate")
    .input(z.strictObject({ sourceId: uuid.nullish(), fileName: z.string().trim().min(1).max(255), contentBase64: z.string().min(1).max(Math.ceil((API_MAX_IMPORT_BYTES * 4) / 3) + 4), idempotencyKey: key }))
    .mutation(({ ctx, input }) =>
      once(ctx, "importStatement", input, () => {
        const content = Buffer.from(input.contentBase64, "base64");
        return importAndReconcile(ctx.db, auditActorOf(ctx.actor), { sourceId: input.sourceId ?? null, fileName: input.fileName, content, maxBytes: API_MAX_IMPORT_BYTES }, { requestId: ctx.requestId });
      }),
    ),
});
