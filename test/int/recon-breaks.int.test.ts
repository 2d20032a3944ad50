// Breaks in a closed loop against PostgreSQL: the queue (filters, age buckets, keyset pages),
// assignment and notes, matching by hand (1:1, 1:N, N:1, the running difference), timing
// differences that close themselves or escalate, write-offs under four eyes that post and close in
// one transaction, a statement line that feeds the transfer force-settle proposal, and the period
// lock attacked with raw SQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { stopSender } from "../../server/jobs/queues";
import { fund, openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { acceptTimingDifference, addBreakNote, assignBreaks, escalateOverdueTimingBreaks, getBreak, listBreaks, matchByHand, summarizeBreaks, undoMatch } from "../../server/recon/breaks";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { closePeriod } from "../../server/recon/periods";
import { createSource } from "../../server/recon/sources";
import { proposeBreakWriteOff, proposeTransferSettleFromBreak } from "../../server/recon/write-off";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner } from "../support/fake-partner";
import { appCodeOf, enrol, errorOf, person } from "./approvals-test-helpers";
import { ADMIN, OPERATOR, bankSource, bytes, statementXml, type EntrySpec } from "./recon-test-helpers";

let db: TestDb;
const operator = person("olga", ["operator"]);
const approver = person("anna", ["approver"]);
const DAY = "2026-11-20";
const NOW = new Date("2026-11-24T12:00:00Z");

beforeAll(async () => {
  db = await createTestDb();
  await enrol(db, approver);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db.drop();
});

async function world() {
  const src = await bankSource(db);
  const counter = await openAccount(db, { code: `clearing:${randomUUID().slice(0, 8)}`, type: "liability" });
  const post = async (amountMinor: bigint, opts: { reference?: string; date?: string; direction?: "credit" | "debit" } = {}) => {
    const isIn = (opts.direction ?? "credit") === "credit";
    const r = await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      {
        type: "post_entry",
        entry: {
          effectiveAt: new Date(`${opts.date ?? DAY}T12:00:00Z`),
          metadata: opts.reference ? { reference: opts.reference } : {},
          postings: [
            { accountId: src.accountId, side: isIn ? "debit" : "credit", amountMinor, currency: "EUR" },
            { accountId: counter.id, side: isIn ? "credit" : "debit", amountMinor, currency: "EUR" },
          ],
        },
      },
      { idempotencyKey: `item:${randomUUID()}` },
    );
    return (await db.pool.query<{ id: string }>(`SELECT id::text FROM postings WHERE entry_id = $1 AND account_id = $2`, [r.entries[0]!.entryId, src.accountId])).rows[0]!.id;
  };
  let seq = 0;
  const statement = async (entries: EntrySpec[], date = DAY) => {
    seq++;
    await importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${seq}.xml`, content: bytes(statementXml([{ iban: src.iban!, sequence: null, statementId: `S-${randomUUID().slice(0, 6)}`, date, entries }])) });
  };
  const run = (from = "2026-11-10", to = "2026-11-30", now = NOW) => runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: from, periodTo: to, trigger: "manual" }, { now });
  const lineIds = async () => (await db.pool.query<{ id: string }>(`SELECT id::text FROM recon_lines WHERE source_id = $1 ORDER BY line_index, id`, [src.id])).rows.map((r) => r.id);
  const openBreaks = async () => (await listBreaks(db, { sourceId: src.id, statuses: ["open", "timing"] }, { now: NOW })).items;
  return { src, counter, post, statement, run, lineIds, openBreaks };
}

describe("the queue", () => {
  it("filters by type, age bucket, amount, currency and assignee, pages by keyset, and counts buckets", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 1_00n, endToEndId: "AGE-0001" }], "2026-11-24");
    await w.statement([{ amountMinor: 2_00n, endToEndId: "AGE-0002" }], "2026-11-22");
    await w.statement([{ amountMinor: 3_00n, endToEndId: "AGE-0003" }], "2026-11-18");
    await w.statement([{ amountMinor: 4_00n, endToEndId: "AGE-0004" }], "2026-11-10");
    await w.run();
    const all = await listBreaks(db, { sourceId: w.src.id }, { now: NOW });
    expect(all.items.map((b) => [b.amountMinor, b.ageDays, b.ageBucket])).toEqual([
      [4_00n, 14, "8+"],
      [3_00n, 6, "4-7"],
      [2_00n, 2, "2-3"],
      [1_00n, 0, "0-1"],
    ]);
    for (const bucket of ["0-1", "2-3", "4-7", "8+"] as const) {
      expect((await listBreaks(db, { sourceId: w.src.id, ageBucket: bucket }, { now: NOW })).items).toHaveLength(1);
    }
    expect((await listBreaks(db, { sourceId: w.src.id, amountMinMinor: 2_00n, amountMaxMinor: 3_00n }, { now: NOW })).items.map((b) => b.amountMinor)).toEqual([3_00n, 2_00n]);
    expect((await listBreaks(db, { sourceId: w.src.id, currency: "USD" }, { now: NOW })).items).toEqual([]);
    const p1 = await listBreaks(db, { sourceId: w.src.id }, { now: NOW, limit: 3, sort: "amount_desc" });
    const p2 = await listBreaks(db, { sourceId: w.src.id }, { now: NOW, limit: 3, sort: "amount_desc", cursor: p1.nextCursor! });
    expect([...p1.items, ...p2.items].map((b) => b.amountMinor)).toEqual([4_00n, 3_00n, 2_00n, 1_00n]);
    expect(p2.nextCursor).toBeNull();
    const buckets = await summarizeBreaks(db, { now: NOW, sourceId: w.src.id });
    expect(buckets).toEqual([
      { bucket: "0-1", type: "missing_in_ledger", count: 1 },
      { bucket: "2-3", type: "missing_in_ledger", count: 1 },
      { bucket: "4-7", type: "missing_in_ledger", count: 1 },
      { bucket: "8+", type: "missing_in_ledger", count: 1 },
    ]);
    const [first, second] = all.items;
    const assigned = await assignBreaks(db, ADMIN, { breakIds: [first!.id, second!.id], assigneeId: operator.userId, assigneeLabel: operator.email });
    expect(assigned.changed).toHaveLength(2);
    expect((await listBreaks(db, { sourceId: w.src.id, assignee: operator.userId }, { now: NOW })).items).toHaveLength(2);
    expect((await listBreaks(db, { sourceId: w.src.id, assignee: "unassigned" }, { now: NOW })).items).toHaveLength(2);
    await addBreakNote(db, OPERATOR, { breakId: first!.id, note: "asked the bank" });
    const detail = await getBreak(db, first!.id, { now: NOW });
    expect(detail.events.map((e) => [e.kind, e.note])).toEqual([
      ["opened", null],
      ["assigned", null],
      ["note", "asked the bank"],
    ]);
    expect(appCodeOf(await errorOf(listBreaks(db, {}, { cursor: "nope" })))).toBe("BAD_INPUT");
  });
});

describe("match by hand", () => {
  it("one line to two postings, with candidates ranked and the running difference checked", async () => {
    const w = await world();
    const a = await w.post(60_00n, { reference: "PARTIAL-A" });
    const b = await w.post(40_00n);
    await w.statement([{ amountMinor: 100_00n, remittanceInfo: "two invoices" }]);
    await w.run();
    const lineBreak = (await w.openBreaks()).find((x) => x.type === "missing_in_ledger")!;
    const detail = await getBreak(db, lineBreak.id, { now: NOW });
    expect(detail.line).toMatchObject({ amountMinor: 100_00n, direction: "credit", remittanceInfo: "two invoices" });
    expect(detail.candidates.map((c) => c.id).sort()).toEqual([a, b].sort());
    const [line] = await w.lineIds();
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [line!], postingIds: [a], note: "partial" })))).toBe("BAD_INPUT");
    const m = await matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [line!], postingIds: [a, b], note: "customer paid two invoices at once" });
    expect(m).toMatchObject({ differenceMinor: 0n, breaksResolved: 3 });
    expect(await w.openBreaks()).toEqual([]);
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [line!], postingIds: [a], note: "again" })))).toBe("CONFLICT");
    // Undo frees them; the next run opens the breaks again.
    await undoMatch(db, OPERATOR, { matchId: m.matchId, reason: "wrong customer" });
    await w.run();
    expect((await w.openBreaks()).map((x) => x.type).sort()).toEqual(["missing_in_ledger", "missing_in_statement", "missing_in_statement"]);
  });

  it("undoing an automatic one-to-one match frees its line and its posting, both in the audit record", async () => {
    const w = await world();
    const p = await w.post(12_34n, { reference: "AUTO-UNDO-1" });
    await w.statement([{ amountMinor: 12_34n, endToEndId: "AUTO-UNDO-1" }]);
    expect((await w.run()).summary).toMatchObject({ autoMatches: 1, autoMatchedLines: 1 });
    const [line] = await w.lineIds();
    const match = (await db.pool.query<{ id: string }>(`SELECT id::text FROM recon_matches WHERE source_id = $1 AND kind = 'auto'`, [w.src.id])).rows[0]!;
    await undoMatch(db, OPERATOR, { matchId: match.id, reason: "matched the wrong way round" });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM recon_match_members WHERE match_id = $1`, [match.id])).rows[0]!.n).toBe(0);
    const audit = (await db.pool.query(`SELECT before FROM audit_log WHERE action = 'recon.match.undo' AND target_id = $1`, [match.id])).rows[0]!;
    expect(audit.before).toEqual({ lineIds: [line], postingIds: [p] });
    // Free again: the next run matches them anew, and a hand match of the two is possible before it.
    const again = await matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [line!], postingIds: [p], note: "by hand this time" });
    expect(again.differenceMinor).toBe(0n);
  });

  it("two lines to one posting with an accepted difference, recorded on the match; refusals in order", async () => {
    const w = await world();
    const p = await w.post(50_00n);
    const usd = await openAccount(db, { code: `bank:usd:${randomUUID().slice(0, 6)}`, type: "asset", currency: "USD" });
    await w.statement([{ amountMinor: 20_00n }, { amountMinor: 29_50n }, { amountMinor: 5_00n, direction: "debit" }]);
    const [l1, l2, l3] = await w.lineIds();
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [l1!, l2!], postingIds: [p], note: "split" })))).toBe("BAD_INPUT");
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [l1!, l3!], postingIds: [p], note: "mixed", acceptDifference: true })))).toBe("BAD_INPUT");
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [l1!], postingIds: ["999999999"], note: "missing" })))).toBe("NOT_FOUND");
    expect(appCodeOf(await errorOf(matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [l1!, l2!], postingIds: [p, p + "0"], note: "many to many" })))).toBe("BAD_INPUT");
    void usd;
    const m = await matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [l1!, l2!], postingIds: [p], note: "customer short-paid 0.50, agreed", acceptDifference: true });
    expect(m.differenceMinor).toBe(-50n);
    const row = (await db.pool.query(`SELECT kind, rule, difference_minor::text FROM recon_matches WHERE id = $1`, [m.matchId])).rows[0];
    expect(row).toEqual({ kind: "manual", rule: "manual", difference_minor: "-50" });
  });
});

describe("timing differences", () => {
  it("close themselves when the counterpart arrives", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 12_00n, endToEndId: "TIMING-01" }]);
    await w.run();
    const [b] = await w.openBreaks();
    await acceptTimingDifference(db, OPERATOR, { breakId: b!.id, deadlineAt: new Date(Date.now() + 3 * 86_400_000), note: "booked tomorrow by the back office" });
    expect((await getBreak(db, b!.id)).status).toBe("timing");
    await w.post(12_00n, { reference: "timing-01", date: "2026-11-21" });
    await w.run();
    const after = await getBreak(db, b!.id);
    expect(after).toMatchObject({ status: "resolved", resolution: "matched" });
    expect(after.events.map((e) => e.kind)).toEqual(["opened", "timing_accepted", "resolved"]);
  });

  it("escalate when the deadline passes; bad deadlines are refused", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 13_00n, endToEndId: "TIMING-02" }]);
    await w.run();
    const [b] = await w.openBreaks();
    expect(appCodeOf(await errorOf(acceptTimingDifference(db, OPERATOR, { breakId: b!.id, deadlineAt: new Date(Date.now() - 1000), note: "past" })))).toBe("BAD_INPUT");
    expect(appCodeOf(await errorOf(acceptTimingDifference(db, OPERATOR, { breakId: b!.id, deadlineAt: new Date(Date.now() + 91 * 86_400_000), note: "far" })))).toBe("BAD_INPUT");
    const deadline = new Date(Date.now() + 60_000);
    await acceptTimingDifference(db, OPERATOR, { breakId: b!.id, deadlineAt: deadline, note: "should arrive within the minute" });
    expect(await escalateOverdueTimingBreaks(db, new Date(deadline.getTime() - 1))).toBe(0);
    expect(await escalateOverdueTimingBreaks(db, new Date(deadline.getTime() + 1))).toBeGreaterThanOrEqual(1);
    const after = await getBreak(db, b!.id);
    expect(after.status).toBe("open");
    expect(after.escalatedAt).not.toBeNull();
    expect(after.events.map((e) => e.kind)).toEqual(["opened", "timing_accepted", "escalated"]);
  });
});

describe("write-offs under four eyes", () => {
  it.each([
    ["missing_in_ledger", [{ amountMinor: 7_00n, endToEndId: "WO-LEDGER" }], [] as bigint[], 7_00n],
    ["missing_in_statement", [], [8_00n], -8_00n],
    ["amount_mismatch", [{ amountMinor: 90_00n, endToEndId: "WO-AMOUNT" }], [100_00n], -10_00n],
  ] as const)("%s: the approved write-off posts, matches and closes the break in one transaction", async (type, lines, items, effect) => {
    const w = await world();
    for (const amt of items) await w.post(amt, { reference: type === "amount_mismatch" ? "WO-AMOUNT" : undefined });
    if (lines.length) await w.statement([...lines]);
    else await w.statement([{ amountMinor: 1n, endToEndId: "COVER-ONLY" }]);
    await w.run();
    const b = (await w.openBreaks()).find((x) => x.type === type)!;
    expect(b).toMatchObject({ type, status: "open" });
    const balanceBefore = (await db.pool.query<{ s: string }>(`SELECT coalesce(sum(posted_minor), 0)::text AS s FROM account_balances WHERE account_id = $1`, [w.src.accountId])).rows[0]!.s;
    const p = await proposeBreakWriteOff(db, { actor: operator, kinds: adjustmentKinds }, { breakId: b.id, reason: "bank fee not booked", idempotencyKey: `wo:${randomUUID()}` });
    expect((await getBreak(db, b.id)).status).toBe("open");
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: operator, kinds: adjustmentKinds }, { proposalId: p.id })))).toMatch(/FORBIDDEN|SELF_APPROVAL/);
    const r = await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id });
    expect(r.status).toBe("applied");
    const after = await getBreak(db, b.id);
    expect(after).toMatchObject({ status: "resolved", resolution: "written_off" });
    expect(after.events.map((e) => e.kind)).toEqual(["opened", "write_off_proposed", "written_off"]);
    const balanceAfter = (await db.pool.query<{ s: string }>(`SELECT coalesce(sum(posted_minor), 0)::text AS s FROM account_balances WHERE account_id = $1`, [w.src.accountId])).rows[0]!.s;
    expect(BigInt(balanceAfter) - BigInt(balanceBefore)).toBe(effect);
    const entry = (await db.pool.query(`SELECT e.metadata->>'reconBreakId' AS break_id, e.metadata->>'adjustmentId' AS adj FROM journal_entries e WHERE e.id = $1`, [r.appliedEntryIds[0]])).rows[0];
    expect(entry).toEqual({ break_id: b.id, adj: p.id });
    const m = (await db.pool.query(`SELECT m.rule, m.difference_minor::text FROM recon_matches m JOIN recon_match_items i ON i.match_id = m.id JOIN postings p ON p.id = i.posting_id WHERE p.entry_id = $1`, [r.appliedEntryIds[0]])).rows[0];
    expect(m).toEqual({ rule: "write_off", difference_minor: "0" });
    // The next run finds nothing left for this break.
    await w.run();
    expect((await w.openBreaks()).filter((x) => x.type === type)).toEqual([]);
  });

  it("cannot write off a gap, and a break resolved meanwhile fails the approval cleanly", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 9_00n, endToEndId: "RACE-0001" }]);
    await w.run();
    const [b] = await w.openBreaks();
    const p = await proposeBreakWriteOff(db, { actor: operator, kinds: adjustmentKinds }, { breakId: b!.id, reason: "unknown credit", idempotencyKey: `wo:${randomUUID()}` });
    await w.post(9_00n, { reference: "race-0001" });
    await w.run();
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id })))).toBe("CONFLICT");
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM journal_entries WHERE metadata->>'reconBreakId' = $1`, [b!.id])).rows[0]).toEqual({ n: 0 });
  });
});

describe("a statement line proves a stuck transfer settled", () => {
  it("links the break and feeds the force-settle proposal with the line as evidence; approval settles it and the next run matches", async () => {
    const partner = fakePartner();
    const tag = randomUUID().slice(0, 6);
    const bank = await openAccount(db, { code: `bank:t:${tag}`, type: "asset" });
    const wallet = await openAccount(db, { code: `customer:${tag}:wallet`, type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, wallet.id, 1_000_00n);
    const t = (await createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 25_00n, currency: "EUR", rail: "instant", partner: "sandbox", reference: `inv-${tag}` }, { idempotencyKey: `tr-${tag}` })).transfer;
    await advanceTransfer(db, t.id, { adapterFor: () => partner });
    const iban = `DE${Math.floor(10 + Math.random() * 89)}${String(Date.now()).slice(-9)}000000000`;
    const src = await createSource(db, ADMIN, { name: `Partner stmt ${tag}`, kind: "bank_account", ledgerAccount: "partner:sandbox:settlement:EUR", iban });
    const today = new Date().toISOString().slice(0, 10);
    await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "p.xml", content: bytes(statementXml([{ iban, date: today, entries: [{ amountMinor: 25_00n, direction: "debit", endToEndId: `tr-${tag}` }] }])) });
    const run = () => runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: today, periodTo: today, trigger: "manual" });
    await run();
    const [b] = (await listBreaks(db, { sourceId: src.id, statuses: ["open"] })).items;
    expect(b).toMatchObject({ type: "missing_in_ledger", amountMinor: 25_00n });
    const proposal = await proposeTransferSettleFromBreak(db, { actor: operator, kinds: adjustmentKinds }, { breakId: b!.id, transferId: t.id, reason: "the bank statement shows it paid", idempotencyKey: `fs:${randomUUID()}` });
    const stored = (await db.pool.query(`SELECT kind, payload->>'evidence' AS evidence FROM adjustment_proposals WHERE id = $1`, [proposal.id])).rows[0];
    expect(stored.kind).toBe("transfer_force_settle");
    expect(stored.evidence).toContain(`end-to-end id tr-${tag}`);
    expect((await getBreak(db, b!.id)).transferId).toBe(t.id);
    await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: proposal.id });
    expect((await db.pool.query(`SELECT state FROM transfers WHERE id = $1`, [t.id])).rows[0]).toEqual({ state: "settled" });
    await run();
    expect(await getBreak(db, b!.id)).toMatchObject({ status: "resolved", resolution: "matched" });
    expect(appCodeOf(await errorOf(proposeTransferSettleFromBreak(db, { actor: operator, kinds: adjustmentKinds }, { breakId: b!.id, transferId: randomUUID(), reason: "x", idempotencyKey: `fs:${randomUUID()}` })))).toBe("NOT_FOUND");
  });
});

describe("period close", () => {
  it("needs the period reconciled; then the database refuses postings into it, even by raw SQL; reopening is four-eyes", async () => {
    const w = await world();
    await w.post(10_00n, { reference: "CLOSE-001" });
    await w.statement([{ amountMinor: 10_00n, endToEndId: "CLOSE-001" }, { amountMinor: 3_00n, endToEndId: "CLOSE-002" }]);
    await w.run();
    const input = { sourceId: w.src.id, periodFrom: "2026-11-01", periodTo: DAY, reason: "November reconciled" };
    expect(appCodeOf(await errorOf(closePeriod(db, OPERATOR, input)))).toBe("CONFLICT");
    expect(appCodeOf(await errorOf(closePeriod(db, OPERATOR, { ...input, periodTo: "2026-11-25" })))).toBe("CONFLICT");
    const [open] = await w.openBreaks();
    await acceptTimingDifference(db, OPERATOR, { breakId: open!.id, deadlineAt: new Date(Date.now() + 86_400_000), note: "arrives with the next statement" });
    const closed = await closePeriod(db, OPERATOR, input);
    expect(closed.status).toBe("closed");
    expect(appCodeOf(await errorOf(closePeriod(db, OPERATOR, { ...input, periodFrom: "2026-11-15" })))).toBe("CONFLICT");

    // Through the ledger: a typed error naming the closed period.
    const refused = await errorOf(w.post(1_00n, { date: "2026-11-05" }));
    expect((refused as { code: string }).code).toBe("PERIOD_CLOSED");
    expect((refused as Error).message).toMatch(/account bank:recon:\w+ is closed for 2026-11-01 to 2026-11-20/);
    // After the period (the next day, from 00:00 UTC) is fine.
    await w.post(1_00n, { date: "2026-11-21" });
    await db.pool.query(`SELECT 1`);
    // Raw SQL, bypassing every application path.
    const c = await db.pool.connect();
    try {
      await c.query("BEGIN");
      const e = (await c.query<{ id: string }>(`INSERT INTO journal_entries (id, idempotency_key, description, effective_at) VALUES (gen_random_uuid(), $1, 'raw', '2026-11-20T23:59:59Z') RETURNING id`, [`raw:${randomUUID()}`])).rows[0]!;
      await expect(
        c.query(`INSERT INTO postings (entry_id, account_id, side, amount_minor, currency) VALUES ($1, $2, 'debit', 100, 'EUR'), ($1, $3, 'credit', 100, 'EUR')`, [e.id, w.src.accountId, w.counter.id]),
      ).rejects.toMatchObject({ code: "RC001" });
      await c.query("ROLLBACK");
    } finally {
      c.release();
    }
    await expect(db.pool.query(`UPDATE recon_period_closes SET period_to = '2026-11-10' WHERE id = $1`, [closed.id])).rejects.toThrow(/only reopening it/);
    await expect(db.pool.query(`DELETE FROM recon_period_closes WHERE id = $1`, [closed.id])).rejects.toThrow(/append-only/);

    const p = await proposeAdjustment(db, { actor: operator, kinds: adjustmentKinds }, { kind: "recon_period_reopen", payload: { closeId: closed.id }, reason: "late bank correction", idempotencyKey: `ro:${randomUUID()}` });
    expect(((await errorOf(w.post(1_00n, { date: "2026-11-05" }))) as { code: string }).code).toBe("PERIOD_CLOSED");
    await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id });
    await w.post(1_00n, { date: "2026-11-05" });
    expect((await db.pool.query(`SELECT status, reopen_proposal_id FROM recon_period_closes WHERE id = $1`, [closed.id])).rows[0]).toEqual({ status: "reopened", reopen_proposal_id: p.id });
  });
});
