/**
 * The simulated bank's books: payments, their life (acknowledge, settle or fail, return), the
 * webhooks it owes, settlement-file lines, rail configuration and the outage switch. Everything is
 * stored in the sandbox_* tables so the bank survives restarts of our worker and of itself, and so
 * any number of sandbox processes can share it. Product code never reads these tables.
 *
 * Invariants kept:
 * - Exactly-once execution: a payment is executed by inserting its row, and sandbox_payments has
 *   UNIQUE(idempotency_key). Another request with the same key and the same body increments
 *   replay_count and returns the stored payment; with a different body it is a conflict. So
 *   "executed" = rows, whatever the concurrency.
 * - Every decision about a payment's future (fail, late return, out-of-order acknowledgement,
 *   settlement delay) is made once, when it executes, and stored. Settlement-file faults (missing
 *   or extra line) are decided when the line is written, under the configuration then in force,
 *   and a withheld line is recorded on the payment (is_line_withheld) as ground truth.
 * - Each step of a payment's life runs in one transaction with the webhooks and settlement lines
 *   it produces, claimed with FOR UPDATE SKIP LOCKED, so concurrent sandbox processes never
 *   double a step and a crash never loses or half-applies one. One event per (payment, type,
 *   copy) is enforced by a unique index.
 * - Limits: each step handles at most STEP_BATCH payments; callers loop.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type pg from "pg";
import { runTransaction } from "../db/transaction";
import { preparedQuery } from "../db/prepared";
import type { PartnerPayment, RailId, SettlementLine } from "../partners/types";
import { fromRow, type RowOf } from "../core/rows";
import { RAIL_IDS } from "../partners/types";
import { RAIL_CONFIG_SCHEMA, defaultRailConfig, faultRoll, mergeRailConfig, rollBetween, rollHits, type RailConfig } from "./rail-config";

export const STEP_BATCH = 500;
export const CONFIG_CACHE_MS = 500;

export type PaymentStatus = "submitted" | "acknowledged" | "settled" | "failed" | "returned";
export type EventType = "acknowledged" | "settled" | "failed" | "returned";

/** A submission as the bank receives it: what the product asks a partner to execute, off the wire. */
export type PaymentRequest = PartnerPayment;

export interface PaymentRow {
  id: string;
  idempotency_key: string;
  request_hash: string;
  transfer_id: string;
  rail: RailId;
  amount_minor: string;
  currency: string;
  counterparty_name: string;
  counterparty_account: string;
  reference: string;
  status: PaymentStatus;
  planned_outcome: "settled" | "failed";
  failure_reason: string | null;
  is_ack_deferred: boolean;
  return_after_ms: number | null;
  is_line_withheld: boolean;
  ack_due_at: Date | null;
  settle_due_at: Date | null;
  return_due_at: Date | null;
  acknowledged_at: Date | null;
  settled_at: Date | null;
  failed_at: Date | null;
  returned_at: Date | null;
  value_date: string | null;
  replay_count: number;
  created_at: Date;
}

const COLUMNS = (p: string) =>
  `${p}id, ${p}idempotency_key, ${p}request_hash, ${p}transfer_id, ${p}rail, ${p}amount_minor::text AS amount_minor, ${p}currency,
   ${p}counterparty_name, ${p}counterparty_account, ${p}reference, ${p}status, ${p}planned_outcome, ${p}failure_reason,
   ${p}is_ack_deferred, ${p}return_after_ms, ${p}is_line_withheld, ${p}ack_due_at, ${p}settle_due_at, ${p}return_due_at,
   ${p}acknowledged_at, ${p}settled_at, ${p}failed_at, ${p}returned_at, ${p}value_date::text AS value_date, ${p}replay_count, ${p}created_at`;

/** The bank's JSON for a payment (its public API shape). */
export function paymentJson(p: PaymentRow) {
  return {
    id: p.id,
    idempotency_key: p.idempotency_key,
    transfer_id: p.transfer_id,
    rail: p.rail,
    amount_minor: p.amount_minor,
    currency: p.currency,
    counterparty: { name: p.counterparty_name, account: p.counterparty_account },
    reference: p.reference,
    status: p.status,
    failure_reason: p.status === "failed" ? p.failure_reason : null,
    created_at: p.created_at.toISOString(),
    acknowledged_at: p.acknowledged_at?.toISOString() ?? null,
    settled_at: p.settled_at?.toISOString() ?? null,
    failed_at: p.failed_at?.toISOString() ?? null,
    returned_at: p.returned_at?.toISOString() ?? null,
    value_date: p.value_date,
  };
}

export function requestHash(r: PaymentRequest): string {
  const canonical = JSON.stringify([r.transferId, r.rail, r.amountMinor.toString(), r.currency, r.counterpartyName, r.counterpartyAccount, r.reference]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** What the sandbox process is configured with (from env at start, or by a test). */
export interface BankContext {
  pool: pg.Pool;
  /** Default seed when a rail config has none; null: crypto-random dice. */
  defaultSeed: string | null;
  /** Cut-off interval for a freshly created batch rail. */
  defaultCutoffSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Configuration and switches

let configCache: { at: number; pool: pg.Pool; configs: Record<RailId, RailConfig> } | null = null;
let outageCache: { at: number; pool: pg.Pool; isOn: boolean } | null = null;

/** Creates the rail rows on first start (existing rows, and their run-time changes, are kept). */
export async function ensureRails(ctx: BankContext, now: Date): Promise<void> {
  for (const rail of RAIL_IDS) {
    const cfg = defaultRailConfig(rail, { cutoffIntervalSeconds: ctx.defaultCutoffSeconds });
    await ctx.pool.query(`INSERT INTO sandbox_rails (rail, config, next_cutoff_at, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (rail) DO NOTHING`, [
      rail,
      JSON.stringify(cfg),
      rail === "batch" ? new Date(now.getTime() + cfg.cutoffIntervalSeconds * 1000) : null,
      now,
    ]);
  }
  configCache = null;
}

export async function readRailConfigs(ctx: BankContext, opts: { isFresh?: boolean } = {}): Promise<Record<RailId, RailConfig>> {
  if (!opts.isFresh && configCache && configCache.pool === ctx.pool && Date.now() - configCache.at < CONFIG_CACHE_MS) return configCache.configs;
  const rows = (await ctx.pool.query<{ rail: RailId; config: unknown }>(`SELECT rail, config FROM sandbox_rails`)).rows;
  const configs = {} as Record<RailId, RailConfig>;
  for (const rail of RAIL_IDS) {
    const row = rows.find((r) => r.rail === rail);
    configs[rail] = row ? RAIL_CONFIG_SCHEMA.parse(row.config) : defaultRailConfig(rail, { cutoffIntervalSeconds: ctx.defaultCutoffSeconds });
  }
  configCache = { at: Date.now(), pool: ctx.pool, configs };
  return configs;
}

/** Merges `patch` into a rail's config (validated whole) and restarts the cut-off clock. Throws z.ZodError. */
export async function updateRailConfig(ctx: BankContext, rail: RailId, patch: unknown, now: Date): Promise<RailConfig> {
  return runTransaction(ctx.pool, async (c) => {
    const row = (await c.query<{ config: unknown }>(`SELECT config FROM sandbox_rails WHERE rail = $1 FOR UPDATE`, [rail])).rows[0];
    const current = row ? RAIL_CONFIG_SCHEMA.parse(row.config) : defaultRailConfig(rail, { cutoffIntervalSeconds: ctx.defaultCutoffSeconds });
    const next = mergeRailConfig(current, patch);
    const nextCutoff = rail === "batch" ? new Date(now.getTime() + next.cutoffIntervalSeconds * 1000) : null;
    await c.query(
      `INSERT INTO sandbox_rails (rail, config, next_cutoff_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (rail) DO UPDATE SET config = EXCLUDED.config, next_cutoff_at = EXCLUDED.next_cutoff_at, updated_at = EXCLUDED.updated_at`,
      [rail, JSON.stringify(next), nextCutoff, now],
    );
    configCache = null;
    return next;
  });
}

export async function isOutage(ctx: BankContext): Promise<boolean> {
  if (outageCache && outageCache.pool === ctx.pool && Date.now() - outageCache.at < CONFIG_CACHE_MS) return outageCache.isOn;
  const row = (await ctx.pool.query<{ value: { isOn?: boolean } }>(`SELECT value FROM sandbox_settings WHERE key = 'outage'`)).rows[0];
  const isOn = row?.value.isOn === true;
  outageCache = { at: Date.now(), pool: ctx.pool, isOn };
  return isOn;
}

export async function setOutage(ctx: BankContext, isOn: boolean, now: Date): Promise<void> {
  await ctx.pool.query(
    `INSERT INTO sandbox_settings (key, value, updated_at) VALUES ('outage', $1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [JSON.stringify({ isOn }), now],
  );
  outageCache = null;
}

// ---------------------------------------------------------------------------------------------
// Submitting

/** Counts a submit request for its key and returns its attempt number (1 for the first). */
export async function countSubmitAttempt(ctx: BankContext, idempotencyKey: string, now: Date): Promise<number> {
  const r = await preparedQuery<{ requests: number }>(
    ctx.pool,
    `INSERT INTO sandbox_submit_attempts (idempotency_key, requests, last_at) VALUES ($1, 1, $2)
     ON CONFLICT (idempotency_key) DO UPDATE SET requests = sandbox_submit_attempts.requests + 1, last_at = EXCLUDED.last_at
     RETURNING requests`,
    [idempotencyKey, now],
  );
  return r.rows[0]!.requests;
}

export type ExecuteResult = { kind: "created" | "replayed" | "conflict"; payment: PaymentRow };

const FAILURE_REASONS = ["beneficiary_account_closed", "beneficiary_name_mismatch", "compliance_hold_rejected"] as const;

/**
 * Executes a payment once per idempotency key. The same key again: "replayed" (same body; the
 * replay counter goes up) or "conflict" (different body; nothing changes).
 */
export async function executePayment(ctx: BankContext, req: PaymentRequest, now: Date): Promise<ExecuteResult> {
  const cfg = (await readRailConfigs(ctx))[req.rail];
  const seed = cfg.seed ?? ctx.defaultSeed;
  const key = req.idempotencyKey;
  const roll = (what: string) => faultRoll(seed, key, what);
  const willFail = rollHits(cfg.failProbability, roll("fail"));
  const failureReason = willFail ? FAILURE_REASONS[rollBetween(0, FAILURE_REASONS.length - 1, roll("fail_reason"))]! : null;
  const isAckDeferred = rollHits(cfg.outOfOrderProbability, roll("out_of_order"));
  const returnAfterMs = !willFail && rollHits(cfg.returnProbability, roll("return")) ? cfg.returnDelayMs : null;
  const isInstant = req.rail === "instant";
  const settleDueAt = isInstant ? new Date(now.getTime() + rollBetween(cfg.settleDelayMsMin, cfg.settleDelayMsMax, roll("settle_delay"))) : null;
  const ackDueAt = isInstant ? null : new Date(now.getTime() + cfg.ackDelayMs);
  const id = `sbx_${randomBytes(12).toString("hex")}`;
  const hash = requestHash(req);

  const inserted = await preparedQuery<PaymentRow>(
    ctx.pool,
    `INSERT INTO sandbox_payments (id, idempotency_key, request_hash, transfer_id, rail, amount_minor, currency, counterparty_name,
       counterparty_account, reference, status, planned_outcome, failure_reason, is_ack_deferred, return_after_ms,
       ack_due_at, settle_due_at, acknowledged_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${COLUMNS("")}`,
    [
      id, key, hash, req.transferId, req.rail, req.amountMinor.toString(), req.currency, req.counterpartyName, req.counterpartyAccount,
      req.reference, isInstant ? "acknowledged" : "submitted", willFail ? "failed" : "settled", failureReason, isAckDeferred, returnAfterMs,
      ackDueAt, settleDueAt, isInstant ? now : null, now,
    ],
  );
  if (inserted.rows[0]) return { kind: "created", payment: inserted.rows[0] };
  // The key exists (perhaps inserted a moment ago by a concurrent twin: the insert above waited
  // for it to commit). Count a replay only when the body is the same.
  const existing = await ctx.pool.query<PaymentRow>(
    `UPDATE sandbox_payments SET
       replay_count = replay_count + CASE WHEN request_hash = $2 THEN 1 ELSE 0 END,
       last_replayed_at = CASE WHEN request_hash = $2 THEN $3 ELSE last_replayed_at END
     WHERE idempotency_key = $1
     RETURNING ${COLUMNS("")}`,
    [key, hash, now],
  );
  const payment = existing.rows[0]!;
  return { kind: payment.request_hash === hash ? "replayed" : "conflict", payment };
}

export async function findPaymentByKey(ctx: BankContext, idempotencyKey: string): Promise<PaymentRow | null> {
  return (await ctx.pool.query<PaymentRow>(`SELECT ${COLUMNS("")} FROM sandbox_payments WHERE idempotency_key = $1`, [idempotencyKey])).rows[0] ?? null;
}

export async function findPaymentById(ctx: BankContext, id: string): Promise<PaymentRow | null> {
  return (await ctx.pool.query<PaymentRow>(`SELECT ${COLUMNS("")} FROM sandbox_payments WHERE id = $1`, [id])).rows[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// A payment's life

interface PlannedDelivery {
  payment: PaymentRow;
  type: EventType;
  occurredAt: Date;
  dueAt: Date;
  reason: string | null;
}

export function newEventId(): string {
  return `evt_${randomUUID().replace(/-/g, "")}`;
}

function eventBody(eventId: string, d: PlannedDelivery, now: Date): string {
  const p = d.payment;
  return JSON.stringify({
    id: eventId,
    type: `payment.${d.type}`,
    created_at: now.toISOString(),
    data: {
      payment_id: p.id,
      idempotency_key: p.idempotency_key,
      transfer_id: p.transfer_id,
      rail: p.rail,
      status: d.type,
      amount_minor: p.amount_minor,
      currency: p.currency,
      reason: d.reason,
      occurred_at: d.occurredAt.toISOString(),
    },
  });
}

/** Writes the webhooks for `planned`, each once, plus an injected duplicate where the dice say so. */
async function insertDeliveries(c: pg.ClientBase, ctx: BankContext, configs: Record<RailId, RailConfig>, planned: readonly PlannedDelivery[], now: Date): Promise<void> {
  if (planned.length === 0) return;
  const cols: { eventId: string[]; copy: number[]; paymentId: string[]; type: string[]; body: string[]; due: Date[] } = { eventId: [], copy: [], paymentId: [], type: [], body: [], due: [] };
  for (const d of planned) {
    const cfg = configs[d.payment.rail];
    const seed = cfg.seed ?? ctx.defaultSeed;
    const eventId = newEventId();
    const body = eventBody(eventId, d, now);
    const push = (copy: number, due: Date) => {
      cols.eventId.push(eventId);
      cols.copy.push(copy);
      cols.paymentId.push(d.payment.id);
      cols.type.push(d.type);
      cols.body.push(body);
      cols.due.push(due);
    };
    push(1, d.dueAt);
    if (rollHits(cfg.duplicateWebhookProbability, faultRoll(seed, d.payment.idempotency_key, `duplicate_${d.type}`))) {
      push(2, new Date(d.dueAt.getTime() + rollBetween(100, 1_500, faultRoll(seed, d.payment.idempotency_key, `duplicate_delay_${d.type}`))));
    }
  }
  await c.query(
    `INSERT INTO sandbox_webhook_deliveries (event_id, copy, payment_id, event_type, body, next_attempt_at, created_at)
     SELECT e, c, p, t, b, d, $7 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(e, c, p, t, b, d)
     ON CONFLICT (payment_id, event_type, copy) DO NOTHING`,
    [cols.eventId, cols.copy, cols.paymentId, cols.type, cols.body, cols.due, now],
  );
}

interface LineInput {
  rail: RailId;
  valueDate: string;
  paymentId: string | null;
  partnerRef: string;
  idempotencyKey: string;
  reference: string;
  amountMinor: string;
  currency: string;
  status: "settled" | "returned";
  isInjected: boolean;
}

async function insertLines(c: pg.ClientBase, lines: readonly LineInput[], now: Date): Promise<void> {
  if (lines.length === 0) return;
  const col = <K extends keyof LineInput>(k: K) => lines.map((l) => l[k]);
  await c.query(
    `INSERT INTO sandbox_settlement_lines (rail, value_date, payment_id, partner_ref, idempotency_key, reference, amount_minor, currency, status, is_injected, created_at)
     SELECT r, v::date, p, pr, k, ref, a::bigint, cur, s, inj, $11
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[])
         AS u(r, v, p, pr, k, ref, a, cur, s, inj)
     ON CONFLICT (payment_id, status) DO NOTHING`,
    [col("rail"), col("valueDate"), col("paymentId"), col("partnerRef"), col("idempotencyKey"), col("reference"), col("amountMinor"), col("currency"), col("status"), col("isInjected"), now],
  );
}

const dateOf = (d: Date) => d.toISOString().slice(0, 10);

/**
 * One plain step of a payment's life: up to STEP_BATCH payments in `from` whose `dueColumn` has
 * passed move to `to`, stamped `now` in `atColumn`, oldest due first; rows another worker holds are
 * skipped. Returns the moved payments, in the caller's transaction.
 */
async function moveDuePayments(
  c: pg.PoolClient,
  now: Date,
  step: { from: PaymentStatus; dueColumn: "ack_due_at" | "return_due_at"; to: PaymentStatus; atColumn: "acknowledged_at" | "returned_at" },
): Promise<PaymentRow[]> {
  const res = await c.query<PaymentRow>(
    `WITH due AS (SELECT id FROM sandbox_payments WHERE status = '${step.from}' AND ${step.dueColumn} <= $1 ORDER BY ${step.dueColumn} LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE sandbox_payments p SET status = '${step.to}', ${step.atColumn} = $1 FROM due WHERE p.id = due.id
     RETURNING ${COLUMNS("p.")}`,
    [now, STEP_BATCH],
  );
  return res.rows;
}

/** Batch rail: submitted payments whose acknowledgement is due become acknowledged. */
export async function acknowledgeDue(ctx: BankContext, now: Date): Promise<number> {
  const configs = await readRailConfigs(ctx);
  return runTransaction(ctx.pool, async (c) => {
    const rows = await moveDuePayments(c, now, { from: "submitted", dueColumn: "ack_due_at", to: "acknowledged", atColumn: "acknowledged_at" });
    // An out-of-order payment's acknowledgement is sent after its settlement instead (settleDue).
    await insertDeliveries(c, ctx, configs, rows.filter((p) => !p.is_ack_deferred).map((p) => ({ payment: p, type: "acknowledged", occurredAt: now, dueAt: now, reason: null })), now);
    return rows.length;
  });
}

export interface SettleCounts {
  settled: number;
  failed: number;
  linesWithheld: number;
  linesInjected: number;
}

/** Acknowledged payments whose settlement is due settle (or fail, as planned). */
export async function settleDue(ctx: BankContext, now: Date, rail?: RailId): Promise<SettleCounts> {
  const configs = await readRailConfigs(ctx);
  return runTransaction(ctx.pool, async (c) => {
    const rows = (
      await c.query<PaymentRow>(
        `WITH due AS (
           SELECT id FROM sandbox_payments WHERE status = 'acknowledged' AND settle_due_at <= $1 AND ($3::text IS NULL OR rail = $3)
           ORDER BY settle_due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE sandbox_payments p SET
           status = p.planned_outcome,
           settled_at = CASE WHEN p.planned_outcome = 'settled' THEN $1 END,
           failed_at = CASE WHEN p.planned_outcome = 'failed' THEN $1 END,
           value_date = CASE WHEN p.planned_outcome = 'settled' THEN $4::date END,
           return_due_at = CASE WHEN p.planned_outcome = 'settled' AND p.return_after_ms IS NOT NULL
                                THEN $1::timestamptz + p.return_after_ms * interval '1 millisecond' END
         FROM due WHERE p.id = due.id
         RETURNING ${COLUMNS("p.")}`,
        [now, STEP_BATCH, rail ?? null, dateOf(now)],
      )
    ).rows;
    const counts: SettleCounts = { settled: 0, failed: 0, linesWithheld: 0, linesInjected: 0 };
    const planned: PlannedDelivery[] = [];
    const lines: LineInput[] = [];
    const withheld: string[] = [];
    for (const p of rows) {
      const isSettled = p.status === "settled";
      if (isSettled) counts.settled++;
      else counts.failed++;
      planned.push({ payment: p, type: isSettled ? "settled" : "failed", occurredAt: now, dueAt: now, reason: isSettled ? null : p.failure_reason });
      if (p.is_ack_deferred) planned.push({ payment: p, type: "acknowledged", occurredAt: p.acknowledged_at ?? now, dueAt: new Date(now.getTime() + 300), reason: null });
      if (!isSettled) continue;
      const cfg = configs[p.rail];
      const seed = cfg.seed ?? ctx.defaultSeed;
      if (rollHits(cfg.missingLineProbability, faultRoll(seed, p.idempotency_key, "missing_line"))) {
        counts.linesWithheld++;
        withheld.push(p.id);
      } else {
        lines.push({ rail: p.rail, valueDate: dateOf(now), paymentId: p.id, partnerRef: p.id, idempotencyKey: p.idempotency_key, reference: p.reference, amountMinor: p.amount_minor, currency: p.currency, status: "settled", isInjected: false });
      }
      if (rollHits(cfg.extraLineProbability, faultRoll(seed, p.idempotency_key, "extra_line"))) {
        counts.linesInjected++;
        lines.push({
          rail: p.rail,
          valueDate: dateOf(now),
          paymentId: null,
          partnerRef: `sbx_${randomBytes(12).toString("hex")}`,
          idempotencyKey: "",
          reference: "unidentified item",
          amountMinor: String(rollBetween(100, 500_000, faultRoll(seed, p.idempotency_key, "extra_line_amount"))),
          currency: p.currency,
          status: "settled",
          isInjected: true,
        });
      }
    }
    await insertDeliveries(c, ctx, configs, planned, now);
    await insertLines(c, lines, now);
    if (withheld.length > 0) await c.query(`UPDATE sandbox_payments SET is_line_withheld = true WHERE id = ANY($1::text[])`, [withheld]);
    return counts;
  });
}

/** Settled payments whose late return is due are returned. */
export async function returnDue(ctx: BankContext, now: Date): Promise<number> {
  const configs = await readRailConfigs(ctx);
  return runTransaction(ctx.pool, async (c) => {
    const rows = await moveDuePayments(c, now, { from: "settled", dueColumn: "return_due_at", to: "returned", atColumn: "returned_at" });
    await insertDeliveries(c, ctx, configs, rows.map((p) => ({ payment: p, type: "returned", occurredAt: now, dueAt: now, reason: "returned_by_beneficiary_bank" })), now);
    await insertLines(
      c,
      rows.map((p) => ({ rail: p.rail, valueDate: dateOf(now), paymentId: p.id, partnerRef: p.id, idempotencyKey: p.idempotency_key, reference: p.reference, amountMinor: p.amount_minor, currency: p.currency, status: "returned", isInjected: false })),
      now,
    );
    return rows.length;
  });
}

export interface CutoffResult extends SettleCounts {
  rail: RailId;
  valueDate: string;
}

/**
 * The rail's cut-off, now: everything acknowledged on the rail settles (or fails, as planned) with
 * today's value date. Batch payments still awaiting acknowledgement wait for the next cut-off.
 */
export async function runCutoff(ctx: BankContext, rail: RailId, now: Date): Promise<CutoffResult> {
  for (let i = 0; i < 1_000; i++) {
    if ((await acknowledgeDue(ctx, now)) < STEP_BATCH) break;
  }
  await ctx.pool.query(
    `UPDATE sandbox_payments SET settle_due_at = $2 WHERE rail = $1 AND status = 'acknowledged' AND (settle_due_at IS NULL OR settle_due_at > $2)`,
    [rail, now],
  );
  const total: CutoffResult = { rail, valueDate: dateOf(now), settled: 0, failed: 0, linesWithheld: 0, linesInjected: 0 };
  // Bounded: at most 1,000 steps of STEP_BATCH payments per cut-off call; the tick loop finishes any rest.
  for (let i = 0; i < 1_000; i++) {
    const n = await settleDue(ctx, now, rail);
    total.settled += n.settled;
    total.failed += n.failed;
    total.linesWithheld += n.linesWithheld;
    total.linesInjected += n.linesInjected;
    if (n.settled + n.failed < STEP_BATCH) break;
  }
  return total;
}

/** Runs the batch cut-off when its time has come (claimed atomically: one process runs it). */
export async function runScheduledCutoffs(ctx: BankContext, now: Date): Promise<CutoffResult[]> {
  const due = (
    await ctx.pool.query<{ rail: RailId }>(
      `UPDATE sandbox_rails SET next_cutoff_at = $1::timestamptz + ((config->>'cutoffIntervalSeconds')::int * interval '1 second')
       WHERE rail = 'batch' AND next_cutoff_at <= $1 RETURNING rail`,
      [now],
    )
  ).rows;
  const out: CutoffResult[] = [];
  for (const r of due) out.push(await runCutoff(ctx, r.rail, now));
  return out;
}

export async function nextCutoffAt(ctx: BankContext, rail: RailId): Promise<Date | null> {
  return (await ctx.pool.query<{ next_cutoff_at: Date | null }>(`SELECT next_cutoff_at FROM sandbox_rails WHERE rail = $1`, [rail])).rows[0]?.next_cutoff_at ?? null;
}

// ---------------------------------------------------------------------------------------------
// Settlement files and statistics

/** A line as stored, before the file gives it a line number. */
export type StoredLine = Omit<SettlementLine, "lineNumber">;

/** Every line of a rail's file for one value date, in the order they were written. */
export async function settlementLines(ctx: BankContext, rail: RailId, date: string, limit = 100_000): Promise<StoredLine[]> {
  const rows = (
    await ctx.pool.query<RowOf<Omit<StoredLine, "amountMinor">> & { amount_minor: string }>(
      `SELECT partner_ref, idempotency_key, reference, amount_minor::text AS amount_minor, currency, status, value_date::text AS value_date
         FROM sandbox_settlement_lines WHERE rail = $1 AND value_date = $2::date ORDER BY id LIMIT $3`,
      [rail, date, limit],
    )
  ).rows;
  return rows.map((r) => ({ ...fromRow<Omit<StoredLine, "amountMinor">>(r), amountMinor: BigInt(r.amount_minor) }));
}

export interface SandboxStats {
  /** Payments executed (rows of sandbox_payments). */
  executed: number;
  byStatus: Record<PaymentStatus, number>;
  byRail: Record<RailId, number>;
  /** Requests that found their key already executed (same body). */
  replays: number;
  /** Submit requests seen, executed or not. */
  submitRequests: number;
  /** Always 0 while UNIQUE(idempotency_key) holds; computed, not assumed. */
  keysExecutedMoreThanOnce: number;
  /** Transfers (by our transfer id) executed under more than one key: double payments. */
  transfersExecutedMoreThanOnce: number;
  webhooks: { pending: number; delivered: number; abandoned: number; injectedDuplicates: number; attempts: number };
  settlementLines: { total: number; injected: number; withheld: number };
  outage: boolean;
}

export async function sandboxStats(ctx: BankContext): Promise<SandboxStats> {
  const p = (
    await ctx.pool.query<Record<string, string>>(
      `SELECT count(*) AS executed, coalesce(sum(replay_count), 0) AS replays,
              count(*) FILTER (WHERE status = 'submitted') AS submitted, count(*) FILTER (WHERE status = 'acknowledged') AS acknowledged,
              count(*) FILTER (WHERE status = 'settled') AS settled, count(*) FILTER (WHERE status = 'failed') AS failed,
              count(*) FILTER (WHERE status = 'returned') AS returned,
              count(*) FILTER (WHERE rail = 'instant') AS instant, count(*) FILTER (WHERE rail = 'batch') AS batch,
              count(*) FILTER (WHERE is_line_withheld AND status IN ('settled', 'returned')) AS withheld,
              (SELECT count(*) FROM (SELECT 1 FROM sandbox_payments GROUP BY idempotency_key HAVING count(*) > 1) k) AS dup_keys,
              (SELECT count(*) FROM (SELECT 1 FROM sandbox_payments GROUP BY transfer_id HAVING count(*) > 1) t) AS dup_transfers,
              (SELECT coalesce(sum(requests), 0) FROM sandbox_submit_attempts) AS requests
         FROM sandbox_payments`,
    )
  ).rows[0]!;
  const w = (
    await ctx.pool.query<Record<string, string>>(
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'delivered') AS delivered,
              count(*) FILTER (WHERE status = 'abandoned') AS abandoned, count(*) FILTER (WHERE copy > 1) AS dups,
              coalesce(sum(attempts), 0) AS attempts
         FROM sandbox_webhook_deliveries`,
    )
  ).rows[0]!;
  const l = (await ctx.pool.query<Record<string, string>>(`SELECT count(*) AS total, count(*) FILTER (WHERE is_injected) AS injected FROM sandbox_settlement_lines`)).rows[0]!;
  const n = (v: string | undefined) => Number(v ?? 0);
  return {
    executed: n(p.executed),
    byStatus: { submitted: n(p.submitted), acknowledged: n(p.acknowledged), settled: n(p.settled), failed: n(p.failed), returned: n(p.returned) },
    byRail: { instant: n(p.instant), batch: n(p.batch) },
    replays: n(p.replays),
    submitRequests: n(p.requests),
    keysExecutedMoreThanOnce: n(p.dup_keys),
    transfersExecutedMoreThanOnce: n(p.dup_transfers),
    webhooks: { pending: n(w.pending), delivered: n(w.delivered), abandoned: n(w.abandoned), injectedDuplicates: n(w.dups), attempts: n(w.attempts) },
    settlementLines: { total: n(l.total), injected: n(l.injected), withheld: n(p.withheld) },
    outage: await isOutage(ctx),
  };
}

/** Ground truth for one key: how often it was executed, replayed and requested. */
export async function keyStats(ctx: BankContext, idempotencyKey: string): Promise<{ executedCount: number; replayCount: number; submitRequests: number; payment: PaymentRow | null }> {
  const rows = (await ctx.pool.query<PaymentRow>(`SELECT ${COLUMNS("")} FROM sandbox_payments WHERE idempotency_key = $1`, [idempotencyKey])).rows;
  const requests = (await ctx.pool.query<{ requests: number }>(`SELECT requests FROM sandbox_submit_attempts WHERE idempotency_key = $1`, [idempotencyKey])).rows[0]?.requests ?? 0;
  return { executedCount: rows.length, replayCount: rows.reduce((s, r) => s + r.replay_count, 0), submitRequests: requests, payment: rows[0] ?? null };
}
