/**
 * Reading transfers: the filtered, sorted, keyset-paginated list (the console's Transfers page and
 * the API), the stuck queue, and one transfer with everything that happened to it.
 *
 * Invariants kept:
 * - Every list is bounded (TRANSFER_PAGE_MAX) and paged by keyset on (sort value, id), never
 *   OFFSET, so a page costs the same at row 10 and row 1,000,000.
 * - "Stuck" has one definition, in SQL (stuckSql): an active transfer older in its state than its
 *   rail's budget, or one waiting for an operator.
 */
import type { DbHandles } from "../db/client";
import { AppError } from "../errors/app-error";
import { decodeKeysetCursor, encodeKeysetCursor } from "../core/keyset-cursor";
import { listAudit } from "../audit/query";
import type { AuditRecord } from "../audit/audit-log";
import { assertUuid } from "../core/validate";
import { getEntry, type EntryDetail } from "../ledger/history";
import { listWebhookEvents, type WebhookEventItem } from "./webhook-processing";
import { ACTIVE_STATES, TRANSFER_STATES, type TransferState } from "./state-machine";
import { RAILS, rowToTransfer, TRANSFER_COLUMNS, type RailId, type Transfer, type TransferEventRow, type TransferRowRaw } from "./types";
import { listRailPolicies } from "./rail-policies";
import { sqlParams } from "../core/sql-params";

export const TRANSFER_PAGE_MAX = 200;
export const TRANSFER_SORTS = ["created_desc", "created_asc", "amount_desc", "amount_asc"] as const;
export type TransferSort = (typeof TRANSFER_SORTS)[number];

export interface TransferFilters {
  states?: TransferState[];
  rail?: RailId;
  partner?: string;
  currency?: string;
  amountMinMinor?: bigint;
  amountMaxMinor?: bigint;
  createdFrom?: Date;
  createdTo?: Date;
  /** Only stuck transfers (over their state's budget, or waiting for an operator). */
  isStuck?: boolean;
  /** Only transfers waiting for an operator's decision (attention reason set, still active). */
  needsAttention?: boolean;
  /** A transfer id, a partner reference, an idempotency key, or the start of our reference. */
  q?: string;
  sourceAccountId?: string;
}

export interface TransferListItem extends Transfer {
  /** Seconds past the state's budget, or null when not stuck. */
  stuckForSeconds: number | null;
  stuckReason: string | null;
}

export interface TransferPage {
  items: TransferListItem[];
  nextCursor: string | null;
}

/**
 * Seconds transfer `t` has spent over its state's budget (> 0 means over), per rail policy, at
 * the SQL expression `now` (a parameter such as "$1", or "now()").
 */
function overBudgetSql(now: string): string {
  return `(EXTRACT(EPOCH FROM (${now}::timestamptz - t.state_changed_at)) - (
  SELECT CASE t.state WHEN 'created' THEN rp.budget_created_seconds WHEN 'reserved' THEN rp.budget_reserved_seconds
                      WHEN 'submitted' THEN rp.budget_submitted_seconds WHEN 'acknowledged' THEN rp.budget_acknowledged_seconds END
    FROM rail_policies rp WHERE rp.partner = t.partner AND rp.rail = t.rail))`;
}

const ACTIVE_SQL = `t.state IN (${ACTIVE_STATES.map((s) => `'${s}'`).join(", ")})`;

/** Whether transfer `t` is stuck at the SQL expression `now`: the one definition of stuck. */
export function stuckSql(now: string): string {
  return `(${ACTIVE_SQL} AND (t.attention_reason IS NOT NULL OR ${overBudgetSql(now)} > 0))`;
}

/** Seconds past the budget for a stuck transfer (0 when it waits for an operator), else NULL. */
function stuckForSql(now: string): string {
  return `CASE WHEN ${stuckSql(now)} THEN GREATEST(0, COALESCE(${overBudgetSql(now)}, 0))::float8 END`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A page of transfers matching the filters, in the chosen order.
 * Errors: BAD_INPUT (malformed cursor, amount range inverted, unknown state or rail).
 */
export async function listTransfers(
  db: Pick<DbHandles, "pool">,
  filters: TransferFilters,
  page: { sort?: TransferSort; cursor?: string; limit?: number; now?: Date } = {},
): Promise<TransferPage> {
  const sort = page.sort ?? "created_desc";
  const limit = Math.min(Math.max(page.limit ?? 50, 1), TRANSFER_PAGE_MAX);
  const now = page.now ?? new Date();
  if (filters.amountMinMinor !== undefined && filters.amountMaxMinor !== undefined && filters.amountMinMinor > filters.amountMaxMinor) {
    throw new AppError("BAD_INPUT", "amountMinMinor is greater than amountMaxMinor");
  }
  for (const s of filters.states ?? []) if (!TRANSFER_STATES.includes(s)) throw new AppError("BAD_INPUT", `unknown state ${s}`);
  if (filters.rail && !RAILS.includes(filters.rail)) throw new AppError("BAD_INPUT", `unknown rail ${filters.rail}`);

  const { values: params, add: p } = sqlParams([now]);
  const where: string[] = [];
  if (filters.states?.length) where.push(`t.state = ANY(${p(filters.states)}::transfer_state[])`);
  if (filters.rail) where.push(`t.rail = ${p(filters.rail)}`);
  if (filters.partner) where.push(`t.partner = ${p(filters.partner)}`);
  if (filters.currency) where.push(`t.currency = ${p(filters.currency)}`);
  if (filters.amountMinMinor !== undefined) where.push(`t.amount_minor >= ${p(filters.amountMinMinor.toString())}::bigint`);
  if (filters.amountMaxMinor !== undefined) where.push(`t.amount_minor <= ${p(filters.amountMaxMinor.toString())}::bigint`);
  if (filters.createdFrom) where.push(`t.created_at >= ${p(filters.createdFrom)}`);
  if (filters.createdTo) where.push(`t.created_at < ${p(filters.createdTo)}`);
  if (filters.sourceAccountId) where.push(`t.source_account_id = ${p(assertUuid(filters.sourceAccountId, "sourceAccountId"))}`);
  if (filters.isStuck === true) where.push(stuckSql("$1"));
  if (filters.isStuck === false) where.push(`NOT ${stuckSql("$1")}`);
  if (filters.needsAttention === true) where.push(`(${ACTIVE_SQL} AND t.attention_reason IS NOT NULL)`);
  const q = filters.q?.trim();
  if (q) {
    if (UUID_RE.test(q)) where.push(`t.id = ${p(q.toLowerCase())}`);
    else {
      const like = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(t.reference LIKE ${p(like)} OR t.idempotency_key = ${p(q)} OR (t.partner_ref = ${p(q)}))`);
    }
  }
  const isAmount = sort.startsWith("amount");
  const isDesc = sort.endsWith("desc");
  const col = isAmount ? "t.amount_minor" : "t.created_at";
  if (page.cursor) {
    const c = decodeKeysetCursor(page.cursor, isAmount ? "integer" : "timestamp");
    const v = isAmount ? `${p(c.v)}::bigint` : `${p(c.v)}::timestamptz`;
    where.push(`(${col}, t.id) ${isDesc ? "<" : ">"} (${v}, ${p(c.id)}::uuid)`);
  }
  const dir = isDesc ? "DESC" : "ASC";
  const sql = `SELECT ${TRANSFER_COLUMNS}, ${stuckForSql("$1")} AS stuck_for
    FROM transfers t ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${col} ${dir}, t.id ${dir} LIMIT ${p(limit + 1)}`;
  const res = await db.pool.query<TransferRowRaw & { stuck_for: number | null }>(sql, params);
  const rows = res.rows.slice(0, limit);
  const items = rows.map((r) => withStuck(rowToTransfer(r), r.stuck_for));
  const last = rows[rows.length - 1];
  const nextCursor =
    res.rows.length > limit && last ? encodeKeysetCursor({ v: isAmount ? last.amount_minor : last.created_at.toISOString(), id: last.id }) : null;
  return { items, nextCursor };
}

function withStuck(t: Transfer, stuckFor: number | null): TransferListItem {
  if (stuckFor === null || stuckFor === undefined) return { ...t, stuckForSeconds: null, stuckReason: null };
  const reason = t.attentionReason ?? `${t.state} for longer than the ${t.rail} rail allows`;
  return { ...t, stuckForSeconds: Math.round(stuckFor), stuckReason: reason };
}

export interface StuckSummary {
  total: number;
  byState: Record<string, number>;
  needsAttention: number;
}

/** Counts of stuck transfers per state (the nav badge, the SLO page, the stuck queue header). */
export async function summarizeStuck(db: Pick<DbHandles, "pool">, now = new Date()): Promise<StuckSummary> {
  const res = await db.pool.query<{ state: string; n: string; attention: string }>(
    `SELECT t.state, count(*)::text AS n, count(*) FILTER (WHERE t.attention_reason IS NOT NULL)::text AS attention
       FROM transfers t WHERE ${stuckSql("$1")} GROUP BY t.state`,
    [now],
  );
  const byState: Record<string, number> = {};
  let total = 0;
  let needsAttention = 0;
  for (const r of res.rows) {
    byState[r.state] = Number(r.n);
    total += Number(r.n);
    needsAttention += Number(r.attention);
  }
  return { total, byState, needsAttention };
}

export interface PartnerRequestRow {
  id: string;
  kind: string;
  attempt: number;
  request: unknown;
  response: unknown;
  outcome: string | null;
  httpStatus: number | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface TransferDetail {
  transfer: TransferListItem;
  sourceAccount: { id: string; code: string; name: string };
  events: TransferEventRow[];
  partnerRequests: PartnerRequestRow[];
  hold: { id: string; status: string; amountMinor: bigint; amountPostedMinor: bigint; expiresAt: Date; endedAt: Date | null } | null;
  entries: EntryDetail[];
  /** The partner's webhooks about this transfer (originals and duplicates), oldest first. */
  webhooks: WebhookEventItem[];
  /** The transfer's audit trail, or null when the caller may not read the audit log (audit:read). */
  audit: AuditRecord[] | null;
}

/**
 * One transfer with its timeline, partner calls, hold, ledger entries and, when `includeAudit`
 * (the caller holds audit:read), its audit trail; otherwise `audit` is null and the audit log is
 * not read. Errors: BAD_INPUT, NOT_FOUND.
 */
export async function getTransferDetail(db: DbHandles, transferId: string, opts: { includeAudit: boolean; now?: Date }): Promise<TransferDetail> {
  const now = opts.now ?? new Date();
  const id = assertUuid(transferId, "transferId");
  const res = await db.pool.query<TransferRowRaw & { stuck_for: number | null; code: string; name: string }>(
    `SELECT ${TRANSFER_COLUMNS}, a.code, a.name, ${stuckForSql("$1")} AS stuck_for
       FROM transfers t JOIN ledger_accounts a ON a.id = t.source_account_id WHERE t.id = $2`,
    [now, id],
  );
  const row = res.rows[0];
  if (!row) throw new AppError("NOT_FOUND", `transfer ${id} does not exist`, { details: { transferId: id } });
  const transfer = withStuck(rowToTransfer(row), row.stuck_for);
  const [events, requests, hold, audit, webhooks] = await Promise.all([
    db.pool.query(`SELECT id::text, from_state, to_state, cause, actor_type, actor_id, actor_label, partner_message_id, detail, created_at FROM transfer_events WHERE transfer_id = $1 ORDER BY transfer_events.id LIMIT 500`, [id]),
    db.pool.query(`SELECT id::text, kind, attempt, request, response, outcome, http_status, error, started_at, finished_at, duration_ms FROM partner_requests WHERE transfer_id = $1 ORDER BY partner_requests.id LIMIT 500`, [id]),
    transfer.holdId
      ? db.pool.query(`SELECT id, status, amount_minor::text, amount_posted_minor::text, expires_at, ended_at FROM holds WHERE id = $1`, [transfer.holdId])
      : Promise.resolve({ rows: [] as Record<string, unknown>[] }),
    opts.includeAudit ? listAudit(db.prisma, { targetType: "transfer", targetId: id }, { limit: 100 }) : Promise.resolve(null),
    listWebhookEvents(db, { transferId: id, limit: 100 }),
  ]);
  const entryIds = [transfer.settlementEntryId, transfer.returnEntryId].filter((x): x is string => x !== null);
  const entries = await Promise.all(entryIds.map((e) => getEntry(db, e)));
  const h = hold.rows[0] as { id: string; status: string; amount_minor: string; amount_posted_minor: string; expires_at: Date; ended_at: Date | null } | undefined;
  return {
    transfer,
    sourceAccount: { id: row.source_account_id, code: row.code, name: row.name },
    events: events.rows.map((e) => ({
      id: e.id,
      fromState: e.from_state,
      toState: e.to_state,
      cause: e.cause,
      actorType: e.actor_type,
      actorId: e.actor_id,
      actorLabel: e.actor_label,
      partnerMessageId: e.partner_message_id,
      detail: e.detail,
      createdAt: e.created_at,
    })),
    partnerRequests: requests.rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      attempt: r.attempt,
      request: r.request,
      response: r.response,
      outcome: r.outcome,
      httpStatus: r.http_status,
      error: r.error,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
    })),
    hold: h ? { id: h.id, status: h.status, amountMinor: BigInt(h.amount_minor), amountPostedMinor: BigInt(h.amount_posted_minor), expiresAt: h.expires_at, endedAt: h.ended_at } : null,
    entries,
    webhooks: webhooks.items,
    audit: audit ? audit.items : null,
  };
}

/** Rail budgets, for the console's stuck explanations. */
export { listRailPolicies };
