/**
 * Only standing approvers count (issue 14, point 3): when the final approval applies a proposal,
 * every approval counted must come from a person who is still active, still holds the approver
 * role and holds no conflicting role. Deactivating an approver or removing the role mid-flight
 * drops their approval.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { approveProposal } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { setUserActive, setUserRoles } from "../../server/admin/users";
import { appCodeOf, callerAs, enrol, entryPayload, errorOf, miniLedger, person, registerPeople, type MiniLedger } from "./approvals-test-helpers";

let db: TestDb;
let L: MiniLedger;
const operator = person("omar", ["operator"]);
const admin = person("alex", ["admin"]);

beforeAll(async () => {
  db = await createTestDb();
  L = await miniLedger(db, 500_00n);
  await registerPeople(db, operator, admin);
});
afterAll(async () => {
  await db?.drop();
});

/** A proposal above the EUR threshold: two approvers needed. */
async function proposeLarge(): Promise<string> {
  const p = await callerAs(db, operator).approvals.propose({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "20000.00"), reason: "large correction", idempotencyKey: `test:${randomUUID()}` });
  expect(p.requiredApprovals).toBe(2);
  return p.id;
}

async function approverPair() {
  const first = person(`first-${randomUUID().slice(0, 4)}`, ["approver"]);
  const second = person(`second-${randomUUID().slice(0, 4)}`, ["approver"]);
  await registerPeople(db, first, second);
  await enrol(db, first);
  await enrol(db, second);
  return { first, second };
}

const status = async (id: string) => (await db.pool.query(`SELECT status FROM adjustment_proposals WHERE id = $1`, [id])).rows[0].status as string;
const adminCall = { actor: admin, requestId: "req-standing" };

describe("only standing approvers count", () => {
  it("both approvers standing: the second approval applies", async () => {
    const { first, second } = await approverPair();
    const id = await proposeLarge();
    await approveProposal(db, { actor: first, kinds: adjustmentKinds }, { proposalId: id });
    expect(await approveProposal(db, { actor: second, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "applied", approvals: 2 });
  });

  it("an approver deactivated after approving no longer counts; the proposal waits for another", async () => {
    const { first, second } = await approverPair();
    const id = await proposeLarge();
    await approveProposal(db, { actor: first, kinds: adjustmentKinds }, { proposalId: id });
    await setUserActive(db, adminCall, { userId: first.userId, isActive: false, reason: "left the company" });
    expect(await approveProposal(db, { actor: second, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "open", approvals: 1, requiredApprovals: 2 });
    expect(await status(id)).toBe("open");
    const audit = await db.pool.query(`SELECT after FROM audit_log WHERE action = 'adjustment.approve' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [id]);
    expect(audit.rows[0].after.notCounted).toEqual([{ actorId: first.userId, reason: "deactivated" }]);
    // A third, standing approver completes it.
    const third = person("third", ["approver"]);
    await registerPeople(db, third);
    await enrol(db, third);
    expect(await approveProposal(db, { actor: third, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "applied", approvals: 2 });
  });

  it("an approver whose role was removed after approving no longer counts", async () => {
    const { first, second } = await approverPair();
    const id = await proposeLarge();
    await approveProposal(db, { actor: first, kinds: adjustmentKinds }, { proposalId: id });
    await setUserRoles(db, adminCall, { userId: first.userId, roles: ["viewer"], reason: "moved to support" });
    expect(await approveProposal(db, { actor: second, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "open", approvals: 1 });
    const audit = await db.pool.query(`SELECT after FROM audit_log WHERE action = 'adjustment.approve' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [id]);
    expect(audit.rows[0].after.notCounted).toEqual([{ actorId: first.userId, reason: "no longer an approver" }]);
  });

  it("an approver who has since come to hold a conflicting role (admin) no longer counts, and cannot approve", async () => {
    const { first, second } = await approverPair();
    const id = await proposeLarge();
    await approveProposal(db, { actor: first, kinds: adjustmentKinds }, { proposalId: id });
    // Written directly: assigning the pair through the admin API is refused (separation of duties).
    await db.pool.query(`INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')`, [first.userId]);
    expect(await approveProposal(db, { actor: second, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "open", approvals: 1 });
    const both = person("both", ["approver", "admin"]);
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: both, kinds: adjustmentKinds }, { proposalId: id })))).toBe("FORBIDDEN");
  });
});
