/**
 * Four of the transfers table's indexes are partial (migration 20261204000000): a transfer's row
 * versions enter them only when a reader could ask for them. A partial index serves a query only
 * when PostgreSQL can prove that the query's condition implies the index's predicate. Here each
 * reader's statements, as it sends them, are explained with sequential scans priced out, with
 * their values and as a generic plan: a reader whose condition did not imply the predicate would
 * have to scan the whole table or another index, and its plan would show it.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { sampleBacklog } from "../../server/transfers/admission";
import { pollOverdueTransfers } from "../../server/transfers/sweeper";
import { claimDueSubmissions, findOtherDueTransfers } from "../../server/transfers/submission-queue";
import { listTransfers, summarizeStuck } from "../../server/transfers/queries";
import { listTransfersOfBreak, readRunTransferMatches } from "../../server/recon/transfer-links";

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
  it("the worker's claims, the overdue poll, admission's backlog and the stuck summary read transfers in flight by index", async () => {
    for (const run of [
      (db: { pool: pg.Pool }) => claimDueSubmissions(db, 32, new Date()),
      (db: { pool: pg.Pool }) => findOtherDueTransfers(db, 32, new Date()),
      (db: { pool: pg.Pool }) => pollOverdueTransfers(db, { adapterFor: () => { throw new Error("no transfer is overdue"); } }),
      (db: { pool: pg.Pool }) => sampleBacklog(db.pool),
      (db: { pool: pg.Pool }) => summarizeStuck(db),
    ]) {
      // The list's (state, created_at) index would serve these too; hidden, the partial one must.
      const reads = await transfersReadsOf(run, ["transfers_state_created_at_id_idx"]);
      expect(reads).toContain("transfers_state_state_changed_at_idx");
      expect(reads).not.toContain("Seq Scan");
    }
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
