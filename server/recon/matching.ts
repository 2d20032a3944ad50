/**
 * The matching engine: set-based SQL over a run's unmatched statement lines and ledger items,
 * never a loop per line. A run reads its candidates into temporary tables, applies the rule set's
 * rules in priority order (each rule a handful of statements whatever the number of lines), then
 * writes matches, suggestions and breaks, and closes the breaks whose line or posting is now
 * matched.
 *
 * Ledger items are the postings on the source's ledger account (for a partner rail source, only
 * those of transfers on its rail), with the references of the transfer they settle or return:
 * its id, idempotency key, partner reference and reference.
 *
 * Invariants kept:
 * - A line or ledger item is in at most one match: candidates are resolved so each line and each
 *   item belongs to one group (ranked pairing, groups whose members are claimed once), every step
 *   excludes what earlier steps took, and the database enforces it again (recon_match_lines keyed
 *   by line, recon_match_items by source and posting).
 * - Nothing matches across currencies or directions: every rule joins on both.
 * - Idempotent: a run only considers what is still unmatched and opens a break only where none is
 *   open for the same line or posting; running twice changes nothing the second time.
 * - A preview (backtest) runs the same statements from scratch inside a transaction that is rolled
 *   back: it changes nothing.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { acquireClient, releaseClient } from "../db/connection";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { parseRules, RULE_CONFIDENCE, widestWindowDays, type Rule, type RuleSet } from "./rules";
import { getSource, type ReconSource } from "./sources";
import { MIN_REFERENCE_LENGTH, normRefSql } from "./references";

const norm = normRefSql;
/** Rounds of ranked pairing per one-to-one rule (each round pairs what the previous left). */
const PAIRING_ROUNDS = 4;
/** A run covers at most this many days. */
export const MAX_RUN_DAYS = 366;
/**
 * Statement time-out inside imports, runs and previews: a million lines make statements that
 * run longer than the API's DB_STATEMENT_TIMEOUT_MS, and they are bounded by the file size and
 * the period instead.
 */
export const RECON_STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = '600s'";

export type RunTrigger = "import" | "schedule" | "manual";

export interface RunSummary {
  lines: number;
  matchedLines: number;
  autoMatches: number;
  autoMatchedLines: number;
  suggestions: number;
  breaksOpened: number;
  breaksResolved: number;
  openBreaksByType: Record<string, number>;
  /** Matched lines / lines of the period, in basis points (10000 = all). */
  matchRateBps: number;
  /** Open breaks' amounts per currency (minor units, integer strings). */
  unreconciledMinorByCurrency: Record<string, string>;
}

export interface RunResult {
  runId: string;
  sourceId: string;
  periodFrom: string;
  periodTo: string;
  ruleSetVersion: number;
  summary: RunSummary;
}

interface EngineOptions {
  source: ReconSource;
  periodFrom: string;
  periodTo: string;
  ruleSet: RuleSet;
  /** Consider every line and item of the period, matched or not (previews). */
  isFromScratch: boolean;
}

/** Reads the active rule set, or the given version. Errors: NOT_FOUND. */
export async function readRuleSet(q: pg.Pool | pg.ClientBase, version?: number): Promise<RuleSet> {
  const res = await q.query<{ version: number; status: RuleSet["status"]; rules: unknown; auto_apply_threshold: number }>(
    version === undefined
      ? `SELECT version, status, rules, auto_apply_threshold FROM recon_rule_sets WHERE active_marker`
      : `SELECT version, status, rules, auto_apply_threshold FROM recon_rule_sets WHERE version = $1`,
    version === undefined ? [] : [version],
  );
  const row = res.rows[0];
  if (!row) throw new AppError("NOT_FOUND", version === undefined ? "no matching rule set is active" : `rule set version ${version} does not exist`);
  return { version: row.version, status: row.status, rules: parseRules(row.rules), autoApplyThreshold: row.auto_apply_threshold };
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function checkPeriod(periodFrom: string, periodTo: string): void {
  const ok = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
  if (!ok(periodFrom) || !ok(periodTo)) throw new AppError("BAD_INPUT", `period ${periodFrom} to ${periodTo}: dates must be YYYY-MM-DD`);
  if (periodFrom > periodTo) throw new AppError("BAD_INPUT", `period ${periodFrom} to ${periodTo}: the start is after the end`);
  const daysLong = (Date.parse(periodTo) - Date.parse(periodFrom)) / 86_400_000 + 1;
  if (daysLong > MAX_RUN_DAYS) throw new AppError("BAD_INPUT", `period ${periodFrom} to ${periodTo} is ${daysLong} days; at most ${MAX_RUN_DAYS}`);
}

// ---------------------------------------------------------------------------------------------
// The engine

/** Reads the candidates into temporary tables rl (lines), rl_ref, ri (items), ri_ref, and creates pairs. */
async function collect(c: pg.PoolClient, o: EngineOptions): Promise<void> {
  const window = widestWindowDays(o.ruleSet.rules);
  await c.query(`CREATE TEMP TABLE rl (id bigint PRIMARY KEY, amount bigint NOT NULL, currency text NOT NULL, direction text NOT NULL, d date NOT NULL, cp text NOT NULL, details jsonb, refs text[], grp bigint) WITH (fillfactor = 50) ON COMMIT DROP`);
  await c.query(
    `INSERT INTO rl (id, amount, currency, direction, d, cp, details, refs)
     SELECT l.id, l.amount_minor, l.currency::text, l.direction, coalesce(l.value_date, l.booking_date), ${norm("l.counterparty_name")}, l.details, l.ref_keys
       FROM recon_lines l
      WHERE l.source_id = $1 AND l.booking_date BETWEEN $2::date AND $3::date AND l.is_booked
        AND ($4::boolean OR NOT EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id))`,
    [o.source.id, o.periodFrom, o.periodTo, o.isFromScratch],
  );
  await c.query(`CREATE TEMP TABLE rl_ref (line_id bigint NOT NULL, ref text NOT NULL) ON COMMIT DROP`);
  // Lines' references were normalized when imported (recon_lines.ref_keys, distinct per line).
  await c.query(`INSERT INTO rl_ref (line_id, ref) SELECT rl.id, unnest(rl.refs) FROM rl`);
  await c.query(`CREATE TEMP TABLE ri (id bigint PRIMARY KEY, amount bigint NOT NULL, currency text NOT NULL, direction text NOT NULL, d date NOT NULL, cp text NOT NULL, entry_id uuid NOT NULL, transfer_id uuid, grp bigint) WITH (fillfactor = 50) ON COMMIT DROP`);
  await c.query(
    `INSERT INTO ri (id, amount, currency, direction, d, cp, entry_id, transfer_id)
     SELECT p.id, p.amount_minor, p.currency::text, CASE WHEN p.side::text = $2 THEN 'credit' ELSE 'debit' END, (e.effective_at AT TIME ZONE 'UTC')::date,
            ${norm("coalesce(ts.counterparty_name, tr.counterparty_name)")}, e.id, coalesce(ts.id, tr.id)
       FROM postings p
       JOIN journal_entries e ON e.id = p.entry_id
       LEFT JOIN transfers ts ON ts.settlement_entry_id = e.id
       LEFT JOIN transfers tr ON tr.return_entry_id = e.id
      WHERE p.account_id = $1
        AND e.effective_at >= ($3::date::timestamp AT TIME ZONE 'UTC') AND e.effective_at < ($4::date::timestamp AT TIME ZONE 'UTC')
        AND ($5::text IS NULL OR coalesce(ts.rail, tr.rail) = $5)
        AND ($6::boolean OR NOT EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = $7 AND m.posting_id = p.id))`,
    [o.source.ledgerAccountId, o.source.normalSide, addDays(o.periodFrom, -window), addDays(o.periodTo, window + 1), o.source.kind === "partner_rail" ? o.source.rail : null, o.isFromScratch, o.source.id],
  );
  await c.query(`CREATE TEMP TABLE ri_ref (item_id bigint NOT NULL, ref text NOT NULL) ON COMMIT DROP`);
  await c.query(
    `INSERT INTO ri_ref (item_id, ref)
     SELECT DISTINCT x.id, x.r FROM (
       SELECT ri.id, ${norm("v.raw")} AS r FROM ri
         JOIN journal_entries e ON e.id = ri.entry_id
         LEFT JOIN transfers t ON t.id = ri.transfer_id
         CROSS JOIN LATERAL (VALUES (t.idempotency_key), (t.partner_ref), (t.id::text), (t.reference), (e.metadata->>'reference')) AS v(raw)
        WHERE v.raw IS NOT NULL) x
      WHERE length(x.r) >= ${MIN_REFERENCE_LENGTH}`,
  );
  // By line and by item: the corroboration check of amount_date looks up one pair's references.
  await c.query(`CREATE INDEX ON rl_ref (line_id); CREATE INDEX ON ri_ref (item_id)`);
  await c.query(`ANALYZE rl; ANALYZE rl_ref; ANALYZE ri; ANALYZE ri_ref`);
  await c.query(
    `CREATE TEMP TABLE pairs (grp bigint NOT NULL, line_id bigint NOT NULL, item_id bigint NOT NULL, rule text NOT NULL, confidence int NOT NULL, diff bigint NOT NULL, currency text NOT NULL, step int NOT NULL) ON COMMIT DROP`,
  );
}

/** Marks the lines and items `step` paired as taken, so later steps do not see them. */
async function take(c: pg.PoolClient, step: number, inserted = 1): Promise<number> {
  if (inserted === 0) return 0;
  const n = (await c.query(`UPDATE rl SET grp = p.grp FROM pairs p WHERE p.line_id = rl.id AND p.step = $1`, [step])).rowCount ?? 0;
  await c.query(`UPDATE ri SET grp = p.grp FROM pairs p WHERE p.item_id = ri.id AND p.step = $1`, [step]);
  return n;
}

/**
 * One-to-one ranked pairing over candidate (line, item, diff) rows given by `candidates` (a
 * SELECT over rl/ri with `rl.grp IS NULL AND ri.grp IS NULL`): a pair is taken when each is the
 * other's first candidate; repeated so that a line whose first choice went elsewhere gets its next.
 */
async function pairOneToOne(c: pg.PoolClient, rule: string, confidence: number, candidates: string, params: unknown[], nextStep: () => number): Promise<void> {
  for (let round = 0; round < PAIRING_ROUNDS; round++) {
    const step = nextStep();
    const res = await c.query(
      `INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step)
       SELECT nextval(pg_get_serial_sequence('recon_matches', 'id')), r.line_id, r.item_id, $${params.length + 1}::text, $${params.length + 2}::int, r.diff, r.currency, $${params.length + 3}::int
         FROM (SELECT k.*, row_number() OVER (PARTITION BY k.line_id ORDER BY abs(k.diff), k.item_id) AS a,
                           row_number() OVER (PARTITION BY k.item_id ORDER BY abs(k.diff), k.line_id) AS b
                 FROM (${candidates}) k) r
        WHERE r.a = 1 AND r.b = 1`,
      [...params, rule, confidence, step],
    );
    if ((res.rowCount ?? 0) === 0) break;
    await take(c, step);
  }
}

/** Candidate pairs sharing a normalized reference, same currency and direction, within the window. */
const REF_CANDIDATES = (extra: string) => `
  SELECT DISTINCT lr.line_id, ir.item_id, (CASE WHEN rl.direction = 'credit' THEN 1 ELSE -1 END) * (rl.amount - ri.amount) AS diff, rl.currency, ri.amount AS item_amount
    FROM rl_ref lr JOIN ri_ref ir ON ir.ref = lr.ref
    JOIN rl ON rl.id = lr.line_id JOIN ri ON ri.id = ir.item_id
   WHERE rl.grp IS NULL AND ri.grp IS NULL AND rl.currency = ri.currency AND rl.direction = ri.direction
     AND abs(rl.d - ri.d) <= $1 AND ${extra}`;

/**
 * The end of a group rule's statement: from `ok` (line_id, item_id, currency: the members that add
 * up, keyed by `groupBy`), keep the groups whose members are claimed by no other group, give each a
 * match id and insert its pairs under `rule` with confidence $3 and step $4.
 */
const GROUP_PAIRS = (groupBy: "item_id" | "line_id", rule: "many_lines_one_item" | "one_line_many_items") => {
  const member = groupBy === "item_id" ? "line_id" : "item_id";
  return `lone AS (SELECT ${member} FROM ok GROUP BY ${member} HAVING count(*) = 1),
         grp AS (SELECT ${groupBy}, nextval(pg_get_serial_sequence('recon_matches', 'id')) AS grp FROM ok GROUP BY ${groupBy} HAVING bool_and(${member} IN (SELECT ${member} FROM lone)))
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step)
         SELECT grp.grp, ok.line_id, ok.item_id, '${rule}', $3::int, 0, ok.currency, $4::int FROM ok JOIN grp USING (${groupBy})`;
};

async function applyRule(c: pg.PoolClient, rule: Rule, nextStep: () => number): Promise<void> {
  switch (rule.kind) {
    case "reference":
      return pairOneToOne(c, "reference", RULE_CONFIDENCE.reference, REF_CANDIDATES("rl.amount = ri.amount"), [rule.dateWindowDays], nextStep);
    case "reference_tolerance":
      // The bank kept a fee: the line is worse for us than the item (signed difference < 0), by at most the tolerance.
      return pairOneToOne(
        c,
        "reference_tolerance",
        RULE_CONFIDENCE.reference_tolerance,
        `SELECT * FROM (${REF_CANDIDATES("rl.amount <> ri.amount")}) k0
          WHERE k0.diff < 0 AND -k0.diff::numeric <= greatest($2::numeric, k0.item_amount::numeric * $3 / 10000)`,
        [rule.dateWindowDays, rule.toleranceMinor, rule.toleranceBps],
        nextStep,
      );
    case "many_lines_one_item": {
      const step = nextStep();
      const res1 = await c.query(
        `WITH c AS (${REF_CANDIDATES("rl.amount < ri.amount")}),
         g AS (SELECT c.item_id, count(*) AS n, sum(rl.amount) AS s FROM c JOIN rl ON rl.id = c.line_id GROUP BY c.item_id),
         ok AS (SELECT c.item_id, c.line_id, c.currency FROM c JOIN g USING (item_id) JOIN ri ON ri.id = c.item_id WHERE g.n BETWEEN 2 AND $2 AND g.s = ri.amount),
         ${GROUP_PAIRS("item_id", "many_lines_one_item")}`,
        [rule.dateWindowDays, rule.maxLines, RULE_CONFIDENCE.many_lines_one_item, step],
      );
      await take(c, step, res1.rowCount ?? 0);
      return;
    }
    case "one_line_many_items": {
      const step = nextStep();
      // A batch entry whose transaction details each name exactly one item, adding up to the line.
      const res2 = await c.query(
        `WITH d AS (SELECT rl.id AS line_id, x.ord AS k, x.e FROM rl CROSS JOIN LATERAL jsonb_array_elements(rl.details) WITH ORDINALITY AS x(e, ord)
                     WHERE rl.grp IS NULL AND rl.details IS NOT NULL),
         dr AS (SELECT d.line_id, d.k, v.r FROM d CROSS JOIN LATERAL (VALUES (${norm("d.e->>'endToEndId'")}), (${norm("d.e->>'accountServicerReference'")}),
                  (${norm("d.e->>'instructionId'")}), (${norm("d.e->>'transactionId'")})) AS v(r) WHERE length(v.r) >= ${MIN_REFERENCE_LENGTH}),
         c AS (SELECT DISTINCT dr.line_id, dr.k, ir.item_id, rl.currency FROM dr JOIN ri_ref ir ON ir.ref = dr.r JOIN rl ON rl.id = dr.line_id JOIN ri ON ri.id = ir.item_id
                WHERE ri.grp IS NULL AND ri.currency = rl.currency AND ri.direction = rl.direction AND abs(rl.d - ri.d) <= $1),
         u AS (SELECT line_id, k, min(item_id) AS item_id, min(currency) AS currency FROM c GROUP BY line_id, k HAVING count(*) = 1),
         g AS (SELECT u.line_id, count(*) AS n, count(DISTINCT u.item_id) AS nd, sum(ri.amount) AS s FROM u JOIN ri ON ri.id = u.item_id GROUP BY u.line_id),
         ok AS (SELECT u.line_id, u.item_id, u.currency FROM u JOIN g USING (line_id) JOIN rl ON rl.id = u.line_id
                 WHERE g.n = jsonb_array_length(rl.details) AND g.nd = g.n AND g.n BETWEEN 2 AND $2 AND g.s = rl.amount),
         ${GROUP_PAIRS("line_id", "one_line_many_items")}`,
        [rule.dateWindowDays, rule.maxItems, RULE_CONFIDENCE.one_line_many_items, step],
      );
      await take(c, step, res2.rowCount ?? 0);
      // Net settlement without details: the line equals the sum of all of that day's unmatched items.
      const netStep = nextStep();
      const res3 = await c.query(
        `WITH day AS (SELECT ri.d, ri.currency, ri.direction, count(*) AS n, sum(ri.amount) AS s FROM ri WHERE ri.grp IS NULL GROUP BY 1, 2, 3 HAVING count(*) BETWEEN 2 AND $1),
         c AS (SELECT rl.id AS line_id, day.d, day.currency, day.direction FROM rl JOIN day ON day.d = rl.d AND day.currency = rl.currency AND day.direction = rl.direction AND day.s = rl.amount
                WHERE rl.grp IS NULL AND rl.details IS NULL),
         one AS (SELECT d, currency, direction, min(line_id) AS line_id, nextval(pg_get_serial_sequence('recon_matches', 'id')) AS grp FROM c GROUP BY 1, 2, 3 HAVING count(*) = 1)
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step)
         SELECT one.grp, one.line_id, ri.id, 'one_line_many_items', $2::int, 0, ri.currency, $3::int
           FROM one JOIN ri ON ri.d = one.d AND ri.currency = one.currency AND ri.direction = one.direction AND ri.grp IS NULL`,
        [rule.maxItems, RULE_CONFIDENCE.one_line_many_items_net, netStep],
      );
      await take(c, netStep, res3.rowCount ?? 0);
      return;
    }
    case "amount_date": {
      const step = nextStep();
      const res4 = await c.query(
        `WITH c AS (SELECT rl.id AS line_id, ri.id AS item_id, rl.currency, rl.cp AS lcp, ri.cp AS icp
                      FROM rl JOIN ri ON ri.currency = rl.currency AND ri.direction = rl.direction AND ri.amount = rl.amount
                     WHERE rl.grp IS NULL AND ri.grp IS NULL AND abs(rl.d - ri.d) <= $1),
         nl AS (SELECT line_id FROM c GROUP BY line_id HAVING count(*) = 1),
         ni AS (SELECT item_id FROM c GROUP BY item_id HAVING count(*) = 1),
         u AS (SELECT c.* FROM c JOIN nl USING (line_id) JOIN ni USING (item_id))
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step)
         SELECT nextval(pg_get_serial_sequence('recon_matches', 'id')), u.line_id, u.item_id, 'amount_date',
                CASE WHEN (length(u.lcp) >= 3 AND u.lcp = u.icp)
                       OR EXISTS (SELECT 1 FROM rl_ref a JOIN ri_ref b ON least(length(a.ref), length(b.ref)) >= $2 AND (strpos(a.ref, b.ref) > 0 OR strpos(b.ref, a.ref) > 0)
                                   WHERE a.line_id = u.line_id AND b.item_id = u.item_id)
                     THEN $3::int ELSE $4::int END, 0, u.currency, $5::int
           FROM u`,
        [rule.dateWindowDays, rule.minReferenceOverlap, RULE_CONFIDENCE.amount_date_corroborated, RULE_CONFIDENCE.amount_date, step],
      );
      await take(c, step, res4.rowCount ?? 0);
      return;
    }
  }
}

/** Runs the engine's rules on the collected candidates; pairs holds the outcome. */
async function applyRules(c: pg.PoolClient, ruleSet: RuleSet): Promise<void> {
  let step = 0;
  const nextStep = () => ++step;
  for (const rule of ruleSet.rules) {
    if (rule.enabled) await applyRule(c, rule, nextStep);
  }
}

/**
 * Break type for each line still unmatched after the rules (or only suggested), set-based: the
 * remaining lines (lb), each one's closest same-reference item of another amount (lb_cand, an
 * amount mismatch), and an earlier or matched line it repeats (lb_dup, a duplicate).
 */
async function typeLineBreaks(c: pg.PoolClient, o: EngineOptions, window: number): Promise<void> {
  const thr = o.ruleSet.autoApplyThreshold;
  await c.query(
    `CREATE TEMP TABLE lb ON COMMIT DROP AS
     SELECT rl.id AS line_id, (SELECT min(p.grp) FROM pairs p WHERE p.line_id = rl.id AND p.confidence < $1) AS suggestion_grp
       FROM rl WHERE rl.grp IS NULL OR rl.grp IN (SELECT grp FROM pairs WHERE confidence < $1)`,
    [thr],
  );
  await c.query(
    `CREATE TEMP TABLE lb_cand ON COMMIT DROP AS
     SELECT DISTINCT ON (rl.id) rl.id AS line_id, ri.id AS item_id, ri.transfer_id
       FROM lb JOIN rl ON rl.id = lb.line_id JOIN rl_ref lr ON lr.line_id = rl.id JOIN ri_ref ir ON ir.ref = lr.ref JOIN ri ON ri.id = ir.item_id
      WHERE ri.grp IS NULL AND ri.currency = rl.currency AND ri.direction = rl.direction AND ri.amount <> rl.amount AND abs(ri.d - rl.d) <= $1
      ORDER BY rl.id, abs(ri.amount - rl.amount), ri.id`,
    [window],
  );
  await c.query(
    `CREATE TEMP TABLE lb_dup ON COMMIT DROP AS
     SELECT DISTINCT ON (l.id) l.id AS line_id, l2.id AS duplicate_of
       FROM lb JOIN recon_lines l ON l.id = lb.line_id
       JOIN recon_lines l2 ON l2.source_id = l.source_id AND l2.booking_date BETWEEN $1::date - 3 AND $2::date + 3
        AND l2.amount_minor = l.amount_minor AND l2.direction = l.direction AND l2.currency = l.currency AND l2.id <> l.id
        AND l2.booking_date BETWEEN l.booking_date - 3 AND l.booking_date + 3
        AND ((l.end_to_end_id IS NOT NULL AND l2.end_to_end_id = l.end_to_end_id) OR (l.account_servicer_reference IS NOT NULL AND l2.account_servicer_reference = l.account_servicer_reference))
      WHERE l2.id < l.id OR EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l2.id)
      ORDER BY l.id, l2.id`,
    [o.periodFrom, o.periodTo],
  );
}

const LINE_BREAKS = `
  SELECT lb.line_id, l.amount_minor, l.currency, l.direction, l.booking_date,
         CASE WHEN l.currency::text <> $1 THEN 'currency_mismatch'
              WHEN cand.item_id IS NOT NULL THEN 'amount_mismatch'
              WHEN dup.duplicate_of IS NOT NULL THEN 'duplicate'
              ELSE 'missing_in_ledger' END AS type,
         cand.item_id, cand.transfer_id, dup.duplicate_of, lb.suggestion_grp
    FROM lb JOIN recon_lines l ON l.id = lb.line_id
    LEFT JOIN lb_cand cand ON cand.line_id = lb.line_id
    LEFT JOIN lb_dup dup ON dup.line_id = lb.line_id`;

interface WriteCounts {
  autoMatches: number;
  autoMatchedLines: number;
  suggestions: number;
  breaksOpened: number;
  breaksResolved: number;
}

/** Writes the run's outcome: matches, suggestions, breaks, resolutions. */
async function writeOutcome(c: pg.PoolClient, o: EngineOptions, runId: string, actor: AuditActor, now: Date): Promise<WriteCounts> {
  const thr = o.ruleSet.autoApplyThreshold;
  // A group's number was drawn from recon_matches' own sequence: it is the match id.
  const autoMatches = (
    await c.query(
      `INSERT INTO recon_matches (id, source_id, run_id, kind, rule, rule_set_version, confidence, currency, difference_minor, reasons, actor_label, created_at)
       SELECT grp, $1, $2, 'auto', min(rule), $3, min(confidence), min(currency), min(diff), '[]', $4, $5 FROM pairs WHERE confidence >= $6 GROUP BY grp`,
      [o.source.id, runId, o.ruleSet.version, actor.label, now, thr],
    )
  ).rowCount ?? 0;
  const autoMatchedLines = (await c.query(`INSERT INTO recon_match_lines (line_id, match_id) SELECT DISTINCT line_id, grp FROM pairs WHERE confidence >= $1`, [thr])).rowCount ?? 0;
  await c.query(`INSERT INTO recon_match_items (source_id, posting_id, match_id) SELECT DISTINCT $1::uuid, item_id, grp FROM pairs WHERE confidence >= $2`, [o.source.id, thr]);

  const suggestions = (
    await c.query(
      `INSERT INTO recon_suggestions (source_id, run_id, line_ids, posting_ids, rule, rule_set_version, confidence, currency, difference_minor, reasons, status, created_at)
       SELECT $1, $2, g.line_ids, g.posting_ids, g.rule, $3, g.confidence, g.currency, g.diff, '[]', 'open', $4
         FROM (SELECT grp, array_agg(DISTINCT line_id ORDER BY line_id) AS line_ids, array_agg(DISTINCT item_id ORDER BY item_id) AS posting_ids,
                      min(rule) AS rule, min(confidence) AS confidence, min(currency) AS currency, min(diff) AS diff
                 FROM pairs WHERE confidence < $5 GROUP BY grp) g
        WHERE NOT EXISTS (SELECT 1 FROM recon_suggestions s WHERE s.source_id = $1 AND s.status = 'open' AND s.line_ids = g.line_ids AND s.posting_ids = g.posting_ids)`,
      [o.source.id, runId, o.ruleSet.version, now, thr],
    )
  ).rowCount ?? 0;

  // Line-side breaks, one per line that has none open.
  await typeLineBreaks(c, o, widestWindowDays(o.ruleSet.rules));
  const lineBreaks = await c.query<{ id: string }>(
    `INSERT INTO recon_breaks (source_id, type, status, amount_minor, currency, direction, line_id, posting_id, transfer_id, run_id, occurred_on, opened_at, detail)
     SELECT $2, b.type::recon_break_type, 'open', b.amount_minor, b.currency, b.direction, b.line_id, b.item_id, b.transfer_id, $3, b.booking_date, $4,
            jsonb_strip_nulls(jsonb_build_object('duplicateOfLineId', b.duplicate_of::text, 'hasSuggestion', b.suggestion_grp IS NOT NULL))
       FROM (${LINE_BREAKS}) b
      WHERE NOT EXISTS (SELECT 1 FROM recon_breaks x WHERE x.line_id = b.line_id AND x.status <> 'resolved')
     RETURNING id`,
    [o.source.currency, o.source.id, runId, now],
  );
  // Ledger-side breaks: items of the period, up to the last date the source's statements cover,
  // that nothing matched, and that no open break already names (an amount mismatch names its item).
  const itemBreaks = await c.query<{ id: string }>(
    `INSERT INTO recon_breaks (source_id, type, status, amount_minor, currency, direction, posting_id, transfer_id, run_id, occurred_on, opened_at, detail)
     SELECT $1, 'missing_in_statement', 'open', ri.amount, ri.currency, ri.direction, ri.id, ri.transfer_id, $2, ri.d, $3, '{}'
       FROM ri
      WHERE (ri.grp IS NULL OR ri.grp IN (SELECT grp FROM pairs WHERE confidence < $4))
        AND ri.d BETWEEN $5::date AND least($6::date, coalesce((SELECT max(period_to) FROM recon_statements WHERE source_id = $1), $5::date - 1))
        AND NOT EXISTS (SELECT 1 FROM recon_breaks x WHERE x.source_id = $1 AND x.posting_id = ri.id AND x.status <> 'resolved')
     RETURNING id`,
    [o.source.id, runId, now, thr, o.periodFrom, o.periodTo],
  );
  const opened = [...lineBreaks.rows, ...itemBreaks.rows].map((r) => r.id);
  if (opened.length > 0) {
    await c.query(
      `INSERT INTO recon_break_events (break_id, kind, actor_type, actor_id, actor_label, note, detail, created_at)
       SELECT id, 'opened', $2, $3, $4, NULL, jsonb_build_object('runId', $5::text), $6 FROM unnest($1::uuid[]) AS id`,
      [opened, actor.type, actor.id, actor.label, runId, now],
    );
  }
  const resolved = await resolveMatchedBreaks(c, o.source.id, actor, now, { runId });
  return { autoMatches, autoMatchedLines, suggestions, breaksOpened: opened.length, breaksResolved: resolved };
}

/**
 * Closes the open or timing breaks whose own side is now matched: a line-side break when its line
 * is in a match, a ledger-side break when its posting is. Returns how many it closed.
 */
export async function resolveMatchedBreaks(c: pg.ClientBase, sourceId: string, actor: AuditActor, now: Date, detail: Record<string, unknown>): Promise<number> {
  const res = await c.query<{ id: string; status: string }>(
    `WITH r AS (
       UPDATE recon_breaks b SET status = 'resolved', resolution = 'matched', resolved_at = $2, resolved_by = $3, version = b.version + 1
        WHERE b.source_id = $1 AND b.status <> 'resolved'
          AND ((b.line_id IS NOT NULL AND EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = b.line_id))
            OR (b.line_id IS NULL AND b.posting_id IS NOT NULL AND EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = b.source_id AND m.posting_id = b.posting_id)))
       RETURNING b.id)
     INSERT INTO recon_break_events (break_id, kind, actor_type, actor_id, actor_label, note, detail, created_at)
     SELECT r.id, 'resolved', $4, $5, $3, 'its counterpart was matched', $6, $2 FROM r
     RETURNING break_id AS id`,
    [sourceId, now, actor.label, actor.type, actor.id, JSON.stringify(detail)],
  );
  return res.rowCount ?? 0;
}

/** The run's figures, read after its writes (inside its transaction). */
async function summarize(c: pg.ClientBase, source: ReconSource, periodFrom: string, periodTo: string, counts: WriteCounts): Promise<RunSummary> {
  const lines = (
    await c.query<{ lines: string; matched: string }>(
      `SELECT count(*) AS lines, count(m.line_id) AS matched FROM recon_lines l LEFT JOIN recon_match_lines m ON m.line_id = l.id
        WHERE l.source_id = $1 AND l.booking_date BETWEEN $2::date AND $3::date AND l.is_booked`,
      [source.id, periodFrom, periodTo],
    )
  ).rows[0]!;
  const breaks = (
    await c.query<{ type: string; currency: string; n: string; amount: string }>(
      `SELECT type::text, currency::text, count(*) AS n, sum(amount_minor)::text AS amount FROM recon_breaks
        WHERE source_id = $1 AND status <> 'resolved' AND occurred_on BETWEEN $2::date AND $3::date GROUP BY 1, 2`,
      [source.id, periodFrom, periodTo],
    )
  ).rows;
  const byType: Record<string, number> = {};
  const byCurrency: Record<string, bigint> = {};
  for (const b of breaks) {
    byType[b.type] = (byType[b.type] ?? 0) + Number(b.n);
    if (b.type !== "statement_gap") byCurrency[b.currency.trim()] = (byCurrency[b.currency.trim()] ?? 0n) + BigInt(b.amount);
  }
  const total = Number(lines.lines);
  const matched = Number(lines.matched);
  return {
    lines: total,
    matchedLines: matched,
    ...counts,
    openBreaksByType: byType,
    matchRateBps: total === 0 ? 10_000 : Math.floor((matched * 10_000) / total),
    unreconciledMinorByCurrency: Object.fromEntries(Object.entries(byCurrency).map(([k, v]) => [k, v.toString()])),
  };
}

// ---------------------------------------------------------------------------------------------
// Runs

export interface RunInput {
  sourceId: string;
  periodFrom: string;
  periodTo: string;
  trigger: RunTrigger;
}

/**
 * Runs matching for a source and period with the active rule set, recorded as a run (running ->
 * completed, or failed with its error). Runs of one source are serialised (advisory lock).
 *
 * Errors, in order: BAD_INPUT (period malformed, reversed or longer than MAX_RUN_DAYS); NOT_FOUND
 * (source; no active rule set); DB_UNAVAILABLE.
 */
export async function runReconciliation(db: Pick<DbHandles, "pool">, actor: AuditActor, input: RunInput, opts: { now?: Date; requestId?: string | null } = {}): Promise<RunResult> {
  checkPeriod(input.periodFrom, input.periodTo);
  const now = opts.now ?? new Date();
  const source = await getSource(db, input.sourceId);
  const ruleSet = await readRuleSet(db.pool);
  const runId = randomUUID();
  await db.pool.query(
    `INSERT INTO recon_runs (id, source_id, period_from, period_to, trigger, rule_set_version, status, actor_label, started_at) VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8)`,
    [runId, source.id, input.periodFrom, input.periodTo, input.trigger, ruleSet.version, actor.label, now],
  );
  const client = await acquireClient(db.pool);
  let isBroken = false;
  try {
    await client.query("BEGIN");
    await client.query(RECON_STATEMENT_TIMEOUT);
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [source.id]);
    const o: EngineOptions = { source, periodFrom: input.periodFrom, periodTo: input.periodTo, ruleSet, isFromScratch: false };
    await collect(client, o);
    await applyRules(client, ruleSet);
    const counts = await writeOutcome(client, o, runId, actor, now);
    const summary = await summarize(client, source, input.periodFrom, input.periodTo, counts);
    await client.query(`UPDATE recon_runs SET status = 'completed', summary = $2, finished_at = clock_timestamp() WHERE id = $1`, [runId, JSON.stringify(summary)]);
    if (input.trigger === "manual") {
      await appendAudit(pgRunner(client), { actor, action: "recon.run", targetType: "recon_run", targetId: runId, after: { source: source.name, periodFrom: input.periodFrom, periodTo: input.periodTo, summary }, requestId: opts.requestId ?? null, at: now });
    }
    await client.query("COMMIT");
    return { runId, sourceId: source.id, periodFrom: input.periodFrom, periodTo: input.periodTo, ruleSetVersion: ruleSet.version, summary };
  } catch (e) {
    const mapped = toAppError(e);
    if (mapped?.code === "DB_UNAVAILABLE") isBroken = true;
    else await client.query("ROLLBACK").catch(() => (isBroken = true));
    await db.pool
      .query(`UPDATE recon_runs SET status = 'failed', error = $2, finished_at = clock_timestamp() WHERE id = $1`, [runId, (e as Error).message?.slice(0, 1000) ?? String(e)])
      .catch(() => {});
    throw mapped ?? e;
  } finally {
    releaseClient(client, isBroken);
  }
}

// ---------------------------------------------------------------------------------------------
// Previews (backtests)

/** What a rule set does to a period's lines and ledger items (auto matches counted per rule). */
export interface PreviewCounts {
  lines: number;
  items: number;
  autoMatchedLines: number;
  suggestedLines: number;
  unmatchedLines: number;
  unmatchedItems: number;
  byRule: Record<string, number>;
}

export interface PreviewOutcome extends PreviewCounts {
  ruleSetVersion: number;
  /** line id -> "rule:item ids" for the auto matches. */
  assignments: Map<string, string>;
}

/** Runs `ruleSet` from scratch over the period in a transaction that is rolled back. */
export async function previewRuleSet(db: Pick<DbHandles, "pool">, source: ReconSource, periodFrom: string, periodTo: string, ruleSet: RuleSet): Promise<PreviewOutcome> {
  checkPeriod(periodFrom, periodTo);
  const client = await acquireClient(db.pool);
  let isBroken = false;
  try {
    await client.query("BEGIN");
    await client.query(RECON_STATEMENT_TIMEOUT);
    await collect(client, { source, periodFrom, periodTo, ruleSet, isFromScratch: true });
    await applyRules(client, ruleSet);
    const thr = ruleSet.autoApplyThreshold;
    const counts = (
      await client.query<{ lines: string; items: string; auto: string; sug: string; ul: string; ui: string }>(
        `SELECT (SELECT count(*) FROM rl) AS lines, (SELECT count(*) FROM ri WHERE d BETWEEN $2::date AND $3::date) AS items,
                (SELECT count(DISTINCT line_id) FROM pairs WHERE confidence >= $1) AS auto, (SELECT count(DISTINCT line_id) FROM pairs WHERE confidence < $1) AS sug,
                (SELECT count(*) FROM rl WHERE grp IS NULL) AS ul, (SELECT count(*) FROM ri WHERE grp IS NULL AND d BETWEEN $2::date AND $3::date) AS ui`,
        [thr, periodFrom, periodTo],
      )
    ).rows[0]!;
    const byRule = Object.fromEntries(
      (await client.query<{ rule: string; n: string }>(`SELECT rule, count(DISTINCT line_id) AS n FROM pairs WHERE confidence >= $1 GROUP BY rule`, [thr])).rows.map((r) => [r.rule, Number(r.n)]),
    );
    const assignments = new Map(
      (
        await client.query<{ line_id: string; a: string }>(
          `SELECT p.line_id::text, min(p.rule) || ':' || string_agg(DISTINCT p.item_id::text, ',' ORDER BY p.item_id::text) AS a FROM pairs p WHERE p.confidence >= $1 GROUP BY p.line_id`,
          [thr],
        )
      ).rows.map((r) => [r.line_id, r.a]),
    );
    await client.query("ROLLBACK");
    return {
      ruleSetVersion: ruleSet.version,
      lines: Number(counts.lines),
      items: Number(counts.items),
      autoMatchedLines: Number(counts.auto),
      suggestedLines: Number(counts.sug),
      unmatchedLines: Number(counts.ul),
      unmatchedItems: Number(counts.ui),
      byRule,
      assignments,
    };
  } catch (e) {
    const mapped = toAppError(e);
    if (mapped?.code === "DB_UNAVAILABLE") isBroken = true;
    else await client.query("ROLLBACK").catch(() => (isBroken = true));
    throw mapped ?? e;
  } finally {
    releaseClient(client, isBroken);
  }
}
