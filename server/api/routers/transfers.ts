/**
 * The transfers API: thin. Create (idempotent), get, list with the console's filters, the stuck
 * summary, and the operator actions (each with a reason and an idempotency key). Amounts travel
 * as bigint (superjson) or integer minor-unit strings, never JS numbers.
 */
import { z } from "zod";
import { adjustmentKinds, partners } from "../../composition";
import { procedure, createRouter } from "../trpc";
import { idempotencyKey as key, minorUnits as amount, operatorReason as reason, uuid } from "../inputs";
import { admissionGateFor } from "../../transfers/admission";
import { createTransfer } from "../../transfers/create";
import { getTransferDetail, listTransfers, summarizeStuck, TRANSFER_PAGE_MAX, TRANSFER_SORTS } from "../../transfers/queries";
import { bulkRetryTransfers, cancelTransfer, markTransferFailed, MAX_BULK_RETRY, queryTransferAtPartner, retryTransfer } from "../../transfers/operations";
import { proposeAdjustment } from "../../approvals/proposals";
import { listRailPolicies, updateRailPolicy } from "../../transfers/rail-policies";
import { TRANSFER_STATES } from "../../transfers/state-machine";
import { RAILS } from "../../transfers/types";
import { replayWebhookEvent } from "../../transfers/webhook-processing";
import { auditActorOf } from "../../core/actor";

const rail = z.enum(RAILS as [string, ...string[]]).transform((r) => r as (typeof RAILS)[number]);
const state = z.enum(TRANSFER_STATES);

const filters = z.strictObject({
  states: z.array(state).max(TRANSFER_STATES.length).optional(),
  rail: rail.optional(),
  partner: z.string().min(1).max(50).optional(),
  currency: z.string().min(3).max(3).optional(),
  amountMinMinor: amount.optional(),
  amountMaxMinor: amount.optional(),
  createdFrom: z.date().optional(),
  createdTo: z.date().optional(),
  isStuck: z.boolean().optional(),
  needsAttention: z.boolean().optional(),
  q: z.string().trim().max(200).optional(),
  sourceAccountId: uuid.optional(),
});

const operation = z.strictObject({ transferId: uuid, reason, idempotencyKey: key });

export const transfersRouter = createRouter({
  create: procedure("transfers:create")
    .input(
      z.strictObject({
        sourceAccountId: uuid,
        counterpartyName: z.string().trim().min(1).max(140),
        counterpartyAccount: z.string().trim().min(4).max(64),
        amountMinor: amount,
        currency: z.string().min(3).max(3),
        rail,
        partner: z.string().min(1).max(50).default("sandbox"),
        reference: z.string().max(140).optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
        /** The currency the counterparty receives; another than `currency` needs quoteId. */
        toCurrency: z.string().min(3).max(3).optional(),
        /** A quote from pricing.quote: the transfer executes on its price (once, before it expires). */
        quoteId: uuid.optional(),
        idempotencyKey: key,
      }),
    )
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, ...rest } = input;
      return createTransfer(ctx.db, ctx.actor, rest, { idempotencyKey, requestId: ctx.requestId });
    }),
  get: procedure("transfers:read")
    .input(z.strictObject({ transferId: uuid }))
    // The audit trail is part of the answer only for callers who may read the audit log.
    .query(({ ctx, input }) => getTransferDetail(ctx.db, input.transferId, { includeAudit: ctx.actor.permissions.has("audit:read") })),
  list: procedure("transfers:read")
    .input(filters.extend({ sort: z.enum(TRANSFER_SORTS).optional(), cursor: z.string().max(500).optional(), limit: z.number().int().min(1).max(TRANSFER_PAGE_MAX).optional() }))
    .query(({ ctx, input }) => {
      const { sort, cursor, limit, ...f } = input;
      return listTransfers(ctx.db, f, { sort, cursor, limit });
    }),
  stuckSummary: procedure("transfers:read").query(({ ctx }) => summarizeStuck(ctx.db)),
  /** Whether new transfers are admitted now, and if not why (server/transfers/admission.ts). */
  admission: procedure("transfers:read").query(({ ctx }) => admissionGateFor(ctx.db).state()),
  cancel: procedure("transfers:operate")
    .input(operation)
    .mutation(({ ctx, input }) => cancelTransfer(ctx.db, ctx.actor, { ...input, requestId: ctx.requestId })),
  retry: procedure("transfers:operate")
    .input(operation)
    .mutation(({ ctx, input }) => retryTransfer(ctx.db, ctx.actor, { ...input, requestId: ctx.requestId })),
  bulkRetry: procedure("transfers:operate")
    .input(z.strictObject({ transferIds: z.array(uuid).min(1).max(MAX_BULK_RETRY), reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => bulkRetryTransfers(ctx.db, ctx.actor, { ...input, requestId: ctx.requestId })),
  queryPartner: procedure("transfers:operate")
    .input(operation)
    .mutation(({ ctx, input }) => queryTransferAtPartner(ctx.db, ctx.actor, { ...input, requestId: ctx.requestId }, partners.adapterFor)),
  markFailed: procedure("transfers:operate")
    .input(operation)
    .mutation(({ ctx, input }) => markTransferFailed(ctx.db, ctx.actor, { ...input, requestId: ctx.requestId })),
  /**
   * Settle or fail after submission, on evidence: this decides money, so it becomes a four-eyes
   * proposal (kinds transfer_force_settle / transfer_force_fail) that a different approver must
   * approve; nothing changes until then.
   */
  proposeForceOutcome: procedure("transfers:operate")
    .input(operation.extend({ outcome: z.enum(["settled", "failed"]), evidence: z.string().trim().min(3).max(2000) }))
    .mutation(({ ctx, input }) =>
      proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, {
        kind: input.outcome === "settled" ? "transfer_force_settle" : "transfer_force_fail",
        payload: { transferId: input.transferId, evidence: input.evidence },
        reason: input.reason,
        idempotencyKey: input.idempotencyKey,
      }),
    ),
  /** Applies a stored partner webhook again (idempotent: changes a transfer only if the first application did not); audited. */
  replayWebhook: procedure("transfers:operate")
    .input(z.strictObject({ webhookEventId: uuid, reason }))
    .mutation(({ ctx, input }) => replayWebhookEvent(ctx.db, partners, ctx.actor, input, { requestId: ctx.requestId })),
  rails: createRouter({
    list: procedure("transfers:read").query(({ ctx }) => listRailPolicies(ctx.db, { fresh: true })),
    update: procedure("partners:manage")
      .input(
        z.strictObject({
          partner: z.string().min(1).max(50),
          rail,
          maxSubmitAttempts: z.number().int().min(1).max(50),
          backoffBaseMs: z.number().int().min(10).max(600_000),
          backoffMaxMs: z.number().int().min(10).max(3_600_000),
          submitTimeoutMs: z.number().int().min(100).max(120_000),
          budgetSeconds: z.strictObject({ created: z.number().int().min(1), reserved: z.number().int().min(1), submitted: z.number().int().min(1), acknowledged: z.number().int().min(1) }),
          reason,
        }),
      )
      .mutation(({ ctx, input }) => {
        const { partner, rail: r, reason: why, ...update } = input;
        return updateRailPolicy(ctx.db, auditActorOf(ctx.actor), partner, r, update, why, ctx.requestId);
      }),
  }),
});
