/**
 * No one approves their own work by any path (issue 14, point 2): a proposal made through a
 * service key counts as made by the person who created the key, through the console, the API and
 * the database alike; the database derives that person from service_keys itself; a key with no
 * recorded creator cannot propose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjustmentKinds } from "../../server/composition";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { approveProposal, rejectProposal } from "../../server/approvals/proposals";
import { createServiceKeyUnderFourEyes } from "../../server/approvals/service-key-activation";
import { authenticateServiceKey } from "../../server/auth/service-key-auth";
import { serviceActor, type Actor } from "../../server/core/actor";
import { appCodeOf, callerAs, enrol, entryPayload, errorOf, miniLedger, person, registerPeople, type MiniLedger } from "./approvals-test-helpers";

let db: TestDb;
let L: MiniLedger;
const keyMaker = person("kim", ["approver"]);
const other = person("otto", ["approver"]);
const admin = person("alex", ["admin"]);

beforeAll(async () => {
  db = await createTestDb();
  L = await miniLedger(db, 500_00n);
  await registerPeople(db, keyMaker, other, admin);
  await enrol(db, keyMaker);
  await enrol(db, other);
});
afterAll(async () => {
  await db?.drop();
});

/** A real key created by `creator` (an admin at the time), authenticated as a service would be. */
async function keyOf(creatorId: string): Promise<Actor> {
  const creator = { ...admin, userId: creatorId } as Actor;
  const { secret, activationProposalId } = await createServiceKeyUnderFourEyes(db, { actor: creator, requestId: null, kinds: adjustmentKinds }, { name: `recon-${randomUUID().slice(0, 6)}`, scopes: ["adjustments:read", "adjustments:propose"] });
  // adjustments:propose is a money-moving scope: another approver activates the key first.
  await approveProposal(db, { actor: other, kinds: adjustmentKinds }, { proposalId: activationProposalId! });
  const actor = await authenticateServiceKey(db, secret, null);
  expect(actor).not.toBeNull();
  return actor!;
}

async function proposeAs(actor: Actor): Promise<string> {
  const p = await callerAs(db, actor).approvals.propose({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "10.00"), reason: "recon correction", idempotencyKey: `test:${randomUUID()}` });
  return p.id;
}

describe("a proposal made through a service key counts as its creator's", () => {
  it("the key's creator cannot approve or reject it, through the API or the domain; another approver can", async () => {
    const key = await keyOf(keyMaker.userId);
    const id = await proposeAs(key);
    expect(appCodeOf(await errorOf(callerAs(db, keyMaker).approvals.approve({ proposalId: id })))).toBe("SELF_APPROVAL");
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: keyMaker, kinds: adjustmentKinds }, { proposalId: id })))).toBe("SELF_APPROVAL");
    expect(appCodeOf(await errorOf(rejectProposal(db, { actor: keyMaker, kinds: adjustmentKinds }, { proposalId: id, reason: "mine" })))).toBe("SELF_APPROVAL");
    const detail = await callerAs(db, keyMaker).approvals.get({ id });
    expect(detail.viewer.canApprove).toBe(false);
    expect(await approveProposal(db, { actor: other, kinds: adjustmentKinds }, { proposalId: id })).toMatchObject({ status: "applied" });
  });

  it("the database refuses the creator's decision even when the service's check is skipped", async () => {
    const key = await keyOf(keyMaker.userId);
    const id = await proposeAs(key);
    await expect(db.pool.query(`INSERT INTO adjustment_decisions (proposal_id, decision, actor_id, actor_label, created_at) VALUES ($1, 'approve', $2, 'kim', now())`, [id, keyMaker.userId])).rejects.toThrow(
      /created the key that did\) and cannot decide on it/,
    );
  });

  it("the database derives the creator from service_keys: a proposal claiming another person is refused", async () => {
    const key = await keyOf(keyMaker.userId);
    // A forged actor: the real key, but claiming to have been created by someone else.
    const forged = serviceActor({ id: (key as Extract<Actor, { kind: "service" }>).keyId, name: "forged", scopes: ["adjustments:read", "adjustments:propose"], createdById: other.userId });
    const err = await errorOf(proposeAs(forged));
    expect(String((err as Error).message)).toMatch(/counts as the person who created the key/);
  });

  it("a key with no recorded creator cannot propose", async () => {
    const orphan = serviceActor({ id: randomUUID(), name: "orphan", scopes: ["adjustments:read", "adjustments:propose"], createdById: null });
    expect(appCodeOf(await errorOf(proposeAs(orphan)))).toBe("FORBIDDEN");
  });

  it("the proposer themself is refused by the database too", async () => {
    const operator = person("omar", ["operator"]);
    await registerPeople(db, operator);
    const id = await proposeAs(operator);
    await expect(db.pool.query(`INSERT INTO adjustment_decisions (proposal_id, decision, actor_id, actor_label, created_at) VALUES ($1, 'approve', $2, 'omar', now())`, [id, operator.userId])).rejects.toThrow(/cannot decide on it/);
  });
});
