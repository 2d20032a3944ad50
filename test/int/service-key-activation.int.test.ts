/**
 * Money-moving service keys need two people, and a key may be limited in what it debits (issue
 * 14, point 1): an admin-created key holding a money-moving scope is refused until a different
 * approver approves its activation; a key limited to one account cannot debit another.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjustmentKinds } from "../../server/composition";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { revokeServiceKey } from "../../server/admin/service-keys";
import { createServiceKeyUnderFourEyes } from "../../server/approvals/service-key-activation";
import { authenticateServiceKey } from "../../server/auth/service-key-auth";
import { approveProposal } from "../../server/approvals/proposals";
import { createCaller } from "../../server/api/root";
import { openAccount, fund } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";
import type { Actor } from "../../server/core/actor";
import { appCodeOf, enrol, errorOf, person, registerPeople } from "./approvals-test-helpers";

let db: TestDb;
const admin = person("alex", ["admin"]);
const approver = person("ada", ["approver"]);
let walletA: string;
let walletB: string;

beforeAll(async () => {
  db = await createTestDb();
  await registerPeople(db, admin, approver);
  await enrol(db, approver);
  const bank = await openAccount(db, { code: "bank:omnibus:EUR", type: "asset" });
  const a = await openAccount(db, { code: "customer:lim-a:wallet", type: "liability", isNoOverdraft: true });
  const b = await openAccount(db, { code: "customer:lim-b:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, a.id, 100_000n);
  await fund(db, bank.id, b.id, 100_000n);
  walletA = a.id;
  walletB = b.id;
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const adminCall = { actor: admin, requestId: "req-keys" };
const payout = (sourceAccountId: string) => ({
  sourceAccountId,
  counterpartyName: "Jane Doe",
  counterpartyAccount: "DE89370400440532013000",
  amountMinor: "1000",
  currency: "EUR",
  rail: "instant",
  idempotencyKey: `payout-${randomUUID()}`,
});
const callerOf = (actor: Actor) => createCaller({ db, actor, requestId: "r", ip: null });

describe("money-moving keys need a second person", () => {
  it("an admin-created key with transfers:create cannot move money until another approver approves its activation", async () => {
    const { key, secret, activationProposalId } = await createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: "payouts", scopes: ["transfers:create", "transfers:read"] });
    expect(key.activatedAt).toBeNull();
    expect(activationProposalId).not.toBeNull();
    expect(await authenticateServiceKey(db, secret, null)).toBeNull();
    const refused = await db.pool.query(`SELECT detail FROM security_events WHERE kind = 'service_key_rejected' AND detail->>'keyId' = $1`, [key.id]);
    expect(refused.rows[0]?.detail).toMatchObject({ reason: "pending_approval" });

    // The admin who created it cannot approve it (an admin does not approve, and it is theirs).
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: admin, kinds: adjustmentKinds }, { proposalId: activationProposalId! })))).toBe("FORBIDDEN");
    expect(await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: activationProposalId! })).toMatchObject({ status: "applied" });

    const actor = await authenticateServiceKey(db, secret, null);
    expect(actor).not.toBeNull();
    const res = await callerOf(actor!).transfers.create(payout(walletA));
    expect(res.transfer.state).toBe("reserved");
    const activated = await db.pool.query(`SELECT actor_label FROM audit_log WHERE action = 'service_key.activated' AND target_id = $1`, [key.id]);
    expect(activated.rows.map((r) => r.actor_label)).toEqual([approver.email]);
  });

  it.each([["ledger:write"], ["accounts:manage"], ["adjustments:propose"]] as const)("%s also waits for approval", async (scope) => {
    const { key, secret, activationProposalId } = await createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: `k-${scope}`, scopes: [scope] });
    expect(key.activatedAt).toBeNull();
    expect(activationProposalId).not.toBeNull();
    expect(await authenticateServiceKey(db, secret, null)).toBeNull();
  });

  it("a read-only key works at once", async () => {
    const { key, secret, activationProposalId } = await createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: "reporting", scopes: ["ledger:read", "transfers:read"] });
    expect(key.activatedAt).toBeInstanceOf(Date);
    expect(activationProposalId).toBeNull();
    expect(await authenticateServiceKey(db, secret, null)).not.toBeNull();
  });

  it("a key revoked before its approval is never activated", async () => {
    const { key, activationProposalId } = await createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: "short-lived", scopes: ["transfers:create"] });
    await revokeServiceKey(db, adminCall, { id: key.id, reason: "created by mistake" });
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: activationProposalId! })))).toBe("CONFLICT");
  });
});

describe("debit limits", () => {
  async function limitedKey(prefixes: string[], currencies: string[]): Promise<Actor> {
    const { secret, activationProposalId } = await createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: `limited-${randomUUID().slice(0, 6)}`, scopes: ["transfers:create", "transfers:read"], debitAccountPrefixes: prefixes, debitCurrencies: currencies });
    await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: activationProposalId! });
    return (await authenticateServiceKey(db, secret, null))!;
  }

  it("a key limited to one account cannot debit another; the one it may debit works", async () => {
    const key = await limitedKey(["customer:lim-a:"], []);
    const before = await db.pool.query(`SELECT count(*)::int AS n FROM transfers WHERE source_account_id = $1`, [walletB]);
    const err = await errorOf(callerOf(key).transfers.create(payout(walletB)));
    expect(appCodeOf(err)).toBe("FORBIDDEN");
    expect((err as Error).message).toMatch(/may not debit account customer:lim-b:wallet/);
    const after = await db.pool.query(`SELECT count(*)::int AS n FROM transfers WHERE source_account_id = $1`, [walletB]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect((await callerOf(key).transfers.create(payout(walletA))).transfer.state).toBe("reserved");
  });

  it("a key limited to a currency cannot debit another currency", async () => {
    const key = await limitedKey([], ["GBP"]);
    expect(appCodeOf(await errorOf(callerOf(key).transfers.create(payout(walletA))))).toBe("FORBIDDEN");
  });

  it("limits are validated at creation", async () => {
    expect(appCodeOf(await errorOf(createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: "bad", scopes: ["transfers:create"], debitCurrencies: ["XXQ"] })))).toBe("UNKNOWN_CURRENCY");
    expect(appCodeOf(await errorOf(createServiceKeyUnderFourEyes(db, { ...adminCall, kinds: adjustmentKinds }, { name: "bad", scopes: ["transfers:create"], debitAccountPrefixes: [" "] })))).toBe("BAD_INPUT");
  });
});
