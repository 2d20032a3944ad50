// The ledger API through the tRPC caller, one session per role: wire amounts as strings,
// permissions, typed error codes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { userActor } from "../../server/core/actor";
import type { RoleName } from "../../server/core/permissions";
import { serviceActor } from "../../server/core/actor";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

const as = (roles: RoleName[]) => createCaller({ db, actor: userActor({ id: "00000000-0000-4000-8000-000000000001", email: `${roles.join("-")}@example.test`, name: "t", roles }), requestId: "req-1", ip: null });
const service = () => createCaller({ db, actor: serviceActor({ id: "00000000-0000-4000-8000-000000000002", name: "payments", scopes: ["ledger:read", "ledger:write"] }), requestId: "req-2", ip: null });

describe("ledger router", () => {
  it("opens accounts, transfers with string amounts, reads balances and history", async () => {
    const api = service();
    const bank = await api.ledger.accounts.create({ code: "bank:EUR", name: "Bank", currency: "EUR", type: "asset", idempotencyKey: "a1" });
    const wallet = await api.ledger.accounts.create({ code: "customer:42:wallet", name: "Wallet 42", currency: "EUR", type: "liability", isNoOverdraft: true, idempotencyKey: "a2" });
    const again = await api.ledger.accounts.create({ code: "customer:42:wallet", name: "Wallet 42", currency: "EUR", type: "liability", isNoOverdraft: true, idempotencyKey: "a2" });
    expect(again.id).toBe(wallet.id);
    const t = await api.ledger.transfer({ debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: "885", currency: "EUR", idempotencyKey: "t1" });
    expect(t.entries[0]!.postings[1]!.amountMinor).toBe(885n);
    const b = await api.ledger.balances.get({ accountId: wallet.id });
    expect([b.postedMinor, b.availableMinor]).toEqual([885n, 885n]);
    const page = await api.ledger.postings.list({ accountId: wallet.id, limit: 10 });
    expect(page.items).toHaveLength(1);
    const list = await api.ledger.accounts.list({ codePrefix: "customer:" });
    expect(list.items.map((a) => a.code)).toEqual(["customer:42:wallet"]);
    const entry = await api.ledger.entries.get({ entryId: t.entries[0]!.entryId });
    expect(entry.postings).toHaveLength(2);
  });

  it.each([
    ["a zero amount", { amountMinor: "0" }, "INVALID_AMOUNT"],
    ["a negative amount", { amountMinor: "-5" }, "INVALID_AMOUNT"],
    ["a fractional amount", { amountMinor: "1.5" }, "BAD_INPUT"],
    ["an unknown currency", { currency: "XXX" }, "UNKNOWN_CURRENCY"],
    ["a JS number", { amountMinor: 5 }, "BAD_INPUT"],
  ])("refuses %s with %s", async (_n, patch, appCode) => {
    const api = service();
    const bank = await api.ledger.accounts.get({ code: "bank:EUR" });
    const wallet = await api.ledger.accounts.get({ code: "customer:42:wallet" });
    const err = await api.ledger
      .transfer({ debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: "1", currency: "EUR", idempotencyKey: `bad-${appCode}-${_n.replace(/\s/g, "-")}`, ...(patch as object) })
      .catch((e: unknown) => e);
    const cause = (err as { cause?: { code?: string } }).cause;
    expect(cause?.code ?? (err as { code?: string }).code).toBe(appCode === "BAD_INPUT" ? "BAD_REQUEST" : appCode);
  });

  it("enforces permissions: viewers read, cannot write; freezing needs accounts:manage and a reason", async () => {
    const wallet = await as(["viewer"]).ledger.accounts.get({ code: "customer:42:wallet" });
    await expect(as(["viewer"]).ledger.transfer({ debitAccountId: wallet.id, creditAccountId: wallet.id, amountMinor: "1", currency: "EUR", idempotencyKey: "v1" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(service().ledger.accounts.freeze({ accountId: wallet.id, reason: "fraud check", idempotencyKey: "f0" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    const frozen = await as(["operator"]).ledger.accounts.freeze({ accountId: wallet.id, reason: "fraud check", idempotencyKey: "f1" });
    expect(frozen.status).toBe("frozen");
    const bank = await service().ledger.accounts.get({ code: "bank:EUR" });
    const err = await service().ledger.transfer({ debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: "1", currency: "EUR", idempotencyKey: "t-frozen" }).catch((e: unknown) => e);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe("ACCOUNT_FROZEN");
    const audit = await db.pool.query(`SELECT reason FROM audit_log WHERE action = 'ledger.account.freeze' AND target_id = $1`, [wallet.id]);
    expect(audit.rows).toEqual([{ reason: "fraud check" }]);
  });
});
