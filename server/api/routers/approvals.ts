/**
 * Approvals (manual adjustments under four eyes) and approvers' step-up. Thin: each procedure
 * validates with zod, names its permission, and calls one function in server/approvals or
 * server/auth/step-up.ts. Payloads are JSON: amounts as decimal strings, never JS numbers.
 */
import { z } from "zod";
import { adjustmentKinds } from "../../composition";
import { procedure, createRouter, NO_INPUT } from "../trpc";
import { idempotencyKey as key, reasonText, uuid } from "../inputs";
import { approveProposal, commentOnProposal, proposeAdjustment, rejectProposal, withdrawProposal, MAX_COMMENT_LENGTH, MAX_REASON_LENGTH } from "../../approvals/proposals";
import { countWaitingForMe, getEvidenceFile, getPolicySummary, getProposal, listProposals, INBOX_VIEWS, MAX_PAGE_SIZE } from "../../approvals/queries";
import { previewDraft } from "../../approvals/drafts";
import { PROPOSAL_STATUSES } from "../../approvals/types";
import { MAX_EVIDENCE_BYTES } from "../../approvals/evidence";
import { adminChangeStepUp, confirmTotpEnrolment, getStepUpStatus, listLockedApprovers, startTotpEnrolment, verifyStepUp } from "../../auth/step-up";

const kindName = z.string().min(1).max(50);
const reason = reasonText({ max: MAX_REASON_LENGTH });
const code = z.string().trim().min(1).max(40);
const evidenceFile = z.strictObject({
  fileName: z.string().min(1).max(255),
  contentType: z.string().min(1).max(100),
  contentBase64: z.string().max(Math.ceil((MAX_EVIDENCE_BYTES * 4) / 3) + 4),
});
const draft = z.strictObject({ kind: kindName, payload: z.record(z.string(), z.unknown()) });
const proposal = draft.extend({
  reason,
  evidenceUrl: z.string().trim().max(2000).nullish(),
  evidenceFile: evidenceFile.nullish(),
  idempotencyKey: key,
});

const stepUpRouter = createRouter({
  /** The caller's enrolment, lock and step-up window. */
  status: procedure("adjustments:approve").query(({ ctx }) => getStepUpStatus(ctx.db, ctx.actor)),
  /** Starts enrolment: returns the secret and otpauth:// URI once. */
  startEnrolment: procedure("adjustments:approve").input(NO_INPUT).mutation(({ ctx }) => startTotpEnrolment(ctx.db, ctx.actor, { requestId: ctx.requestId })),
  /** Confirms enrolment with the first code; returns the recovery codes once. */
  confirmEnrolment: procedure("adjustments:approve")
    .input(z.strictObject({ code }))
    .mutation(({ ctx, input }) => confirmTotpEnrolment(ctx.db, ctx.actor, input, { requestId: ctx.requestId, ip: ctx.ip })),
  /** Checks a code and opens the step-up window (approvals within it need no code). */
  verify: procedure("adjustments:approve")
    .input(z.strictObject({ code }))
    .mutation(({ ctx, input }) => verifyStepUp(ctx.db, ctx.actor, input, { requestId: ctx.requestId, ip: ctx.ip })),
  /** Users locked out of approving after repeated wrong codes. */
  locked: procedure("users:manage").query(({ ctx }) => listLockedApprovers(ctx.db)),
  /** Lifts a user's lock (audited). */
  unlock: procedure("users:manage")
    .input(z.strictObject({ userId: uuid, reason }))
    .mutation(({ ctx, input }) => adminChangeStepUp(ctx.db, ctx.actor, { ...input, action: "unlock" }, { requestId: ctx.requestId })),
  /** Removes a user's authenticator so they enrol again (audited). */
  reset: procedure("users:manage")
    .input(z.strictObject({ userId: uuid, reason }))
    .mutation(({ ctx, input }) => adminChangeStepUp(ctx.db, ctx.actor, { ...input, action: "reset" }, { requestId: ctx.requestId })),
});

const policyRouter = createRouter({
  /** The policy in force: thresholds per currency and expiry. */
  get: procedure("adjustments:read").query(({ ctx }) => getPolicySummary(ctx.db)),
  /** Proposes a new policy (itself approved by an approver other than the proposer). */
  propose: procedure("approvals:policy")
    .input(
      z.strictObject({
        basedOnVersion: z.number().int().min(1),
        thresholds: z.record(z.string().max(8), z.string().max(60)),
        expiryHours: z.number().int().min(1).max(720).nullable(),
        reason,
        idempotencyKey: key,
      }),
    )
    .mutation(({ ctx, input }) => {
      const { reason: why, idempotencyKey, ...payload } = input;
      return proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "policy_change", payload, reason: why, idempotencyKey });
    }),
});

export const approvalsRouter = createRouter({
  /** The kinds of adjustment and the permission each needs to propose. */
  kinds: procedure("adjustments:read").query(() => adjustmentKinds.list()),
  /** An inbox view, newest first; keyset cursor. */
  list: procedure("adjustments:read")
    .input(
      z.strictObject({
        view: z.enum(INBOX_VIEWS),
        status: z.enum(PROPOSAL_STATUSES).optional(),
        kind: kindName.optional(),
        cursor: z.string().max(200).optional(),
        limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
      }),
    )
    .query(({ ctx, input }) => listProposals(ctx.db, { actor: ctx.actor, kinds: adjustmentKinds }, input)),
  /** How many proposals wait for the caller's approval (the nav badge). */
  waitingCount: procedure("adjustments:read").query(({ ctx }) => countWaitingForMe(ctx.db, { actor: ctx.actor, kinds: adjustmentKinds })),
  /** One proposal with the proposer's preview, a live preview and what differs. */
  get: procedure("adjustments:read")
    .input(z.strictObject({ id: uuid }))
    .query(({ ctx, input }) => getProposal(ctx.db, { actor: ctx.actor, kinds: adjustmentKinds }, input.id)),
  /** Dry-runs a draft without storing anything (the form's preview). */
  preview: procedure("adjustments:propose")
    .input(draft)
    .mutation(({ ctx, input }) => previewDraft(ctx.db, { actor: ctx.actor, kinds: adjustmentKinds }, input)),
  /** Proposes an adjustment; the same idempotency key and request return the stored proposal. */
  propose: procedure("adjustments:propose")
    .input(proposal)
    .mutation(({ ctx, input }) => proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  /** Approves (with a step-up code or within the step-up window); the final approval applies. */
  approve: procedure("adjustments:approve")
    .input(z.strictObject({ proposalId: uuid, code: code.optional() }))
    .mutation(({ ctx, input }) => approveProposal(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, ip: ctx.ip, kinds: adjustmentKinds }, input)),
  reject: procedure("adjustments:approve")
    .input(z.strictObject({ proposalId: uuid, reason }))
    .mutation(({ ctx, input }) => rejectProposal(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  /** The proposer withdraws (checked by the domain: only the proposer). */
  withdraw: procedure("adjustments:read")
    .input(z.strictObject({ proposalId: uuid, reason: z.string().trim().max(MAX_REASON_LENGTH).optional() }))
    .mutation(({ ctx, input }) => withdrawProposal(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  comment: procedure("adjustments:read")
    .input(z.strictObject({ proposalId: uuid, body: z.string().trim().min(1).max(MAX_COMMENT_LENGTH), idempotencyKey: key }))
    .mutation(({ ctx, input }) => commentOnProposal(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),
  /** An evidence file, base64 (the console downloads it through /approvals/<id>/evidence/<file id>). */
  evidence: procedure("adjustments:read")
    .input(z.strictObject({ proposalId: uuid, evidenceId: uuid }))
    .query(async ({ ctx, input }) => {
      const f = await getEvidenceFile(ctx.db, input);
      return { fileName: f.fileName, contentType: f.contentType, sha256: f.sha256, contentBase64: f.content.toString("base64") };
    }),
  policy: policyRouter,
  stepUp: stepUpRouter,
});
