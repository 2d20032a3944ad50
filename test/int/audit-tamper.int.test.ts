/**
 * The audit log is tamper-evident: an edit made as a superuser (trigger disabled) is found by
 * verifyAuditChain and by `npm run audit:verify`, and without disabling the trigger the database
 * refuses every change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { appendAudit, hashRecord, type AuditInput } from "../../server/audit/audit-log";
import { verifyAuditChain } from "../../server/audit/verify";
import { pgRunner, prismaRunner } from "../../server/db/sql";

const run = promisify(execFile);

let t: TestDb;

function input(i: number): AuditInput {
  return {
    actor: { type: "user", id: `user-${i % 3}`, label: `user${i % 3}@example.com` },
    action: i % 2 ? "accounts.freeze" : "accounts.unfreeze",
    targetType: "account",
    targetId: `acct-${i}`,
    reason: `reason ${i}`,
    before: { status: "active", balanceMinor: BigInt(i) * 100n },
    after: { status: "frozen", balanceMinor: BigInt(i) * 100n, password: "never stored" },
    requestId: `req-${i}`,
  };
}

async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** Runs `sql` the way a superuser would to get past the append-only trigger. */
async function asSuperuser(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    await c.query(sql, params);
    await c.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
  });
}

interface Row {
  id: string;
  lane: number;
  lane_seq: string;
  after: unknown;
  hash: string;
}

/** A record in the middle of a lane: it has a predecessor and a successor. */
async function pickMiddle(pool: pg.Pool): Promise<{ row: Row; next: Row }> {
  const rows = await pool.query<Row>(
    `SELECT a.id::text AS id, a.lane, a.lane_seq::text AS lane_seq, a.after, a.hash FROM audit_log a
      WHERE a.lane_seq > 1 AND EXISTS (SELECT 1 FROM audit_log b WHERE b.lane = a.lane AND b.lane_seq = a.lane_seq + 1)
      ORDER BY a.id LIMIT 1`,
  );
  const row = rows.rows[0]!;
  const next = await pool.query<Row>(
    `SELECT id::text AS id, lane, lane_seq::text AS lane_seq, after, hash FROM audit_log WHERE lane = $1 AND lane_seq = $2::bigint + 1`,
    [row.lane, row.lane_seq],
  );
  return { row, next: next.rows[0]! };
}

beforeAll(async () => {
  t = await createTestDb({ poolMax: 12 });
  // 20 one after another through Prisma transactions, then 30 at once through separate pool
  // transactions, so several writers race for lane heads.
  for (let i = 0; i < 20; i++) await t.prisma.$transaction(async (tx) => appendAudit(prismaRunner(tx), input(i)));
  await Promise.all(Array.from({ length: 30 }, (_, k) => inTransaction(t.pool, (c) => appendAudit(pgRunner(c), input(20 + k)))));
});

afterAll(async () => {
  await t?.drop();
});

describe("an untouched audit log", () => {
  it("verifies intact, in one batch and in many small batches", async () => {
    for (const batchSize of [1000, 2]) {
      const r = await verifyAuditChain(t.pool, { batchSize });
      expect(r.firstBreak).toBeNull();
      expect(r.isIntact).toBe(true);
      expect(r.checkedCount).toBe(50);
      expect(r.lanes).toHaveLength(16);
      expect(r.lanes.reduce((n, l) => n + l.checkedCount, 0)).toBe(50);
    }
  });

  it("verifies long lanes (sequence numbers past 9 sort as numbers, not text)", async () => {
    const own = await createTestDb({ poolMax: 4 });
    try {
      // 400 records over 16 lanes: every lane passes lane_seq 10, most pass 20.
      for (let i = 0; i < 400; i += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, k) => inTransaction(own.pool, (c) => appendAudit(pgRunner(c), input(i + k)))));
      }
      const longest = await own.pool.query<{ n: number }>(`SELECT max(lane_seq)::int AS n FROM audit_log`);
      expect(longest.rows[0]!.n).toBeGreaterThan(10);
      for (const batchSize of [1000, 7]) {
        const r = await verifyAuditChain(own.pool, { batchSize });
        expect(r.firstBreak).toBeNull();
        expect(r.checkedCount).toBe(400);
      }
    } finally {
      await own.drop();
    }
  });

  it("never stores a secret", async () => {
    const leaked = await t.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE after::text LIKE '%never stored%'`);
    expect(leaked.rows[0].n).toBe(0);
  });
});

describe("tampering as a superuser", () => {
  it("an edited `after` is reported at that record", async () => {
    const { row } = await pickMiddle(t.pool);
    await asSuperuser(t.pool, `UPDATE audit_log SET after = $2::jsonb WHERE id = $1::bigint`, [row.id, JSON.stringify({ status: "active" })]);
    try {
      const r = await verifyAuditChain(t.pool);
      expect(r.isIntact).toBe(false);
      expect(r.firstBreak).toMatchObject({ id: row.id, lane: row.lane, laneSeq: row.lane_seq });
      expect(r.firstBreak!.problem).toMatch(/content does not match its hash/);
    } finally {
      await asSuperuser(t.pool, `UPDATE audit_log SET after = $2::jsonb WHERE id = $1::bigint`, [row.id, JSON.stringify(row.after)]);
    }
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
  });

  it("an edit with a recomputed hash is reported at the next link", async () => {
    const { row, next } = await pickMiddle(t.pool);
    const full = (
      await t.pool.query(
        `SELECT lane, lane_seq::text AS lane_seq, actor_type, actor_id, actor_label, action, target_type, target_id, reason,
                before, after, request_id, created_at, prev_hash FROM audit_log WHERE id = $1::bigint`,
        [row.id],
      )
    ).rows[0];
    const forgedAfter = { status: "active", balanceMinor: "0" };
    const forgedHash = hashRecord({
      lane: full.lane,
      laneSeq: full.lane_seq,
      actorType: full.actor_type,
      actorId: full.actor_id,
      actorLabel: full.actor_label,
      action: full.action,
      targetType: full.target_type,
      targetId: full.target_id,
      reason: full.reason,
      before: full.before,
      after: forgedAfter,
      requestId: full.request_id,
      createdAt: full.created_at,
      prevHash: full.prev_hash,
    });
    await asSuperuser(t.pool, `UPDATE audit_log SET after = $2::jsonb, hash = $3 WHERE id = $1::bigint`, [row.id, JSON.stringify(forgedAfter), forgedHash]);
    try {
      const r = await verifyAuditChain(t.pool);
      expect(r.isIntact).toBe(false);
      expect(r.firstBreak).toMatchObject({ id: next.id, lane: row.lane, laneSeq: next.lane_seq });
      expect(r.firstBreak!.problem).toMatch(/prev_hash/);
    } finally {
      await asSuperuser(t.pool, `UPDATE audit_log SET after = $2::jsonb, hash = $3 WHERE id = $1::bigint`, [row.id, JSON.stringify(row.after), row.hash]);
    }
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
  });

  it("a deleted record shows as a sequence gap at the next link", async () => {
    const { row, next } = await pickMiddle(t.pool);
    const saved = (await t.pool.query(`SELECT * FROM audit_log WHERE id = $1::bigint`, [row.id])).rows[0];
    await asSuperuser(t.pool, `DELETE FROM audit_log WHERE id = $1::bigint`, [row.id]);
    try {
      const r = await verifyAuditChain(t.pool);
      expect(r.isIntact).toBe(false);
      expect(r.firstBreak).toMatchObject({ id: next.id, lane: row.lane });
      expect(r.firstBreak!.problem).toMatch(/sequence gap/);
    } finally {
      const cols = Object.keys(saved);
      await t.pool.query(
        `INSERT INTO audit_log (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
        cols.map((c) => (c === "before" || c === "after") && saved[c] !== null ? JSON.stringify(saved[c]) : saved[c]),
      );
    }
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
  });

  it("a deleted newest record is caught by the lane head", async () => {
    const last = (
      await t.pool.query<{ id: string; lane: number }>(
        `SELECT a.id::text AS id, a.lane FROM audit_log a JOIN audit_lanes h ON h.lane = a.lane AND h.last_seq = a.lane_seq
          WHERE a.lane_seq > 1 ORDER BY a.id LIMIT 1`,
      )
    ).rows[0]!;
    const saved = (await t.pool.query(`SELECT * FROM audit_log WHERE id = $1::bigint`, [last.id])).rows[0];
    await asSuperuser(t.pool, `DELETE FROM audit_log WHERE id = $1::bigint`, [last.id]);
    try {
      const r = await verifyAuditChain(t.pool);
      expect(r.isIntact).toBe(false);
      expect(r.firstBreak!.lane).toBe(last.lane);
      expect(r.firstBreak!.problem).toMatch(/lane head/);
    } finally {
      const cols = Object.keys(saved);
      await t.pool.query(
        `INSERT INTO audit_log (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
        cols.map((c) => (c === "before" || c === "after") && saved[c] !== null ? JSON.stringify(saved[c]) : saved[c]),
      );
    }
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
  });

  it("npm run audit:verify exits 0 when intact and 1 with the broken id", async () => {
    const script = ["tsx", "scripts/audit-verify.ts"];
    const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: t.url, NODE_ENV: "test" as const };
    const ok = await run("npx", script, { env: childEnv });
    expect(ok.stdout).toMatch(/^audit log intact: 50 records/);

    const { row } = await pickMiddle(t.pool);
    await asSuperuser(t.pool, `UPDATE audit_log SET reason = 'nothing to see' WHERE id = $1::bigint`, [row.id]);
    try {
      const broken = await run("npx", script, { env: childEnv }).then(
        () => null,
        (e: { code: number; stdout: string }) => e,
      );
      expect(broken?.code).toBe(1);
      expect(broken?.stdout).toContain(`audit log BROKEN at record ${row.id} `);
    } finally {
      await asSuperuser(t.pool, `UPDATE audit_log SET reason = (SELECT 'reason ' || substr(target_id, 6)) WHERE id = $1::bigint`, [row.id]);
    }
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
  });
});

describe("without disabling the trigger", () => {
  it.each([
    ["UPDATE", `UPDATE audit_log SET reason = 'x' WHERE id = (SELECT min(id) FROM audit_log)`],
    ["DELETE", `DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)`],
    ["TRUNCATE", `TRUNCATE audit_log`],
  ])("%s is refused by the database", async (op, sql) => {
    await expect(t.pool.query(sql)).rejects.toMatchObject({ code: "42501", message: expect.stringContaining(`append-only: ${op} refused`) });
    const n = await t.pool.query(`SELECT count(*)::int AS n FROM audit_log`);
    expect(n.rows[0].n).toBe(50);
  });
});
