/**
 * A service key limited in what it may debit (account code prefixes, currencies) is held to its
 * limits on what it proposes too (issue 14, point 1): a journal entry, a reversal, a
 * reconciliation write-off or a force-settle that would debit outside them is refused when proposed, FORBIDDEN naming the
 * account, and nothing is stored; inside them it is proposed and applied as usual. Approving
 * re-checks what the application posted against the proposing key's limits, read from
 * service_keys, so a proposal stored before the rule cannot slip through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { adjustmentKinds } from "../../server/composition";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { createServiceKeyUnderFourEyes } from "../../server/approvals/service-key-activation";
import { authenticateServiceKey } from "../../server/auth/service-key-auth";
import { serviceActor, SYSTEM_ACTOR, type Actor } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { fund, openAccount } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { fakePartner } from "../support/fake-partner";
import { createSource } from "../../server/recon/sources";
import { importAndReconcile } from "../../server/recon/runs";
import { randomIban, statementXml } from "./recon-test-helpers";
import { appCodeOf, approveKeyActivation, callerAs, enrol, entryPayload, errorOf, miniLedger, person, registerPeople, type MiniLedger } from "./approvals-test-helpers";

let db: TestDb;
let L: MiniLedger;
let key: Extract<Actor, { kind: "service" }>;
const creator = person("ada", ["admin"]);
const approver = person("bo", ["approver"]);
const payer = serviceActor({ id: randomUUID(), name: "payer", scopes: ["transfers:create", "transfers:read"] });

beforeAll(async () => {
  db = await createTestDb();
  L = await miniLedger(db, 500_00n);
  await fund(db, L.bank.id, L.other.id, 500_00n);
  await registerPeople(db, creator, approver);
  await enrol(db, approver);
  // A real key, limited to debiting the first wallet, activated by a second person.
  const created = await createServiceKeyUnderFourEyes(
    db,
    { actor: creator, requestId: null, kinds: adjustmentKinds },
    { name: "recon-bot", scopes: ["adjustments:read", "adjustments:propose", "transfers:read", "transfers:operate"], debitAccountPrefixes: [L.wallet.code] },
  );
  await approveKeyActivation(db, created.activationProposalId);
  key = (await authenticateServiceKey(db, created.secret, null)) as Extract<Actor, { kind: "service" }>;
  expect(key.debitLimits.accountCodePrefixes).toEqual([L.wallet.code]);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const proposalsOfKey = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM adjustment_proposals WHERE proposer_id = $1`, [key.keyId])).rows[0].n);
const approve = (proposalId: string) => approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId });
const propose = (kind: string, payload: Record<string, unknown>) => callerAs(db, key).approvals.propose({ kind, payload, reason: "recon correction", idempotencyKey: `t:${randomUUID()}` });

/** An entry posted by the system: `amount` minor units from one account to another. */
async function entry(debitAccountId: string, creditAccountId: string, amountMinor: bigint): Promise<string> {
  const r = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "transfer", debitAccountId, creditAccountId, amountMinor, currency: "EUR" }, { idempotencyKey: `test:${randomUUID()}` });
  return r.entries[0]!.entryId;
}

/** A transfer from `sourceAccountId` that the partner accepted and never settled (submitted). */
async function submittedTransfer(sourceAccountId: string): Promise<string> {
  const { transfer } = await callerAs(db, payer).transfers.create({ sourceAccountId, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: "300", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() });
  await advanceTransfer(db, transfer.id, { adapterFor: () => fakePartner() });
  return transfer.id;
}

describe("a limited service key's proposals are held to its debit limits", () => {
  it.each<[string, () => Promise<{ kind: string; payload: Record<string, unknown>; account: () => string }>]>([
    ["a journal entry debiting another account", async () => ({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.other.code, "1.00"), account: () => L.bank.code })],
    ["a reversal whose postings debit another account", async () => ({ kind: "reversal", payload: { entryId: await entry(L.wallet.id, L.other.id, 200n) }, account: () => L.other.code })],
    [
      "a force-settle of a transfer from another account",
      async () => ({ kind: "transfer_force_settle", payload: { transferId: await submittedTransfer(L.other.id), evidence: "statement line 9" }, account: () => L.other.code }),
    ],
  ])("refuses %s when proposed, FORBIDDEN naming the account, storing nothing", async (_label, make) => {
    const { kind, payload, account } = await make();
    const before = await proposalsOfKey();
    const err = await errorOf(propose(kind, payload));
    expect(appCodeOf(err)).toBe("FORBIDDEN");
    expect((err as Error).message).toContain(`may not debit account ${account()}`);
    expect(await proposalsOfKey()).toBe(before);
  });

  it.each<[string, () => Promise<{ kind: string; payload: Record<string, unknown> }>]>([
    ["a journal entry debiting its own account", async () => ({ kind: "journal_entry", payload: entryPayload(L.wallet.code, L.other.code, "1.00") })],
    ["a reversal whose postings debit its own account", async () => ({ kind: "reversal", payload: { entryId: await entry(L.other.id, L.wallet.id, 200n) } })],
    ["a force-settle of a transfer from its own account", async () => ({ kind: "transfer_force_settle", payload: { transferId: await submittedTransfer(L.wallet.id), evidence: "statement line 10" } })],
  ])("proposes %s, and another person's approval applies it", async (_label, make) => {
    const { kind, payload } = await make();
    const p = await propose(kind, payload);
    expect(p.status).toBe("open");
    expect(await approve(p.id)).toMatchObject({ status: "applied" });
  });

  it("refuses a reconciliation write-off it proposes, whose entry debits outside its limits; nothing is stored", async () => {
    // An unexplained credit on a bank statement: writing it off posts between the bank account and
    // the write-off account, neither of which the key may debit.
    const bank = await openAccount(db, { code: `bank:recon:${randomUUID().slice(0, 8)}`, type: "asset" });
    const iban = randomIban();
    await createSource(db, SYSTEM_ACTOR, { name: `Limits bank ${randomUUID().slice(0, 8)}`, kind: "bank_account", ledgerAccount: bank.code, iban });
    await importAndReconcile(db, SYSTEM_ACTOR, { fileName: "s.xml", content: Buffer.from(statementXml([{ iban, entries: [{ amountMinor: 4_00n, remittanceInfo: "unexplained" }] }])) });
    const b = (await db.pool.query<{ id: string }>(`SELECT b.id FROM recon_breaks b JOIN recon_sources s ON s.id = b.source_id WHERE s.ledger_account_id = $1 AND b.status = 'open'`, [bank.id])).rows[0]!;
    const before = await proposalsOfKey();
    const err = await errorOf(callerAs(db, key).recon.breaks.proposeWriteOff({ breakId: b.id, reason: "bank fee not booked", idempotencyKey: `t:${randomUUID()}` }));
    expect(appCodeOf(err)).toBe("FORBIDDEN");
    expect((err as Error).message).toMatch(/may not debit account (bank:recon:|ops:recon:write-off:)/);
    expect(await proposalsOfKey()).toBe(before);
  });

  it("re-checks at approval: a proposal stored without the check is refused when applied, naming the account; nothing is posted and it stays open", async () => {
    // As a proposal opened before the rule existed: the same key, its limits not applied when proposing.
    const unchecked = serviceActor({ id: key.keyId, name: key.name, scopes: [...key.permissions], createdById: creator.userId });
    const p = await proposeAdjustment(db, { actor: unchecked, kinds: adjustmentKinds }, { kind: "journal_entry", payload: entryPayload(L.bank.code, L.other.code, "2.00"), reason: "old proposal", idempotencyKey: `t:${randomUUID()}` });
    const bankBefore = await getBalances(db, L.bank.id);
    const err = await errorOf(approve(p.id));
    expect(appCodeOf(err)).toBe("FORBIDDEN");
    expect((err as Error).message).toContain(`may not debit account ${L.bank.code}`);
    expect(await getBalances(db, L.bank.id)).toEqual(bankBefore);
    const row = (await db.pool.query(`SELECT status, last_failure FROM adjustment_proposals WHERE id = $1`, [p.id])).rows[0];
    expect(row).toMatchObject({ status: "open", last_failure: { code: "FORBIDDEN" } });
  });
});
