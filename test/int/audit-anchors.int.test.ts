/**
 * The audit chain anchored outside the database (issue 14, point 6): someone who owns the
 * database rewrites a record and recomputes every hash after it, so the chain verifies on its own;
 * the signed anchors (key not in the database) catch it, through `npm run audit:verify --
 * --anchors <file>`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { appendAudit, hashRecord } from "../../server/audit/audit-log";
import { verifyAuditChain } from "../../server/audit/verify";
import { ANCHOR_TOPIC, parseAnchors, publishAnchor, signAnchor, readLaneHeads, verifyAgainstAnchors } from "../../server/audit/anchors";
import { pgRunner } from "../../server/db/sql";

const run = promisify(execFile);
let t: TestDb;
let dir: string;
let anchorsFile: string;
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const publicPem = publicKey.export({ format: "pem", type: "spki" }).toString();

async function append(n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit(pgRunner(t.pool), { actor: { type: "user", id: "u1", label: "u1@example.test" }, action: "test.record", targetType: "test", targetId: `${tag}-${i}`, reason: `reason ${tag}-${i}`, after: { n: i } });
  }
}

/** What an attacker with the database does: edit a record, then recompute its lane from there on. */
async function rewriteLane(pool: pg.Pool, lane: number, fromSeq: string, newReason: string): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    const rows = (
      await c.query(
        `SELECT id::text AS id, lane, lane_seq::text AS lane_seq, actor_type, actor_id, actor_label, action, target_type, target_id, reason, before, after, request_id, created_at, prev_hash
           FROM audit_log WHERE lane = $1 AND lane_seq >= $2::bigint ORDER BY lane_seq`,
        [lane, fromSeq],
      )
    ).rows;
    let prev = rows[0].prev_hash as string;
    for (const [i, r] of rows.entries()) {
      const reason = i === 0 ? newReason : r.reason;
      const hash = hashRecord({
        lane: r.lane, laneSeq: r.lane_seq, actorType: r.actor_type, actorId: r.actor_id, actorLabel: r.actor_label, action: r.action, targetType: r.target_type,
        targetId: r.target_id, reason, before: r.before ?? null, after: r.after ?? null, requestId: r.request_id, createdAt: new Date(r.created_at), prevHash: prev,
      });
      await c.query(`UPDATE audit_log SET reason = $2, prev_hash = $3, hash = $4 WHERE id = $1::bigint`, [r.id, reason, prev, hash]);
      prev = hash;
    }
    await c.query(`UPDATE audit_lanes SET last_hash = $2 WHERE lane = $1`, [lane, prev]);
    await c.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK");
    throw e;
  } finally {
    c.release();
  }
}

function verifyScript(args: string[]) {
  const env = { ...process.env, DATABASE_URL: t.url, NODE_ENV: "test" as const, AUDIT_ANCHOR_PUBLIC_KEY: publicPem };
  return run("npx", ["tsx", "scripts/audit-verify.ts", ...args], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout + e.stderr }),
  );
}

beforeAll(async () => {
  t = await createTestDb();
  dir = await mkdtemp(path.join(tmpdir(), "anchors-"));
  anchorsFile = path.join(dir, "anchors.jsonl");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t?.drop();
});

describe("audit chain anchors", () => {
  it("publishes signed heads through the outbox and to the file", async () => {
    await append(40, "a");
    const anchor = await publishAnchor(t, { privateKey, file: anchorsFile });
    await append(10, "b");
    await publishAnchor(t, { privateKey, file: anchorsFile });
    const lines = parseAnchors(await readFile(anchorsFile, "utf8"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual(anchor);
    expect(anchor.payload.lanes).toHaveLength(16);
    const events = await t.pool.query(`SELECT payload FROM outbox_events WHERE topic = $1 ORDER BY id`, [ANCHOR_TOPIC]);
    expect(events.rows.map((r) => r.payload)).toEqual(lines);
    expect(await verifyAgainstAnchors(t, lines, publicKey)).toEqual([]);
  });

  it("npm run audit:verify -- --anchors passes an untouched chain", async () => {
    const ok = await verifyScript(["--anchors", anchorsFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit log intact: 50 records .* consistent with 2 signed anchors/);
  });

  it("a rewritten chain with every hash recomputed verifies on its own, and is caught by the anchors", async () => {
    const target = (await t.pool.query<{ lane: number; lane_seq: string }>(`SELECT lane, lane_seq::text AS lane_seq FROM audit_log WHERE lane_seq = 1 ORDER BY id LIMIT 1`)).rows[0]!;
    await rewriteLane(t.pool, target.lane, target.lane_seq, "nothing happened here");
    expect((await verifyAuditChain(t.pool)).isIntact).toBe(true);
    expect((await verifyScript([])).code).toBe(0);

    const caught = await verifyScript(["--anchors", anchorsFile]);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(new RegExp(`audit log REWRITTEN: record \\d+ of lane ${target.lane} has hash .* the chain was rewritten`));
  });

  it("an anchor signed with another key is refused, and so is a missing public key", async () => {
    const other = generateKeyPairSync("ed25519");
    const forged = signAnchor(await readLaneHeads(t), new Date(), other.privateKey);
    const problems = await verifyAgainstAnchors(t, [forged], publicKey);
    expect(problems[0]!.problem).toMatch(/signature does not verify/);
    const forgedFile = path.join(dir, "forged.jsonl");
    await writeFile(forgedFile, `${JSON.stringify(forged)}\n`);
    expect((await verifyScript(["--anchors", forgedFile])).code).toBe(1);
    const noKey = await run("npx", ["tsx", "scripts/audit-verify.ts", "--anchors", forgedFile], { env: { ...process.env, DATABASE_URL: t.url, NODE_ENV: "test" } }).catch((e: { code: number; stderr: string }) => e);
    expect((noKey as { code: number }).code).toBe(2);
  });
});
