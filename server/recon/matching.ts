/**
 * The matching engine: set-based SQL over a run's unmatched statement lines and ledger items,
 * never a loop per line. A run reads its candidates into temporary tables, applies the rule set's
 * rules in priority order (each rule a handful of statements whatever the number of lines), then
 * writes matches, suggestions and breaks, and closes the breaks whose line or posting is now
 * matched. Sized for a million lines in one run (docs/performance.md): the tables are written
 * whole by CREATE TABLE AS, a step that takes most of what is left rebuilds them without it, and
 * sorts and hashes stay in memory (RECON_MATCH_SETTINGS).
 *
 * Ledger items are the postings on the source's ledger account (for a partner rail source, only
 * those of transfers on its rail), with the references of the transfer they settle or return:
 * its id, idempotency key, partner reference and reference.
 *
 * Invariants kept:
 * - A line or ledger item is in at most one match: candidates are resolved so each line and each
 *   item belongs to one group (ranked pairing, groups whose members are claimed once), every step
 *   excludes what earlier steps took, and the database enforces it again (recon_match_members:
 *   unique line, unique source and posting).
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
/**
 * The next match id, from recon_matches' own sequence. The sequence is looked up once per
 * statement (an InitPlan): nextval(pg_get_serial_sequence(...)) looked it up for every row, 4 µs
 * each, four seconds for a million pairs.
 */
const NEXT_MATCH_ID = "nextval((SELECT pg_get_serial_sequence('recon_matches', 'id')::regclass))";
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

/**
 * The settings of a matching transaction (runs and previews), besides RECON_STATEMENT_TIMEOUT.
 * work_mem: the engine's sorts and hashes are over the period's lines and items (a million lines
 * sort and hash in about 100 MB; at PostgreSQL's default 4 MB they spilled to disk), and the
 * setting lasts only for this transaction. jit off: the product's connections already start with
 * it (PRODUCT_SERVER_OPTIONS), and it is set again here so that a matching transaction never
 * compiles, whatever pool it runs on; its statements are few and each is dominated by reading
 * and writing rows, which JIT does not speed up.
 */
export const RECON_MATCH_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off";

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

/**
 * How many candidates the temporary tables hold now; a step that takes a large share of them
 * rebuilds the tables without what it took (compact) rather than marking each taken row.
 */
interface Candidates {
  lines: number;
  items: number;
}

/** A run's state while its rules apply: its transaction, what is left, and the step counter. */
interface Engine {
  c: pg.PoolClient;
  cand: Candidates;
  threshold: number;
  nextStep: () => number;
  /**
   * Whether some candidate left in rl or ri is marked taken (grp set). Until one is, every row of
   * rl_ref and ri_ref belongs to a free line or item, and the reference rules read those two
   * tables alone.
   */
  isMarked: boolean;
}

/** An item's references: its transfer's idempotency key, partner reference, id and reference, and its entry's metadata reference. */
const RI_REFERENCE_COLUMNS = ["t_key", "t_partner_ref", "transfer_id::text", "t_reference", "meta_ref"] as const;

/** A step that takes at least this many rows, and at least a quarter of the lines or items left, compacts. */
const COMPACT_MIN_ROWS = 5_000;

/**
 * Reads the candidates into temporary tables rl (lines), rl_ref, ri (items), ri_ref, and creates
 * pairs. Each is written by one CREATE TABLE AS, without indexes (every join over them is a hash
 * join). The reference tables carry their line's or item's amount, currency, direction and date,
 * so that the reference rules join them alone; the counterparty names are kept raw: only
 * amount_date reads them, normalized then for the few pairs it considers.
 */
async function collect(c: pg.PoolClient, o: EngineOptions): Promise<Candidates> {
  const window = widestWindowDays(o.ruleSet.rules);
  // What earlier runs matched is left out, unless the source has no match at all (a first run):
  // then there is nothing to leave out, and the anti-joins (planned as a scan of the empty match
  // tables per line: a second per million) are not written. Runs and manual matches of a source
  // hold its advisory lock, so no match can appear meanwhile.
  const hasMatches =
    !o.isFromScratch && (await c.query<{ x: boolean }>(`SELECT EXISTS (SELECT 1 FROM recon_matches WHERE source_id = $1) AS x`, [o.source.id])).rows[0]!.x;
  // A plain NOT EXISTS (not "$x OR NOT EXISTS") so that the planner can make it an anti-join.
  const isLineOpen = hasMatches ? "AND NOT EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id)" : "";
  const isItemOpen = hasMatches ? "AND NOT EXISTS (SELECT 1 FROM recon_match_items m WHERE m.source_id = $6 AND m.posting_id = p.id)" : "";
  const lines = await c.query(
    `CREATE TEMP TABLE rl ON COMMIT DROP AS
     SELECT l.id, l.amount_minor AS amount, l.currency::text AS currency, l.direction, coalesce(l.value_date, l.booking_date) AS d, l.counterparty_name AS cp, l.details, l.ref_keys AS refs, NULL::bigint AS grp
       FROM recon_lines l
      WHERE l.source_id = $1 AND l.booking_date BETWEEN $2::date AND $3::date AND l.is_booked ${isLineOpen}`,
    [o.source.id, o.periodFrom, o.periodTo],
  );
  // Lines' references were normalized when imported (recon_lines.ref_keys, distinct per line).
  await c.query(`CREATE TEMP TABLE rl_ref ON COMMIT DROP AS SELECT rl.id AS line_id, unnest(rl.refs) AS ref, rl.amount, rl.currency, rl.direction, rl.d FROM rl`);
  // An item's transfer is the one its entry settles, else the one it returns; its references are
  // carried raw (t_*, meta_ref) to be normalized into ri_ref.
  const items = await c.query(
    `CREATE TEMP TABLE ri ON COMMIT DROP AS
     SELECT p.id, p.amount_minor AS amount, p.currency::text AS currency, CASE WHEN p.side::text = $2 THEN 'credit' ELSE 'debit' END AS direction, (e.effective_at AT TIME ZONE 'UTC')::date AS d,
            coalesce(ts.counterparty_name, tr.counterparty_name) AS cp, e.id AS entry_id, coalesce(ts.id, tr.id) AS transfer_id,
            CASE WHEN ts.id IS NOT NULL THEN ts.idempotency_key ELSE tr.idempotency_key END AS t_key,
            CASE WHEN ts.id IS NOT NULL THEN ts.partner_ref ELSE tr.partner_ref END AS t_partner_ref,
            CASE WHEN ts.id IS NOT NULL THEN ts.reference ELSE tr.reference END AS t_reference,
            e.metadata->>'reference' AS meta_ref, NULL::bigint AS grp
       FROM postings p
       JOIN journal_entries e ON e.id = p.entry_id
       LEFT JOIN transfers ts ON ts.settlement_entry_id = e.id
       LEFT JOIN transfers tr ON tr.return_entry_id = e.id
      WHERE p.account_id = $1
        AND e.effective_at >= ($3::date::timestamp AT TIME ZONE 'UTC') AND e.effective_at < ($4::date::timestamp AT TIME ZONE 'UTC')
        AND ($5::text IS NULL OR coalesce(ts.rail, tr.rail) = $5) ${isItemOpen}`,
    [o.source.ledgerAccountId, o.source.normalSide, addDays(o.periodFrom, -window), addDays(o.periodTo, window + 1), o.source.kind === "partner_rail" ? o.source.rail : null, ...(hasMatches ? [o.source.id] : [])],
  );
  // One branch per reference column (a scan of ri each: cheaper than a row of five values per
  // item). OFFSET 0 keeps the subquery whole, so each reference is normalized once rather than
  // again in the length filter. An item may list the same key twice (its transfer's reference is
  // also its entry's); every reader of ri_ref is DISTINCT over its pairs.
  await c.query(
    `CREATE TEMP TABLE ri_ref ON COMMIT DROP AS
     SELECT x.* FROM (
       ${RI_REFERENCE_COLUMNS.map((col) => `SELECT ri.id AS item_id, ${norm(`ri.${col}`)} AS ref, ri.amount, ri.currency, ri.direction, ri.d FROM ri WHERE ri.${col} IS NOT NULL`).join("\n       UNION ALL ")}
       OFFSET 0) x
      WHERE length(x.ref) >= ${MIN_REFERENCE_LENGTH}`,
  );
  await c.query(`ANALYZE rl; ANALYZE rl_ref; ANALYZE ri; ANALYZE ri_ref`);
  await c.query(
    `CREATE TEMP TABLE pairs (grp bigint NOT NULL, line_id bigint NOT NULL, item_id bigint NOT NULL, rule text NOT NULL, confidence int NOT NULL, diff bigint NOT NULL, currency text NOT NULL, step int NOT NULL,
                              is_pair boolean NOT NULL) ON COMMIT DROP`,
  );
  return { lines: lines.rowCount ?? 0, items: items.rowCount ?? 0 };
}

/**
 * Takes what `step` paired (`inserted` pair rows) out of the candidates, so later steps do not see
 * it. A small step marks its lines and items with their group (rl.grp, ri.grp). A large one (the
 * reference rule's first round usually pairs nearly everything) rebuilds rl, ri, rl_ref and ri_ref
 * without the lines and items of its automatic matches (confidence at or above the threshold) and
 * marks the rest; later steps and the breaks then read tables of what is left. Either way: a
 * candidate with grp NULL is free, one with a group is taken (an automatic match when that
 * group's confidence reaches the threshold), and one that is gone was matched automatically.
 */
async function take(e: Engine, step: number, inserted: number): Promise<void> {
  const { c, cand } = e;
  if (inserted === 0) return;
  const isLarge = inserted >= COMPACT_MIN_ROWS && (inserted * 4 >= cand.lines || inserted * 4 >= cand.items);
  if (!isLarge) {
    await c.query(`UPDATE rl SET grp = p.grp FROM pairs p WHERE p.line_id = rl.id AND p.step = $1`, [step]);
    await c.query(`UPDATE ri SET grp = p.grp FROM pairs p WHERE p.item_id = ri.id AND p.step = $1`, [step]);
    e.isMarked = true;
    return;
  }
  const hasSuggestions = ((await c.query(`SELECT 1 FROM pairs WHERE step = $1 AND confidence < $2 LIMIT 1`, [step, e.threshold])).rowCount ?? 0) > 0;
  for (const [t, key] of [["rl", "line_id"], ["ri", "item_id"]] as const) {
    const kept = await c.query(
      `CREATE TEMP TABLE ${t}_next ON COMMIT DROP AS
       SELECT ${t}.* FROM ${t} WHERE NOT EXISTS (SELECT 1 FROM pairs p WHERE p.${key} = ${t}.id AND p.step = $1 AND p.confidence >= $2)`,
      [step, e.threshold],
    );
    // What the step paired and kept is its suggestions: marked with their group.
    if (hasSuggestions) await c.query(`UPDATE ${t}_next SET grp = p.grp FROM pairs p WHERE p.${key} = ${t}_next.id AND p.step = $1`, [step]);
    await c.query(`CREATE TEMP TABLE ${t}_ref_next ON COMMIT DROP AS SELECT r.* FROM ${t}_ref r WHERE EXISTS (SELECT 1 FROM ${t}_next x WHERE x.id = r.${key})`);
    await c.query(`DROP TABLE ${t}, ${t}_ref; ALTER TABLE ${t}_next RENAME TO ${t}; ALTER TABLE ${t}_ref_next RENAME TO ${t}_ref`);
    await c.query(`ANALYZE ${t}; ANALYZE ${t}_ref`);
    if (t === "rl") cand.lines = kept.rowCount ?? 0;
    else cand.items = kept.rowCount ?? 0;
  }
  if (hasSuggestions) e.isMarked = true;
}

/**
 * One-to-one ranked pairing over candidate (line, item, diff) rows given by `candidates` (a
 * SELECT over free lines and items, written for the engine's state at each round): a pair is taken
 * when each is the other's first candidate; repeated so that a line whose first choice went
 * elsewhere gets its next.
 */
async function pairOneToOne(e: Engine, rule: string, confidence: number, candidates: (e: Engine) => string, params: unknown[]): Promise<void> {
  for (let round = 0; round < PAIRING_ROUNDS; round++) {
    const step = e.nextStep();
    const res = await e.c.query(
      `INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step, is_pair)
       SELECT ${NEXT_MATCH_ID}, r.line_id, r.item_id, $${params.length + 1}::text, $${params.length + 2}::int, r.diff, r.currency, $${params.length + 3}::int, true
         FROM (SELECT k.*, row_number() OVER (PARTITION BY k.line_id ORDER BY abs(k.diff), k.item_id) AS a,
                           row_number() OVER (PARTITION BY k.item_id ORDER BY abs(k.diff), k.line_id) AS b
                 FROM (${candidates(e)}) k) r
        WHERE r.a = 1 AND r.b = 1`,
      [...params, rule, confidence, step],
    );
    if ((res.rowCount ?? 0) === 0) break;
    await take(e, step, res.rowCount ?? 0);
  }
}

/**
 * Candidate pairs of a free line and a free item sharing a normalized reference, same currency and
 * direction, within the window, and `extra` (over lr.amount and ir.amount). The reference tables
 * carry what is compared; rl and ri are read only to leave out what is marked taken.
 */
const REF_CANDIDATES = (e: Engine, extra: string) => `
  SELECT DISTINCT lr.line_id, ir.item_id, (CASE WHEN lr.direction = 'credit' THEN 1 ELSE -1 END) * (lr.amount - ir.amount) AS diff, lr.currency, lr.amount AS line_amount, ir.amount AS item_amount
    FROM rl_ref lr JOIN ri_ref ir ON ir.ref = lr.ref AND ir.currency = lr.currency AND ir.direction = lr.direction
   WHERE abs(lr.d - ir.d) <= $1 AND ${extra}${
     e.isMarked ? `\n     AND lr.line_id IN (SELECT rl.id FROM rl WHERE rl.grp IS NULL) AND ir.item_id IN (SELECT ri.id FROM ri WHERE ri.grp IS NULL)` : ""
   }`;

/**
 * The end of a group rule's statement: from `ok` (line_id, item_id, currency: the members that add
 * up, keyed by `groupBy`), keep the groups whose members are claimed by no other group, give each a
 * match id and insert its pairs under `rule` with confidence $3 and step $4.
 */
const GROUP_PAIRS = (groupBy: "item_id" | "line_id", rule: "many_lines_one_item" | "one_line_many_items") => {
  const member = groupBy === "item_id" ? "line_id" : "item_id";
  return `lone AS (SELECT ${member} FROM ok GROUP BY ${member} HAVING count(*) = 1),
         grp AS (SELECT ${groupBy}, ${NEXT_MATCH_ID} AS grp FROM ok GROUP BY ${groupBy} HAVING bool_and(${member} IN (SELECT ${member} FROM lone)))
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step, is_pair)
         SELECT grp.grp, ok.line_id, ok.item_id, '${rule}', $3::int, 0, ok.currency, $4::int, false FROM ok JOIN grp USING (${groupBy})`;
};

async function applyRule(e: Engine, rule: Rule): Promise<void> {
  const { c, nextStep } = e;
  switch (rule.kind) {
    case "reference":
      return pairOneToOne(e, "reference", RULE_CONFIDENCE.reference, (x) => REF_CANDIDATES(x, "lr.amount = ir.amount"), [rule.dateWindowDays]);
    case "reference_tolerance":
      // The bank kept a fee: the line is worse for us than the item (signed difference < 0), by at most the tolerance.
      return pairOneToOne(
        e,
        "reference_tolerance",
        RULE_CONFIDENCE.reference_tolerance,
        (x) => `SELECT * FROM (${REF_CANDIDATES(x, "lr.amount <> ir.amount")}) k0
          WHERE k0.diff < 0 AND -k0.diff::numeric <= greatest($2::numeric, k0.item_amount::numeric * $3 / 10000)`,
        [rule.dateWindowDays, rule.toleranceMinor, rule.toleranceBps],
      );
    case "many_lines_one_item": {
      const step = nextStep();
      const res1 = await c.query(
        `WITH c AS (${REF_CANDIDATES(e, "lr.amount < ir.amount")}),
         g AS (SELECT c.item_id, count(*) AS n, sum(c.line_amount) AS s FROM c GROUP BY c.item_id),
         ok AS (SELECT c.item_id, c.line_id, c.currency FROM c JOIN g USING (item_id) WHERE g.n BETWEEN 2 AND $2 AND g.s = c.item_amount),
         ${GROUP_PAIRS("item_id", "many_lines_one_item")}`,
        [rule.dateWindowDays, rule.maxLines, RULE_CONFIDENCE.many_lines_one_item, step],
      );
      await take(e, step, res1.rowCount ?? 0);
      return;
    }
    case "one_line_many_items": {
      const step = nextStep();
      // A batch entry whose transaction details each name exactly one item, adding up to the line;
      // a detail that states its amount in the line's currency must state the item's amount.
      const res2 = await c.query(
        `WITH d AS (SELECT rl.id AS line_id, x.ord AS k, x.e FROM rl CROSS JOIN LATERAL jsonb_array_elements(rl.details) WITH ORDINALITY AS x(e, ord)
                     WHERE rl.grp IS NULL AND rl.details IS NOT NULL),
         dr AS (SELECT d.line_id, d.k, d.e->>'amountMinor' AS amt, d.e->>'currency' AS cur, v.r FROM d CROSS JOIN LATERAL (VALUES (${norm("d.e->>'endToEndId'")}), (${norm("d.e->>'accountServicerReference'")}),
                  (${norm("d.e->>'instructionId'")}), (${norm("d.e->>'transactionId'")})) AS v(r) WHERE length(v.r) >= ${MIN_REFERENCE_LENGTH}),
         c AS (SELECT DISTINCT dr.line_id, dr.k, ir.item_id, rl.currency FROM dr JOIN ri_ref ir ON ir.ref = dr.r JOIN rl ON rl.id = dr.line_id JOIN ri ON ri.id = ir.item_id
                WHERE ri.grp IS NULL AND ri.currency = rl.currency AND ri.direction = rl.direction AND abs(rl.d - ri.d) <= $1
                  AND (dr.amt IS NULL OR (dr.cur IS NOT NULL AND dr.cur <> rl.currency) OR dr.amt::bigint = ri.amount)),
         u AS (SELECT line_id, k, min(item_id) AS item_id, min(currency) AS currency FROM c GROUP BY line_id, k HAVING count(*) = 1),
         g AS (SELECT u.line_id, count(*) AS n, count(DISTINCT u.item_id) AS nd, sum(ri.amount) AS s FROM u JOIN ri ON ri.id = u.item_id GROUP BY u.line_id),
         ok AS (SELECT u.line_id, u.item_id, u.currency FROM u JOIN g USING (line_id) JOIN rl ON rl.id = u.line_id
                 WHERE g.n = jsonb_array_length(rl.details) AND g.nd = g.n AND g.n BETWEEN 2 AND $2 AND g.s = rl.amount),
         ${GROUP_PAIRS("line_id", "one_line_many_items")}`,
        [rule.dateWindowDays, rule.maxItems, RULE_CONFIDENCE.one_line_many_items, step],
      );
      await take(e, step, res2.rowCount ?? 0);
      // Net settlement without details: the line equals the sum of all of that day's unmatched items.
      const netStep = nextStep();
      const res3 = await c.query(
        `WITH day AS (SELECT ri.d, ri.currency, ri.direction, count(*) AS n, sum(ri.amount) AS s FROM ri WHERE ri.grp IS NULL GROUP BY 1, 2, 3 HAVING count(*) BETWEEN 2 AND $1),
         c AS (SELECT rl.id AS line_id, day.d, day.currency, day.direction FROM rl JOIN day ON day.d = rl.d AND day.currency = rl.currency AND day.direction = rl.direction AND day.s = rl.amount
                WHERE rl.grp IS NULL AND rl.details IS NULL),
         one AS (SELECT d, currency, direction, min(line_id) AS line_id, ${NEXT_MATCH_ID} AS grp FROM c GROUP BY 1, 2, 3 HAVING count(*) = 1)
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step, is_pair)
         SELECT one.grp, one.line_id, ri.id, 'one_line_many_items', $2::int, 0, ri.currency, $3::int, false
           FROM one JOIN ri ON ri.d = one.d AND ri.currency = one.currency AND ri.direction = one.direction AND ri.grp IS NULL`,
        [rule.maxItems, RULE_CONFIDENCE.one_line_many_items_net, netStep],
      );
      await take(e, netStep, res3.rowCount ?? 0);
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
         u AS (SELECT c.line_id, c.item_id, c.currency, ${norm("c.lcp")} AS lcp, ${norm("c.icp")} AS icp FROM c JOIN nl USING (line_id) JOIN ni USING (item_id)),
         -- Corroborated by a reference: one of the line's contains one of the item's (or the reverse), both long enough.
         corroborated AS (SELECT DISTINCT u.line_id FROM u JOIN rl_ref a ON a.line_id = u.line_id JOIN ri_ref b ON b.item_id = u.item_id
                           WHERE least(length(a.ref), length(b.ref)) >= $2 AND (strpos(a.ref, b.ref) > 0 OR strpos(b.ref, a.ref) > 0))
         INSERT INTO pairs (grp, line_id, item_id, rule, confidence, diff, currency, step, is_pair)
         SELECT ${NEXT_MATCH_ID}, u.line_id, u.item_id, 'amount_date',
                CASE WHEN (length(u.lcp) >= 3 AND u.lcp = u.icp) OR u.line_id IN (SELECT line_id FROM corroborated)
                     THEN $3::int ELSE $4::int END, 0, u.currency, $5::int, true
           FROM u`,
        [rule.dateWindowDays, rule.minReferenceOverlap, RULE_CONFIDENCE.amount_date_corroborated, RULE_CONFIDENCE.amount_date, step],
      );
      await take(e, step, res4.rowCount ?? 0);
      return;
    }
  }
}

/** Runs the engine's rules on the collected candidates; pairs holds the outcome. */
async function applyRules(c: pg.PoolClient, ruleSet: RuleSet, cand: Candidates): Promise<void> {
  let step = 0;
  const e: Engine = { c, cand, threshold: ruleSet.autoApplyThreshold, nextStep: () => ++step, isMarked: false };
  for (const rule of ruleSet.rules) {
    if (rule.enabled) await applyRule(e, rule);
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
    // A join, not a subquery per line: pairs has no index, and a subquery per remaining line read
    // all of it (a hundred thousand breaks among a million pairs would never finish).
    `CREATE TEMP TABLE lb ON COMMIT DROP AS
     SELECT rl.id AS line_id, s.grp AS suggestion_grp
       FROM rl LEFT JOIN (SELECT line_id, min(grp) AS grp FROM pairs WHERE confidence < $1 GROUP BY line_id) s ON s.line_id = rl.id
      WHERE rl.grp IS NULL OR rl.grp IN (SELECT grp FROM pairs WHERE confidence < $1)`,
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
  // With statistics the planner sorts pairs once for each DISTINCT below (without, it guessed a
  // few hundred rows and hashed a million, then sorted them again for the insert order).
  await c.query(`ANALYZE pairs`);
  // A group's number was drawn from recon_matches' own sequence: it is the match id, and its rows
  // agree on rule, confidence, currency and difference (each step writes them so), so any one of
  // them describes the match. Both tables are written in match id order: a million rows inserted
  // in key order append to the right edge of each index, where the same rows in hash order touched
  // every page of it (about three times the time). A one-to-one group (is_pair: the 1:1 rules)
  // is one member row naming its line and its posting; the others, a row per line and per posting.
  const autoMatches = (
    await c.query(
      `INSERT INTO recon_matches (id, source_id, run_id, kind, rule, rule_set_version, confidence, currency, difference_minor, reasons, actor_label, created_at)
       SELECT DISTINCT ON (grp) grp, $1, $2, 'auto', rule, $3, confidence, currency, diff, '[]', $4, $5 FROM pairs WHERE confidence >= $6 ORDER BY grp`,
      [o.source.id, runId, o.ruleSet.version, actor.label, now, thr],
    )
  ).rowCount ?? 0;
  await c.query(
    `INSERT INTO recon_match_members (match_id, source_id, line_id, posting_id)
     SELECT grp, $1::uuid, line_id, item_id FROM pairs WHERE confidence >= $2 AND is_pair
     UNION ALL SELECT DISTINCT grp, NULL::uuid, line_id, NULL::bigint FROM pairs WHERE confidence >= $2 AND NOT is_pair
     UNION ALL SELECT DISTINCT grp, $1::uuid, NULL::bigint, item_id FROM pairs WHERE confidence >= $2 AND NOT is_pair
     ORDER BY 1`,
    [o.source.id, thr],
  );
  const autoMatchedLines = Number(
    (await c.query<{ n: string }>(`SELECT count(*) FILTER (WHERE is_pair) + count(DISTINCT line_id) FILTER (WHERE NOT is_pair) AS n FROM pairs WHERE confidence >= $1`, [thr])).rows[0]!.n,
  );

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

/** Opens a matching transaction: the run's statement time-out and the matching settings. */
async function beginMatching(client: pg.PoolClient): Promise<void> {
  await client.query("BEGIN");
  await client.query(RECON_STATEMENT_TIMEOUT);
  await client.query(RECON_MATCH_SETTINGS);
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
    await beginMatching(client);
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:match:' || $1, 0))`, [source.id]);
    const o: EngineOptions = { source, periodFrom: input.periodFrom, periodTo: input.periodTo, ruleSet, isFromScratch: false };
    const cand = await collect(client, o);
    await applyRules(client, ruleSet, cand);
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
    await beginMatching(client);
    const cand = await collect(client, { source, periodFrom, periodTo, ruleSet, isFromScratch: true });
    // Counted before the rules: a large step takes its automatic matches out of rl and ri.
    const items = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ri WHERE d BETWEEN $1::date AND $2::date`, [periodFrom, periodTo])).rows[0]!.n;
    const lines = cand.lines;
    await applyRules(client, ruleSet, cand);
    const thr = ruleSet.autoApplyThreshold;
    const counts = (
      await client.query<{ auto: string; sug: string; ul: string; ui: string }>(
        `SELECT (SELECT count(DISTINCT line_id) FROM pairs WHERE confidence >= $1) AS auto, (SELECT count(DISTINCT line_id) FROM pairs WHERE confidence < $1) AS sug,
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
      lines,
      items: Number(items),
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
