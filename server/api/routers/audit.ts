import { z } from "zod";
import { procedure, createRouter, NO_INPUT } from "../trpc";
import { readAuditPage, getAuditRecord, MAX_AUDIT_PAGE_SIZE, DEFAULT_AUDIT_PAGE_SIZE } from "../../audit/query";
import { readAuditVerification, requestAuditVerification } from "../../audit/verification-runs";
import { auditActorOf } from "../../core/actor";
import { enqueue, QUEUES } from "../../jobs/queues";

const auditId = z.string().regex(/^[1-9]\d{0,18}$/, "must be an audit record id (a positive whole number)");
const text = z.string().trim().min(1).max(200);

export const auditFiltersInput = z.strictObject({
  actorId: text.optional(),
  actorLabel: text.optional(),
  action: text.optional(),
  targetType: text.optional(),
  targetId: text.optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
});

const listInput = auditFiltersInput.extend({
  cursor: auditId.optional(),
  limit: z.number().int().min(1).max(MAX_AUDIT_PAGE_SIZE).default(DEFAULT_AUDIT_PAGE_SIZE),
});

export const auditRouter = createRouter({
  /** Records matching the filters, newest first; keyset pagination by id. */
  list: procedure("audit:read")
    .input(listInput)
    .query(({ ctx, input }) => {
      const { cursor, limit, ...filters } = input;
      return readAuditPage(ctx.db.prisma, filters, { cursor, limit });
    }),

  /** One record with its before/after and hashes. */
  get: procedure("audit:read")
    .input(z.strictObject({ id: auditId }))
    .query(({ ctx, input }) => getAuditRecord(ctx.db.prisma, input.id)),

  /**
   * The last verification of every hash chain (run by the worker) and whether another is on its
   * way. Reading it costs two indexed reads, never a walk of the log.
   */
  verify: procedure("audit:read").query(({ ctx }) => readAuditVerification(ctx.db)),

  /** Asks the worker to verify the chain now (at most one run requested or running at a time). */
  requestVerification: procedure("audit:read")
    .input(NO_INPUT)
    .mutation(({ ctx }) => requestAuditVerification(ctx.db, auditActorOf(ctx.actor).label, () => enqueue(ctx.db, QUEUES.auditVerify, {}))),
});
