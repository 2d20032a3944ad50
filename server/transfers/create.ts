/**
 * Creating a transfer: validate, reserve the money and queue the submission, atomically.
 *
 * Invariants kept:
 * - A transfer is created at most once per idempotency key: the same key and request return the
 *   original transfer; a different request is IDEMPOTENCY_CONFLICT (unique key + request hash).
 * - Creation and reservation commit together: a transfer that exists has its hold, or was never
 *   written (INSUFFICIENT_FUNDS and the like are returned to the caller and nothing is stored).
 *   The row is written already reserved, with both first events (created, reserved), and its hold
 *   is placed after it in the same transaction (./transition.ts, placeReservationHolds): one row
 *   write per create instead of an insert and an update.
 * - A committed transfer is reserved, and a reserved transfer is its own place in the submission
 *   queue (./submission-queue.ts): no job needs to commit with it, and none can be lost. The
 *   workers are woken after the commit (a hint; they also poll).
 * - A transfer is priced when it is created (server/transfers/pricing.ts): the fee by the schedule
 *   version in force then, a cross-currency transfer by the quote it names, which is marked used
 *   in the same transaction. Its hold reserves amount + fee. A refused price writes nothing.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import { assertMayDebit, hasDebitLimits } from "../core/debit-limits";
import type pg from "pg";
import { runKeyedTransaction } from "../db/transaction";
import { MicroBatcher } from "../db/micro-batcher";
import { env } from "../env";
import { toAppError } from "../errors/db-errors";
import { appendAudit, appendAuditMany, type AuditActor, type AuditInput } from "../audit/audit-log";
import { toAuditActor, TRANSFERS_ACTOR, type Actor } from "../core/actor";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { hashRequest, storedIdempotencyKey } from "../core/idempotency";
import { assertCleanText, findBadText } from "../core/text";
import { assertUuid } from "../core/validate";
import { isCurrencyCode } from "../money";
import { placeReservationHolds, transitionMessage } from "./transition";
import { ensurePartnerAccount } from "./accounts";
import { priceTransfer, type TransferPrice } from "./pricing";
import { claimQuoteInTransaction, getQuote, quoteUseRefusal } from "../pricing/quotes";
import { RAILS, rowToTransfer, TRANSFER_COLUMNS, type RailId, type Transfer, type TransferPayloadFields, type TransferRowRaw } from "./types";
import { getRailPolicy } from "./rail-policies";
import { admissionGateFor } from "./admission";
import { signalSubmissionDue } from "./submission-queue";
import { preparedQuery } from "../db/prepared";
import { traceParentOf } from "../observability/tracing";

export const MAX_REFERENCE_LENGTH = 140;
export const MAX_COUNTERPARTY_LENGTH = 140;
export const MAX_METADATA_BYTES = 4096;

/** What a caller gives: the transfer's own fields (reference and metadata optional), and how it is priced. */
export interface CreateTransferInput
  extends Pick<Transfer, "sourceAccountId" | "counterpartyName" | "counterpartyAccount" | "amountMinor" | "currency" | "rail" | "partner">,
    Partial<Pick<Transfer, "reference" | "metadata">> {
  /** The currency the counterparty receives; another than `currency` needs quoteId. */
  toCurrency?: string;
  /** A quote (pricing.quote) locking the fee and, across currencies, the conversion. */
  quoteId?: string;
}

export interface CreateTransferResult {
  transfer: Transfer;
  isReplay: boolean;
}

/** Checks the request's shape (pure). Errors: BAD_INPUT, UNKNOWN_CURRENCY, INVALID_AMOUNT. */
export function validateCreateTransfer(input: CreateTransferInput): void {
  assertUuid(input.sourceAccountId, "sourceAccountId");
  if (!isCurrencyCode(input.currency)) throw new AppError("UNKNOWN_CURRENCY", `currency ${input.currency} is not an ISO 4217 code we support`, { details: { currency: input.currency } });
  if (input.toCurrency !== undefined && !isCurrencyCode(input.toCurrency)) {
    throw new AppError("UNKNOWN_CURRENCY", `toCurrency ${input.toCurrency} is not an ISO 4217 code we support`, { details: { currency: input.toCurrency } });
  }
  if (input.quoteId !== undefined) assertUuid(input.quoteId, "quoteId");
  if (input.toCurrency !== undefined && input.toCurrency !== input.currency && input.quoteId === undefined) {
    throw new AppError("BAD_INPUT", `a transfer from ${input.currency} to ${input.toCurrency} executes on a quote: ask pricing.quote for one and pass its quoteId`, {
      details: { field: "quoteId" },
    });
  }
  if (typeof input.amountMinor !== "bigint" || input.amountMinor <= 0n || input.amountMinor > 2n ** 63n - 1n) {
    throw new AppError("INVALID_AMOUNT", `amountMinor must be a positive integer number of minor units, got ${String(input.amountMinor)}`);
  }
  if (!RAILS.includes(input.rail)) throw new AppError("BAD_INPUT", `rail ${input.rail} is not one of ${RAILS.join(", ")}`, { details: { rail: input.rail } });
  const name = input.counterpartyName.trim();
  if (name.length === 0 || name.length > MAX_COUNTERPARTY_LENGTH) throw new AppError("BAD_INPUT", `counterpartyName must be 1 to ${MAX_COUNTERPARTY_LENGTH} characters`);
  const acct = input.counterpartyAccount.trim();
  if (!/^[A-Za-z0-9 ./:-]{4,64}$/.test(acct)) throw new AppError("BAD_INPUT", `counterpartyAccount must be 4 to 64 letters, digits, spaces or . / : -`);
  assertCleanText(name, "counterpartyName");
  if ((input.reference ?? "").length > MAX_REFERENCE_LENGTH) throw new AppError("BAD_INPUT", `reference must be at most ${MAX_REFERENCE_LENGTH} characters`);
  assertCleanText(input.reference ?? "", "reference");
  const badMetadata = input.metadata === undefined ? null : findBadText(input.metadata, "metadata");
  if (badMetadata) throw new AppError("BAD_INPUT", `${badMetadata.path} ${badMetadata.reason}`, { details: { field: badMetadata.path } });
  if (input.metadata && JSON.stringify(input.metadata).length > MAX_METADATA_BYTES) throw new AppError("BAD_INPUT", `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
}

/**
 * Creates a transfer and places its hold in one transaction; the committed transfer is reserved,
 * which queues its submission (./submission-queue.ts).
 *
 * Errors, in order: BAD_INPUT / UNKNOWN_CURRENCY / INVALID_AMOUNT (shape; BAD_INPUT for another
 * target currency without a quote); FORBIDDEN (a service key whose debit limits do not cover the
 * source account or the currency, server/core/debit-limits.ts); BAD_INPUT for a partner or rail
 * without a policy; OVERLOADED (retryable: admission is closed, ./admission.ts; a replay still
 * returns the original); IDEMPOTENCY_CONFLICT (key reused for a different request; the same
 * request returns the original with isReplay); NOT_FOUND (source account); CURRENCY_MISMATCH;
 * QUOTE_NOT_FOUND; QUOTE_MISMATCH; INVALID_AMOUNT (a quote converting to nothing);
 * FEE_RULE_NOT_FOUND; QUOTE_USED; QUOTE_EXPIRED; ACCOUNT_FROZEN; INSUFFICIENT_FUNDS (from the hold,
 * which reserves amount + fee). Nothing is written when any is raised.
 */
export async function createTransfer(
  db: Pick<DbHandles, "pool">,
  actor: Actor | AuditActor,
  input: CreateTransferInput,
  opts: CreateOptions,
): Promise<CreateTransferResult> {
  // A caller's key is kept in the caller's scope (server/core/idempotency.ts): another caller's
  // transfer can be neither replayed nor blocked with it.
  opts = { ...opts, idempotencyKey: storedIdempotencyKey(actor, opts.idempotencyKey) };
  validateCreateTransfer(input);
  // A key limited in what it may debit may not take money from another account; the lookup is
  // made only for such keys (an unknown account is left to the NOT_FOUND below).
  if (hasDebitLimits(actor)) {
    const source = await db.pool.query<{ code: string }>(`SELECT code FROM ledger_accounts WHERE id = $1`, [input.sourceAccountId.toLowerCase()]);
    if (source.rows[0]) assertMayDebit(actor, [{ accountCode: source.rows[0].code, currency: input.currency }]);
  }
  const toCurrency = input.toCurrency ?? input.currency;
  const quoteId = input.quoteId?.toLowerCase() ?? null;
  const request = {
    sourceAccountId: input.sourceAccountId.toLowerCase(),
    counterpartyName: input.counterpartyName.trim(),
    counterpartyAccount: input.counterpartyAccount.trim(),
    amountMinor: input.amountMinor.toString(),
    currency: input.currency,
    rail: input.rail,
    partner: input.partner,
    reference: input.reference ?? "",
    metadata: input.metadata ?? {},
    // Only when given, so that requests from before pricing keep their hash.
    ...(toCurrency !== input.currency ? { toCurrency } : {}),
    ...(quoteId !== null ? { quoteId } : {}),
  };
  const requestHash = hashRequest(request);
  const who = toAuditActor(actor);
  await getRailPolicy(db, input.partner, input.rail);
  // Admission control: while the pipeline is overloaded a new transfer is refused before anything
  // is written; a replay of one already created still gets its stored result. A caller-fixed
  // clock means a historic import (the demo week, tests replaying the past): it is not live load.
  const gate = admissionGateFor(db);
  try {
    if (!opts.now) await gate.admit();
  } catch (refusal) {
    // Prepared: under overload every refused create runs this lookup, and its plan cost more than
    // its execution (116 against 20 µs per call in the statement profile at 600/s offered).
    const existing = await preparedQuery<TransferRowRaw & { request_hash: string }>(db.pool, `SELECT ${TRANSFER_COLUMNS}, t.request_hash FROM transfers t WHERE t.idempotency_key = $1`, [opts.idempotencyKey]);
    if (existing.rows[0]) return replayOrConflict(existing.rows[0], requestHash, opts.idempotencyKey);
    throw refusal;
  }
  // How long an admitted create waits until its transaction starts is admission's view of the
  // queue in front of the database (lock waits inside the transaction are not queueing for it).
  const admittedAt = performance.now();
  const onStarted = opts.now ? null : () => gate.observeCreate(performance.now() - admittedAt);
  await ensurePartnerAccount(db, input.partner, input.currency);
  // The creation time is the pricing time: the version in force then prices the transfer.
  const createdAt = opts.now ?? new Date();
  const priced = await priceTransfer(
    db,
    { sourceAccountId: request.sourceAccountId, amountMinor: input.amountMinor, currency: input.currency, toCurrency, rail: input.rail, partner: input.partner, quoteId },
    createdAt,
  );
  // The creating call's trace: its id is the transfer's correlation id from here on (jobs, partner
  // calls, webhooks). Taken now, because a grouped create runs in another caller's context.
  const traceParent = traceParentOf();
  const pending: PendingCreate = {
    request, currency: input.currency, rail: input.rail, partner: input.partner, requestHash, who, opts, createdAt, traceParent, onStarted,
    price: "price" in priced ? priced.price : null,
    refusal: "error" in priced ? priced.error : null,
  };
  // A caller-fixed clock (tests, imports) is kept exactly by creating alone; so are a transfer on a
  // quote (its claim) and one whose price was refused (the key and account are checked first).
  const isGroupable = env().LEDGER_GROUP_COMMIT && !opts.now && pending.price !== null && pending.price.quoteId === null;
  const result = await (isGroupable ? submitCreate(db, pending) : createAlone(db, pending));
  if (!result.isReplay) signalSubmissionDue(db);
  return result;
}

/** A validated create request, ready to write. */
interface PendingCreate {
  request: { sourceAccountId: string; counterpartyName: string; counterpartyAccount: string; amountMinor: string; reference: string; metadata: Record<string, unknown> };
  currency: string;
  rail: RailId;
  partner: string;
  requestHash: string;
  who: AuditActor;
  opts: CreateOptions;
  /** When the transfer was requested and priced: its created_at. */
  createdAt: Date;
  /** The price (null when it was refused). */
  price: TransferPrice | null;
  /** Why it could not be priced; raised only after the key and the source account are checked. */
  refusal: AppError | null;
  traceParent: string | null;
  /** Called when the create's transaction has started (admission measures the wait before it). */
  onStarted: (() => void) | null;
}

type CreateOptions = { idempotencyKey: string; requestId?: string | null; now?: Date };


/** One create in its own transaction, with every check in the documented order. */
function createAlone(db: Pick<DbHandles, "pool">, p: PendingCreate): Promise<CreateTransferResult> {
  const { opts } = p;
  return runKeyedTransaction(db.pool, async (client) => {
    p.onStarted?.();
    if (!p.price) return answerUnwritten(client, p, p.refusal);
    const price = p.price;
    const now = opts.now ?? new Date();
    // The usual case in one statement: the source account exists in this currency and the key is
    // new, so the transfer is written, already reserved. Otherwise nothing is written and the
    // checks below say why, in the documented order.
    const [created] = await insertReserved(client, [p], now);
    // Not written: the key exists, the source account does not match, or (the only other unique
    // column) the quote already priced another transfer.
    if (!created) return answerUnwritten(client, p, price.quoteId !== null ? await quoteRefusal(client, price.quoteId, now) : null);
    if (price.quoteId !== null) await claimQuoteInTransaction(client, price.quoteId, price.quoteUse!, created.id, now);
    if (p.who.type !== "system") await appendAudit(pgRunner(client), createAuditInput(p, created.id, now));
    // The hold's balance rows stay locked from the reserve to the commit, so the reserve is the
    // last statement before it.
    await placeReservationHolds(client, [{ transfer: created, requestId: opts.requestId }], now);
    return { transfer: created, isReplay: false };
  });
}

/**
 * Writes new transfers already reserved, in one statement: each row with its hold's id, its first
 * two events (created, by the caller; reserved, by the transfers system, as the transition would
 * write them: ./transition.ts) and the `transfer.reserved` outbox message. A request whose key
 * exists, whose source account is unknown or in another currency, or whose quote priced another
 * transfer is not written. The caller places the holds (placeReservationHolds) in the same
 * transaction, so a row never commits without its hold. Returns the written transfers.
 */
async function insertReserved(client: pg.PoolClient, ps: readonly PendingCreate[], now: Date): Promise<Transfer[]> {
  const ids = ps.map(() => randomUUID());
  const holdIds = ps.map(() => randomUUID());
  const col = <T>(f: (p: PendingCreate, i: number) => T) => ps.map(f);
  const priced = ps.map((p) => pricedColumns(p.price!));
  const payload = (p: PendingCreate, i: number) => {
    const price = p.price!;
    const reserved: TransferPayloadFields = {
      id: ids[i]!, idempotencyKey: p.opts.idempotencyKey, state: "reserved", amountMinor: BigInt(p.request.amountMinor), currency: p.currency, rail: p.rail,
      partner: p.partner, reference: p.request.reference, sourceAccountId: p.request.sourceAccountId, partnerRef: null, stateChangedAt: now,
      feeMinor: price.feeMinor, conversion: price.conversion,
    };
    return transitionMessage(reserved, "created", "reserve");
  };
  const inserted = await preparedQuery<TransferRowRaw>(
    client,
    `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                            $11::text[], $12::jsonb[], $13::timestamptz[], $14::text[], $15::text[], $16::text[], $17::bigint[], $18::uuid[], $19::text[],
                            $20::uuid[], $21::text[], $22::bigint[], $23::bigint[], $24::text[], $25::uuid[], $26::text[])
         WITH ORDINALITY AS v(id, idempotency_key, request_hash, source_account_id, counterparty_name, counterparty_account, amount_minor, currency, rail, partner,
              reference, metadata, at, created_by, actor_type, actor_id, fee_minor, fee_schedule_version_id, fee_rule_id,
              quote_id, converted_currency, converted_minor, spread_minor, trace_parent, hold_id, payload, n)),
     ins AS (
       INSERT INTO transfers AS t (id, idempotency_key, request_hash, source_account_id, counterparty_name, counterparty_account, amount_minor,
              currency, rail, partner, reference, metadata, state, state_changed_at, created_at, created_by, hold_id, version,
              fee_minor, fee_schedule_version_id, fee_rule_id, quote_id, converted_currency, converted_minor, spread_minor, trace_parent)
       SELECT v.id, v.idempotency_key, v.request_hash, a.id, v.counterparty_name, v.counterparty_account, v.amount_minor, v.currency, v.rail, v.partner,
              v.reference, v.metadata, 'reserved', $27, v.at, v.created_by, v.hold_id, 1,
              v.fee_minor, v.fee_schedule_version_id, v.fee_rule_id, v.quote_id, v.converted_currency, v.converted_minor, v.spread_minor, v.trace_parent
         FROM v JOIN ledger_accounts a ON a.id = v.source_account_id AND a.currency = v.currency
       ON CONFLICT DO NOTHING
       RETURNING ${TRANSFER_COLUMNS}),
     ev AS (
       INSERT INTO transfer_events (transfer_id, from_state, to_state, cause, actor_type, actor_id, actor_label, created_at)
       SELECT ins.id, e.from_state, e.to_state, e.cause, e.actor_type, e.actor_id, e.actor_label, e.at
         FROM ins JOIN v ON v.id = ins.id
        CROSS JOIN LATERAL (VALUES (1, NULL::transfer_state, 'created'::transfer_state, 'create', v.actor_type, v.actor_id, v.created_by, v.at),
                                   (2, 'created'::transfer_state, 'reserved'::transfer_state, 'reserve', $28, $29, $30, $27::timestamptz))
             AS e(k, from_state, to_state, cause, actor_type, actor_id, actor_label, at)
        ORDER BY v.n, e.k),
     msg AS (
       INSERT INTO outbox_events (topic, aggregate_id, payload, created_at)
       SELECT 'transfer.reserved', ins.id::text, v.payload::jsonb, $27 FROM ins JOIN v ON v.id = ins.id ORDER BY v.n)
     SELECT * FROM ins`,
    [
      ids, col((p) => p.opts.idempotencyKey), col((p) => p.requestHash), col((p) => p.request.sourceAccountId), col((p) => p.request.counterpartyName),
      col((p) => p.request.counterpartyAccount), col((p) => p.request.amountMinor), col((p) => p.currency), col((p) => p.rail), col((p) => p.partner),
      col((p) => p.request.reference), col((p) => JSON.stringify(p.request.metadata)), col((p) => p.createdAt), col((p) => p.who.label), col((p) => p.who.type),
      col((p) => p.who.id), ...priced[0]!.map((_, k) => priced.map((row) => row[k]!)), col((p) => p.traceParent), holdIds, col(payload),
      now, TRANSFERS_ACTOR.type, TRANSFERS_ACTOR.id, TRANSFERS_ACTOR.label,
    ],
  );
  return inserted.rows.map(rowToTransfer);
}

/** The priced columns' values, in the order the inserts list them. */
function pricedColumns(price: TransferPrice): (string | null)[] {
  const c = price.conversion;
  return [price.feeMinor.toString(), price.feeScheduleVersionId, price.feeRuleId, price.quoteId, c?.currency ?? null, c?.convertedMinor.toString() ?? null, c?.spreadMinor.toString() ?? null];
}

/** Why a quote cannot price a new transfer now (it was checked to match before). */
async function quoteRefusal(client: pg.PoolClient, quoteId: string, now: Date): Promise<AppError | null> {
  return quoteUseRefusal(await getQuote(pgRunner(client), quoteId, now), now);
}

/**
 * The answer for a request that wrote nothing, in the documented order: the original transfer (a
 * replay) or IDEMPOTENCY_CONFLICT when the key exists; NOT_FOUND or CURRENCY_MISMATCH for the source
 * account; otherwise the refusal of its price.
 */
async function answerUnwritten(client: pg.PoolClient, p: PendingCreate, refusal: AppError | null): Promise<CreateTransferResult> {
  const { request, opts } = p;
  const existing = await preparedQuery<TransferRowRaw & { request_hash: string }>(client, `SELECT ${TRANSFER_COLUMNS}, t.request_hash FROM transfers t WHERE t.idempotency_key = $1`, [opts.idempotencyKey]);
  if (existing.rows[0]) return replayOrConflict(existing.rows[0], p.requestHash, opts.idempotencyKey);
  const source = (await client.query<{ currency: string; code: string }>(`SELECT currency, code FROM ledger_accounts WHERE id = $1`, [request.sourceAccountId])).rows[0];
  if (!source) throw new AppError("NOT_FOUND", `source account ${request.sourceAccountId} does not exist`, { details: { accountId: request.sourceAccountId } });
  if (source.currency.trim() !== p.currency) {
    throw new AppError("CURRENCY_MISMATCH", `transfer in ${p.currency} from account ${source.code} which holds ${source.currency.trim()}`, {
      details: { accountId: request.sourceAccountId, accountCurrency: source.currency.trim(), currency: p.currency },
    });
  }
  // Key, account and quote allowed the insert: only a conflict on some other unique index could
  // have stopped it, and no such index exists; say so instead of blaming the caller.
  throw refusal ?? new Error(`transfer ${opts.idempotencyKey} was not written although its key, source account and quote allow it`);
}

/** The audit record of a create by a person or a service. */
function createAuditInput(p: PendingCreate, id: string, now: Date): AuditInput {
  return {
    actor: p.who,
    action: "transfer.create",
    targetType: "transfer",
    targetId: id,
    after: {
      amountMinor: p.request.amountMinor, currency: p.currency, rail: p.rail, partner: p.partner, sourceAccountId: p.request.sourceAccountId,
      feeMinor: p.price!.feeMinor.toString(), feeScheduleVersionId: p.price!.feeScheduleVersionId, quoteId: p.price!.quoteId,
      ...(p.price!.conversion ? { convertedMinor: p.price!.conversion.convertedMinor.toString(), convertedCurrency: p.price!.conversion.currency } : {}),
    },
    requestId: p.opts.requestId ?? null,
    at: now,
  };
}

// --- Grouped creation --------------------------------------------------------------------------
//
// Concurrent creates share one transaction (the micro-batcher and the settings of the ledger's
// group commit): one statement writes every transfer already reserved (insertReserved), one more
// appends their audit records, and the holds go to the ledger as one batch, each under its
// transfer's own key. Each caller still gets exactly what a create alone would give:
// - a request the group's insert does not write (its key exists: replay or conflict; its source
//   account is unknown or in another currency) is answered by a create alone after the group;
// - if anything in the group fails (a hold refused for funds, a frozen account), the group rolls
//   back and every request runs alone, in its own transaction, with its own typed error;
// - the same key twice never shares a group (the second runs alone, and finds the first).

/** Most creates in one group: the ledger batch of their holds locks each source account. */
const CREATE_GROUP_MAX = 32;

interface WaitingCreate {
  p: PendingCreate;
  resolve: (r: CreateTransferResult) => void;
  reject: (e: unknown) => void;
}

/** Counts, for the benchmark and the metrics: groups committed, creates in them, groups re-run alone. */
export interface CreateGroupStats {
  groups: number;
  items: number;
  fallbacks: number;
}

const creators = new WeakMap<pg.Pool, { batcher: MicroBatcher<WaitingCreate>; stats: CreateGroupStats }>();

function creatorFor(db: Pick<DbHandles, "pool">): { batcher: MicroBatcher<WaitingCreate>; stats: CreateGroupStats } {
  let c = creators.get(db.pool);
  if (!c) {
    const e = env();
    const stats: CreateGroupStats = { groups: 0, items: 0, fallbacks: 0 };
    const batcher = new MicroBatcher<WaitingCreate>(
      { windowMs: e.LEDGER_GROUP_COMMIT_WINDOW_MS, maxItems: Math.min(CREATE_GROUP_MAX, e.LEDGER_GROUP_COMMIT_MAX), maxInFlight: e.LEDGER_GROUP_COMMIT_IN_FLIGHT, minSplit: 8 },
      (w) => w.p.opts.idempotencyKey,
      (group) => runCreateGroup(db, group, stats),
    );
    creators.set(db.pool, (c = { batcher, stats }));
  }
  return c;
}

/** The grouped-creation counters of a pool (the benchmark and tests read them). */
export function createGroupStatsOf(db: Pick<DbHandles, "pool">): CreateGroupStats {
  return creatorFor(db).stats;
}

function submitCreate(db: Pick<DbHandles, "pool">, p: PendingCreate): Promise<CreateTransferResult> {
  const { batcher } = creatorFor(db);
  return new Promise<CreateTransferResult>((resolve, reject) => {
    if (!batcher.add({ p, resolve, reject })) createAlone(db, p).then(resolve, reject);
  });
}

async function runCreateGroup(db: Pick<DbHandles, "pool">, group: WaitingCreate[], createGroupStats: CreateGroupStats): Promise<void> {
  const alone = (w: WaitingCreate) => createAlone(db, w.p).then(w.resolve, w.reject);
  if (group.length === 1) return alone(group[0]!);
  let written: Map<string, Transfer>;
  try {
    written = await runKeyedTransaction(db.pool, (client) => createMany(client, group.map((w) => w.p)));
  } catch (e) {
    const app = toAppError(e);
    if (app?.code === "DB_UNAVAILABLE") {
      for (const w of group) w.reject(app);
      return;
    }
    createGroupStats.fallbacks++;
    await Promise.all(group.map(alone));
    return;
  }
  createGroupStats.groups++;
  createGroupStats.items += written.size;
  await Promise.all(
    group.map((w) => {
      const t = written.get(w.p.opts.idempotencyKey);
      return t ? w.resolve({ transfer: t, isReplay: false }) : alone(w);
    }),
  );
}

/** Writes and reserves every create whose key is new and whose source account matches; by idempotency key. */
async function createMany(client: pg.PoolClient, ps: readonly PendingCreate[]): Promise<Map<string, Transfer>> {
  for (const p of ps) p.onStarted?.();
  const now = new Date();
  const created = await insertReserved(client, ps, now);
  if (created.length === 0) return new Map();
  const byKey = new Map<string, PendingCreate>(ps.map((p) => [p.opts.idempotencyKey, p]));
  const audited = created.filter((t) => byKey.get(t.idempotencyKey)!.who.type !== "system");
  await appendAuditMany(pgRunner(client), audited.map((t) => createAuditInput(byKey.get(t.idempotencyKey)!, t.id, now)));
  await placeReservationHolds(client, created.map((t) => ({ transfer: t, requestId: byKey.get(t.idempotencyKey)!.opts.requestId })), now);
  return new Map(created.map((t) => [t.idempotencyKey, t]));
}

function replayOrConflict(row: TransferRowRaw & { request_hash: string }, requestHash: string, key: string): CreateTransferResult {
  if (row.request_hash !== requestHash) {
    throw new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${key} was already used for a different transfer (${row.id})`, { details: { idempotencyKey: key, transferId: row.id } });
  }
  return { transfer: rowToTransfer(row), isReplay: true };
}
