/**
 * The weekly report's content against a known state (issue 13, point 10): reconciliation accuracy
 * per week as the trend (none two weeks ago, 1 of 4 lines last week, 2 of 2 this week), incidents
 * counted per week and this week's told with what they hit and when they were fixed, the largest
 * breaks still open, largest first, and the adjustments approved this week.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR, userActor } from "../../server/core/actor";
import { stopSender } from "../../server/jobs/queues";
import { fund, openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { openIncident } from "../../server/slo/incidents";
import { readWeeklyReport, weekStartOf } from "../../server/slo/queries";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { callerAs, enrol, entryPayload, miniLedger, person, registerPeople } from "./approvals-test-helpers";
import { OPERATOR, bankSource, bytes, statementXml } from "./recon-test-helpers";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await stopSender(db.pool);
  await db.drop();
});

const DAY = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);

describe("the weekly report", () => {
  it("trends reconciliation accuracy per week and tells this week's incidents, open breaks and approved adjustments", { timeout: 60_000 }, async () => {
    const now = new Date();
    const weekStart = weekStartOf(now);
    const lastWeek = new Date(weekStart.getTime() - 4 * DAY + 12 * 3600_000); // last Thursday, noon

    // Reconciliation: last week 1 of 4 lines matched (3 open breaks), this week 2 of 2.
    const src = await bankSource(db);
    const counter = await openAccount(db, { code: `clearing:${randomUUID().slice(0, 8)}`, type: "liability" });
    const post = (amountMinor: bigint, reference: string, at: Date) =>
      executeLedgerCommand(
        db,
        SYSTEM_ACTOR,
        { type: "post_entry", entry: { effectiveAt: at, metadata: { reference }, postings: [{ accountId: src.accountId, side: "debit", amountMinor, currency: "EUR" }, { accountId: counter.id, side: "credit", amountMinor, currency: "EUR" }] } },
        { idempotencyKey: `wr:${randomUUID()}` },
      );
    // Each statement opens with the previous one's closing balance (else a balance break opens).
    const statement = (date: string, openingMinor: bigint, entries: { amountMinor: bigint; endToEndId: string }[]) =>
      importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${date}-${randomUUID().slice(0, 4)}.xml`, content: bytes(statementXml([{ iban: src.iban!, sequence: null, date, openingMinor, entries }])) });
    await post(4_00n, "wk1-0001", lastWeek);
    await statement(day(lastWeek), 0n, [
      { amountMinor: 4_00n, endToEndId: "WK1-0001" },
      { amountMinor: 9_00n, endToEndId: "WK1-0002" },
      { amountMinor: 5_00n, endToEndId: "WK1-0003" },
      { amountMinor: 3_00n, endToEndId: "WK1-0004" },
    ]);
    expect((await runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: day(lastWeek), periodTo: day(lastWeek), trigger: "manual" }, { now: lastWeek })).summary).toMatchObject({ lines: 4, matchedLines: 1 });
    await post(2_00n, "wk0-0001", now);
    await post(6_00n, "wk0-0002", now);
    await statement(day(now), 21_00n, [
      { amountMinor: 2_00n, endToEndId: "WK0-0001" },
      { amountMinor: 6_00n, endToEndId: "WK0-0002" },
    ]);
    expect((await runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: day(now), periodTo: day(now), trigger: "manual" }, { now })).summary).toMatchObject({ lines: 2, matchedLines: 2 });

    // Incidents: one last week; one this week that hit two transfers the partner failed.
    const admin = userActor({ id: randomUUID(), email: "admin@report.test", name: "Admin", roles: ["admin"] });
    await openIncident(db, admin, { title: "Batch files late", severity: "sev3", startedAt: lastWeek, endedAt: new Date(lastWeek.getTime() + 3600_000), component: "worker" }, { now });
    const from = new Date(Math.max(weekStart.getTime(), now.getTime() - 10 * 60_000));
    const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
    const wallet = await openAccount(db, { code: "customer:report:wallet", type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, wallet.id, 1_000_00n);
    const partner = fakePartner();
    const hitAt = new Date((from.getTime() + now.getTime()) / 2);
    for (let i = 0; i < 2; i++) {
      const { transfer } = await createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 10_00n, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: randomUUID(), now: hitAt });
      await advanceTransfer(db, transfer.id, { adapterFor: () => partner, now: () => hitAt });
      await applyPartnerEvent(db, { ...partnerEvent(transfer.idempotencyKey, "failed", 1), reason: "bank_internal_error" }, { webhookEventId: null, now: hitAt });
    }
    const incident = await openIncident(
      db,
      admin,
      { title: "Sandbox instant rail down", severity: "sev2", startedAt: from, endedAt: now, partner: "sandbox", rail: "instant", notes: "The partner returned 503 for every payment.", linkBlastRadius: { to: now, hit: "failed" } },
      { now },
    );

    // An adjustment proposed by one person and approved by another this week.
    const operator = person("olga", ["operator"]);
    const approver = person("anna", ["approver"]);
    await registerPeople(db, operator, approver);
    await enrol(db, approver);
    const L = await miniLedger(db, 500_00n);
    const proposal = await callerAs(db, operator).approvals.propose({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "12.50", "Refund a duplicate fee"), reason: "charged twice", idempotencyKey: `wr:${randomUUID()}` });
    await callerAs(db, approver).approvals.approve({ proposalId: proposal.id });

    const r = await readWeeklyReport(db, now, new Date(), 2);
    expect(r.weekStart).toEqual(weekStart);
    expect(r.weeks.map((w) => [day(w.weekStart), w.reconLines, w.reconMatchRate, w.incidents])).toEqual([
      [day(new Date(weekStart.getTime() - 14 * DAY)), 0, null, 0],
      [day(new Date(weekStart.getTime() - 7 * DAY)), 4, 0.25, 1],
      [day(weekStart), 2, 1, 1],
    ]);
    expect(r.reconciliation).toMatchObject({ isAvailable: true, matchRate: 1, lines: 2 });
    expect(r.reconciliation.largestOpenBreaks.map((b) => [b.amountMinor, b.currency, b.type])).toEqual([
      [9_00n, "EUR", "missing_in_ledger"],
      [5_00n, "EUR", "missing_in_ledger"],
      [3_00n, "EUR", "missing_in_ledger"],
    ]);
    // Only this week's incident is told, with its blast radius and when it was fixed.
    expect(r.incidents).toEqual([expect.objectContaining({ id: incident.id, title: "Sandbox instant rail down", partner: "sandbox", rail: "instant", startedAt: from, endedAt: now, blastRadiusCount: 2 })]);
    expect(r.adjustmentsApproved).toEqual([{ id: proposal.id, summary: expect.stringContaining("Refund a duplicate fee"), amounts: { EUR: "1250" }, closedAt: expect.any(Date), closedBy: approver.email }]);
  });
});
