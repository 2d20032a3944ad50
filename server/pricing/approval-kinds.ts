/**
 * Pricing changes that need four eyes, as approval kinds: a new fee schedule version
 * (fee_schedule_version), a reference rate entered by hand (fx_manual_rate) and a change of an FX
 * spread (fx_spread_change: it changes what customers are charged on conversions). An admin
 * proposes; a different approver approves; approving writes the row inside the approval
 * transaction. Listed in PRICING_KINDS, which the composition root (server/composition/) puts with the others.
 *
 * Invariants kept:
 * - A proposed definition is validated by compileFeeSchedule when proposed and stored in its
 *   validated form; approving writes exactly that definition.
 * - A version is proposed against the version it was based on (0 for a new schedule); if another
 *   version was written meanwhile, approving fails with CONFLICT and nothing is written.
 * - A version never takes effect before it is approved: its effective_from is the later of the
 *   proposed start and the approval time plus VERSION_ACTIVATION_DELAY (so no transfer already
 *   priced changes its version, and no process pricing from its cache misses it: cache.ts).
 * - A manual rate never replaces a stored rate: a (currency, date) that already has one is CONFLICT
 *   when proposing and again when approving.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import { pgRunner, type SqlRunner } from "../db/sql";
import { defineControlKind, type AdjustmentKind } from "../approvals/kinds";
import { env } from "../env";
import { AppError } from "../errors/app-error";
import { parseExactDecimal } from "./exact";
import { compileFeeSchedule, type FeeScheduleDefinition } from "./fees";
import { BASE_CURRENCY, isIsoDate } from "./reference-rates";
import { diffScheduleDefinitions } from "./schedules";
import { checkSpreadChange, readSpread, writeSpreadInTransaction } from "./settings";

// --- fee_schedule_version ----------------------------------------------------------------------

/**
 * How long after its approval a version takes effect at the earliest: the pricing cache's TTL plus
 * a second for clocks that differ between processes (none without a cache).
 */
export function versionActivationDelayMs(): number {
  const ttl = env().PRICING_CACHE_TTL_MS;
  return ttl === 0 ? 0 : ttl + 1_000;
}

export const feeScheduleVersionPayload = z.object({
  scheduleCode: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "lower-case letters, digits and . _ - (at most 64)"),
  /** Only for a new schedule (basedOnVersion 0); an existing schedule keeps its name and rail. */
  name: z.string().trim().min(1).max(200).optional(),
  rail: z.string().min(1).max(64),
  /** The version this one replaces; 0 creates the schedule. */
  basedOnVersion: z.number().int().min(0),
  /** ISO 8601 time; the version takes effect then, or when approved if that is later. */
  effectiveFrom: z.iso.datetime({ offset: true }),
  definition: z.record(z.string(), z.unknown()),
});
export type FeeScheduleVersionPayload = z.infer<typeof feeScheduleVersionPayload>;

interface ScheduleHead {
  id: string;
  code: string;
  name: string;
  rail: string;
  latest: number;
  definition: FeeScheduleDefinition | null;
}

async function readScheduleHead(sql: SqlRunner, code: string, lock: boolean): Promise<ScheduleHead | null> {
  const rows = await sql.query<{ id: string; code: string; name: string; rail: string }>(`SELECT id, code, name, rail FROM fee_schedules WHERE code = $1${lock ? " FOR UPDATE" : ""}`, [code]);
  const s = rows[0];
  if (!s) return null;
  const v = await sql.query<{ version: number; definition: FeeScheduleDefinition }>(`SELECT version, definition FROM fee_schedule_versions WHERE schedule_id = $1 ORDER BY version DESC LIMIT 1`, [s.id]);
  return { ...s, latest: v[0]?.version ?? 0, definition: v[0]?.definition ?? null };
}

/** Checks the proposal still fits the schedule as stored. Errors: NOT_FOUND, CONFLICT, BAD_INPUT. */
async function checkAgainstStored(sql: SqlRunner, p: FeeScheduleVersionPayload, lock: boolean): Promise<ScheduleHead | null> {
  const head = await readScheduleHead(sql, p.scheduleCode, lock);
  if (p.basedOnVersion === 0) {
    if (head) throw new AppError("CONFLICT", `fee schedule ${p.scheduleCode} already exists (version ${head.latest}); propose against its latest version`, { details: { latestVersion: head.latest } });
    const onRail = await sql.query<{ code: string }>(`SELECT code FROM fee_schedules WHERE rail = $1`, [p.rail]);
    if (onRail[0]) throw new AppError("CONFLICT", `rail ${p.rail} already has fee schedule ${onRail[0].code}; one schedule per rail`, { details: { scheduleCode: onRail[0].code } });
    if (!p.name) throw new AppError("BAD_INPUT", `a new fee schedule needs a name`);
    return null;
  }
  if (!head) throw new AppError("NOT_FOUND", `fee schedule ${p.scheduleCode} does not exist; propose version 1 with basedOnVersion 0`, { details: { scheduleCode: p.scheduleCode } });
  if (head.rail !== p.rail) throw new AppError("BAD_INPUT", `fee schedule ${p.scheduleCode} prices rail ${head.rail}, not ${p.rail}`);
  if (head.latest !== p.basedOnVersion) {
    throw new AppError("CONFLICT", `fee schedule ${p.scheduleCode} is at version ${head.latest}, not ${p.basedOnVersion}; reload and propose again`, { details: { latestVersion: head.latest } });
  }
  return head;
}

/**
 * Writes a version (and the schedule, for version 1) after checking it against what is stored
 * (CONFLICT, NOT_FOUND, BAD_INPUT as checkAgainstStored), in the caller's transaction. The one
 * place versions are written: by an approved proposal (apply above), and by the demo seed, which
 * sets up the demo world's schedules as the system (no proposal; server/demo/seed-pricing.ts).
 */
export async function writeScheduleVersion(
  client: pg.ClientBase,
  p: FeeScheduleVersionPayload,
  opts: { effectiveFrom: Date; proposalId: string | null; createdBy: string; now: Date },
): Promise<{ scheduleCode: string; version: number; versionId: string; effectiveFrom: string }> {
  const sql = pgRunner(client);
  // Stored as validated, defaults filled in (a proposal's payload already is; compiling is idempotent).
  const definition = compileFeeSchedule(p.definition).definition;
  let head = await checkAgainstStored(sql, p, true);
  if (!head) {
    const id = randomUUID();
    await client.query(`INSERT INTO fee_schedules (id, code, name, rail, created_at) VALUES ($1, $2, $3, $4, $5)`, [id, p.scheduleCode, p.name, p.rail, opts.now]);
    head = { id, code: p.scheduleCode, name: p.name!, rail: p.rail, latest: 0, definition: null };
  }
  const versionId = randomUUID();
  const version = head.latest + 1;
  await client.query(
    `INSERT INTO fee_schedule_versions (id, schedule_id, version, effective_from, definition, proposal_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
    [versionId, head.id, version, opts.effectiveFrom, JSON.stringify(definition), opts.proposalId, opts.createdBy, opts.now],
  );
  return { scheduleCode: p.scheduleCode, version, versionId, effectiveFrom: opts.effectiveFrom.toISOString() };
}

const feeScheduleVersionKind = defineControlKind<FeeScheduleVersionPayload>({
  kind: "fee_schedule_version",
  label: "Fee schedule version",
  proposePermission: "pricing:manage",
  payloadSchema: feeScheduleVersionPayload,
  async normalize(sql, p) {
    const compiled = compileFeeSchedule(p.definition);
    await checkAgainstStored(sql, p, false);
    return {
      scheduleCode: p.scheduleCode, ...(p.basedOnVersion === 0 ? { name: p.name } : {}), rail: p.rail, basedOnVersion: p.basedOnVersion,
      effectiveFrom: new Date(p.effectiveFrom).toISOString(), definition: compiled.definition as unknown as Record<string, unknown>,
    };
  },
  describe: (p) => `Fee schedule ${p.scheduleCode} (rail ${p.rail}) version ${p.basedOnVersion + 1}, effective ${p.effectiveFrom}`,
  links: (p) => [{ type: "fee_schedule", id: p.scheduleCode, label: `${p.scheduleCode} v${p.basedOnVersion}` }],
  async previewChanges(sql, p) {
    const head = await readScheduleHead(sql, p.scheduleCode, false);
    const changes = diffScheduleDefinitions(head?.definition ?? null, p.definition as unknown as FeeScheduleDefinition);
    const lines = [{ label: `Schedule ${p.scheduleCode} version`, before: head ? `v${head.latest}` : "none", after: `v${p.basedOnVersion + 1} from ${p.effectiveFrom}` }];
    for (const c of changes) {
      if (c.change !== "changed") lines.push({ label: `Rule ${c.ruleId}`, before: c.change === "added" ? "none" : "present", after: c.change === "added" ? "added" : "removed" });
      for (const f of c.fields) lines.push({ label: `Rule ${c.ruleId} ${f.field}`, before: f.before, after: f.after });
    }
    return lines;
  },
  async apply(client, p, ctx) {
    const proposed = new Date(p.effectiveFrom);
    const earliest = new Date(ctx.now.getTime() + versionActivationDelayMs());
    return writeScheduleVersion(client, p, { effectiveFrom: proposed > earliest ? proposed : earliest, proposalId: ctx.proposalId, createdBy: ctx.actor.label, now: ctx.now });
  },
});

// --- fx_manual_rate ------------------------------------------------------------------------------

export const manualRatePayload = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/, "three capital letters"),
  date: z.string(),
  /** Units of the currency per 1 EUR, an exact decimal ("162.03"). */
  rate: z.string().max(40),
});
export type ManualRatePayload = z.infer<typeof manualRatePayload>;

async function checkNoStoredRate(sql: SqlRunner, p: ManualRatePayload): Promise<void> {
  const rows = await sql.query<{ rate: string; source: string }>(`SELECT rate::text, source FROM fx_reference_rates WHERE currency = $1 AND rate_date = $2::date`, [p.currency, p.date]);
  if (rows[0]) {
    throw new AppError("CONFLICT", `${p.currency} already has a ${rows[0].source} rate on ${p.date} (${rows[0].rate}); stored rates never change`, { details: { currency: p.currency, date: p.date, rate: rows[0].rate } });
  }
}

const manualRateKind = defineControlKind<ManualRatePayload>({
  kind: "fx_manual_rate",
  label: "Reference rate entered by hand",
  proposePermission: "pricing:manage",
  payloadSchema: manualRatePayload,
  async normalize(sql, p) {
    if (p.currency === BASE_CURRENCY) throw new AppError("BAD_INPUT", "EUR is the base currency; its rate is always 1");
    if (!isIsoDate(p.date)) throw new AppError("BAD_INPUT", `date ${JSON.stringify(p.date)} is not a YYYY-MM-DD date`);
    parseExactDecimal(p.rate, { what: `rate for ${p.currency}`, code: "INVALID_RATE", details: { currency: p.currency } });
    await checkNoStoredRate(sql, p);
    return { currency: p.currency, date: p.date, rate: p.rate };
  },
  describe: (p) => `Reference rate by hand: 1 EUR = ${p.rate} ${p.currency} on ${p.date}`,
  links: (p) => [{ type: "fx_rate", id: `${p.currency}:${p.date}` }],
  async previewChanges(sql, p) {
    const rows = await sql.query<{ rate: string }>(`SELECT rate::text FROM fx_reference_rates WHERE currency = $1 AND rate_date = $2::date`, [p.currency, p.date]);
    return [{ label: `Reference rate ${p.currency} on ${p.date}`, before: rows[0] ? `1 EUR = ${rows[0].rate} ${p.currency}` : "none", after: `1 EUR = ${p.rate} ${p.currency}` }];
  },
  async apply(client, p, ctx) {
    // The same lock as an import, so a file and a hand-entered rate cannot race for one row.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('fx_rate_import'))`);
    await checkNoStoredRate(pgRunner(client), p);
    await client.query(
      `INSERT INTO fx_reference_rates (currency, rate_date, rate, source, proposal_id, created_at) VALUES ($1, $2::date, $3::numeric, 'manual', $4, $5)`,
      [p.currency, p.date, p.rate, ctx.proposalId, ctx.now],
    );
    return { currency: p.currency, date: p.date, rate: p.rate };
  },
});

// --- fx_spread_change -----------------------------------------------------------------------------

export const spreadChangePayload = z.strictObject({
  /** "*" and "*" for any pair. */
  fromCurrency: z.string().min(1).max(3),
  toCurrency: z.string().min(1).max(3),
  /** "" for any segment. */
  segment: z.string().max(64),
  /** Exact decimal basis points below 10000; null removes the row. */
  spreadBps: z.string().max(40).nullable(),
});
export type SpreadChangePayload = z.infer<typeof spreadChangePayload>;

const pairLabel = (p: SpreadChangePayload) => `${p.fromCurrency === "*" ? "any pair" : `${p.fromCurrency}/${p.toCurrency}`}, ${p.segment === "" ? "any segment" : `segment ${p.segment}`}`;
const bpsLabel = (bps: string | null) => (bps === null ? "none (the next broader row applies)" : `${bps} bps`);

const spreadChangeKind = defineControlKind<SpreadChangePayload>({
  kind: "fx_spread_change",
  label: "FX spread change",
  proposePermission: "pricing:manage",
  payloadSchema: spreadChangePayload,
  async normalize(_sql, p) {
    return checkSpreadChange(p);
  },
  describe: (p) => `FX spread ${pairLabel(p)}: ${bpsLabel(p.spreadBps)}`,
  links: (p) => [{ type: "fx_spread", id: `${p.fromCurrency}/${p.toCurrency}/${p.segment}` }],
  async previewChanges(sql, p) {
    return [{ label: `FX spread ${pairLabel(p)}`, before: bpsLabel(await readSpread(sql, p)), after: bpsLabel(p.spreadBps) }];
  },
  async apply(client, p, ctx) {
    // Quotes see it within PRICING_CACHE_TTL_MS in every process (server/pricing/cache.ts).
    return writeSpreadInTransaction(client, ctx.actor, checkSpreadChange(p), { reason: `approved proposal ${ctx.proposalId}`, now: ctx.now, proposalId: ctx.proposalId });
  },
});

/** The pricing domain's kinds: a new fee schedule version, a reference rate entered by hand, a spread change. */
export const PRICING_KINDS: readonly AdjustmentKind[] = [feeScheduleVersionKind, manualRateKind, spreadChangeKind];
