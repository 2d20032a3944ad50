// Applying exactly once: two approvers (each on their own connection pool, as two web processes
// would be) approve the same proposal at the same instant, a hundred times; a double click by one
// approver; a two-approver proposal approved by both at once. Each proposal posts one entry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { getBalances } from "../../server/ledger/balances";
import { appCodeOf, callerAs, enrol, entryPayload, miniLedger, person, registerPeople, type MiniLedger } from "./approvals-test-helpers";

let db: TestDb;
let other: DbHandles;
let L: MiniLedger;
const operator = person("omar", ["operator"]);
const ada = person("ada", ["approver"]);
const abe = person("abe", ["approver"]);
const ROUNDS = 100;

beforeAll(async () => {
  db = await createTestDb({ poolMax: 8 });
  await registerPeople(db, operator, ada, abe);
  other = createDbHandles(db.url, { max: 8, applicationName: "test-second-process" });
  L = await miniLedger(db);
  await enrol(db, ada);
  await enrol(db, abe);
});
afterAll(async () => {
  await other?.pool.end().catch(() => {});
  await other?.prisma.$disconnect().catch(() => {});
  await db?.drop();
});

async function propose(amount: string): Promise<string> {
  const p = await callerAs(db, operator).approvals.propose({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.other.code, amount), reason: "race", idempotencyKey: `race:${randomUUID()}` });
  return p.id;
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string | undefined }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, code: appCodeOf(e) };
  }
}

async function entryCount(proposalId: string): Promise<number> {
  return Number((await db.pool.query(`SELECT count(*) FROM journal_entries WHERE idempotency_key = $1`, [`adjustment:${proposalId}`])).rows[0].count);
}

describe("applying exactly once", () => {
  it(`two approvers approving at the same instant apply it once, ${ROUNDS} times in a row`, async () => {
    const start = (await getBalances(db, L.other.id)).postedMinor;
    const outcomes = new Map<string, number>();
    for (let i = 0; i < ROUNDS; i++) {
      const id = await propose("0.01");
      const results = await Promise.all([settle(callerAs(db, ada).approvals.approve({ proposalId: id })), settle(callerAs(other, abe).approvals.approve({ proposalId: id }))]);
      const applied = results.filter((r) => r.ok && r.value.status === "applied");
      expect(applied).toHaveLength(1);
      const loser = results.find((r) => !(r.ok && r.value.status === "applied"))!;
      const label = loser.ok ? `ok:${loser.value.status}` : loser.code!;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      expect(await entryCount(id)).toBe(1);
      const decisions = await db.pool.query(`SELECT count(*)::int AS n FROM adjustment_decisions WHERE proposal_id = $1`, [id]);
      expect(decisions.rows[0].n).toBe(1);
    }
    // The one that lost the race was told the proposal is no longer open; nothing else happened.
    expect([...outcomes.keys()]).toEqual(["PROPOSAL_NOT_OPEN"]);
    expect((await getBalances(db, L.other.id)).postedMinor - start).toBe(BigInt(ROUNDS));
  });

  it("a double click by one approver applies once", async () => {
    for (let i = 0; i < 10; i++) {
      const id = await propose("0.02");
      const results = await Promise.all([settle(callerAs(db, ada).approvals.approve({ proposalId: id })), settle(callerAs(other, ada).approvals.approve({ proposalId: id }))]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).map((r) => (r as { code: string }).code)[0]).toMatch(/^(PROPOSAL_NOT_OPEN|ALREADY_APPROVED)$/);
      expect(await entryCount(id)).toBe(1);
    }
  });

  it("a two-approver proposal approved by both at once counts both and applies once", async () => {
    for (let i = 0; i < 10; i++) {
      const id = await propose("10000.00");
      const results = await Promise.all([settle(callerAs(db, ada).approvals.approve({ proposalId: id })), settle(callerAs(other, abe).approvals.approve({ proposalId: id }))]);
      expect(results.every((r) => r.ok)).toBe(true);
      const statuses = results.map((r) => (r.ok ? r.value.status : "error")).sort();
      expect(statuses).toEqual(["applied", "open"]);
      expect(await entryCount(id)).toBe(1);
    }
  });
});
