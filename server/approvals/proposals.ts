/**
 * Manual adjustments under four eyes: propose, approve, reject, withdraw, comment, expire.
 *
 * Invariants kept:
 * - An approver is never the proposer: checked here under the proposal's row lock, and again by
 *   the database (trigger adjustment_decisions_guard), for people holding both roles and for any
 *   path (console, raw API). A proposal made through a service key counts as made by the person
 *   who created the key (accountable_user_id, which the database derives from service_keys and
 *   checks on insert), so nobody approves through a key what they could not approve themselves; a
 *   key with no recorded creator cannot propose. Service keys may propose but never approve or
 *   reject.
 * - Approvals are counted per person: the same approver approving twice is refused
 *   (ALREADY_APPROVED) and counts once (unique decision per person and proposal).
 * - Only standing approvers count: when an approval is recorded (and so when the final one
 *   applies the proposal), every earlier approval counts only if its approver is still active,
 *   still holds the approver role and holds no conflicting role (permissions.ts); the others are
 *   named in the audit record (notCounted) and the proposal waits for more.
 * - An adjustment at or above its currency's threshold needs two distinct approvers; the number
 *   needed is the larger of what was stored at proposal time and what the policy says now.
 * - The final approval applies the adjustment exactly once: it locks the proposal row
 *   (SELECT ... FOR UPDATE), re-checks status, expiry, proposer and earlier approvals, executes
 *   the ledger command (or the kind's apply) under the idempotency key `adjustment:<id>`, and
 *   marks the proposal applied, all in one transaction. Concurrent approvals queue on the row
 *   lock; the later one finds the proposal applied. A double click or a retried request is
 *   refused (ALREADY_APPROVED or PROPOSAL_NOT_OPEN), never applied twice.
 * - If the ledger refuses at approval time (a balance limit, a frozen account), the transaction
 *   rolls back (nothing posted, the approval not counted), the proposal stays open, and the
 *   refusal is recorded on the proposal and in the audit log by a separate transaction.
 * - Every step (propose, comment, approve, reject, withdraw, expire, apply, apply_failed) writes an
 *   audit record (target adjustment_proposal/<id>) in the transaction that makes the change.
 * - A proposal past its expiry is treated as expired by every check even before the worker marks
 *   it so; a closed proposal never changes again (the database refuses it).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { auditActorOf, serviceActor, SYSTEM_ACTOR, type Actor } from "../core/actor";
import { assertMayDebit, hasDebitLimits } from "../core/debit-limits";
import { requireStepUp } from "../auth/step-up";
import { conflictingRolesOf, isStandingApprover } from "../core/permissions";
import { AppError } from "../errors/app-error";
import { checkOptionalReason, checkReason } from "../core/reasons";
import { encodeResult, hashRequest } from "../ledger/codec";
import { assertUuid } from "../core/validate";
import { storedIdempotencyKey } from "../core/idempotency";
import { withKeyClaimed } from "../ledger/idempotency";
import { executeLedgerCommandInTransaction } from "../ledger/write-path";
import { parsePayload, type AdjustmentKind, type AdjustmentKinds } from "./kinds";
import type { ApplyOutcome } from "./kinds";
import { checkEvidenceFile, checkEvidenceUrl, type EvidenceFileInput } from "./evidence";
import { readPolicy, requiredApprovalsFor } from "./policy";
import { amountsOf, computePreview } from "./preview";
import { amountsFromJson, amountsToJson, previewToJson, type ProposalStatus } from "./types";

export const MAX_REASON_LENGTH = 2000;
export const MAX_COMMENT_LENGTH = 4000;
export const EXPIRE_BATCH_MAX = 1000;

export interface ActorContext {
  actor: Actor;
  /** The kinds of proposal the application knows (server/composition.ts). */
  kinds: AdjustmentKinds;
  requestId?: string | null;
  /** The client's address, for step-up throttling. */
  ip?: string | null;
  /** The clock (tests pass a fixed time). */
  now?: Date;
}

export interface ProposeInput {
  kind: string;
  payload: unknown;
  reason: string;
  evidenceUrl?: string | null;
  evidenceFile?: EvidenceFileInput | null;
  idempotencyKey: string;
}

export interface ProposeResult {
  id: string;
  status: ProposalStatus;
  requiredApprovals: number;
  expiresAt: Date;
  isReplay: boolean;
}

/** The columns every check needs, read under the row lock. */
export interface ProposalCore {
  id: string;
  kind: string;
  status: ProposalStatus;
  payload: Record<string, unknown>;
  amounts: Record<string, string>;
  required_approvals: number;
  proposer_type: "user" | "service";
  proposer_id: string;
  proposer_label: string;
  /** The person the proposal counts as (the proposer, or the proposing key's creator). */
  accountable_user_id: string | null;
  created_at: Date;
  expires_at: Date;
}

const CORE_COLUMNS = `id, kind, status, payload, amounts, required_approvals, proposer_type, proposer_id, proposer_label, accountable_user_id, created_at, expires_at`;

/**
 * Who proposes: the user or the key, and the person it counts as (accountableUserId): the user
 * themself, or the person who created the key. Nobody decides on what counts as theirs.
 */
export function proposerOf(actor: Actor): { type: "user" | "service"; id: string; label: string; accountableUserId: string | null } {
  return actor.kind === "user"
    ? { type: "user", id: actor.userId, label: actor.email, accountableUserId: actor.userId }
    : { type: "service", id: actor.keyId, label: `service:${actor.name}`, accountableUserId: actor.createdById };
}

/**
 * Whether the proposal counts as `actor`'s: they proposed it, or (a person) they created the key
 * that proposed it. The database's decision guard applies the same rule.
 */
export function isProposer(actor: Actor, p: Pick<ProposalCore, "proposer_type" | "proposer_id" | "accountable_user_id">): boolean {
  const me = proposerOf(actor);
  if (me.type === p.proposer_type && me.id === p.proposer_id) return true;
  return actor.kind === "user" && p.accountable_user_id !== null && p.accountable_user_id === actor.userId;
}


function notOpen(p: Pick<ProposalCore, "id" | "status">): AppError {
  return new AppError("PROPOSAL_NOT_OPEN", `proposal ${p.id} is ${p.status}; it takes no more decisions`, { details: { proposalId: p.id, status: p.status } });
}

function expired(p: Pick<ProposalCore, "id" | "expires_at">): AppError {
  return new AppError("PROPOSAL_EXPIRED", `proposal ${p.id} expired at ${p.expires_at.toISOString()}`, { details: { proposalId: p.id, expiresAt: p.expires_at.toISOString() } });
}

async function readCore(sql: SqlRunner, id: string, lock: boolean): Promise<ProposalCore> {
  const rows = await sql.query<ProposalCore>(`SELECT ${CORE_COLUMNS} FROM adjustment_proposals WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]);
  const p = rows[0];
  if (!p) throw new AppError("NOT_FOUND", `proposal ${id} does not exist`, { details: { proposalId: id } });
  return p;
}

// --- Propose -----------------------------------------------------------------------------------

/**
 * Proposes an adjustment: validates the payload, builds the exact preview with the ledger's dry
 * run, stores both with the number of approvals the policy requires, and audits it. A replay with
 * the same idempotency key and request returns the stored proposal.
 *
 * Errors, in the order they are checked:
 *  1. BAD_INPUT            key, reason, evidence link or file, unknown kind, payload shape
 *  2. FORBIDDEN            the caller may not propose this kind (policy changes need approvals:policy)
 *  3. IDEMPOTENCY_CONFLICT the key was used with a different request
 *  4. NOT_FOUND, INVALID_AMOUNT, UNKNOWN_CURRENCY, CONFLICT   from resolving the payload (unknown
 *                          account or entry, "8.855" EUR, a policy change against an old version)
 *  5. the ledger's refusal of the dry run, which runs as the proposer: UNBALANCED,
 *     ALREADY_REVERSED, CANNOT_REVERSE_REVERSAL, FORBIDDEN (a service key limited in what it may
 *     debit, naming the account), CURRENCY_MISMATCH, ACCOUNT_FROZEN, INSUFFICIENT_FUNDS, ...
 *     (nothing is stored)
 */
export async function proposeAdjustment(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: ProposeInput): Promise<ProposeResult> {
  const now = ctx.now ?? new Date();
  const key = storedIdempotencyKey(ctx.actor, input.idempotencyKey);
  const reason = checkReason(input.reason, { what: "a reason", max: MAX_REASON_LENGTH });
  const evidenceUrl = input.evidenceUrl ? checkEvidenceUrl(input.evidenceUrl) : null;
  const file = input.evidenceFile ? checkEvidenceFile(input.evidenceFile) : null;
  const kind = ctx.kinds.get(input.kind);
  const raw = parsePayload(kind, input.payload);
  if (!ctx.actor.permissions.has(kind.proposePermission)) {
    throw new AppError("FORBIDDEN", `proposing a ${kind.kind} needs the ${kind.proposePermission} permission`);
  }
  const requestHash = hashRequest({ kind: kind.kind, payload: raw, reason, evidenceUrl, file: file ? { name: file.fileName, type: file.contentType, sha256: file.sha256 } : null });
  // The key is claimed for the whole proposal (preview and insert are two transactions): a
  // duplicate waits for the first and gets the stored proposal, never the preview's refusal.
  return withKeyClaimed(db.pool, `proposal:${key}`, () => storeProposal(db, ctx, { key, requestHash, reason, evidenceUrl, file, kind, raw, now }));
}

async function storeProposal(
  db: Pick<DbHandles, "pool">,
  ctx: ActorContext,
  p: { key: string; requestHash: string; reason: string; evidenceUrl: string | null; file: ReturnType<typeof checkEvidenceFile> | null; kind: AdjustmentKind; raw: Record<string, unknown>; now: Date },
): Promise<ProposeResult> {
  const { key, requestHash, reason, evidenceUrl, file, kind, raw, now } = p;
  const replay = await findByKey(db, key, requestHash);
  if (replay) return replay;

  const id = randomUUID();
  const payload = kind.normalize ? await kind.normalize(pgRunner(db.pool), raw) : raw;
  const actor = auditActorOf(ctx.actor);
  // The dry run runs as the proposer: a key limited in what it may debit is refused here, naming
  // the account, before anything is stored.
  const { preview, refusal } = await computePreview(db, ctx.actor, kind, payload, { proposalId: id, now });
  if (refusal) throw refusal;
  const amounts = amountsOf(preview);
  const proposer = proposerOf(ctx.actor);
  if (!proposer.accountableUserId) {
    throw new AppError("FORBIDDEN", `service key ${proposer.label} has no recorded creator, so its proposal would count as nobody's; create a new key (keys record the admin who created them)`);
  }
  const links = kind.links(payload);
  const accountIds = [...new Set(preview.balances.map((b) => b.accountId))];
  const summary = kind.describe(payload).slice(0, 500);

  return runTransaction(db.pool, async (client) => {
    const again = await findByKey(pgRunner(client), key, requestHash);
    if (again) return again;
    const sql = pgRunner(client);
    const policy = await readPolicy(sql);
    const required = kind.requiredApprovals?.(payload) ?? requiredApprovalsFor(amounts, policy.thresholdsMinor);
    const expiresAt = new Date(now.getTime() + policy.effectiveExpiryHours * 3600_000);
    await client.query(
      `INSERT INTO adjustment_proposals (id, kind, status, payload, summary, reason, evidence_url, amounts, account_ids, links, required_approvals, preview,
         proposer_type, proposer_id, proposer_label, idempotency_key, request_hash, created_at, expires_at, applied_entry_ids, accountable_user_id)
       VALUES ($1, $2, 'open', $3::jsonb, $4, $5, $6, $7::jsonb, $8::uuid[], $9::jsonb, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, '{}', $19)`,
      [
        id, kind.kind, JSON.stringify(payload), summary, reason, evidenceUrl, JSON.stringify(amountsToJson(amounts)), accountIds, JSON.stringify(links), required,
        JSON.stringify(previewToJson(preview)), proposer.type, proposer.id, proposer.label, key, requestHash, now, expiresAt, proposer.accountableUserId,
      ],
    );
    if (file) {
      await client.query(
        `INSERT INTO adjustment_evidence (id, proposal_id, file_name, content_type, size_bytes, sha256, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [randomUUID(), id, file.fileName, file.contentType, file.content.length, file.sha256, file.content, now],
      );
    }
    await appendAudit(sql, {
      actor,
      action: "adjustment.propose",
      targetType: "adjustment_proposal",
      targetId: id,
      reason,
      after: {
        kind: kind.kind,
        summary,
        payload,
        amounts: amountsToJson(amounts),
        requiredApprovals: required,
        policyVersion: policy.version,
        expiresAt: expiresAt.toISOString(),
        evidenceUrl,
        evidenceFile: file ? { name: file.fileName, contentType: file.contentType, sizeBytes: file.content.length, sha256: file.sha256 } : null,
      },
      requestId: ctx.requestId ?? null,
      at: now,
    });
    return { id, status: "open" as const, requiredApprovals: required, expiresAt, isReplay: false };
  });
}

async function findByKey(sql: SqlRunner | Pick<DbHandles, "pool">, key: string, requestHash: string): Promise<ProposeResult | null> {
  const runner = "pool" in sql ? pgRunner(sql.pool) : sql;
  const rows = await runner.query<{ id: string; status: ProposalStatus; request_hash: string; required_approvals: number; expires_at: Date }>(
    `SELECT id, status, request_hash, required_approvals, expires_at FROM adjustment_proposals WHERE idempotency_key = $1`,
    [key],
  );
  const r = rows[0];
  if (!r) return null;
  if (r.request_hash !== requestHash) {
    throw new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${key} was already used for a different proposal`, { details: { idempotencyKey: key, proposalId: r.id } });
  }
  return { id: r.id, status: r.status, requiredApprovals: r.required_approvals, expiresAt: r.expires_at, isReplay: true };
}

// --- Approve -----------------------------------------------------------------------------------

export interface ApproveResult {
  proposalId: string;
  status: ProposalStatus;
  approvals: number;
  requiredApprovals: number;
  appliedEntryIds: string[];
}

/** An approver of this proposal: a person with adjustments:approve who did not propose it. */
function requireApprover(actor: Actor): Extract<Actor, { kind: "user" }> {
  if (actor.kind !== "user") throw new AppError("FORBIDDEN", "service keys cannot approve or reject adjustments; a person with the approver role must");
  if (!actor.permissions.has("adjustments:approve")) throw new AppError("FORBIDDEN", "approving or rejecting needs the approver role (permission adjustments:approve)");
  const conflict = conflictingRolesOf(actor.roles);
  if (conflict) {
    throw new AppError("FORBIDDEN", `a person holding both ${conflict[0]} and ${conflict[1]} may not approve or reject (separation of duties); an admin must give up one of them`, {
      details: { roles: [...conflict] },
    });
  }
  return actor;
}

/** The checks every decision repeats under the row lock, in this order. */
function assertDecidable(p: ProposalCore, actor: Actor, now: Date, verb: string): void {
  if (isProposer(actor, p)) {
    const how = p.proposer_type === "service" ? `a service key you created (${p.proposer_label}) proposed ${p.id}` : `you proposed ${p.id}`;
    throw new AppError("SELF_APPROVAL", `${how}; another approver must ${verb} it${verb === "reject" && p.proposer_type === "user" ? " (withdraw it instead)" : ""}`, { details: { proposalId: p.id } });
  }
  if (p.status !== "open") throw notOpen(p);
  if (p.expires_at <= now) throw expired(p);
}

/** Thrown inside the approval transaction when applying fails, so the failure is recorded after rollback. */
class ApplyRefused extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

/**
 * Approves a proposal. The approval that reaches the number required applies the adjustment in
 * the same transaction (see the module comment); an earlier one is recorded and waits for the next.
 *
 * Errors, in the order they are checked:
 *  1. BAD_INPUT          malformed proposal id
 *  2. FORBIDDEN          a service key, a person without adjustments:approve, or one holding a
 *                        conflicting pair of roles (admin and approver)
 *  3. NOT_FOUND
 *  4. SELF_APPROVAL      the caller proposed it
 *  5. PROPOSAL_NOT_OPEN  applied, rejected, withdrawn or expired (by the worker)
 *  6. PROPOSAL_EXPIRED   open but past its expiry
 *  7. ALREADY_APPROVED   the caller approved it before (earlier approvals by people who are no
 *                        longer standing approvers are not counted, see countStandingApprovals)
 *  8. STEP_UP_REQUIRED, STEP_UP_LOCKED, STEP_UP_INVALID   (no code and no open window, locked,
 *                        wrong or replayed code; see server/auth/step-up.ts)
 *  9. the ledger's refusal when applying (INSUFFICIENT_FUNDS, ACCOUNT_FROZEN, ALREADY_REVERSED, ...),
 *     CONFLICT for a policy change overtaken by another, or FORBIDDEN when what it posts debits an
 *     account or currency outside the limits of the service key that proposed it
 *     (assertProposerMayDebit); recorded on the proposal, which stays open
 * Checks 3-7 run again under the row lock after the step-up.
 */
export async function approveProposal(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { proposalId: string; code?: string | null }): Promise<ApproveResult> {
  const id = assertUuid(input.proposalId, "proposalId");
  const user = requireApprover(ctx.actor);
  const now = ctx.now ?? new Date();
  const actor = auditActorOf(user);
  // Cheap checks first, so a code is not spent on a proposal that cannot be approved.
  const pre = await readCore(pgRunner(db.pool), id, false);
  assertDecidable(pre, user, now, "approve");
  await assertNotApprovedBy(pgRunner(db.pool), id, user.userId);
  await requireStepUp(db, user, { code: input.code }, { requestId: ctx.requestId, now, ip: ctx.ip ?? null });

  try {
    return await runTransaction(db.pool, async (client) => {
      const sql = pgRunner(client);
      const p = await readCore(sql, id, true);
      assertDecidable(p, user, now, "approve");
      await assertNotApprovedBy(sql, id, user.userId);
      const { standing: earlier, dropped } = await countStandingApprovals(sql, id);
      await client.query(
        `INSERT INTO adjustment_decisions (proposal_id, decision, actor_id, actor_label, created_at) VALUES ($1, 'approve', $2, $3, $4)`,
        [id, user.userId, user.email, now],
      );
      const kind = ctx.kinds.get(p.kind);
      const payload = parsePayload(kind, p.payload);
      const policy = await readPolicy(sql);
      const required = Math.max(p.required_approvals, kind.requiredApprovals?.(payload) ?? requiredApprovalsFor(amountsFromJson(p.amounts), policy.thresholdsMinor));
      const approvals = earlier + 1;
      await appendAudit(sql, {
        actor,
        action: "adjustment.approve",
        targetType: "adjustment_proposal",
        targetId: id,
        after: { approvals, requiredApprovals: required, isFinal: approvals >= required, ...(dropped.length > 0 ? { notCounted: dropped } : {}) },
        requestId: ctx.requestId ?? null,
        at: now,
      });
      if (approvals < required) return { proposalId: id, status: "open" as const, approvals, requiredApprovals: required, appliedEntryIds: [] };

      let outcome: ApplyOutcome;
      try {
        outcome = await applyKind(client, kind, payload, { proposalId: id, now, actor, idempotencyKey: `adjustment:${id}`, requestId: ctx.requestId ?? null });
        if (p.proposer_type === "service") await assertProposerMayDebit(sql, p.proposer_id, outcome.entryIds);
      } catch (e) {
        // Database retry signals (raw errors) go to runTransaction; a domain refusal is final.
        if (e instanceof AppError && !e.isRetryable) throw new ApplyRefused(e);
        throw e;
      }
      await client.query(
        `UPDATE adjustment_proposals SET status = 'applied', closed_at = $2, closed_by_label = $3, applied_entry_ids = $4::uuid[], result = $5::jsonb WHERE id = $1`,
        [id, now, user.email, outcome.entryIds, JSON.stringify(outcome.result)],
      );
      await appendAudit(sql, {
        actor,
        action: "adjustment.apply",
        targetType: "adjustment_proposal",
        targetId: id,
        before: { status: "open" },
        after: { status: "applied", entryIds: outcome.entryIds, result: outcome.result, approvals, requiredApprovals: required },
        requestId: ctx.requestId ?? null,
        at: now,
      });
      return { proposalId: id, status: "applied" as const, approvals, requiredApprovals: required, appliedEntryIds: outcome.entryIds };
    });
  } catch (e) {
    if (e instanceof ApplyRefused) {
      await recordApplyFailure(db, id, actor, e.error, ctx.requestId ?? null, now);
      throw e.error;
    }
    throw e;
  }
}

/** Earlier approvals of the proposal; ALREADY_APPROVED if the user is among them. */
async function assertNotApprovedBy(sql: SqlRunner, proposalId: string, userId: string): Promise<number> {
  const rows = await sql.query<{ actor_id: string }>(`SELECT actor_id FROM adjustment_decisions WHERE proposal_id = $1 AND decision = 'approve'`, [proposalId]);
  if (rows.some((r) => r.actor_id === userId)) {
    throw new AppError("ALREADY_APPROVED", `you already approved proposal ${proposalId}; it needs another approver, and your approval counts once`, { details: { proposalId } });
  }
  return rows.length;
}

/**
 * The earlier approvals that still count: each approver is, now, active, an approver and free of a
 * conflicting role (isStandingApprover). Their user rows are locked FOR SHARE, so a concurrent
 * deactivation or role change (which lock the same row) either committed before and is seen here,
 * or waits until this approval's transaction ends.
 */
async function countStandingApprovals(sql: SqlRunner, proposalId: string): Promise<{ standing: number; dropped: { actorId: string; reason: string }[] }> {
  const decisions = await sql.query<{ actor_id: string }>(`SELECT actor_id FROM adjustment_decisions WHERE proposal_id = $1 AND decision = 'approve' ORDER BY id`, [proposalId]);
  if (decisions.length === 0) return { standing: 0, dropped: [] };
  const ids = decisions.map((d) => d.actor_id);
  const people = await sql.query<{ id: string; is_active: boolean }>(`SELECT id::text AS id, is_active FROM users WHERE id::text = ANY($1::text[]) ORDER BY id FOR SHARE`, [ids]);
  const roles = await sql.query<{ user_id: string; role: string }>(`SELECT user_id::text AS user_id, role::text AS role FROM user_roles WHERE user_id::text = ANY($1::text[])`, [ids]);
  let standing = 0;
  const dropped: { actorId: string; reason: string }[] = [];
  for (const actorId of ids) {
    const person = people.find((p) => p.id === actorId);
    const held = roles.filter((r) => r.user_id === actorId).map((r) => r.role);
    if (person && isStandingApprover({ isActive: person.is_active, roles: held })) {
      standing++;
      continue;
    }
    dropped.push({ actorId, reason: !person ? "no such user" : !person.is_active ? "deactivated" : conflictingRolesOf(held) ? `holds ${conflictingRolesOf(held)!.join(" and ")}` : "no longer an approver" });
  }
  return { standing, dropped };
}

async function applyKind(client: pg.PoolClient, kind: AdjustmentKind, payload: Record<string, unknown>, ctx: { proposalId: string; now: Date; actor: AuditActor; idempotencyKey: string; requestId: string | null }): Promise<ApplyOutcome> {
  const command = await kind.toLedgerCommand(pgRunner(client), payload, ctx);
  if (kind.apply) return kind.apply(client, payload, { ...ctx, command });
  if (!command) throw new AppError("INTERNAL", `adjustment kind ${kind.kind} has neither a ledger command nor an apply step`);
  const result = await executeLedgerCommandInTransaction(client, ctx.actor, command, { idempotencyKey: ctx.idempotencyKey, requestId: ctx.requestId, now: ctx.now });
  return { entryIds: result.entries.map((e) => e.entryId), result: { ledger: encodeResult(result) } };
}

/**
 * The apply-time half of a service key's debit limits: the entries an approved proposal posted
 * (journal entry, reversal, write-off, force-settle: whatever the kind's apply did) may debit only
 * what the key that proposed it may debit, read again from service_keys. The propose-time dry run
 * already refused such a proposal; this catches one stored before that rule, or a kind whose
 * postings are decided only when applied. FORBIDDEN (names the account) rolls the approval back.
 */
async function assertProposerMayDebit(sql: SqlRunner, keyId: string, entryIds: readonly string[]): Promise<void> {
  if (entryIds.length === 0) return;
  const keys = await sql.query<{ name: string; prefixes: string[]; currencies: string[] }>(
    `SELECT name, coalesce(debit_account_prefixes, '{}') AS prefixes, coalesce(debit_currencies, '{}') AS currencies FROM service_keys WHERE id = $1`,
    [keyId],
  );
  const k = keys[0];
  // Keys are revoked, never deleted (nothing in the product deletes a service_keys row), so a key
  // that authenticated has its row; one without a row never had limits recorded anywhere.
  if (!k) return;
  const key = serviceActor({ id: keyId, name: k.name, scopes: [], debitLimits: { accountCodePrefixes: k.prefixes, currencies: k.currencies } });
  if (!hasDebitLimits(key)) return;
  const debits = await sql.query<{ accountCode: string; currency: string }>(
    `SELECT a.code AS "accountCode", p.currency FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
      WHERE p.entry_id = ANY($1::uuid[]) AND p.side = 'debit' ORDER BY p.entry_id, p.id`,
    [entryIds],
  );
  assertMayDebit(key, debits);
}

/** Records a refused application on the open proposal and in the audit log (its own transaction). */
async function recordApplyFailure(db: Pick<DbHandles, "pool">, id: string, actor: AuditActor, error: AppError, requestId: string | null, now: Date): Promise<void> {
  const failure = { code: error.code, message: error.message, details: error.details ?? null, at: now.toISOString(), byLabel: actor.label };
  await runTransaction(db.pool, async (client) => {
    await client.query(`UPDATE adjustment_proposals SET last_failure = $2::jsonb, failure_count = failure_count + 1 WHERE id = $1 AND status = 'open'`, [id, JSON.stringify(failure)]);
    await appendAudit(pgRunner(client), {
      actor,
      action: "adjustment.apply_failed",
      targetType: "adjustment_proposal",
      targetId: id,
      reason: `${error.code}: ${error.message}`.slice(0, 1000),
      after: { code: error.code, message: error.message, details: error.details ?? null },
      requestId,
      at: now,
    });
  });
}

// --- Reject, withdraw, comment, expire -----------------------------------------------------------

/**
 * Rejects a proposal with a reason; it is closed for good.
 * Errors, in order: BAD_INPUT (id, reason), FORBIDDEN (not a person with adjustments:approve),
 * NOT_FOUND, SELF_APPROVAL (the proposer withdraws instead), PROPOSAL_NOT_OPEN, PROPOSAL_EXPIRED.
 */
export async function rejectProposal(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { proposalId: string; reason: string }): Promise<{ proposalId: string; status: ProposalStatus }> {
  const id = assertUuid(input.proposalId, "proposalId");
  const reason = checkReason(input.reason, { what: "a reason for the rejection", max: MAX_REASON_LENGTH });
  const user = requireApprover(ctx.actor);
  const now = ctx.now ?? new Date();
  return runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    const p = await readCore(sql, id, true);
    assertDecidable(p, user, now, "reject");
    await client.query(
      `INSERT INTO adjustment_decisions (proposal_id, decision, actor_id, actor_label, reason, created_at) VALUES ($1, 'reject', $2, $3, $4, $5)`,
      [id, user.userId, user.email, reason, now],
    );
    await client.query(`UPDATE adjustment_proposals SET status = 'rejected', closed_at = $2, closed_by_label = $3, close_reason = $4 WHERE id = $1`, [id, now, user.email, reason]);
    await appendAudit(sql, { actor: auditActorOf(user), action: "adjustment.reject", targetType: "adjustment_proposal", targetId: id, reason, before: { status: "open" }, after: { status: "rejected" }, requestId: ctx.requestId ?? null, at: now });
    return { proposalId: id, status: "rejected" as const };
  });
}

/**
 * The proposer withdraws their open proposal.
 * Errors, in order: BAD_INPUT (id, reason too long), NOT_FOUND, FORBIDDEN (not the proposer),
 * PROPOSAL_NOT_OPEN, PROPOSAL_EXPIRED.
 */
export async function withdrawProposal(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { proposalId: string; reason?: string | null }): Promise<{ proposalId: string; status: ProposalStatus }> {
  const id = assertUuid(input.proposalId, "proposalId");
  const reason = checkOptionalReason(input.reason, { what: "the reason", max: MAX_REASON_LENGTH });
  const now = ctx.now ?? new Date();
  return runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    const p = await readCore(sql, id, true);
    if (!isProposer(ctx.actor, p)) throw new AppError("FORBIDDEN", `only the proposer (${p.proposer_label}) can withdraw proposal ${id}`, { details: { proposalId: id } });
    if (p.status !== "open") throw notOpen(p);
    if (p.expires_at <= now) throw expired(p);
    const me = proposerOf(ctx.actor);
    await client.query(`UPDATE adjustment_proposals SET status = 'withdrawn', closed_at = $2, closed_by_label = $3, close_reason = $4 WHERE id = $1`, [id, now, me.label, reason]);
    await appendAudit(sql, { actor: auditActorOf(ctx.actor), action: "adjustment.withdraw", targetType: "adjustment_proposal", targetId: id, reason, before: { status: "open" }, after: { status: "withdrawn" }, requestId: ctx.requestId ?? null, at: now });
    return { proposalId: id, status: "withdrawn" as const };
  });
}

/** Who takes part in the discussion: the proposer and anyone who may propose, approve or change policy. */
export function canComment(actor: Actor, p: Pick<ProposalCore, "proposer_type" | "proposer_id" | "accountable_user_id">): boolean {
  return isProposer(actor, p) || ["adjustments:propose", "adjustments:approve", "approvals:policy"].some((perm) => actor.permissions.has(perm as never));
}

/**
 * Adds a comment to a proposal (open or closed). Idempotent by key: the same key and comment
 * returns the stored comment.
 * Errors, in order: BAD_INPUT (id, key, empty or too long), NOT_FOUND, FORBIDDEN (a reader who
 * takes no part), IDEMPOTENCY_CONFLICT.
 */
export async function commentOnProposal(
  db: Pick<DbHandles, "pool">,
  ctx: ActorContext,
  input: { proposalId: string; body: string; idempotencyKey: string },
): Promise<{ id: string; createdAt: Date; isReplay: boolean }> {
  const id = assertUuid(input.proposalId, "proposalId");
  const key = storedIdempotencyKey(ctx.actor, input.idempotencyKey);
  const body = typeof input.body === "string" ? input.body.trim() : "";
  if (body.length === 0) throw new AppError("BAD_INPUT", "a comment cannot be empty");
  if (body.length > MAX_COMMENT_LENGTH) throw new AppError("BAD_INPUT", `a comment is at most ${MAX_COMMENT_LENGTH} characters`);
  const now = ctx.now ?? new Date();
  return runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    const p = await readCore(sql, id, false);
    if (!canComment(ctx.actor, p)) throw new AppError("FORBIDDEN", "commenting needs a part in approvals (proposer, operator, approver or policy admin)");
    const existing = await sql.query<{ id: string; proposal_id: string; body: string; created_at: Date }>(`SELECT id::text, proposal_id, body, created_at FROM adjustment_comments WHERE idempotency_key = $1`, [key]);
    const prev = existing[0];
    if (prev) {
      if (prev.proposal_id !== id || prev.body !== body) throw new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${key} was already used for a different comment`);
      return { id: prev.id, createdAt: prev.created_at, isReplay: true };
    }
    const author = proposerOf(ctx.actor);
    const rows = await sql.query<{ id: string }>(
      `INSERT INTO adjustment_comments (proposal_id, author_type, author_id, author_label, body, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text`,
      [id, author.type, author.id, author.label, body, key, now],
    );
    await appendAudit(sql, { actor: auditActorOf(ctx.actor), action: "adjustment.comment", targetType: "adjustment_proposal", targetId: id, after: { commentId: rows[0]!.id, body }, requestId: ctx.requestId ?? null, at: now });
    return { id: rows[0]!.id, createdAt: now, isReplay: false };
  });
}

/**
 * Marks open proposals past their expiry as expired, at most `limit` per call (oldest first),
 * each with an audit record by the system. Safe to run from several workers (SKIP LOCKED).
 */
export async function expireDueProposals(db: Pick<DbHandles, "pool">, now: Date, limit = 500): Promise<string[]> {
  const n = Math.min(Math.max(Math.trunc(limit), 1), EXPIRE_BATCH_MAX);
  return runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    const due = await sql.query<{ id: string; expires_at: Date }>(
      `SELECT id, expires_at FROM adjustment_proposals WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, n],
    );
    if (due.length === 0) return [];
    await client.query(`UPDATE adjustment_proposals SET status = 'expired', closed_at = $2, closed_by_label = 'system', close_reason = 'expired' WHERE id = ANY($1::uuid[])`, [due.map((d) => d.id), now]);
    for (const d of due) {
      await appendAudit(sql, { actor: SYSTEM_ACTOR, action: "adjustment.expire", targetType: "adjustment_proposal", targetId: d.id, before: { status: "open" }, after: { status: "expired", expiresAt: d.expires_at.toISOString() }, at: now });
    }
    return due.map((d) => d.id);
  });
}
