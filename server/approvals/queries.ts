/**
 * The read side of approvals: the inbox views, one proposal with its live preview, the badge
 * count, and evidence files.
 *
 * Invariants kept:
 * - Lists are keyset-paginated on (created_at, id), newest first, and bounded (MAX_PAGE_SIZE).
 * - Status is the effective status: an open proposal past its expiry reads as expired even before
 *   the worker marks it.
 * - "Waiting for me" is exactly what the caller could approve now: open, not expired, not proposed
 *   by them and not already approved by them. A reader without adjustments:approve has nothing
 *   waiting for them.
 * - The live preview is computed only for open proposals, by the same dry run as at proposal time,
 *   and compared with the stored one.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { auditActorOf, type Actor } from "../core/actor";
import { AppError } from "../errors/app-error";
import { decodeKeysetCursor, encodeKeysetCursor } from "../core/keyset-cursor";
import { assertUuid } from "../core/validate";
import { parsePayload } from "./kinds";
import { canComment, isProposer, proposerOf, type ActorContext, type ProposalCore } from "./proposals";
import { conflictingRolesOf } from "../core/permissions";
import { describeThresholds, readPolicy, requiredApprovalsFor } from "./policy";
import { computePreview, diffPreviews, type PreviewDifference } from "./preview";
import {
  amountsFromJson,
  previewFromJson,
  type ApplyFailure,
  type Comment,
  type Decision,
  type EvidenceMeta,
  type Preview,
  type ProposalAmount,
  type ProposalLink,
  type ProposalStatus,
} from "./types";
import { sqlParams } from "../core/sql-params";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

export const INBOX_VIEWS = ["waiting_for_me", "waiting_for_others", "mine", "all"] as const;
export type InboxView = (typeof INBOX_VIEWS)[number];

export interface ProposalListItem {
  id: string;
  kind: string;
  kindLabel: string;
  summary: string;
  status: ProposalStatus;
  amounts: ProposalAmount[];
  accountCodes: string[];
  proposerLabel: string;
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
  approvals: number;
  requiredApprovals: number;
  hasFailure: boolean;
}

export interface ProposalPage {
  items: ProposalListItem[];
  nextCursor: string | null;
}

interface ListRow {
  id: string;
  kind: string;
  status: ProposalStatus;
  summary: string;
  amounts: Record<string, string>;
  required_approvals: number;
  proposer_label: string;
  created_at: Date;
  expires_at: Date;
  closed_at: Date | null;
  approvals: number;
  account_codes: string[] | null;
  has_failure: boolean;
}

function effectiveStatus(status: ProposalStatus, expiresAt: Date, now: Date): ProposalStatus {
  return status === "open" && expiresAt <= now ? "expired" : status;
}

export interface ListInput {
  view: InboxView;
  status?: ProposalStatus;
  kind?: string;
  cursor?: string;
  limit?: number;
}

/**
 * One page of an inbox view, newest first.
 * Errors: BAD_INPUT (unknown view, malformed cursor, limit outside 1..MAX_PAGE_SIZE).
 */
export async function listProposals(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: ListInput): Promise<ProposalPage> {
  const now = ctx.now ?? new Date();
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new AppError("BAD_INPUT", `limit ${limit} is outside 1..${MAX_PAGE_SIZE}`);
  if (!INBOX_VIEWS.includes(input.view)) throw new AppError("BAD_INPUT", `unknown view ${JSON.stringify(input.view)}`);
  const me = proposerOf(ctx.actor);
  const { values: params, add: p } = sqlParams();
  const where: string[] = [];
  // Built on use: every placeholder must appear in the statement.
  const approvedByMe = () => `EXISTS (SELECT 1 FROM adjustment_decisions d WHERE d.proposal_id = a.id AND d.decision = 'approve' AND d.actor_id = ${p(me.id)})`;
  const isOpenNow = () => `a.status = 'open' AND a.expires_at > ${p(now)}`;
  // Mine: proposed by me, or (a person) through a key I created: it counts as mine (four eyes).
  const isMine = () =>
    me.type === "user" ? `((a.proposer_type = ${p(me.type)} AND a.proposer_id = ${p(me.id)}) OR a.accountable_user_id = ${p(me.id)})` : `(a.proposer_type = ${p(me.type)} AND a.proposer_id = ${p(me.id)})`;
  switch (input.view) {
    case "waiting_for_me":
      if (!canApprove(ctx.actor)) return { items: [], nextCursor: null };
      where.push(isOpenNow(), `NOT ${isMine()}`, `NOT ${approvedByMe()}`);
      break;
    case "waiting_for_others":
      where.push(isOpenNow(), canApprove(ctx.actor) ? `(${isMine()} OR ${approvedByMe()})` : isMine());
      break;
    case "mine":
      where.push(isMine());
      break;
    case "all":
      break;
  }
  if (input.status === "open") where.push(isOpenNow());
  else if (input.status === "expired") where.push(`(a.status = 'expired' OR (a.status = 'open' AND a.expires_at <= ${p(now)}))`);
  else if (input.status) where.push(`a.status = ${p(input.status)}::adjustment_status`);
  if (input.kind) where.push(`a.kind = ${p(input.kind)}`);
  if (input.cursor) {
    const c = decodeKeysetCursor(input.cursor, "timestamp");
    where.push(`(a.created_at, a.id) < (${p(c.v)}::timestamptz, ${p(c.id)}::uuid)`);
  }
  const rows = await pgRunner(db.pool).query<ListRow>(
    `SELECT a.id, a.kind, a.status, a.summary, a.amounts, a.required_approvals, a.proposer_label, a.created_at, a.expires_at, a.closed_at,
            (SELECT count(*)::int FROM adjustment_decisions d WHERE d.proposal_id = a.id AND d.decision = 'approve') AS approvals,
            (SELECT array_agg(l.code ORDER BY l.code) FROM ledger_accounts l WHERE l.id = ANY(a.account_ids)) AS account_codes,
            a.last_failure IS NOT NULL AS has_failure
       FROM adjustment_proposals a
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY a.created_at DESC, a.id DESC LIMIT ${p(limit + 1)}`,
    params,
  );
  const policy = await readPolicy(pgRunner(db.pool));
  const page = rows.slice(0, limit);
  const last = rows.length > limit ? page.at(-1) : undefined;
  return {
    items: page.map((r) => {
      const amounts = amountsFromJson(r.amounts);
      const byPolicy = r.kind === "policy_change" ? 1 : requiredApprovalsFor(amounts, policy.thresholdsMinor);
      return {
        id: r.id,
        kind: r.kind,
        kindLabel: ctx.kinds.labelOf(r.kind),
        summary: r.summary,
        status: effectiveStatus(r.status, r.expires_at, now),
        amounts,
        accountCodes: r.account_codes ?? [],
        proposerLabel: r.proposer_label,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        closedAt: r.closed_at,
        approvals: r.approvals,
        requiredApprovals: r.status === "open" ? Math.max(r.required_approvals, byPolicy) : r.required_approvals,
        hasFailure: r.has_failure,
      };
    }),
    nextCursor: last ? encodeKeysetCursor({ v: last.created_at.toISOString(), id: last.id }) : null,
  };
}

function canApprove(actor: Actor): boolean {
  return actor.kind === "user" && actor.permissions.has("adjustments:approve");
}

/** How many proposals wait for the caller's approval now (the nav badge); 0 for non-approvers. */
export async function countWaitingForMe(db: Pick<DbHandles, "pool">, ctx: ActorContext): Promise<number> {
  if (!canApprove(ctx.actor) || ctx.actor.kind !== "user") return 0;
  const now = ctx.now ?? new Date();
  const rows = await pgRunner(db.pool).query<{ n: number }>(
    `SELECT count(*)::int AS n FROM adjustment_proposals a
      WHERE a.status = 'open' AND a.expires_at > $1 AND NOT (a.proposer_type = 'user' AND a.proposer_id = $2) AND a.accountable_user_id IS DISTINCT FROM $2
        AND NOT EXISTS (SELECT 1 FROM adjustment_decisions d WHERE d.proposal_id = a.id AND d.decision = 'approve' AND d.actor_id = $2)`,
    [now, ctx.actor.userId],
  );
  return rows[0]?.n ?? 0;
}

export interface ViewerRights {
  canApprove: boolean;
  canReject: boolean;
  canWithdraw: boolean;
  canComment: boolean;
  /** Why the caller cannot approve, in words; null when they can. */
  approveBlockedReason: string | null;
  isProposer: boolean;
}

export interface ProposalDetail {
  id: string;
  kind: string;
  kindLabel: string;
  status: ProposalStatus;
  summary: string;
  reason: string;
  payload: Record<string, unknown>;
  evidenceUrl: string | null;
  evidence: EvidenceMeta[];
  amounts: ProposalAmount[];
  links: ProposalLink[];
  requiredApprovals: number;
  approvals: Decision[];
  rejection: Decision | null;
  proposer: { type: "user" | "service"; id: string; label: string };
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
  closedByLabel: string | null;
  closeReason: string | null;
  appliedEntryIds: string[];
  result: Record<string, unknown> | null;
  lastFailure: ApplyFailure | null;
  failureCount: number;
  /** What the proposer saw. */
  proposedPreview: Preview;
  /** Recomputed now (open proposals only). */
  livePreview: Preview | null;
  staleness: PreviewDifference | null;
  comments: Comment[];
  viewer: ViewerRights;
}

interface DetailRow extends ProposalCore {
  summary: string;
  reason: string;
  evidence_url: string | null;
  links: ProposalLink[];
  preview: Record<string, unknown>;
  closed_at: Date | null;
  closed_by_label: string | null;
  close_reason: string | null;
  applied_entry_ids: string[] | null;
  result: Record<string, unknown> | null;
  last_failure: { code: string; message: string; at: string; byLabel: string } | null;
  failure_count: number;
}

/**
 * One proposal with its decisions, comments, evidence, the proposer's preview, a live preview and
 * what differs between them, and what the caller may do with it.
 * Errors: BAD_INPUT (malformed id), NOT_FOUND.
 */
export async function getProposal(db: Pick<DbHandles, "pool">, ctx: ActorContext, proposalId: string, opts: { withLivePreview?: boolean } = {}): Promise<ProposalDetail> {
  const id = assertUuid(proposalId, "proposalId");
  const now = ctx.now ?? new Date();
  const sql = pgRunner(db.pool);
  const rows = await sql.query<DetailRow>(
    `SELECT id, kind, status, payload, amounts, required_approvals, proposer_type, proposer_id, proposer_label, accountable_user_id, created_at, expires_at,
            summary, reason, evidence_url, links, preview, closed_at, closed_by_label, close_reason, applied_entry_ids, result, last_failure, failure_count
       FROM adjustment_proposals WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) throw new AppError("NOT_FOUND", `proposal ${proposalId} does not exist`, { details: { proposalId } });
  const [decisions, comments, evidence, policy] = await Promise.all([
    sql.query<{ decision: "approve" | "reject"; actor_id: string; actor_label: string; reason: string | null; created_at: Date }>(
      `SELECT decision, actor_id, actor_label, reason, created_at FROM adjustment_decisions WHERE proposal_id = $1 ORDER BY id`,
      [id],
    ),
    sql.query<{ id: string; author_type: string; author_label: string; body: string; created_at: Date }>(
      `SELECT id::text, author_type, author_label, body, created_at FROM adjustment_comments WHERE proposal_id = $1 ORDER BY id LIMIT 500`,
      [id],
    ),
    sql.query<{ id: string; file_name: string; content_type: string; size_bytes: number; sha256: string; created_at: Date }>(
      `SELECT id, file_name, content_type, size_bytes, sha256, created_at FROM adjustment_evidence WHERE proposal_id = $1 ORDER BY created_at`,
      [id],
    ),
    readPolicy(sql),
  ]);
  const status = effectiveStatus(r.status, r.expires_at, now);
  const kind = ctx.kinds.get(r.kind);
  const payload = parsePayload(kind, r.payload);
  const amounts = amountsFromJson(r.amounts);
  const required = r.status === "open" ? Math.max(r.required_approvals, kind.requiredApprovals?.(payload) ?? requiredApprovalsFor(amounts, policy.thresholdsMinor)) : r.required_approvals;
  const toDecision = (d: (typeof decisions)[number]): Decision => ({ decision: d.decision, actorId: d.actor_id, actorLabel: d.actor_label, reason: d.reason, createdAt: d.created_at });
  const approvals = decisions.filter((d) => d.decision === "approve").map(toDecision);
  const rejection = decisions.find((d) => d.decision === "reject");
  const proposedPreview = previewFromJson(r.preview);

  let livePreview: Preview | null = null;
  if (status === "open" && opts.withLivePreview !== false) {
    livePreview = (await computePreview(db, auditActorOf(ctx.actor), kind, payload, { proposalId: id, now })).preview;
  }

  return {
    id: r.id,
    kind: r.kind,
    kindLabel: kind.label,
    status,
    summary: r.summary,
    reason: r.reason,
    payload,
    evidenceUrl: r.evidence_url,
    evidence: evidence.map((e) => ({ id: e.id, fileName: e.file_name, contentType: e.content_type, sizeBytes: e.size_bytes, sha256: e.sha256, createdAt: e.created_at })),
    amounts,
    links: r.links,
    requiredApprovals: required,
    approvals,
    rejection: rejection ? toDecision(rejection) : null,
    proposer: { type: r.proposer_type, id: r.proposer_id, label: r.proposer_label },
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    closedAt: r.closed_at,
    closedByLabel: r.closed_by_label,
    closeReason: r.close_reason,
    appliedEntryIds: r.applied_entry_ids ?? [],
    result: r.result,
    lastFailure: r.last_failure ? { code: r.last_failure.code, message: r.last_failure.message, at: new Date(r.last_failure.at), byLabel: r.last_failure.byLabel } : null,
    failureCount: r.failure_count,
    proposedPreview,
    livePreview,
    staleness: livePreview ? diffPreviews(proposedPreview, livePreview) : null,
    comments: comments.map((c) => ({ id: c.id, authorType: c.author_type, authorLabel: c.author_label, body: c.body, createdAt: c.created_at })),
    viewer: viewerRights(ctx.actor, r, status, approvals, now),
  };
}

function viewerRights(actor: Actor, p: ProposalCore, status: ProposalStatus, approvals: Decision[], now: Date): ViewerRights {
  const mine = isProposer(actor, p);
  let blocked: string | null = null;
  if (actor.kind !== "user") blocked = "Service keys cannot approve adjustments.";
  else if (!actor.permissions.has("adjustments:approve")) blocked = "Approving needs the approver role.";
  else if (conflictingRolesOf(actor.roles)) blocked = `You hold both ${conflictingRolesOf(actor.roles)!.join(" and ")}; a person holding both may not approve (separation of duties).`;
  else if (mine) blocked = p.proposer_type === "service" ? "A service key you created proposed this adjustment; another approver must decide on it." : "You proposed this adjustment; another approver must decide on it.";
  else if (status !== "open") blocked = p.expires_at <= now && p.status === "open" ? `This proposal expired at ${p.expires_at.toISOString()}.` : `This proposal is ${status}.`;
  else if (approvals.some((a) => a.actorId === actor.userId)) blocked = "You approved this; it waits for a second approver.";
  const isDecider = actor.kind === "user" && actor.permissions.has("adjustments:approve") && !mine && status === "open";
  return {
    canApprove: blocked === null,
    canReject: isDecider,
    canWithdraw: mine && status === "open",
    canComment: canComment(actor, p),
    approveBlockedReason: blocked,
    isProposer: mine,
  };
}

/**
 * An evidence file's bytes, for download.
 * Errors: BAD_INPUT (malformed ids), NOT_FOUND (no such file on that proposal).
 */
export async function getEvidenceFile(db: Pick<DbHandles, "pool">, input: { proposalId: string; evidenceId: string }): Promise<{ fileName: string; contentType: string; sha256: string; content: Buffer }> {
  const proposalId = assertUuid(input.proposalId, "proposalId");
  const evidenceId = assertUuid(input.evidenceId, "evidenceId");
  const rows = await pgRunner(db.pool).query<{ file_name: string; content_type: string; sha256: string; content: Buffer }>(
    `SELECT file_name, content_type, sha256, content FROM adjustment_evidence WHERE id = $1 AND proposal_id = $2`,
    [evidenceId, proposalId],
  );
  const r = rows[0];
  if (!r) throw new AppError("NOT_FOUND", `evidence ${evidenceId} does not exist on proposal ${proposalId}`);
  return { fileName: r.file_name, contentType: r.content_type, sha256: r.sha256, content: r.content };
}

/** The policy in force, for people. */
export async function getPolicySummary(db: Pick<DbHandles, "pool">) {
  const policy = await readPolicy(pgRunner(db.pool));
  return {
    version: policy.version,
    thresholds: describeThresholds(policy.thresholdsMinor),
    expiryHours: policy.expiryHours,
    effectiveExpiryHours: policy.effectiveExpiryHours,
    createdAt: policy.createdAt,
    proposalId: policy.proposalId,
  };
}

