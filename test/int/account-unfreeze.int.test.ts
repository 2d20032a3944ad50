/**
 * Unfreezing an account undoes a control, so it follows the approvals policy (issue 14, point 4):
 * one operator or key cannot unfreeze; the unfreeze is a proposal that a different standing
 * approver must approve. Freezing stays immediate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjustmentKinds } from "../../server/composition";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount } from "../../server/ledger/testing";
import { approveProposal } from "../../server/approvals/proposals";
import { appCodeOf, callerAs, enrol, errorOf, person, registerPeople, serviceKey } from "./approvals-test-helpers";

let db: TestDb;
const operator = person("omar", ["operator"]);
const approver = person("ada", ["approver"]);
const both = person("bea", ["operator", "approver"]);

beforeAll(async () => {
  db = await createTestDb();
  await registerPeople(db, operator, approver, both);
  await enrol(db, approver);
  await enrol(db, both);
});
afterAll(async () => {
  await db?.drop();
});

const statusOf = async (id: string) => (await db.pool.query(`SELECT status FROM ledger_accounts WHERE id = $1`, [id])).rows[0].status as string;
const k = () => `test:${randomUUID()}`;

describe("unfreeze needs four eyes", () => {
  it("an operator freezes at once, but unfreezing only proposes; the account stays frozen until another approver approves", async () => {
    const account = await openAccount(db, { code: `customer:${randomUUID().slice(0, 8)}:wallet` });
    await callerAs(db, operator).ledger.accounts.freeze({ accountId: account.id, reason: "suspected takeover", idempotencyKey: k() });
    expect(await statusOf(account.id)).toBe("frozen");

    const proposal = await callerAs(db, operator).ledger.accounts.unfreeze({ accountId: account.id, reason: "customer verified by phone", idempotencyKey: k() });
    expect(proposal).toMatchObject({ status: "open", requiredApprovals: 1 });
    expect(await statusOf(account.id)).toBe("frozen");

    expect(await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: proposal.id })).toMatchObject({ status: "applied" });
    expect(await statusOf(account.id)).toBe("active");
    const audit = await db.pool.query(`SELECT actor_label FROM audit_log WHERE action = 'ledger.account.unfreeze' AND target_id = $1`, [account.id]);
    expect(audit.rows.map((r) => r.actor_label)).toEqual([approver.email]);
  });

  it("the proposer cannot approve their own unfreeze, even holding the approver role", async () => {
    const account = await openAccount(db, { code: `customer:${randomUUID().slice(0, 8)}:wallet` });
    await callerAs(db, both).ledger.accounts.freeze({ accountId: account.id, reason: "suspected takeover", idempotencyKey: k() });
    const proposal = await callerAs(db, both).ledger.accounts.unfreeze({ accountId: account.id, reason: "all clear", idempotencyKey: k() });
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: both, kinds: adjustmentKinds }, { proposalId: proposal.id })))).toBe("SELF_APPROVAL");
    expect(await statusOf(account.id)).toBe("frozen");
  });

  it("a service key with accounts:manage only proposes too", async () => {
    const account = await openAccount(db, { code: `customer:${randomUUID().slice(0, 8)}:wallet` });
    const key = serviceKey("fraud-bot", ["accounts:manage", "adjustments:read"], operator.userId);
    await callerAs(db, key).ledger.accounts.freeze({ accountId: account.id, reason: "model flagged it", idempotencyKey: k() });
    const proposal = await callerAs(db, key).ledger.accounts.unfreeze({ accountId: account.id, reason: "model cleared it", idempotencyKey: k() });
    expect(await statusOf(account.id)).toBe("frozen");
    expect(proposal.status).toBe("open");
  });

  it("an account that is not frozen cannot be proposed for unfreezing", async () => {
    const account = await openAccount(db, { code: `customer:${randomUUID().slice(0, 8)}:wallet` });
    expect(appCodeOf(await errorOf(callerAs(db, operator).ledger.accounts.unfreeze({ accountId: account.id, reason: "nothing", idempotencyKey: k() })))).toBe("CONFLICT");
  });
});
