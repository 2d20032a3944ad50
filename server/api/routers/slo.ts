/**
 * The SLO API: objectives and their state, series for the charts, the blast radius of a bad
 * interval, partner health, incidents, the overview and the weekly report. Thin: validate, check
 * the permission, call one function in server/slo, return its result.
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { REASON_MAX_LENGTH } from "../../core/reasons";
import { createSloDefinition, INDICATOR_KINDS, listSloDefinitions, updateSloDefinition } from "../../slo/definitions";
import { readBreakdown, readOverview, readSamples, readSloSeries, readSloStatuses, readWeeklyReport } from "../../slo/queries";
import { BLAST_HITS, BLAST_PAGE_MAX, getIncident, INCIDENT_PAGE_MAX, listBlastRadius, listIncidents, listIncidentTransfers, openIncident, readBlastRadius, readMonthlyIncidents, SEVERITIES, updateIncident } from "../../slo/incidents";
import { readPartnerHealth } from "../../slo/partner-health";

const reason = z.string().trim().min(1, "give a reason").max(REASON_MAX_LENGTH);
const date = z.coerce.date();
const name = z.string().max(64);
const scope = { partner: name.nullish(), rail: name.nullish() };

const sloFields = {
  name: z.string().max(120),
  description: z.string().max(1000),
  target: z.number(),
  windowDays: z.number().int(),
  thresholdMs: z.number().int().nullable(),
  thresholdCount: z.number().int().nullable(),
  rail: name.nullable(),
  partner: name.nullable(),
  isEnabled: z.boolean(),
};

const definitionsRouter = createRouter({
  /** Every objective (enabled first). */
  list: procedure("slo:read")
    .input(z.strictObject({ isEnabledOnly: z.boolean().optional() }).optional())
    .query(({ ctx, input }) => listSloDefinitions(ctx.db, input ?? {})),

  create: procedure("slo:manage")
    .input(z.strictObject({ key: z.string().max(63), indicator: z.enum(INDICATOR_KINDS), reason, ...sloFields }))
    .mutation(({ ctx, input }) => createSloDefinition(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),

  /** Changes some fields of an objective, against the version it was based on. */
  update: procedure("slo:manage")
    .input(z.strictObject({ key: z.string().max(63), expectedVersion: z.number().int().min(1), reason, changes: z.strictObject(sloFields).partial() }))
    .mutation(({ ctx, input }) => updateSloDefinition(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
});

const incidentsRouter = createRouter({
  /** Incidents overlapping a range (or all; or only open ones), newest first; keyset pages. */
  list: procedure("slo:read")
    .input(
      z.strictObject({
        from: date.optional(),
        to: date.optional(),
        isOpenOnly: z.boolean().optional(),
        limit: z.number().int().min(1).max(INCIDENT_PAGE_MAX).optional(),
        after: z.strictObject({ startedAt: date, id: z.uuid() }).optional(),
      }),
    )
    .query(({ ctx, input }) => listIncidents(ctx.db.pool, input)),

  get: procedure("slo:read")
    .input(z.strictObject({ incidentId: z.uuid() }))
    .query(({ ctx, input }) => getIncident(ctx.db, input.incidentId)),

  /** The transfers linked to an incident; keyset pages by transfer id. */
  transfers: procedure("slo:read")
    .input(z.strictObject({ incidentId: z.uuid(), limit: z.number().int().min(1).max(BLAST_PAGE_MAX).optional(), after: z.uuid().optional() }))
    .query(({ ctx, input }) => listIncidentTransfers(ctx.db.pool, input.incidentId, input)),

  /** Incidents per month: count, by severity, time to resolve. */
  monthly: procedure("slo:read")
    .input(z.strictObject({ months: z.number().int().min(1).max(36).optional() }).optional())
    .query(({ ctx, input }) => readMonthlyIncidents(ctx.db.pool, new Date(), input?.months ?? 12)),

  /** Opens an incident by hand, or from a bad interval with its blast radius linked. */
  open: procedure("incidents:manage")
    .input(
      z.strictObject({
        title: z.string().max(200),
        severity: z.enum(SEVERITIES),
        startedAt: date,
        endedAt: date.nullish(),
        ...scope,
        component: name.nullish(),
        sloKey: z.string().max(63).nullish(),
        notes: z.string().max(10_000).optional(),
        linkBlastRadius: z.strictObject({ to: date, lateAfterMs: z.number().int().min(0).nullish(), hit: z.enum(BLAST_HITS).nullish() }).nullish(),
      }),
    )
    .mutation(({ ctx, input }) => openIncident(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),

  /** Changes an incident, resolves it (endedAt) or reopens it (endedAt null). */
  update: procedure("incidents:manage")
    .input(
      z.strictObject({
        incidentId: z.uuid(),
        expectedVersion: z.number().int().min(1),
        reason,
        changes: z.strictObject({ title: z.string().max(200), severity: z.enum(SEVERITIES), notes: z.string().max(10_000), startedAt: date, endedAt: date.nullable(), ...scope, component: name.nullish() }).partial(),
      }),
    )
    .mutation(({ ctx, input }) => updateIncident(ctx.db, ctx.actor, input, { requestId: ctx.requestId })),
});

export const sloRouter = createRouter({
  definitions: definitionsRouter,
  incidents: incidentsRouter,

  /** Every enabled objective evaluated now: window SLI, budget, burn rates, alert level. */
  status: procedure("slo:read")
    .input(z.strictObject({}).optional())
    .query(({ ctx }) => readSloStatuses(ctx.db, new Date())),

  /** One objective over a range (at most 90 days, at most 1500 points): SLI per step, breaches, burn-down, latency percentiles, incidents. */
  series: procedure("slo:read")
    .input(z.strictObject({ key: z.string().max(63), from: date, to: date }))
    .query(({ ctx, input }) => readSloSeries(ctx.db, input.key, input.from, input.to, new Date())),

  /** The worker's minute samples over a range: stuck count and webhook lag per step. */
  samples: procedure("slo:read")
    .input(z.strictObject({ from: date, to: date }))
    .query(({ ctx, input }) => readSamples(ctx.db, input.from, input.to)),

  /** Transfer outcomes per rail and partner over a range. */
  breakdown: procedure("slo:read")
    .input(z.strictObject({ from: date, to: date }))
    .query(({ ctx, input }) => readBreakdown(ctx.db, input.from, input.to)),

  /** The blast radius of an interval (at most 24 h): count and exact total per currency, and the first page of hit transfers. */
  blastRadius: procedure("slo:read")
    .input(z.strictObject({ from: date, to: date, ...scope, lateAfterMs: z.number().int().min(0).nullish(), hit: z.enum(BLAST_HITS).nullish(), limit: z.number().int().min(1).max(BLAST_PAGE_MAX).optional(), after: z.strictObject({ createdAt: date, id: z.uuid() }).optional() }))
    .query(async ({ ctx, input }) => {
      const [totals, page] = await Promise.all([readBlastRadius(ctx.db.pool, input), listBlastRadius(ctx.db.pool, input)]);
      return { ...totals, ...page };
    }),

  /** Health of every partner rail: current state and rates, the range's rates, outage history. */
  partnerHealth: procedure("slo:read")
    .input(z.strictObject({ from: date.optional() }).optional())
    .query(({ ctx, input }) => {
      const now = new Date();
      return readPartnerHealth(ctx.db.pool, input?.from ?? new Date(now.getTime() - 24 * 3600_000), now);
    }),

  /** Is money moving? Objectives, stuck transfers, approvals waiting, partners, open incidents. */
  overview: procedure("slo:read")
    .input(z.strictObject({}).optional())
    .query(({ ctx }) => readOverview(ctx.db, new Date())),

  /** The weekly report (the week holding weekStart, default this week) with the previous weeks' trend. */
  weeklyReport: procedure("slo:read")
    .input(z.strictObject({ weekStart: date.optional(), weeksOfTrend: z.number().int().min(0).max(12).optional() }).optional())
    .query(({ ctx, input }) => readWeeklyReport(ctx.db, input?.weekStart ?? new Date(), new Date(), input?.weeksOfTrend ?? 4)),
});
