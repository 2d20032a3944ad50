/**
 * Breaks: what does not reconcile, and the work that resolves it. Listing (filters, keyset pages,
 * age buckets), one break with both sides, its ranked candidates and timeline, and the operator
 * actions: assign, note, match by hand (1:1, 1:N, N:1, with the running difference), accept as a
 * timing difference (closes itself when the counterpart arrives, escalates at its deadline),
 * confirm or dismiss a suggestion, undo a match, link a transfer. Writing off goes through the
 * approvals flow (server/recon/adjustment-kinds.ts).
 *
 * Invariants kept:
 * - Every action is audited and adds a timeline event in the same transaction as its change.
 * - A manual match takes lines and postings of one source that no match holds (keys enforce it
 *   again), in one currency and one direction, and is exact unless the operator accepts the
 *   difference explicitly; it closes the breaks of what it matched.
 * - Age is counted in whole days from the business date the break concerns (occurred_on), in UTC;
 *   buckets are 0-1, 2-3, 4-7 and over 7 days (AGE_BUCKETS), one definition in SQL (ageBucketSql).
 * - Lists are bounded (BREAK_PAGE_MAX) and paged by keyset, never OFFSET.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { fromRow, type RowOf } from "../core/rows";
import { decodeKeysetCursor, encodeKeysetCursor } from "../core/keyset-cursor";
import { resolveMatchedBreaks } from "./matching";
import { AGE_BUCKETS, BREAK_SORTS, BREAK_STATUSES, BREAK_TYPES, type AgeBucket, type BreakSort, type BreakStatus, type BreakType } from "./break-kinds";

export { AGE_BUCKETS, BREAK_SORTS, BREAK_STATUSES, BREAK_TYPES, type AgeBucket, type BreakSort, type BreakStatus, type BreakType };
import { normRefSql } from "./references";
import { getSource } from "./sources";
import { listTransfersOfBreak, type LinkedTransfer } from "./transfer-links";
import { sqlParams } from "../core/sql-params";


export const BREAK_PAGE_MAX = 200;
export const MAX_BULK_ASSIGN = 200;
export const MAX_MANUAL_MATCH_SIDE = 50;
export const MAX_TIMING_DAYS = 90;

/** Whole days since the break's business date, at `$now` (a parameter placeholder). */
export const ageDaysSql = (now: string) => `(((${now})::timestamptz AT TIME ZONE 'UTC')::date - b.occurred_on)`;
export const ageBucketSql = (now: string) =>
  `CASE WHEN ${ageDaysSql(now)} <= 1 THEN '0-1' WHEN ${ageDaysSql(now)} <= 3 THEN '2-3' WHEN ${ageDaysSql(now)} <= 7 THEN '4-7' ELSE '8+' END`;

/** The occurred_on range of an age bucket at `now` (inclusive dates). */
export function bucketRange(bucket: AgeBucket, now: Date): { from: string | null; to: string } {
  const day = (n: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - n)).toISOString().slice(0, 10);
  switch (bucket) {
    case "0-1":
      return { from: day(1), to: day(-36500) };
    case "2-3":
      return { from: day(3), to: day(2) };
    case "4-7":
      return { from: day(7), to: day(4) };
    case "8+":
      return { from: null, to: day(8) };
  }
}

export interface BreakFilters {
  types?: BreakType[];
  statuses?: BreakStatus[];
  ageBucket?: AgeBucket;
  sourceId?: string;
  currency?: string;
  amountMinMinor?: bigint;
  amountMaxMinor?: bigint;
  /** A user id, or "unassigned". */
  assignee?: string;
}

export interface BreakListItem {
  id: string;
  sourceId: string;
  sourceName: string;
  type: BreakType;
  status: BreakStatus;
  amountMinor: bigint;
  currency: string;
  direction: "credit" | "debit" | null;
  occurredOn: string;
  openedAt: Date;
  ageDays: number;
  ageBucket: AgeBucket;
  assigneeId: string | null;
  assigneeLabel: string | null;
  deadlineAt: Date | null;
  escalatedAt: Date | null;
  lineId: string | null;
  postingId: string | null;
  transferId: string | null;
  reference: string | null;
  resolution: string | null;
  resolvedAt: Date | null;
  version: number;
}

type BreakRaw = RowOf<Omit<BreakListItem, "amountMinor">> & { amount_minor: string };

const BREAK_SELECT = (now: string) => `
  SELECT b.id, b.source_id, s.name AS source_name, b.type::text AS type, b.status::text AS status, b.amount_minor::text, b.currency::text AS currency, b.direction,
         b.occurred_on::text, b.opened_at, ${ageDaysSql(now)} AS age_days, ${ageBucketSql(now)} AS age_bucket, b.assignee_id, b.assignee_label, b.deadline_at, b.escalated_at,
         b.line_id::text, b.posting_id::text, b.transfer_id, coalesce(l.end_to_end_id, l.account_servicer_reference, l.remittance_info) AS reference,
         b.resolution, b.resolved_at, b.version
    FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id LEFT JOIN recon_lines l ON l.id = b.line_id`;

function toItem(r: BreakRaw): BreakListItem {
  return { ...fromRow<Omit<BreakListItem, "amountMinor">>(r), amountMinor: BigInt(r.amount_minor), currency: r.currency.trim() };
}

export interface BreakPage {
  items: BreakListItem[];
  nextCursor: string | null;
}

/**
 * Lists breaks with the queue's filters, sorted and keyset-paged. Errors: BAD_INPUT (malformed
 * cursor, inverted amount range).
 */
export async function listBreaks(db: Pick<DbHandles, "pool">, f: BreakFilters, page: { sort?: BreakSort; cursor?: string; limit?: number; now?: Date } = {}): Promise<BreakPage> {
  const now = page.now ?? new Date();
  const limit = Math.min(Math.max(page.limit ?? 50, 1), BREAK_PAGE_MAX);
  const sort = page.sort ?? "oldest";
  if (f.amountMinMinor !== undefined && f.amountMaxMinor !== undefined && f.amountMinMinor > f.amountMaxMinor) throw new AppError("BAD_INPUT", "amountMinMinor is above amountMaxMinor");
  const { values: params, add: p } = sqlParams([now]);
  const where: string[] = [];
  if (f.types?.length) where.push(`b.type::text = ANY(${p(f.types)}::text[])`);
  if (f.statuses?.length) where.push(`b.status::text = ANY(${p(f.statuses)}::text[])`);
  if (f.sourceId) where.push(`b.source_id = ${p(f.sourceId)}::uuid`);
  if (f.currency) where.push(`b.currency = ${p(f.currency.toUpperCase())}`);
  if (f.amountMinMinor !== undefined) where.push(`b.amount_minor >= ${p(f.amountMinMinor.toString())}::bigint`);
  if (f.amountMaxMinor !== undefined) where.push(`b.amount_minor <= ${p(f.amountMaxMinor.toString())}::bigint`);
  if (f.assignee === "unassigned") where.push(`b.assignee_id IS NULL`);
  else if (f.assignee) where.push(`b.assignee_id = ${p(f.assignee)}::uuid`);
  if (f.ageBucket) {
    const r = bucketRange(f.ageBucket, now);
    if (r.from) where.push(`b.occurred_on >= ${p(r.from)}::date`);
    where.push(`b.occurred_on <= ${p(r.to)}::date`);
  }
  const key = sort === "amount_desc" ? "b.amount_minor" : "b.occurred_on";
  const dir = sort === "oldest" ? "ASC" : "DESC";
  if (page.cursor) {
    const c = decodeKeysetCursor(page.cursor, sort === "amount_desc" ? "integer" : "date");
    const cast = sort === "amount_desc" ? "::bigint" : "::date";
    where.push(`(${key}, b.id) ${dir === "ASC" ? ">" : "<"} (${p(c.v)}${cast}, ${p(c.id)}::uuid)`);
  }
  const rows = (
    await db.pool.query<BreakRaw>(`${BREAK_SELECT("$1")} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${key} ${dir}, b.id ${dir} LIMIT ${limit + 1}`, params)
  ).rows;
  const items = rows.slice(0, limit).map(toItem);
  const last = rows.length > limit ? items.at(-1) : undefined;
  return { items, nextCursor: last ? encodeKeysetCursor({ v: sort === "amount_desc" ? last.amountMinor.toString() : last.occurredOn, id: last.id }) : null };
}

/** Open and timing breaks by age bucket and type (the SLO work reads it). */
export async function summarizeBreaks(db: Pick<DbHandles, "pool">, opts: { now?: Date; sourceId?: string } = {}): Promise<{ bucket: AgeBucket; type: BreakType; count: number }[]> {
  const now = opts.now ?? new Date();
  const rows = (
    await db.pool.query<{ bucket: AgeBucket; type: BreakType; n: string }>(
      `SELECT ${ageBucketSql("$1")} AS bucket, b.type::text AS type, count(*) AS n FROM recon_breaks b
        WHERE b.status <> 'resolved' AND ($2::uuid IS NULL OR b.source_id = $2) GROUP BY 1, 2 ORDER BY 1, 2`,
      [now, opts.sourceId ?? null],
    )
  ).rows;
  return rows.map((r) => ({ bucket: r.bucket, type: r.type, count: Number(r.n) }));
}

// ---------------------------------------------------------------------------------------------
// One break

export interface LineView {
  id: string;
  statementId: string;
  statementRef: string;
  place: string;
  amountMinor: bigint;
  currency: string;
  direction: "credit" | "debit";
  bookingDate: string;
  valueDate: string | null;
  endToEndId: string | null;
  accountServicerReference: string | null;
  remittanceInfo: string | null;
  counterpartyName: string | null;
  counterpartyAccount: string | null;
  matchId: string | null;
}

export interface PostingView {
  id: string;
  entryId: string;
  description: string;
  effectiveAt: Date;
  amountMinor: bigint;
  currency: string;
  /** From the statement's side: credit increases the mirrored account. */
  direction: "credit" | "debit";
  transferId: string | null;
  transferReference: string | null;
  transferState: string | null;
  matchId: string | null;
}

export interface Candidate {
  side: "ledger" | "statement";
  id: string;
  amountMinor: bigint;
  currency: string;
  date: string;
  reference: string | null;
  /** 0-100. */
  score: number;
  reasons: string[];
}

export interface BreakEventView {
  id: string;
  kind: string;
  actorLabel: string;
  note: string | null;
  detail: unknown;
  createdAt: Date;
}

export interface BreakDetail extends BreakListItem {
  detail: Record<string, unknown>;
  writeOffProposalId: string | null;
  suspenseProposalId: string | null;
  resolvedBy: string | null;
  line: LineView | null;
  posting: PostingView | null;
  candidates: Candidate[];
  events: BreakEventView[];
  suggestion: { id: string; rule: string; confidence: number; lineIds: string[]; postingIds: string[] } | null;
  /**
   * The transfers the break concerns (the one it names, its posting's, those its line's or
   * posting's match explains), each with its correlation id (transfer-links.ts).
   */
  transfers: LinkedTransfer[];
}

const LINE_SELECT = `SELECT l.id::text, l.statement_id, st.statement_ref, l.place, l.amount_minor::text, l.currency::text, l.direction, l.booking_date::text, l.value_date::text,
  l.end_to_end_id, l.account_servicer_reference, l.remittance_info, l.counterparty_name, l.counterparty_account, ml.match_id::text
  FROM recon_lines l JOIN recon_statements st ON st.id = l.statement_id LEFT JOIN recon_match_lines ml ON ml.line_id = l.id`;

function toLine(r: Record<string, string | null>): LineView {
  return {
    id: r.id!,
    statementId: r.statement_id!,
    statementRef: r.statement_ref!,
    place: r.place!,
    amountMinor: BigInt(r.amount_minor!),
    currency: r.currency!.trim(),
    direction: r.direction as "credit" | "debit",
    bookingDate: r.booking_date!,
    valueDate: r.value_date ?? null,
    endToEndId: r.end_to_end_id ?? null,
    accountServicerReference: r.account_servicer_reference ?? null,
    remittanceInfo: r.remittance_info ?? null,
    counterpartyName: r.counterparty_name ?? null,
    counterpartyAccount: r.counterparty_account ?? null,
    matchId: r.match_id ?? null,
  };
}

const POSTING_SELECT = (normal: string, source: string) => `SELECT p.id::text, e.id AS entry_id, e.description, e.effective_at, p.amount_minor::text, p.currency::text,
  CASE WHEN p.side::text = ${normal} THEN 'credit' ELSE 'debit' END AS direction, t.id AS transfer_id, t.reference AS transfer_reference, t.state::text AS transfer_state,
  mi.match_id::text
  FROM postings p JOIN journal_entries e ON e.id = p.entry_id
  LEFT JOIN transfers t ON t.settlement_entry_id = e.id OR t.return_entry_id = e.id
  LEFT JOIN recon_match_items mi ON mi.source_id = ${source} AND mi.posting_id = p.id`;

function toPosting(r: Record<string, unknown>): PostingView {
  return {
    id: r.id as string,
    entryId: r.entry_id as string,
    description: r.description as string,
    effectiveAt: r.effective_at as Date,
    amountMinor: BigInt(r.amount_minor as string),
    currency: (r.currency as string).trim(),
    direction: r.direction as "credit" | "debit",
    transferId: (r.transfer_id as string | null) ?? null,
    transferReference: (r.transfer_reference as string | null) ?? null,
    transferState: (r.transfer_state as string | null) ?? null,
    matchId: (r.match_id as string | null) ?? null,
  };
}

const norm = normRefSql;
export const CANDIDATE_LIMIT = 10;
export const CANDIDATE_WINDOW_DAYS = 10;

/**
 * Ranked candidates for the other side of a break: unmatched postings for a statement line,
 * unmatched lines for a posting, in the same currency and direction within CANDIDATE_WINDOW_DAYS.
 * Score: 50 for a shared reference, 30 for the same amount (or 15 within 5%), up to 10 for the
 * date (10 minus the days apart), 10 for the same counterparty; each reason is listed.
 */
async function candidatesFor(q: pg.ClientBase | pg.Pool, b: BreakDetail, normalSide: string, accountId: string): Promise<Candidate[]> {
  if (b.line) {
    const l = b.line;
    const rows = (
      await q.query<{ id: string; amount: string; currency: string; d: string; ref: string | null; ref_hit: boolean; cp_hit: boolean }>(
        `WITH lr AS (SELECT unnest(ARRAY[${norm("$4::text")}, ${norm("$5::text")}, ${norm("$6::text")}]) AS r)
         SELECT p.id::text, p.amount_minor::text AS amount, p.currency::text, (e.effective_at AT TIME ZONE 'UTC')::date::text AS d,
                coalesce(t.idempotency_key, t.reference, e.metadata->>'reference') AS ref,
                EXISTS (SELECT 1 FROM lr WHERE length(lr.r) >= 4 AND lr.r IN (${norm("t.idempotency_key")}, ${norm("t.partner_ref")}, ${norm("t.id::text")}, ${norm("t.reference")}, ${norm("e.metadata->>'reference'")})) AS ref_hit,
                (length(${norm("$9::text")}) >= 3 AND ${norm("$9::text")} = ${norm("t.counterparty_name")}) AS cp_hit
           FROM postings p JOIN journal_entries e ON e.id = p.entry_id
           LEFT JOIN transfers t ON t.settlement_entry_id = e.id OR t.return_entry_id = e.id
          WHERE p.account_id = $1 AND p.currency = $2 AND (CASE WHEN p.side::text = $3 THEN 'credit' ELSE 'debit' END) = $7
            AND e.effective_at >= (($8::date - ${CANDIDATE_WINDOW_DAYS})::timestamp AT TIME ZONE 'UTC') AND e.effective_at < (($8::date + ${CANDIDATE_WINDOW_DAYS + 1})::timestamp AT TIME ZONE 'UTC')
            AND NOT EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = $10 AND m.posting_id = p.id)
          LIMIT 500`,
        [accountId, l.currency, normalSide, l.endToEndId, l.accountServicerReference, l.remittanceInfo, l.direction, l.valueDate ?? l.bookingDate, l.counterpartyName, b.sourceId],
      )
    ).rows;
    return rank(rows.map((r) => ({ side: "ledger" as const, id: r.id, amountMinor: BigInt(r.amount), currency: r.currency.trim(), date: r.d, reference: r.ref, refHit: r.ref_hit, cpHit: r.cp_hit })), l.amountMinor, l.valueDate ?? l.bookingDate);
  }
  if (b.posting) {
    const p = b.posting;
    const rows = (
      await q.query<{ id: string; amount: string; currency: string; d: string; ref: string | null; ref_hit: boolean }>(
        `WITH ir AS (SELECT unnest(ARRAY[${norm("t.idempotency_key")}, ${norm("t.partner_ref")}, ${norm("t.id::text")}, ${norm("t.reference")}, ${norm("e.metadata->>'reference'")}]) AS r
                       FROM postings p0 JOIN journal_entries e ON e.id = p0.entry_id LEFT JOIN transfers t ON t.settlement_entry_id = e.id OR t.return_entry_id = e.id WHERE p0.id = $1::bigint)
         SELECT l.id::text, l.amount_minor::text AS amount, l.currency::text, coalesce(l.value_date, l.booking_date)::text AS d, coalesce(l.end_to_end_id, l.account_servicer_reference, l.remittance_info) AS ref,
                EXISTS (SELECT 1 FROM ir WHERE length(ir.r) >= 4 AND ir.r IN (${norm("l.end_to_end_id")}, ${norm("l.account_servicer_reference")}, ${norm("l.remittance_info")})) AS ref_hit
           FROM recon_lines l
          WHERE l.source_id = $2 AND l.currency = $3 AND l.direction = $4 AND l.is_booked
            AND l.booking_date BETWEEN $5::date - ${CANDIDATE_WINDOW_DAYS} AND $5::date + ${CANDIDATE_WINDOW_DAYS}
            AND NOT EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id)
          LIMIT 500`,
        [p.id, b.sourceId, p.currency, p.direction, p.effectiveAt.toISOString().slice(0, 10)],
      )
    ).rows;
    return rank(rows.map((r) => ({ side: "statement" as const, id: r.id, amountMinor: BigInt(r.amount), currency: r.currency.trim(), date: r.d, reference: r.ref, refHit: r.ref_hit, cpHit: false })), p.amountMinor, p.effectiveAt.toISOString().slice(0, 10));
  }
  return [];
}

function rank(rows: { side: "ledger" | "statement"; id: string; amountMinor: bigint; currency: string; date: string; reference: string | null; refHit: boolean; cpHit: boolean }[], amountMinor: bigint, date: string): Candidate[] {
  const out: Candidate[] = rows.map((r) => {
    const reasons: string[] = [];
    let score = 0;
    if (r.refHit) {
      score += 50;
      reasons.push("same reference");
    }
    const diff = r.amountMinor > amountMinor ? r.amountMinor - amountMinor : amountMinor - r.amountMinor;
    if (diff === 0n) {
      score += 30;
      reasons.push("same amount");
    } else if (diff * 20n <= amountMinor) {
      score += 15;
      reasons.push(`amount within 5% (differs by ${diff} minor units)`);
    }
    const days = Math.abs(Date.parse(r.date) - Date.parse(date)) / 86_400_000;
    const dateScore = Math.max(0, 10 - days);
    score += dateScore;
    reasons.push(days === 0 ? "same date" : `${days} day${days === 1 ? "" : "s"} apart`);
    if (r.cpHit) {
      score += 10;
      reasons.push("same counterparty");
    }
    return { side: r.side, id: r.id, amountMinor: r.amountMinor, currency: r.currency, date: r.date, reference: r.reference, score: Math.min(100, Math.round(score)), reasons };
  });
  return out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, CANDIDATE_LIMIT);
}

/** One break with both sides, ranked candidates, its suggestion and timeline. Errors: NOT_FOUND. */
export async function getBreak(db: Pick<DbHandles, "pool">, breakId: string, opts: { now?: Date } = {}): Promise<BreakDetail> {
  const now = opts.now ?? new Date();
  if (!/^[0-9a-f-]{36}$/i.test(breakId)) throw new AppError("NOT_FOUND", `break ${breakId} does not exist`);
  const raw = (await db.pool.query<BreakRaw & { detail: Record<string, unknown>; write_off_proposal_id: string | null; suspense_proposal_id: string | null; resolved_by: string | null }>(`${BREAK_SELECT("$1")} WHERE b.id = $2`.replace("b.resolution,", "b.resolution, b.detail, b.write_off_proposal_id, b.suspense_proposal_id, b.resolved_by,"), [now, breakId])).rows[0];
  if (!raw) throw new AppError("NOT_FOUND", `break ${breakId} does not exist`, { details: { breakId } });
  const source = await getSource(db, raw.source_id);
  const line = raw.line_id ? toLine((await db.pool.query(`${LINE_SELECT} WHERE l.id = $1`, [raw.line_id])).rows[0]) : null;
  const posting = raw.posting_id ? toPosting((await db.pool.query(`${POSTING_SELECT("$2", "$3")} WHERE p.id = $1`, [raw.posting_id, source.normalSide, source.id])).rows[0]) : null;
  const events = (await db.pool.query<{ id: string; kind: string; actor_label: string; note: string | null; detail: unknown; created_at: Date }>(`SELECT e.id::text, e.kind, e.actor_label, e.note, e.detail, e.created_at FROM recon_break_events e WHERE e.break_id = $1 ORDER BY e.id LIMIT 500`, [breakId])).rows.map(
    (e) => ({ id: e.id, kind: e.kind, actorLabel: e.actor_label, note: e.note, detail: e.detail, createdAt: e.created_at }),
  );
  const sug = raw.line_id
    ? (await db.pool.query<{ id: string; rule: string; confidence: number; line_ids: string[]; posting_ids: string[] }>(`SELECT id, rule, confidence, line_ids::text[], posting_ids::text[] FROM recon_suggestions WHERE status = 'open' AND line_ids @> ARRAY[$1::bigint] LIMIT 1`, [raw.line_id])).rows[0]
    : undefined;
  const detail: BreakDetail = {
    ...toItem(raw),
    detail: raw.detail,
    writeOffProposalId: raw.write_off_proposal_id,
    suspenseProposalId: raw.suspense_proposal_id,
    resolvedBy: raw.resolved_by,
    line,
    posting,
    candidates: [],
    events,
    suggestion: sug ? { id: sug.id, rule: sug.rule, confidence: sug.confidence, lineIds: sug.line_ids, postingIds: sug.posting_ids } : null,
    transfers: await listTransfersOfBreak(db.pool, {
      transferId: raw.transfer_id,
      postingId: raw.posting_id,
      matchIds: [line?.matchId, posting?.matchId].filter((m): m is string => typeof m === "string"),
    }),
  };
  if (raw.status !== "resolved" && (line === null || line.matchId === null) && (posting === null || posting.matchId === null || line !== null)) {
    detail.candidates = await candidatesFor(db.pool, detail, source.normalSide, source.ledgerAccountId);
  }
  return detail;
}

// ---------------------------------------------------------------------------------------------
// Actions

async function addEvent(c: pg.ClientBase, breakId: string, kind: string, actor: AuditActor, note: string | null, detail: Record<string, unknown>, now: Date): Promise<void> {
  await c.query(`INSERT INTO recon_break_events (break_id, kind, actor_type, actor_id, actor_label, note, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    breakId,
    kind,
    actor.type,
    actor.id,
    actor.label,
    note,
    JSON.stringify(detail),
    now,
  ]);
}

export { addEvent as addBreakEvent };

interface LockedBreak {
  id: string;
  source_id: string;
  type: BreakType;
  status: BreakStatus;
  line_id: string | null;
  posting_id: string | null;
  version: number;
  assignee_label: string | null;
  transfer_id: string | null;
  deadline_at: Date | null;
}

async function lockBreak(c: pg.ClientBase, breakId: string): Promise<LockedBreak> {
  const r = (await c.query<LockedBreak>(`SELECT id, source_id, type::text, status::text, line_id::text, posting_id::text, version, assignee_label, transfer_id, deadline_at FROM recon_breaks WHERE id = $1 FOR UPDATE`, [breakId])).rows[0];
  if (!r) throw new AppError("NOT_FOUND", `break ${breakId} does not exist`, { details: { breakId } });
  return r;
}

function notResolved(b: LockedBreak): void {
  if (b.status === "resolved") throw new AppError("CONFLICT", `break ${b.id} is already resolved`, { details: { breakId: b.id } });
}

/**
 * Assigns breaks to a person (or unassigns: assigneeId null). Each is audited and gets a timeline
 * event. Errors: BAD_INPUT (more than MAX_BULK_ASSIGN); NOT_FOUND (a break); CONFLICT (resolved).
 * Returns the breaks changed (those already assigned to that person are left as they are).
 */
export async function assignBreaks(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { breakIds: string[]; assigneeId: string | null; assigneeLabel: string | null }, opts: { now?: Date; requestId?: string | null } = {}): Promise<{ changed: string[] }> {
  if (input.breakIds.length === 0 || input.breakIds.length > MAX_BULK_ASSIGN) throw new AppError("BAD_INPUT", `assign 1 to ${MAX_BULK_ASSIGN} breaks at a time`);
  if ((input.assigneeId === null) !== (input.assigneeLabel === null)) throw new AppError("BAD_INPUT", "give both the assignee's id and label, or neither to unassign");
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const changed: string[] = [];
    for (const id of [...new Set(input.breakIds)].sort()) {
      const b = await lockBreak(c, id);
      notResolved(b);
      const current = (await c.query<{ assignee_id: string | null }>(`SELECT assignee_id FROM recon_breaks WHERE id = $1`, [id])).rows[0]!.assignee_id;
      if (current === input.assigneeId) continue;
      await c.query(`UPDATE recon_breaks SET assignee_id = $2, assignee_label = $3, version = version + 1 WHERE id = $1`, [id, input.assigneeId, input.assigneeLabel]);
      await addEvent(c, id, input.assigneeId ? "assigned" : "unassigned", actor, null, { assigneeId: input.assigneeId, assigneeLabel: input.assigneeLabel }, now);
      await appendAudit(pgRunner(c), { actor, action: "recon.break.assign", targetType: "recon_break", targetId: id, before: { assignee: b.assignee_label }, after: { assignee: input.assigneeLabel }, requestId: opts.requestId ?? null, at: now });
      changed.push(id);
    }
    return { changed };
  });
}

/** Adds a note to a break's timeline (audited). Errors: BAD_INPUT (empty or over 2,000 characters); NOT_FOUND. */
export async function addBreakNote(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { breakId: string; note: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<void> {
  const note = input.note.trim();
  if (note.length < 1 || note.length > 2000) throw new AppError("BAD_INPUT", "a note is 1 to 2,000 characters");
  const now = opts.now ?? new Date();
  await runTransaction(db.pool, async (c) => {
    await lockBreak(c, input.breakId);
    await addEvent(c, input.breakId, "note", actor, note, {}, now);
    await appendAudit(pgRunner(c), { actor, action: "recon.break.note", targetType: "recon_break", targetId: input.breakId, after: { note }, requestId: opts.requestId ?? null, at: now });
  });
}

/**
 * Accepts a break as a timing difference until `deadlineAt`: it closes itself when its
 * counterpart is matched, and the worker escalates it (back to open, flagged) when the deadline
 * passes. Errors, in order: NOT_FOUND; CONFLICT (resolved); BAD_INPUT (a gap or balance break,
 * a deadline not in the future or more than MAX_TIMING_DAYS away, no note).
 */
export async function acceptTimingDifference(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { breakId: string; deadlineAt: Date; note: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<void> {
  const now = opts.now ?? new Date();
  await runTransaction(db.pool, async (c) => {
    const b = await lockBreak(c, input.breakId);
    notResolved(b);
    if (b.line_id === null && b.posting_id === null) throw new AppError("BAD_INPUT", `a ${b.type} break has no counterpart to wait for`);
    if (input.deadlineAt <= now) throw new AppError("BAD_INPUT", "the deadline must be in the future");
    if (input.deadlineAt.getTime() - now.getTime() > MAX_TIMING_DAYS * 86_400_000) throw new AppError("BAD_INPUT", `the deadline may be at most ${MAX_TIMING_DAYS} days away`);
    const note = input.note.trim();
    if (note.length < 3) throw new AppError("BAD_INPUT", "say why this is a timing difference (a note of at least 3 characters)");
    await c.query(`UPDATE recon_breaks SET status = 'timing', deadline_at = $2, escalated_at = NULL, version = version + 1 WHERE id = $1`, [b.id, input.deadlineAt]);
    await addEvent(c, b.id, "timing_accepted", actor, note, { deadlineAt: input.deadlineAt.toISOString() }, now);
    await appendAudit(pgRunner(c), { actor, action: "recon.break.timing", targetType: "recon_break", targetId: b.id, reason: note, before: { status: b.status, deadlineAt: b.deadline_at }, after: { status: "timing", deadlineAt: input.deadlineAt }, requestId: opts.requestId ?? null, at: now });
  });
}

/** Timing differences past their deadline go back to open, flagged as escalated. Bounded per call. */
export async function escalateOverdueTimingBreaks(db: Pick<DbHandles, "pool">, now: Date, limit = 500): Promise<number> {
  return runTransaction(db.pool, async (c) => {
    const rows = (
      await c.query<{ id: string; deadline_at: Date }>(
        `UPDATE recon_breaks b SET status = 'open', escalated_at = $1, version = b.version + 1
          WHERE b.id IN (SELECT id FROM recon_breaks WHERE status = 'timing' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING b.id, b.deadline_at`,
        [now, limit],
      )
    ).rows;
    const system: AuditActor = { type: "system", id: null, label: "recon-worker" };
    for (const r of rows) {
      await addEvent(c, r.id, "escalated", system, "the timing difference's deadline passed without its counterpart", { deadlineAt: r.deadline_at.toISOString() }, now);
      await appendAudit(pgRunner(c), { actor: system, action: "recon.break.escalate", targetType: "recon_break", targetId: r.id, after: { status: "open", deadlineAt: r.deadline_at }, at: now });
    }
    return rows.length;
  });
}

export interface ManualMatchInput {
  sourceId: string;
  lineIds: string[];
  postingIds: string[];
  note: string;
  /** Accept a non-zero difference (recorded on the match); otherwise it must be exact. */
  acceptDifference?: boolean;
}

/**
 * The match rules of approved adjustments (server/recon/write-off.ts): such a match may have no
 * statement line and mixes directions (the entry offsets the posting), and only a reversal of its
 * entry undoes it.
 */
export const ADJUSTMENT_MATCH_RULES: readonly string[] = ["write_off", "suspense"];

/**
 * Matches lines and postings of a source by hand: one line to one or more postings, or several
 * lines to one posting. Closes the breaks of what it matched and marks suggestions that named
 * them stale. Errors, in order: BAD_INPUT (shape: both sides, 1:1 / 1:N / N:1, at most
 * MAX_MANUAL_MATCH_SIDE each, a note); NOT_FOUND (a line or posting not of this source);
 * CONFLICT (already matched); CURRENCY_MISMATCH; BAD_INPUT (directions differ; a difference not
 * accepted).
 */
export async function matchByHand(db: Pick<DbHandles, "pool"> | null, actor: AuditActor, input: ManualMatchInput, opts: { now?: Date; requestId?: string | null; rule?: string; client?: pg.PoolClient } = {}): Promise<{ matchId: string; differenceMinor: bigint; breaksResolved: number }> {
  const lineIds = [...new Set(input.lineIds)];
  const postingIds = [...new Set(input.postingIds)];
  if (lineIds.length === 0 && postingIds.length === 0) throw new AppError("BAD_INPUT", "pick the statement lines and ledger postings to match");
  const isAdjustment = ADJUSTMENT_MATCH_RULES.includes(opts.rule ?? "manual");
  if (!isAdjustment && (lineIds.length === 0 || postingIds.length === 0)) throw new AppError("BAD_INPUT", "a match needs at least one statement line and one ledger posting");
  if (lineIds.length > 1 && postingIds.length > 1) throw new AppError("BAD_INPUT", "match one line to many postings, or many lines to one posting, not many to many");
  if (lineIds.length > MAX_MANUAL_MATCH_SIDE || postingIds.length > MAX_MANUAL_MATCH_SIDE) throw new AppError("BAD_INPUT", `at most ${MAX_MANUAL_MATCH_SIDE} on each side`);
  const note = input.note.trim();
  if (note.length < 3) throw new AppError("BAD_INPUT", "say why these belong together (a note of at least 3 characters)");
  const now = opts.now ?? new Date();
  const work = async (c: pg.PoolClient) => {
    const source = await getSource({ sql: pgRunner(c) }, input.sourceId);
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [source.id]);
    const lines = (
      await c.query<{ id: string; amount_minor: string; currency: string; direction: string; matched: boolean }>(
        `SELECT l.id::text, l.amount_minor::text, l.currency::text, l.direction, EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id) AS matched
           FROM recon_lines l WHERE l.id = ANY($1::bigint[]) AND l.source_id = $2`,
        [lineIds, source.id],
      )
    ).rows;
    const items = (
      await c.query<{ id: string; amount_minor: string; currency: string; direction: string; matched: boolean }>(
        `SELECT p.id::text, p.amount_minor::text, p.currency::text, CASE WHEN p.side::text = $3 THEN 'credit' ELSE 'debit' END AS direction,
                EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = $4 AND m.posting_id = p.id) AS matched
           FROM postings p WHERE p.id = ANY($1::bigint[]) AND p.account_id = $2`,
        [postingIds, source.ledgerAccountId, source.normalSide, source.id],
      )
    ).rows;
    const missingLine = lineIds.find((id) => !lines.some((l) => l.id === id));
    if (missingLine) throw new AppError("NOT_FOUND", `statement line ${missingLine} is not a line of source ${source.name}`);
    const missingItem = postingIds.find((id) => !items.some((i) => i.id === id));
    if (missingItem) throw new AppError("NOT_FOUND", `posting ${missingItem} is not on ${source.ledgerAccountCode}`);
    const taken = [...lines.filter((l) => l.matched).map((l) => `line ${l.id}`), ...items.filter((i) => i.matched).map((i) => `posting ${i.id}`)];
    if (taken.length > 0) throw new AppError("CONFLICT", `${taken.join(", ")} ${taken.length > 1 ? "are" : "is"} already matched`, { details: { taken } });
    const currencies = new Set([...lines, ...items].map((x) => x.currency.trim()));
    if (currencies.size > 1) throw new AppError("CURRENCY_MISMATCH", `a match stays in one currency; these are in ${[...currencies].sort().join(" and ")}`);
    const signed = (x: { amount_minor: string; direction: string }) => (x.direction === "credit" ? BigInt(x.amount_minor) : -BigInt(x.amount_minor));
    if (!isAdjustment && new Set([...lines, ...items].map((x) => x.direction)).size > 1) throw new AppError("BAD_INPUT", "money in and money out do not match each other: the lines and postings must all be credits or all debits");
    const difference = lines.reduce((s, l) => s + signed(l), 0n) - items.reduce((s, i) => s + signed(i), 0n);
    if (difference !== 0n && !input.acceptDifference) {
      throw new AppError("BAD_INPUT", `a difference of ${difference} minor units remains; pick other candidates or accept the difference explicitly`, { details: { differenceMinor: difference.toString() } });
    }
    const currency = [...currencies][0]!;
    const matchId = (
      await c.query<{ id: string }>(
        `INSERT INTO recon_matches (source_id, kind, rule, confidence, currency, difference_minor, reasons, actor_label, created_at) VALUES ($1, 'manual', $2, 100, $3, $4, $5, $6, $7) RETURNING id::text`,
        [source.id, opts.rule ?? "manual", currency, difference.toString(), JSON.stringify([note]), actor.label, now],
      )
    ).rows[0]!.id;
    await insertMembers(c, matchId, source.id, lineIds, postingIds);
    await c.query(`UPDATE recon_suggestions SET status = 'stale' WHERE source_id = $1 AND status = 'open' AND (line_ids && $2::bigint[] OR posting_ids && $3::bigint[])`, [source.id, lineIds, postingIds]);
    const breaksResolved = await resolveMatchedBreaks(c, source.id, actor, now, { matchId, by: "hand" });
    await appendAudit(pgRunner(c), {
      actor,
      action: "recon.match.manual",
      targetType: "recon_match",
      targetId: matchId,
      reason: note,
      after: { source: source.name, lineIds, postingIds, differenceMinor: difference.toString(), rule: opts.rule ?? "manual" },
      requestId: opts.requestId ?? null,
      at: now,
    });
    return { matchId, differenceMinor: difference, breaksResolved };
  };
  if (opts.client) return work(opts.client);
  if (!db) throw new Error("matchByHand needs a database handle or an open transaction");
  return runTransaction(db.pool, work);
}

/** Who a new match names: a row per line, a row per posting (recon_match_members). */
async function insertMembers(c: pg.PoolClient, matchId: string, sourceId: string, lineIds: readonly string[], postingIds: readonly string[]): Promise<void> {
  await c.query(
    `INSERT INTO recon_match_members (match_id, source_id, line_id, posting_id)
     SELECT $1::bigint, NULL::uuid, unnest($3::bigint[]), NULL::bigint UNION ALL SELECT $1::bigint, $2::uuid, NULL::bigint, unnest($4::bigint[])`,
    [matchId, sourceId, lineIds, postingIds],
  );
}

const byNumber = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/**
 * Confirms a suggestion: its lines and postings become a match (kind confirmed) if none of them
 * was matched meanwhile. Errors: NOT_FOUND; CONFLICT (not open any more, or something in it was
 * matched meanwhile).
 */
export async function confirmSuggestion(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { suggestionId: string; note?: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<{ matchId: string }> {
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const s = (await c.query<{ id: string; source_id: string; status: string; line_ids: string[]; posting_ids: string[]; rule: string; rule_set_version: number; confidence: number; currency: string; difference_minor: string }>(
      `SELECT id, source_id, status, line_ids::text[], posting_ids::text[], rule, rule_set_version, confidence, currency::text, difference_minor::text FROM recon_suggestions WHERE id = $1 FOR UPDATE`,
      [input.suggestionId],
    )).rows[0];
    if (!s) throw new AppError("NOT_FOUND", `suggestion ${input.suggestionId} does not exist`);
    if (s.status !== "open") throw new AppError("CONFLICT", `suggestion ${s.id} is ${s.status}`);
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [s.source_id]);
    const taken = (await c.query(`SELECT 1 FROM recon_match_lines WHERE line_id = ANY($1::bigint[]) UNION ALL SELECT 1 FROM recon_match_items WHERE source_id = $2 AND posting_id = ANY($3::bigint[])`, [s.line_ids, s.source_id, s.posting_ids])).rowCount ?? 0;
    if (taken > 0) {
      await c.query(`UPDATE recon_suggestions SET status = 'stale' WHERE id = $1`, [s.id]);
      throw new AppError("CONFLICT", `part of suggestion ${s.id} was matched meanwhile`);
    }
    const matchId = (
      await c.query<{ id: string }>(
        `INSERT INTO recon_matches (source_id, kind, rule, rule_set_version, confidence, currency, difference_minor, reasons, actor_label, created_at)
         VALUES ($1, 'confirmed', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text`,
        [s.source_id, s.rule, s.rule_set_version, s.confidence, s.currency.trim(), s.difference_minor, JSON.stringify(input.note ? [input.note] : []), actor.label, now],
      )
    ).rows[0]!.id;
    await insertMembers(c, matchId, s.source_id, s.line_ids, s.posting_ids);
    await c.query(`UPDATE recon_suggestions SET status = 'confirmed' WHERE id = $1`, [s.id]);
    await resolveMatchedBreaks(c, s.source_id, actor, now, { matchId, suggestionId: s.id });
    await appendAudit(pgRunner(c), { actor, action: "recon.suggestion.confirm", targetType: "recon_suggestion", targetId: s.id, after: { matchId, lineIds: s.line_ids, postingIds: s.posting_ids }, requestId: opts.requestId ?? null, at: now });
    return { matchId };
  });
}

/** Dismisses a suggestion. Errors: NOT_FOUND; CONFLICT (not open). */
export async function dismissSuggestion(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { suggestionId: string; reason: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<void> {
  const now = opts.now ?? new Date();
  await runTransaction(db.pool, async (c) => {
    const r = await c.query(`UPDATE recon_suggestions SET status = 'dismissed' WHERE id = $1 AND status = 'open' RETURNING id`, [input.suggestionId]);
    if (!r.rowCount) {
      const exists = await c.query(`SELECT 1 FROM recon_suggestions WHERE id = $1`, [input.suggestionId]);
      throw exists.rowCount ? new AppError("CONFLICT", `suggestion ${input.suggestionId} is not open`) : new AppError("NOT_FOUND", `suggestion ${input.suggestionId} does not exist`);
    }
    await appendAudit(pgRunner(c), { actor, action: "recon.suggestion.dismiss", targetType: "recon_suggestion", targetId: input.suggestionId, reason: input.reason, requestId: opts.requestId ?? null, at: now });
  });
}

/**
 * Undoes a match: its lines and postings are free again (the next run opens breaks for what stays
 * unmatched). Errors: NOT_FOUND; CONFLICT (already undone, or the match of a write-off or a
 * correction to suspense, which only a reversal undoes).
 */
export async function undoMatch(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { matchId: string; reason: string }, opts: { now?: Date; requestId?: string | null } = {}): Promise<void> {
  const now = opts.now ?? new Date();
  if (input.reason.trim().length < 3) throw new AppError("BAD_INPUT", "a reason of at least 3 characters is required");
  await runTransaction(db.pool, async (c) => {
    const m = (await c.query<{ id: string; source_id: string; undone_at: Date | null; rule: string }>(`SELECT id::text, source_id, undone_at, rule FROM recon_matches WHERE id = $1::bigint FOR UPDATE`, [input.matchId])).rows[0];
    if (!m) throw new AppError("NOT_FOUND", `match ${input.matchId} does not exist`);
    if (m.undone_at) throw new AppError("CONFLICT", `match ${m.id} was already undone`);
    if (ADJUSTMENT_MATCH_RULES.includes(m.rule)) throw new AppError("CONFLICT", `match ${m.id} records an approved ${m.rule === "suspense" ? "correction to suspense" : "write-off"}; reverse its entry instead`);
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [m.source_id]);
    // A member row may name a line and a posting both (an automatic one-to-one match).
    const members = (await c.query<{ line_id: string | null; posting_id: string | null }>(`DELETE FROM recon_match_members WHERE match_id = $1 RETURNING line_id::text, posting_id::text`, [m.id])).rows;
    const lines = members.flatMap((r) => (r.line_id === null ? [] : [r.line_id])).sort(byNumber);
    const items = members.flatMap((r) => (r.posting_id === null ? [] : [r.posting_id])).sort(byNumber);
    await c.query(`UPDATE recon_matches SET undone_at = $2 WHERE id = $1`, [m.id, now]);
    await appendAudit(pgRunner(c), { actor, action: "recon.match.undo", targetType: "recon_match", targetId: m.id, reason: input.reason, before: { lineIds: lines, postingIds: items }, requestId: opts.requestId ?? null, at: now });
  });
}

/**
 * Links a break to a transfer (a statement line that proves a transfer's fate). Errors: NOT_FOUND
 * (break, transfer); CONFLICT (resolved).
 */
export async function linkBreakToTransfer(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { breakId: string; transferId: string }, opts: { now?: Date; requestId?: string | null; client?: pg.PoolClient } = {}): Promise<void> {
  const now = opts.now ?? new Date();
  const work = async (c: pg.PoolClient) => {
    const b = await lockBreak(c, input.breakId);
    notResolved(b);
    const t = (await c.query<{ id: string; state: string }>(`SELECT id, state::text FROM transfers WHERE id = $1`, [input.transferId])).rows[0];
    if (!t) throw new AppError("NOT_FOUND", `transfer ${input.transferId} does not exist`);
    if (b.transfer_id === t.id) return;
    await c.query(`UPDATE recon_breaks SET transfer_id = $2, version = version + 1 WHERE id = $1`, [b.id, t.id]);
    await addEvent(c, b.id, "transfer_linked", actor, null, { transferId: t.id, transferState: t.state }, now);
    await appendAudit(pgRunner(c), { actor, action: "recon.break.link_transfer", targetType: "recon_break", targetId: b.id, before: { transferId: b.transfer_id }, after: { transferId: t.id }, requestId: opts.requestId ?? null, at: now });
  };
  if (opts.client) await work(opts.client);
  else await runTransaction(db.pool, work);
}

/** The evidence text a statement line gives for a transfer proposal. */
export function lineEvidence(line: LineView, sourceName: string): string {
  const parts = [
    `Statement ${line.statementRef} of ${sourceName}, ${line.place}: ${line.direction} ${line.amountMinor} minor units ${line.currency}`,
    `booked ${line.bookingDate}${line.valueDate ? `, value ${line.valueDate}` : ""}`,
    line.endToEndId ? `end-to-end id ${line.endToEndId}` : null,
    line.accountServicerReference ? `bank reference ${line.accountServicerReference}` : null,
    line.remittanceInfo ? `remittance "${line.remittanceInfo}"` : null,
  ];
  return parts.filter(Boolean).join("; ").slice(0, 2000);
}
