/**
 * audit_append_many: a group commit's audit records as one run on one lane, chained exactly as
 * audit_append and hashRecord() chain them, so the verifier accepts them unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { auditAppendManyCall, type AuditInput } from "../../server/audit/audit-log";
import { verifyAuditChain } from "../../server/audit/verify";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});

const input = (n: number): AuditInput => ({
  actor: { type: "system", id: null, label: "test" },
  action: "test.appended",
  targetType: "thing",
  targetId: `thing-${n}`,
  after: { n, note: `record ${n}` },
  requestId: `req-${n}`,
  at: new Date(Date.UTC(2026, 10, 21, 12, 0, n)),
});

async function appendMany(inputs: AuditInput[]): Promise<{ id: string; hash: string }[]> {
  const params: unknown[] = [];
  const call = auditAppendManyCall(inputs, (v) => {
    params.push(v);
    return `$${params.length}`;
  });
  return (await t.pool.query<{ id: string; hash: string }>(`SELECT id::text AS id, hash FROM ${call} AS x`, params)).rows;
}

describe("audit_append_many", () => {
  it("chains a run of records on one lane with consecutive sequence numbers, and the chain verifies", async () => {
    const rows = await appendMany([input(1), input(2), input(3)]);
    expect(rows).toHaveLength(3);
    const stored = (
      await t.pool.query<{ lane: number; lane_seq: string; prev_hash: string; hash: string; target_id: string }>(
        `SELECT lane, lane_seq::text, prev_hash, hash, target_id FROM audit_log WHERE id = ANY($1::bigint[]) ORDER BY lane_seq`,
        [rows.map((r) => r.id)],
      )
    ).rows;
    expect(new Set(stored.map((r) => r.lane)).size).toBe(1);
    expect(stored.map((r) => r.target_id)).toEqual(["thing-1", "thing-2", "thing-3"]);
    const seqs = stored.map((r) => Number(r.lane_seq));
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    expect(stored[1]!.prev_hash).toBe(stored[0]!.hash);
    expect(stored[2]!.prev_hash).toBe(stored[1]!.hash);
    const head = await t.pool.query<{ last_seq: string; last_hash: string }>(`SELECT last_seq::text, last_hash FROM audit_lanes WHERE lane = $1`, [stored[0]!.lane]);
    expect(head.rows[0]).toEqual({ last_seq: String(seqs[2]), last_hash: stored[2]!.hash });
    const report = await verifyAuditChain(t.pool);
    expect(report.isIntact).toBe(true);
    expect(report.checkedCount).toBeGreaterThanOrEqual(3);
  });

  it("appends nothing for no records, and refuses arrays of different lengths without writing", async () => {
    const before = (await t.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log`)).rows[0]!.n;
    expect(await appendMany([])).toEqual([]);
    await expect(
      t.pool.query(
        `SELECT * FROM audit_append_many($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::jsonb[], $12::text[], $13::timestamptz[])`,
        [["{"], [], ["system"], [null], ["t"], ["a"], ["x"], ["1"], [null], [null], [null], [null], [new Date().toISOString()]],
      ),
    ).rejects.toThrow(/differ in length/);
    expect((await t.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log`)).rows[0]!.n).toBe(before);
  });
});
