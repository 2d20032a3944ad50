/**
 * The pricing API: thin. Quotes and explanations, fee schedules (versions, diffs, simulation, new
 * versions proposed through approvals), reference rates (chart data, imports, rates by hand
 * through approvals), recent quotes, spreads and customer segments. Amounts travel as bigint
 * (superjson) or integer minor-unit strings, never JS numbers. Documented in docs/api.md "pricing".
 */
import { z } from "zod";
import { adjustmentKinds } from "../../composition";
import { createRouter, procedure } from "../trpc";
import { idempotencyKey as key, isoDate as date, operatorReason as reason, unsignedMinorUnits as amount } from "../inputs";
import { auditActorOf } from "../../core/actor";
import { proposeAdjustment } from "../../approvals/proposals";
import { getProposal } from "../../approvals/queries";
import { pgRunner } from "../../db/sql";
import { AppError } from "../../errors/app-error";
import { importReferenceRates, listRateImports, listRates } from "../../pricing/rates-store";
import { createQuote, getQuote, listQuotes, priceRequest } from "../../pricing/quotes";
import { diffScheduleDefinitions, getScheduleVersion, listSchedules, listScheduleVersions } from "../../pricing/schedules";
import { setCustomerSegment, listSpreads } from "../../pricing/settings";
import { simulateFeeSchedule, simulationCsv, type SimulationResult } from "../../pricing/simulation";
import { MAX_RATES_FILE_BYTES } from "../../pricing/ecb-csv";
import { explainTransferPrice } from "../../transfers/pricing";

const currency = z.string().regex(/^[A-Z]{3}$/, "three capital letters");
const cursor = z.strictObject({ createdAt: z.date(), id: z.uuid() });

const priceInput = z.strictObject({
  amountMinor: amount,
  currency,
  toCurrency: currency.optional(),
  rail: z.string().min(1).max(64),
  customerId: z.string().min(1).max(128).nullable().default(null),
});

const simulationInput = z.strictObject({ rail: z.string().min(1).max(64), definition: z.record(z.string(), z.unknown()), from: z.date(), to: z.date() });

/** A simulation without its full row list (that is what simulationCsv is for): the first rows only. */
function simulationSummary(r: SimulationResult) {
  return { ...r, rows: r.rows.slice(0, 100), rowCount: r.rows.length };
}

async function proposalPayload(db: Parameters<typeof getProposal>[0], proposalId: string, actor: Parameters<typeof getProposal>[1]["actor"]) {
  const p = await getProposal(db, { actor, kinds: adjustmentKinds }, proposalId);
  if (p.kind !== "fee_schedule_version") throw new AppError("BAD_INPUT", `proposal ${proposalId} is a ${p.kind}, not a fee schedule version`);
  return p.payload as { rail: string; definition: Record<string, unknown> };
}

export const pricingRouter = createRouter({
  /** Prices and locks: the fee and, across currencies, the conversion, under a quote id until it expires. */
  quote: procedure("pricing:quote")
    .input(priceInput.extend({ idempotencyKey: key }))
    .mutation(async ({ ctx, input }) => {
      const { idempotencyKey, ...req } = input;
      return createQuote(ctx.db, auditActorOf(ctx.actor), req, { idempotencyKey });
    }),
  /** The explanation of a quote (by id), of a transfer's price (by id), or of a price computed now without locking it. */
  explain: procedure("pricing:read")
    .input(z.union([z.strictObject({ quoteId: z.uuid() }), z.strictObject({ transferId: z.uuid() }), priceInput]))
    .query(async ({ ctx, input }) => {
      if ("quoteId" in input) {
        const q = await getQuote(pgRunner(ctx.db.pool), input.quoteId);
        return { quote: q, explanation: q.explanation };
      }
      if ("transferId" in input) {
        const t = await explainTransferPrice(pgRunner(ctx.db.pool), input.transferId);
        return { quote: null, transfer: t, explanation: t.explanation };
      }
      const price = await priceRequest(pgRunner(ctx.db.pool), input);
      return { quote: null, price, explanation: price.explanation };
    }),
  listQuotes: procedure("pricing:read")
    .input(z.strictObject({ limit: z.number().int().min(1).max(100).default(50), cursor: cursor.nullish() }))
    .query(({ ctx, input }) => listQuotes(pgRunner(ctx.db.pool), { limit: input.limit, before: input.cursor ?? null })),

  listSchedules: procedure("pricing:read").query(({ ctx }) => listSchedules(pgRunner(ctx.db.pool), new Date())),
  scheduleVersions: procedure("pricing:read")
    .input(z.strictObject({ scheduleCode: z.string().min(1).max(64) }))
    .query(async ({ ctx, input }) => (await listScheduleVersions(pgRunner(ctx.db.pool), input.scheduleCode)).map(({ compiled, ...v }) => ({ ...v, definition: compiled.definition }))),
  /** One version by id, with its schedule's code (links from a price's explanation). */
  scheduleVersion: procedure("pricing:read")
    .input(z.strictObject({ versionId: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const { compiled, ...v } = await getScheduleVersion(pgRunner(ctx.db.pool), input.versionId);
      return { ...v, definition: compiled.definition };
    }),
  /** Rule-by-rule differences between two versions (or a version and the one before it). */
  diffVersions: procedure("pricing:read")
    .input(z.strictObject({ versionId: z.uuid(), againstVersionId: z.uuid().optional() }))
    .query(async ({ ctx, input }) => {
      const sql = pgRunner(ctx.db.pool);
      const v = await getScheduleVersion(sql, input.versionId);
      let against = input.againstVersionId ? await getScheduleVersion(sql, input.againstVersionId) : null;
      if (!input.againstVersionId && v.version > 1) against = (await listScheduleVersions(sql, v.scheduleCode)).find((x) => x.version === v.version - 1) ?? null;
      return { version: v.version, againstVersion: against?.version ?? null, changes: diffScheduleDefinitions(against?.compiled.definition ?? null, v.compiled.definition) };
    }),
  simulate: procedure("pricing:read")
    .input(simulationInput)
    .query(async ({ ctx, input }) => simulationSummary(await simulateFeeSchedule(pgRunner(ctx.db.pool), input))),
  simulationCsv: procedure("pricing:read")
    .input(simulationInput)
    .query(async ({ ctx, input }) => ({ csv: simulationCsv(await simulateFeeSchedule(pgRunner(ctx.db.pool), input)) })),
  /** The simulation of a proposed version, for its approver. */
  simulateProposal: procedure("adjustments:read")
    .input(z.strictObject({ proposalId: z.uuid(), from: z.date(), to: z.date() }))
    .query(async ({ ctx, input }) => {
      const p = await proposalPayload(ctx.db, input.proposalId, ctx.actor);
      return simulationSummary(await simulateFeeSchedule(pgRunner(ctx.db.pool), { rail: p.rail, definition: p.definition, from: input.from, to: input.to }));
    }),
  /** Proposes a new version (four eyes: an approver applies it through approvals.approve). */
  proposeScheduleVersion: procedure("pricing:manage")
    .input(
      z.strictObject({
        scheduleCode: z.string().min(1).max(64),
        name: z.string().trim().min(1).max(200).optional(),
        rail: z.string().min(1).max(64),
        basedOnVersion: z.number().int().min(0),
        effectiveFrom: z.date(),
        definition: z.record(z.string(), z.unknown()),
        reason,
        idempotencyKey: key,
      }),
    )
    .mutation(({ ctx, input }) => {
      const { reason: why, idempotencyKey, effectiveFrom, ...payload } = input;
      return proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, {
        kind: "fee_schedule_version", payload: { ...payload, effectiveFrom: effectiveFrom.toISOString() }, reason: why, idempotencyKey,
      });
    }),

  listRates: procedure("pricing:read")
    .input(z.strictObject({ currency, fromDate: date, toDate: date }))
    .query(({ ctx, input }) => listRates(pgRunner(ctx.db.pool), input)),
  listRateImports: procedure("pricing:read")
    .input(z.strictObject({ limit: z.number().int().min(1).max(100).default(20), cursor: cursor.nullish() }))
    .query(({ ctx, input }) => listRateImports(pgRunner(ctx.db.pool), { limit: input.limit, ...(input.cursor ? { before: input.cursor } : {}) })),
  /** Imports an ECB CSV; the file's SHA-256 is its idempotency key (the same file again is a replay). */
  importRates: procedure("pricing:manage")
    .input(z.strictObject({ fileName: z.string().min(1).max(200), text: z.string().min(1).max(MAX_RATES_FILE_BYTES) }))
    .mutation(({ ctx, input }) => importReferenceRates(ctx.db, auditActorOf(ctx.actor), input)),
  proposeManualRate: procedure("pricing:manage")
    .input(z.strictObject({ currency, date, rate: z.string().min(1).max(40), reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => {
      const { reason: why, idempotencyKey, ...payload } = input;
      return proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "fx_manual_rate", payload, reason: why, idempotencyKey });
    }),

  listSpreads: procedure("pricing:read").query(({ ctx }) => listSpreads(pgRunner(ctx.db.pool))),
  /**
   * Proposes setting or (spreadBps null) removing a spread (four eyes: kind fx_spread_change; an
   * approver applies it through approvals.approve). Returns the proposal.
   */
  proposeSpread: procedure("pricing:manage")
    .input(z.strictObject({ fromCurrency: z.string().min(1).max(3), toCurrency: z.string().min(1).max(3), segment: z.string().max(64).default(""), spreadBps: z.string().max(40).nullable(), reason, idempotencyKey: key }))
    .mutation(({ ctx, input }) => {
      const { reason: why, idempotencyKey, ...payload } = input;
      return proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "fx_spread_change", payload, reason: why, idempotencyKey });
    }),
  /** Puts a customer in a segment (null: none). Setting the same value again changes nothing. */
  setCustomerSegment: procedure("pricing:manage")
    .input(z.strictObject({ customerId: z.string().min(1).max(128), segment: z.string().min(1).max(64).nullable(), reason }))
    .mutation(({ ctx, input }) => setCustomerSegment(ctx.db, auditActorOf(ctx.actor), input)),
});
