// The transfers API through the tRPC caller, one session per role: string amounts on the wire,
// typed errors, and who may do what.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { serviceActor, userActor } from "../../server/core/actor";
import type { RoleName } from "../../server/core/permissions";
import { openAccount, fund } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { fakePartner } from "../support/fake-partner";
import { appCodeOf, callerAs, enrol, errorOf, person } from "./approvals-test-helpers";

let db: TestDb;
let walletId: string;
beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  const wallet = await openAccount(db, { code: "customer:9:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 50_000n);
  walletId = wallet.id;
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const as = (roles: RoleName[]) => createCaller({ db, actor: userActor({ id: randomUUID(), email: `${roles.join("-")}@example.test`, name: "t", roles }), requestId: "r", ip: null });
// One service key throughout: its idempotency keys are its own (stored as svc:<key id>/<key>).
const payoutsKey = serviceActor({ id: randomUUID(), name: "payouts", scopes: ["transfers:read", "transfers:create", "ledger:read"] });
const service = () => createCaller({ db, actor: payoutsKey, requestId: "r", ip: null });
const storedKey = (key: string) => `svc:${(payoutsKey as { keyId: string }).keyId}/${key}`;
const appCode = (e: unknown) => (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;

describe("transfers router", () => {
  it("creates with a string amount, reads it back, lists it", async () => {
    const res = await service().transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "12550", currency: "EUR", rail: "instant", reference: "INV-881", idempotencyKey: "payout-881" });
    expect(res.transfer).toMatchObject({ state: "reserved", amountMinor: 12550n });
    const again = await service().transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "12550", currency: "EUR", rail: "instant", reference: "INV-881", idempotencyKey: "payout-881" });
    expect(again.isReplay).toBe(true);
    const detail = await as(["viewer"]).transfers.get({ transferId: res.transfer.id });
    expect(detail.events.map((e) => e.toState)).toEqual(["created", "reserved"]);
    const list = await as(["viewer"]).transfers.list({ q: "INV-881" });
    expect(list.items.map((t) => t.id)).toEqual([res.transfer.id]);
  });

  it("returns the audit trail only to callers holding audit:read (issue 14, point 9)", async () => {
    const res = await service().transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "100", currency: "EUR", rail: "instant", idempotencyKey: "payout-audit-read" });
    // The key creating a transfer leaves an audit record on it.
    const withAudit = await as(["viewer"]).transfers.get({ transferId: res.transfer.id });
    expect(withAudit.audit?.length).toBeGreaterThan(0);
    const keyWithoutAudit = await service().transfers.get({ transferId: res.transfer.id });
    expect(keyWithoutAudit.audit).toBeNull();
    const keyWithAudit = createCaller({ db, actor: serviceActor({ id: randomUUID(), name: "auditor", scopes: ["transfers:read", "audit:read"] }), requestId: "r", ip: null });
    expect((await keyWithAudit.transfers.get({ transferId: res.transfer.id })).audit?.length).toBeGreaterThan(0);
  });

  it.each([
    ["a JS number amount", { amountMinor: 5 }, "BAD_INPUT"],
    ["a fractional amount", { amountMinor: "1.5" }, "BAD_INPUT"],
    ["a zero amount", { amountMinor: "0" }, "INVALID_AMOUNT"],
    ["an unknown rail", { rail: "swift" }, "BAD_INPUT"],
    ["more than the wallet holds", { amountMinor: "999999999" }, "INSUFFICIENT_FUNDS"],
  ])("refuses %s with %s and writes nothing", async (_n, patch, code) => {
    const key = randomUUID();
    const err = await service()
      .transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: "1", currency: "EUR", rail: "instant", idempotencyKey: key, ...(patch as object) } as never)
      .catch((e: unknown) => e);
    expect(appCode(err) === "BAD_REQUEST" ? "BAD_INPUT" : appCode(err)).toBe(code);
    expect((await db.pool.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [storedKey(key)])).rowCount).toBe(0);
  });

  it("viewers and services cannot operate; operators can; forcing an outcome needs an approver", async () => {
    const { transfer } = await service().transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: "100", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() });
    const op = { transferId: transfer.id, reason: "customer asked", idempotencyKey: randomUUID() };
    await expect(as(["viewer"]).transfers.cancel(op)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(service().transfers.retry(op)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(as(["viewer"]).transfers.proposeForceOutcome({ ...op, outcome: "settled", evidence: "statement line 4" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(as(["operator"]).transfers.cancel({ ...op, reason: "" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const cancelled = await as(["operator"]).transfers.cancel(op);
    expect(cancelled.state).toBe("cancelled");
    // A cancelled transfer cannot be forced: refused when proposing, nothing stored.
    const err = await as(["operator"]).transfers.proposeForceOutcome({ ...op, idempotencyKey: randomUUID(), outcome: "settled", evidence: "statement line 4" }).catch((e: unknown) => e);
    expect(appCode(err)).toBe("ILLEGAL_TRANSITION");
  });

  it("settling after submission is a four-eyes proposal: the proposer cannot approve, another approver applies it once", async () => {
    const { transfer } = await service().transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: "250", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() });
    // The partner accepted it (submitted); its settlement webhook never came.
    await advanceTransfer(db, transfer.id, { adapterFor: () => fakePartner() });
    const operator = person("op", ["operator", "approver"]);
    const approver = person("appr", ["approver"]);
    const proposal = await callerAs(db, operator).transfers.proposeForceOutcome({ transferId: transfer.id, outcome: "settled", evidence: "statement 2026-11-21 line 17", reason: "partner statement shows it paid", idempotencyKey: randomUUID() });
    expect(proposal.status).toBe("open");
    expect((await as(["viewer"]).transfers.get({ transferId: transfer.id })).transfer.state).toBe("submitted");
    await enrol(db, operator);
    expect(appCodeOf(await errorOf(callerAs(db, operator).approvals.approve({ proposalId: proposal.id })))).toBe("SELF_APPROVAL");
    await enrol(db, approver);
    const approved = await callerAs(db, approver).approvals.approve({ proposalId: proposal.id });
    expect(approved.status).toBe("applied");
    const after = await as(["viewer"]).transfers.get({ transferId: transfer.id });
    expect(after.transfer.state).toBe("settled");
    expect(after.hold?.status).toBe("posted");
    expect(after.events.at(-1)).toMatchObject({ toState: "settled", cause: "approved.force_settled", actorLabel: expect.stringContaining("appr") });
  });

  it("admins change rail policies, audited; others cannot", async () => {
    const rails = await as(["viewer"]).transfers.rails.list();
    const instant = rails.find((r) => r.rail === "instant")!;
    const update = { partner: "sandbox", rail: "instant", maxSubmitAttempts: 7, backoffBaseMs: instant.backoffBaseMs, backoffMaxMs: instant.backoffMaxMs, submitTimeoutMs: instant.submitTimeoutMs, budgetSeconds: instant.budgetSeconds, reason: "partner asked" };
    await expect(as(["operator"]).transfers.rails.update(update)).rejects.toMatchObject({ code: "FORBIDDEN" });
    const after = await as(["admin"]).transfers.rails.update(update);
    expect(after.maxSubmitAttempts).toBe(7);
    const err = await as(["admin"]).transfers.rails.update({ ...update, backoffMaxMs: 10 }).catch((e: unknown) => e);
    expect(appCode(err) === "BAD_REQUEST" ? "BAD_INPUT" : appCode(err)).toBe("BAD_INPUT");
    const audit = await db.pool.query(`SELECT action FROM audit_log WHERE target_type = 'rail_policy'`);
    expect(audit.rows).toHaveLength(1);
  });
});
