/**
 * Pricing settings: a customer's segment, changed directly by an admin (audited, no four eyes;
 * docs/separation-of-duties.md says why), and the FX spread per pair and segment, which the API
 * only proposes (kind fx_spread_change, server/pricing/approval-kinds.ts): approving it writes the
 * spread with writeSpreadInTransaction; setSpread is for the system's own callers (demo seed,
 * benchmark). Fee schedules and manual rates go through approvals too.
 *
 * Invariants kept:
 * - Every change says why: a reason of 3 to 500 characters is required here, whoever calls
 *   (API, seed, script), and stored in the audit record.
 * - Each change and its audit record (before and after, reason) are written in one transaction; this
 *   process's pricing cache forgets the old value at once, others within PRICING_CACHE_TTL_MS.
 * - A spread is an exact decimal number of basis points, 0 <= bps < 10000 (also a database check);
 *   a pair is two different known currencies, or "*"/"*" for any pair.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { checkReason } from "../core/reasons";
import { currencyExponent } from "../money";
import { forgetLookups } from "./cache";
import { exactInteger, parseExactDecimal } from "./exact";
import { MAX_CUSTOMER_ID_LENGTH } from "./quotes";

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** The reason a pricing setting changes: as the API's operator reason (3 to 500 characters). */
const checkSettingReason = (reason: unknown) => checkReason(reason, { min: 3 });

/** Puts a customer in a segment (null removes them: no segment). Errors, in order: BAD_INPUT (customerId, segment, reason). */
export async function setCustomerSegment(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { customerId: string; segment: string | null; reason: string; now?: Date }) {
  if (input.customerId.length === 0 || input.customerId.length > MAX_CUSTOMER_ID_LENGTH) throw new AppError("BAD_INPUT", `customerId must be 1 to ${MAX_CUSTOMER_ID_LENGTH} characters`);
  if (input.segment !== null && !SEGMENT.test(input.segment)) throw new AppError("BAD_INPUT", `segment ${JSON.stringify(input.segment)} must be letters, digits and . _ : - (at most 64)`);
  const reason = checkSettingReason(input.reason);
  const now = input.now ?? new Date();
  const changed = await runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    const before = (await sql.query<{ segment: string }>(`SELECT segment FROM pricing_customers WHERE customer_id = $1 FOR UPDATE`, [input.customerId]))[0]?.segment ?? null;
    if (input.segment === null) await client.query(`DELETE FROM pricing_customers WHERE customer_id = $1`, [input.customerId]);
    else {
      await client.query(
        `INSERT INTO pricing_customers (customer_id, segment, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO UPDATE SET segment = EXCLUDED.segment, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
        [input.customerId, input.segment, now, actor.label],
      );
    }
    await appendAudit(sql, { actor, action: "pricing.customer.segment", targetType: "pricing_customer", targetId: input.customerId, reason, before: { segment: before }, after: { segment: input.segment }, at: now });
    return { customerId: input.customerId, segment: input.segment };
  });
  forgetLookups(db.pool, "segment");
  return changed;
}

export interface SpreadInput {
  fromCurrency: string;
  toCurrency: string;
  segment: string;
  /** Exact decimal basis points ("50", "12.5"); null removes the row. */
  spreadBps: string | null;
  reason: string;
  now?: Date;
}

/** A spread change as stored in a proposal (no reason: the proposal carries it). */
export type SpreadChange = Pick<SpreadInput, "fromCurrency" | "toCurrency" | "segment" | "spreadBps">;

/** Checks a spread change. Errors, in order: UNKNOWN_CURRENCY, BAD_INPUT (pair, segment, spreadBps). */
export function checkSpreadChange(input: SpreadChange): SpreadChange {
  const isAny = input.fromCurrency === "*" && input.toCurrency === "*";
  if (!isAny) {
    currencyExponent(input.fromCurrency);
    currencyExponent(input.toCurrency);
    if (input.fromCurrency === input.toCurrency) throw new AppError("BAD_INPUT", `a spread is for two different currencies, not ${input.fromCurrency}/${input.toCurrency}`);
  }
  if (input.segment !== "" && !SEGMENT.test(input.segment)) throw new AppError("BAD_INPUT", `segment ${JSON.stringify(input.segment)} must be empty (any) or letters, digits and . _ : -`);
  if (input.spreadBps !== null) {
    const bps = parseExactDecimal(input.spreadBps, { what: "spreadBps", code: "BAD_INPUT", allowZero: true });
    if (bps.compare(exactInteger(10_000n)) >= 0) throw new AppError("BAD_INPUT", `spreadBps ${input.spreadBps} must be below 10000 (100%)`);
  }
  return { fromCurrency: input.fromCurrency, toCurrency: input.toCurrency, segment: input.segment, spreadBps: input.spreadBps };
}

/** The spread stored for a pair and segment now (exact decimal bps), or null. */
export async function readSpread(sql: SqlRunner, change: Pick<SpreadChange, "fromCurrency" | "toCurrency" | "segment">): Promise<string | null> {
  const rows = await sql.query<{ bps: string }>(`SELECT spread_bps::text AS bps FROM fx_spreads WHERE from_currency = $1 AND to_currency = $2 AND segment = $3`, [change.fromCurrency, change.toCurrency, change.segment]);
  return rows[0]?.bps ?? null;
}

/**
 * Sets (or removes) the spread of a pair and segment. For the system's own callers (seed,
 * benchmark); the API proposes instead (fx_spread_change). Errors, in order: UNKNOWN_CURRENCY,
 * BAD_INPUT (pair, segment, spreadBps, reason).
 */
export async function setSpread(db: Pick<DbHandles, "pool">, actor: AuditActor, input: SpreadInput) {
  const change = checkSpreadChange(input);
  const reason = checkSettingReason(input.reason);
  const now = input.now ?? new Date();
  const changed = await runTransaction(db.pool, (client) => writeSpreadInTransaction(client, actor, change, { reason, now }));
  forgetLookups(db.pool, "spread");
  return changed;
}

/**
 * Writes a checked spread change and its audit record (before and after) in the caller's
 * transaction: setSpread's, or an approved fx_spread_change's.
 */
export async function writeSpreadInTransaction(client: pg.PoolClient, actor: AuditActor, input: SpreadChange, opts: { reason: string; now: Date; proposalId?: string }) {
  const { reason, now } = opts;
  const key = [input.fromCurrency, input.toCurrency, input.segment];
  const sql = pgRunner(client);
  const before = (await sql.query<{ bps: string }>(`SELECT spread_bps::text AS bps FROM fx_spreads WHERE from_currency = $1 AND to_currency = $2 AND segment = $3 FOR UPDATE`, key))[0]?.bps ?? null;
  if (input.spreadBps === null) await client.query(`DELETE FROM fx_spreads WHERE from_currency = $1 AND to_currency = $2 AND segment = $3`, key);
  else {
    await client.query(
      `INSERT INTO fx_spreads (from_currency, to_currency, segment, spread_bps, updated_at, updated_by) VALUES ($1, $2, $3, $4::numeric, $5, $6)
       ON CONFLICT (from_currency, to_currency, segment) DO UPDATE SET spread_bps = EXCLUDED.spread_bps, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
      [...key, input.spreadBps, now, actor.label],
    );
  }
  await appendAudit(sql, {
    actor,
    action: "pricing.spread.set",
    targetType: "fx_spread",
    targetId: key.join("/"),
    reason,
    before: { spreadBps: before },
    after: { spreadBps: input.spreadBps, ...(opts.proposalId ? { proposalId: opts.proposalId } : {}) },
    at: now,
  });
  return { fromCurrency: input.fromCurrency, toCurrency: input.toCurrency, segment: input.segment, spreadBps: input.spreadBps };
}

/** Every spread row (small: pairs x segments), for the console. */
export async function listSpreads(sql: SqlRunner) {
  return sql.query<{ fromCurrency: string; toCurrency: string; segment: string; spreadBps: string; updatedAt: Date; updatedBy: string }>(
    `SELECT from_currency AS "fromCurrency", to_currency AS "toCurrency", segment, spread_bps::text AS "spreadBps", updated_at AS "updatedAt", updated_by AS "updatedBy"
       FROM fx_spreads ORDER BY from_currency, to_currency, segment LIMIT 1000`,
  );
}
