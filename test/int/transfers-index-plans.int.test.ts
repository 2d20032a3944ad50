/**
 * Six of the transfers table's indexes are partial (migrations 20261204000000 and
 * 20261205000000): a transfer's row versions enter them only when a reader could ask for them. A
 * partial index serves a query only when PostgreSQL can prove that the query's condition implies
 * the index's predicate. Here each reader's statements, as it sends them, are explained with
 * sequential scans priced out, with their values and as a generic plan: a reader whose condition
 * did not imply the predicate would have to scan the whole table or another index, and its plan
 * would show it. The submission queue's readers are also run against thousands of transfers in
 * backoff, on the product's own settings, to show that what they read does not grow with them.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { sampleBacklog } from "../../server/transfers/admission";
import { pollOverdueTransfers } from "../../server/transfers/sweeper";
import { claimDueSubmissions, findOtherDueTransfers } from "../../server/transfers/submission-queue";
import { listTransfers, summarizeStuck } from "../../server/transfers/queries";
import { listTransfersOfBreak, readRunTransferMatches } from "../../server/recon/transfer-links";
import { openAccount } from "../../server/ledger/testing";

let t: TestDb;
let pool: pg.Pool;

beforeAll(async () => {
  t = await createTestDb({ poolMax: 1 });
  pool = new pg.Pool({ connectionString: t.url, max: 1, options: "-c enable_seqscan=off" });
});
afterAll(async () => {
  await pool?.end();
  await t?.drop();
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  Plans?: PlanNode[];
}

/**
 * How the statements `run` sends read table transfers: "Seq Scan" or an index's name, per plan
 * node. `hiding` indexes are dropped for the explains (in a transaction rolled back after), so
 * that an index that would serve as well cannot stand in for the partial one under test.
 */
async function transfersReadsOf(run: (db: { pool: pg.Pool }) => Promise<unknown>, hiding: string[] = []): Promise<string[]> {
  const sent: { text: string; values: unknown[] }[] = [];
  const recording = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== "query") return Reflect.get(target, prop, receiver);
      // A prepared statement is sent as a config object ({ name, text, values }).
      return (q: string | pg.QueryConfig, values?: unknown[]) => {
        sent.push(typeof q === "string" ? { text: q, values: values ?? [] } : { text: q.text, values: q.values ?? [] });
        return target.query(q as string, values);
      };
    },
  });
  await run({ pool: recording });
  const reads: string[] = [];
  const walk = (n: PlanNode) => {
    // A bitmap scan names its index on its child, which names no relation: the table's index names start with "transfers_".
    if (n["Node Type"] === "Seq Scan" && n["Relation Name"] === "transfers") reads.push("Seq Scan");
    if (n["Index Name"]?.startsWith("transfers_")) reads.push(n["Index Name"]);
    for (const c of n.Plans ?? []) walk(c);
  };
  const client = await pool.connect();
  try {
    const version = Number((await client.query<{ v: string }>(`SHOW server_version_num`)).rows[0]!.v);
    await client.query("BEGIN");
    for (const name of hiding) await client.query(`DROP INDEX ${name}`);
    for (const s of sent.filter((q) => /\btransfers\b/.test(q.text))) {
      // The plan for these values, and (PostgreSQL 16+) the generic plan a prepared statement would
      // cache, which cannot use the values to prove a predicate.
      const res = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values);
      walk(res.rows[0]!["QUERY PLAN"][0]!.Plan);
      if (version >= 160000 && s.values.length > 0) {
        const generic = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${s.text}`);
        walk(generic.rows[0]!["QUERY PLAN"][0]!.Plan);
      }
    }
  } finally {
    await client.query("ROLLBACK");
    client.release();
  }
  return reads;
}

describe("partial indexes of transfers serve their readers", () => {
  it("the overdue poll and the stuck summary read transfers in flight by index", async () => {
    for (const run of [
      (db: { pool: pg.Pool }) => pollOverdueTransfers(db, { adapterFor: () => { throw new Error("no transfer is overdue"); } }),
      (db: { pool: pg.Pool }) => summarizeStuck(db),
    ]) {
      // The list's (state, created_at) index would serve these too; hidden, the partial one must.
      const reads = await transfersReadsOf(run, ["transfers_state_created_at_id_idx"]);
      expect(reads).toContain("transfers_state_state_changed_at_idx");
      expect(reads).not.toContain("Seq Scan");
    }
  });

  it("the submission queue's readers read its two partial indexes, and the created transfers by state", async () => {
    const hidden = ["transfers_state_created_at_id_idx"];
    const claims = await transfersReadsOf((db) => claimDueSubmissions(db, 32, new Date()), hidden);
    expect(claims).toEqual(expect.arrayContaining(["transfers_submission_ready_idx", "transfers_submission_retry_idx"]));
    expect(claims).not.toContain("transfers_state_state_changed_at_idx");
    const others = await transfersReadsOf((db) => findOtherDueTransfers(db, 32, new Date()), hidden);
    expect(others).toEqual(expect.arrayContaining(["transfers_state_state_changed_at_idx", "transfers_submission_retry_idx"]));
    expect(others).not.toContain("transfers_submission_ready_idx");
    const backlog = await transfersReadsOf((db) => sampleBacklog(db.pool), hidden);
    expect(backlog).toEqual(expect.arrayContaining(["transfers_state_state_changed_at_idx", "transfers_submission_ready_idx", "transfers_submission_retry_idx"]));
    for (const reads of [claims, others, backlog]) expect(reads).not.toContain("Seq Scan");
  });

  it("a search by partner reference reads the partner_ref index", async () => {
    const reads = await transfersReadsOf((db) => listTransfers(db, { q: "PAY-123456" }));
    expect(reads).toContain("transfers_partner_ref_idx");
    expect(reads).not.toContain("Seq Scan");
  });

  it("reconciliation finds a posting's transfer through the entry indexes", async () => {
    for (const run of [
      (db: { pool: pg.Pool }) => listTransfersOfBreak(db.pool, { transferId: null, postingId: "1", matchIds: ["1", "2"] }),
      (db: { pool: pg.Pool }) => readRunTransferMatches(db.pool, "00000000-0000-4000-8000-000000000000", 10),
    ]) {
      const reads = await transfersReadsOf(run);
      expect(reads).toContain("transfers_settlement_entry_id_idx");
      expect(reads).toContain("transfers_return_entry_id_idx");
      expect(reads).not.toContain("Seq Scan");
    }
  });
});

describe("the submission queue's readers never visit transfers in backoff", () => {
  const IN_BACKOFF = 20_000;

  beforeAll(async () => {
    // A partner's outage: many reserved transfers wait in backoff, older than the few that are due.
    const source = await openAccount(t, { code: "plans:source", type: "liability" });
    const insert = (n: number, prefix: string, state: string, changedAt: string, attempts: string, nextAttemptAt: string, lastError: string) =>
      t.pool.query(
        `INSERT INTO transfers (id, idempotency_key, request_hash, source_account_id, counterparty_name, counterparty_account, amount_minor, currency,
           rail, partner, reference, state, state_changed_at, created_at, created_by, attempts, next_attempt_at, last_error)
         SELECT gen_random_uuid(), $2 || g, 'x', $1, 'Payee', 'NL91ABNA0417164300', 100 + g, 'EUR', 'instant', 'sandbox', $2 || g,
                '${state}'::transfer_state, ${changedAt}, ${changedAt}, 'plans', ${attempts}, ${nextAttemptAt}, ${lastError}
           FROM generate_series(1, $3::int) AS g`,
        [source.id, prefix, n],
      );
    await insert(IN_BACKOFF, "backoff:", "reserved", "now() - interval '1 hour' + g * interval '1 ms'", "1 + g % 5", "now() + interval '10 minutes' + g * interval '1 ms'", "'partner unavailable'");
    await insert(40, "ready:", "reserved", "now() - interval '1 minute' + g * interval '1 ms'", "0", "NULL", "NULL");
    await insert(5, "retry:", "reserved", "now() - interval '30 minutes' + g * interval '1 ms'", "2", "now() - interval '1 second'", "'partner unavailable'");
    await insert(2, "spent:", "reserved", "now() - interval '20 minutes' + g * interval '1 ms'", "6", "now() - interval '1 second'", "'partner unavailable'");
    await insert(3, "created:", "created", "now() - interval '5 minutes' + g * interval '1 ms'", "0", "NULL", "NULL");
    await insert(50_000, "settled:", "settled", "now() - interval '2 hours' + g * interval '1 ms'", "1", "NULL", "NULL");
    await t.pool.query(`VACUUM ANALYZE transfers`);
  });

  /** The statements `run` would send, recorded, not run. */
  async function statementsOf(run: (db: { pool: pg.Pool }) => Promise<unknown>): Promise<{ text: string; values: unknown[] }[]> {
    const sent: { text: string; values: unknown[] }[] = [];
    const recording = {
      query: (q: string | pg.QueryConfig, values?: unknown[]) => {
        sent.push(typeof q === "string" ? { text: q, values: values ?? [] } : { text: q.text, values: q.values ?? [] });
        return Promise.resolve({ rows: [], rowCount: 0 });
      },
    } as unknown as pg.Pool;
    await run({ pool: recording }).catch(() => {});
    return sent;
  }

  /**
   * Runs a statement under EXPLAIN ANALYZE on the product's own connection settings (rolled back),
   * with its values and as the generic plan a prepared statement caches, and sums what its scans
   * of transfers visited: rows returned or filtered out, and buffers.
   */
  async function visitsOf(s: { text: string; values: unknown[] }, plan: "custom" | "generic") {
    const client = await t.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SET LOCAL plan_cache_mode = ${plan === "generic" ? "force_generic_plan" : "force_custom_plan"}`);
      await client.query(`PREPARE measured AS ${s.text}`);
      const literal = (v: unknown) => (typeof v === "number" ? String(v) : client.escapeLiteral(v instanceof Date ? v.toISOString() : String(v)));
      const args = s.values.length > 0 ? `(${s.values.map(literal).join(", ")})` : "";
      const res = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE measured${args}`);
      const visits = { indexes: new Set<string>(), rows: 0, buffers: 0, isSeqScan: false };
      const walk = (n: PlanNode) => {
        if (n["Relation Name"] === "transfers" && n["Node Type"].endsWith("Scan")) {
          const loops = n["Actual Loops"] ?? 1;
          visits.rows += ((n["Actual Rows"] ?? 0) + (n["Rows Removed by Filter"] ?? 0) + (n["Rows Removed by Index Recheck"] ?? 0)) * loops;
          visits.buffers += (n["Shared Hit Blocks"] ?? 0) + (n["Shared Read Blocks"] ?? 0);
          if (n["Node Type"] === "Seq Scan") visits.isSeqScan = true;
        }
        if (n["Index Name"]?.startsWith("transfers_")) visits.indexes.add(n["Index Name"]);
        for (const c of n.Plans ?? []) walk(c);
      };
      walk(res.rows[0]!["QUERY PLAN"][0]!.Plan);
      return visits;
    } finally {
      await client.query("ROLLBACK");
      await client.query("DEALLOCATE ALL");
      client.release();
    }
  }

  it(`a claim, the other due work and the backlog sample read only what is due, with ${IN_BACKOFF} transfers in backoff`, async () => {
    const now = new Date();
    const readers = [
      { name: "claim", run: (db: { pool: pg.Pool }) => claimDueSubmissions(db, 32, now), uses: ["transfers_submission_ready_idx", "transfers_submission_retry_idx"] },
      { name: "other due work", run: (db: { pool: pg.Pool }) => findOtherDueTransfers(db, 32, now), uses: ["transfers_submission_retry_idx"] },
      { name: "backlog sample", run: (db: { pool: pg.Pool }) => sampleBacklog(db.pool, now), uses: ["transfers_submission_ready_idx", "transfers_submission_retry_idx"] },
    ];
    for (const reader of readers) {
      const [statement] = await statementsOf(reader.run);
      for (const plan of ["custom", "generic"] as const) {
        const visits = await visitsOf(statement!, plan);
        const what = `${reader.name} (${plan} plan): ${JSON.stringify({ ...visits, indexes: [...visits.indexes] })}`;
        expect(visits.isSeqScan, what).toBe(false);
        expect([...visits.indexes], what).toEqual(expect.arrayContaining(reader.uses));
        // Walking the reserved transfers in state-change order would visit all 20,000 in backoff.
        expect(visits.rows, what).toBeLessThan(200);
        expect(visits.buffers, what).toBeLessThan(300);
      }
    }
    // What the sample counts: the ready, the due retries (spent ones too) and the created; not those in backoff.
    expect((await sampleBacklog(t.pool, now)).backlog).toBe(40 + 5 + 2 + 3);
  });
});
