/**
 * Versioned matching rule sets: drafts, backtests and activation.
 *
 * Invariants kept:
 * - Exactly one version is active (database: active_marker unique and checked against status).
 * - Only a draft's rules change (trigger recon_rule_sets_guard); a version that was active is
 *   history and keeps its rules, so every match names the rules that made it.
 * - A draft becomes active only by an approved recon_rule_set_activation proposal
 *   (server/recon/adjustment-kinds.ts), applied with a check that the active version is still the
 *   one the proposal was based on.
 * - A backtest changes nothing: it runs the engine from scratch for the draft and for the active
 *   version inside transactions that are rolled back, and compares them line by line.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { previewRuleSet, readRuleSet, type PreviewCounts, type PreviewOutcome } from "./matching";
import { parseRules, type Rule, type RuleSet } from "./rules";
import { getSource } from "./sources";

export interface RuleSetRow extends RuleSet {
  note: string;
  createdAt: Date;
  createdBy: string;
  activatedAt: Date | null;
  proposalId: string | null;
}

interface Raw {
  version: number;
  status: RuleSet["status"];
  rules: unknown;
  auto_apply_threshold: number;
  note: string;
  created_at: Date;
  created_by: string;
  activated_at: Date | null;
  proposal_id: string | null;
}

function toRow(r: Raw): RuleSetRow {
  return {
    version: r.version,
    status: r.status,
    rules: parseRules(r.rules),
    autoApplyThreshold: r.auto_apply_threshold,
    note: r.note,
    createdAt: r.created_at,
    createdBy: r.created_by,
    activatedAt: r.activated_at,
    proposalId: r.proposal_id,
  };
}

const COLUMNS = "version, status, rules, auto_apply_threshold, note, created_at, created_by, activated_at, proposal_id";

export async function listRuleSets(db: Pick<DbHandles, "pool">): Promise<RuleSetRow[]> {
  return (await db.pool.query<Raw>(`SELECT ${COLUMNS} FROM recon_rule_sets ORDER BY version DESC LIMIT 200`)).rows.map(toRow);
}

export async function getRuleSet(q: pg.Pool | pg.ClientBase, version: number): Promise<RuleSetRow> {
  const r = (await q.query<Raw>(`SELECT ${COLUMNS} FROM recon_rule_sets WHERE version = $1`, [version])).rows[0];
  if (!r) throw new AppError("NOT_FOUND", `rule set version ${version} does not exist`, { details: { version } });
  return toRow(r);
}

function checkThreshold(t: number): number {
  if (!Number.isInteger(t) || t < 0 || t > 100) throw new AppError("BAD_INPUT", `autoApplyThreshold ${t} must be a whole number from 0 to 100`);
  return t;
}

/**
 * Saves a new draft version. Errors: BAD_INPUT (rules or threshold invalid, each field named).
 */
export async function createDraftRuleSet(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { rules: unknown; autoApplyThreshold: number; note?: string }, opts: { requestId?: string | null; now?: Date } = {}): Promise<RuleSetRow> {
  const rules: Rule[] = parseRules(input.rules);
  const threshold = checkThreshold(input.autoApplyThreshold);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    await c.query(`LOCK TABLE recon_rule_sets IN SHARE ROW EXCLUSIVE MODE`);
    const row = (
      await c.query<Raw>(
        `INSERT INTO recon_rule_sets (version, status, rules, auto_apply_threshold, note, created_at, created_by)
         SELECT coalesce(max(version), 0) + 1, 'draft', $1, $2, $3, $4, $5 FROM recon_rule_sets RETURNING ${COLUMNS}`,
        [JSON.stringify(rules), threshold, (input.note ?? "").slice(0, 500), now, actor.label],
      )
    ).rows[0]!;
    await appendAudit(pgRunner(c), { actor, action: "recon.rules.draft", targetType: "recon_rule_set", targetId: String(row.version), after: { rules, autoApplyThreshold: threshold, note: row.note }, requestId: opts.requestId ?? null, at: now });
    return toRow(row);
  });
}

/** Replaces a draft's rules. Errors: NOT_FOUND; CONFLICT (not a draft any more); BAD_INPUT. */
export async function updateDraftRuleSet(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { version: number; rules: unknown; autoApplyThreshold: number; note?: string }, opts: { requestId?: string | null; now?: Date } = {}): Promise<RuleSetRow> {
  const rules = parseRules(input.rules);
  const threshold = checkThreshold(input.autoApplyThreshold);
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const before = (await c.query<Raw>(`SELECT ${COLUMNS} FROM recon_rule_sets WHERE version = $1 FOR UPDATE`, [input.version])).rows[0];
    if (!before) throw new AppError("NOT_FOUND", `rule set version ${input.version} does not exist`);
    if (before.status !== "draft") throw new AppError("CONFLICT", `rule set version ${input.version} is ${before.status}; only drafts change (make a new draft)`);
    const row = (
      await c.query<Raw>(`UPDATE recon_rule_sets SET rules = $2, auto_apply_threshold = $3, note = coalesce($4, note) WHERE version = $1 RETURNING ${COLUMNS}`, [
        input.version,
        JSON.stringify(rules),
        threshold,
        input.note?.slice(0, 500) ?? null,
      ])
    ).rows[0]!;
    await appendAudit(pgRunner(c), { actor, action: "recon.rules.update_draft", targetType: "recon_rule_set", targetId: String(input.version), before: toRow(before), after: toRow(row), requestId: opts.requestId ?? null, at: now });
    return toRow(row);
  });
}

export const BACKTEST_DIFF_LIMIT = 200;

export interface BacktestSide extends PreviewCounts {
  version: number;
}

export interface BacktestResult {
  sourceId: string;
  periodFrom: string;
  periodTo: string;
  active: BacktestSide;
  draft: BacktestSide;
  /** Lines the draft would match that the active version leaves unmatched. */
  wouldMatch: number;
  /** Lines the active version matches that the draft would leave unmatched. */
  wouldUnmatch: number;
  /** Lines both match, but differently. */
  wouldRematch: number;
  /** Up to BACKTEST_DIFF_LIMIT of the differing lines. */
  differences: { lineId: string; active: string | null; draft: string | null }[];
}

/**
 * Backtests `version` against the active rule set over a past period of one source, from scratch
 * (every line and item of the period, matched or not), changing nothing. Errors: NOT_FOUND
 * (source, version); BAD_INPUT (period).
 */
export async function backtestRuleSet(db: Pick<DbHandles, "pool">, input: { version: number; sourceId: string; periodFrom: string; periodTo: string }): Promise<BacktestResult> {
  const source = await getSource(db, input.sourceId);
  const draft = await getRuleSet(db.pool, input.version);
  const active = await readRuleSet(db.pool);
  const a = await previewRuleSet(db, source, input.periodFrom, input.periodTo, active);
  const d = await previewRuleSet(db, source, input.periodFrom, input.periodTo, draft);
  let wouldMatch = 0;
  let wouldUnmatch = 0;
  let wouldRematch = 0;
  const differences: BacktestResult["differences"] = [];
  const ids = new Set([...a.assignments.keys(), ...d.assignments.keys()]);
  for (const id of [...ids].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))) {
    const av = a.assignments.get(id) ?? null;
    const dv = d.assignments.get(id) ?? null;
    if (av === dv) continue;
    if (av === null) wouldMatch++;
    else if (dv === null) wouldUnmatch++;
    else wouldRematch++;
    if (differences.length < BACKTEST_DIFF_LIMIT) differences.push({ lineId: id, active: av, draft: dv });
  }
  const side = ({ ruleSetVersion, assignments: _assignments, ...counts }: PreviewOutcome): BacktestSide => ({ version: ruleSetVersion, ...counts });
  return { sourceId: source.id, periodFrom: input.periodFrom, periodTo: input.periodTo, active: side(a), draft: side(d), wouldMatch, wouldUnmatch, wouldRematch, differences };
}

/**
 * Makes `version` the active rule set (inside an approval's transaction). Errors: NOT_FOUND;
 * CONFLICT (not a draft any more, or the active version is no longer `basedOnActiveVersion`).
 */
export async function activateRuleSetInTransaction(c: pg.PoolClient, input: { version: number; basedOnActiveVersion: number; proposalId: string; now: Date }): Promise<{ previous: number; active: number }> {
  const rows = (await c.query<{ version: number; status: string }>(`SELECT version, status FROM recon_rule_sets WHERE version = $1 OR active_marker ORDER BY version FOR UPDATE`, [input.version])).rows;
  const target = rows.find((r) => r.version === input.version);
  const current = rows.find((r) => r.status === "active");
  if (!target) throw new AppError("NOT_FOUND", `rule set version ${input.version} does not exist`);
  if (target.status !== "draft") throw new AppError("CONFLICT", `rule set version ${input.version} is ${target.status}, not a draft`);
  if (!current || current.version !== input.basedOnActiveVersion) {
    throw new AppError("CONFLICT", `the active rule set is version ${current?.version ?? "none"}, not ${input.basedOnActiveVersion} as proposed; propose again`);
  }
  await c.query(`UPDATE recon_rule_sets SET status = 'retired', active_marker = NULL WHERE version = $1`, [current.version]);
  await c.query(`UPDATE recon_rule_sets SET status = 'active', active_marker = true, activated_at = $2, proposal_id = $3 WHERE version = $1`, [input.version, input.now, input.proposalId]);
  return { previous: current.version, active: input.version };
}
