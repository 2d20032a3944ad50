// The matching rules without edge tests in recon-matching.int, each at its tolerance edges
// (table-driven), with the active rule set version 1 (server/recon/rules.ts DEFAULT_RULES):
// - amount_date: the 3-day window (day 3 matches, day 4 does not); corroboration by a reference
//   overlapping the item's by minReferenceOverlap = 8 characters (8 is automatic at 92, 7 only a
//   suggestion at 80) or by the same counterparty name (92; another name 80);
// - many_lines_one_item: the 7-day window, maxLines = 10 (10 lines match, 11 do not), a sum off
//   by one minor unit either way;
// - one_line_many_items: the 3-day window, maxItems = 500 (500 details match, 501 do not), batch
//   details that do not add up, or that name an item twice.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { stopSender } from "../../server/jobs/queues";
import { fund, openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { createSource } from "../../server/recon/sources";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { createTestDb, type TestDb } from "../support/test-db";
import { ADMIN, OPERATOR, bankSource, bytes, randomIban, statementXml, type EntrySpec } from "./recon-test-helpers";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await stopSender(db.pool);
  await db.drop();
});

const DAY = "2026-11-20";

function shift(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

async function world() {
  const src = await bankSource(db);
  const counter = await openAccount(db, { code: `clearing:${randomUUID().slice(0, 8)}`, type: "liability" });
  /** A ledger item on the bank account effective on DAY: money in (credit) or out, with a reference. */
  const post = async (amountMinor: bigint, opts: { reference?: string; direction?: "credit" | "debit" } = {}) => {
    const isIn = (opts.direction ?? "credit") === "credit";
    await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      {
        type: "post_entry",
        entry: {
          effectiveAt: new Date(`${DAY}T12:00:00Z`),
          metadata: opts.reference ? { reference: opts.reference } : {},
          postings: [
            { accountId: src.accountId, side: isIn ? "debit" : "credit", amountMinor, currency: "EUR" },
            { accountId: counter.id, side: isIn ? "credit" : "debit", amountMinor, currency: "EUR" },
          ],
        },
      },
      { idempotencyKey: `item:${randomUUID()}` },
    );
  };
  const statement = (entries: EntrySpec[]) =>
    importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${randomUUID()}.xml`, content: bytes(statementXml([{ iban: src.iban!, sequence: null, statementId: `S-${randomUUID().slice(0, 6)}`, entries }])) });
  const run = () => runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: shift(DAY, -10), periodTo: shift(DAY, 10), trigger: "manual" });
  const outcome = async () => ({
    matches: (await db.pool.query<{ rule: string; confidence: number; lines: number; items: number }>(
      `SELECT m.rule, m.confidence, (SELECT count(*)::int FROM recon_match_lines x WHERE x.match_id = m.id) AS lines, (SELECT count(*)::int FROM recon_match_items x WHERE x.match_id = m.id) AS items
         FROM recon_matches m WHERE m.source_id = $1 ORDER BY m.id`,
      [src.id],
    )).rows,
    suggestions: (await db.pool.query<{ rule: string; confidence: number }>(`SELECT rule, confidence FROM recon_suggestions WHERE source_id = $1 AND status = 'open'`, [src.id])).rows,
  });
  return { src, post, statement, run, outcome };
}

type Expect = { matches: { rule: string; confidence: number; lines: number; items: number }[]; suggestions: { rule: string; confidence: number }[] };
const none: Expect = { matches: [], suggestions: [] };

describe("amount_date: 3-day window, reference overlap of 8 characters", () => {
  it.each<[string, EntrySpec, { amount: bigint; reference?: string }, Expect]>([
    ["value date 3 days later, reference of 8 contained in the remittance: automatic (92)", { amountMinor: 211_11n, valueDate: shift(DAY, 3), remittanceInfo: "Invoice ABCD1234 paid" }, { amount: 211_11n, reference: "ABCD1234" }, { matches: [{ rule: "amount_date", confidence: 92, lines: 1, items: 1 }], suggestions: [] }],
    ["value date 3 days earlier: still inside the window", { amountMinor: 211_12n, valueDate: shift(DAY, -3), remittanceInfo: "Invoice ABCD1235 paid" }, { amount: 211_12n, reference: "ABCD1235" }, { matches: [{ rule: "amount_date", confidence: 92, lines: 1, items: 1 }], suggestions: [] }],
    ["value date 4 days later: outside the window, nothing", { amountMinor: 211_13n, valueDate: shift(DAY, 4), remittanceInfo: "Invoice ABCD1236 paid" }, { amount: 211_13n, reference: "ABCD1236" }, none],
    ["an overlap of 7 characters: only a suggestion (80)", { amountMinor: 211_14n, remittanceInfo: "Invoice ABC1237 paid" }, { amount: 211_14n, reference: "ABC1237" }, { matches: [], suggestions: [{ rule: "amount_date", confidence: 80 }] }],
    ["the item's reference contains the line's (8 characters)", { amountMinor: 211_15n, endToEndId: "WXYZ9876" }, { amount: 211_15n, reference: "order WXYZ9876 batch 3" }, { matches: [{ rule: "amount_date", confidence: 92, lines: 1, items: 1 }], suggestions: [] }],
    ["the same amount one minor unit off: no candidate", { amountMinor: 211_16n, remittanceInfo: "Invoice ABCD1238 paid" }, { amount: 211_17n, reference: "ABCD1238" }, none],
  ])("%s", async (_name, line, item, expected) => {
    const w = await world();
    await w.post(item.amount, { reference: item.reference });
    await w.statement([line]);
    await w.run();
    expect(await w.outcome()).toEqual(expected);
  });

  describe("corroborated by the counterparty name (a transfer's settlement)", () => {
    // The ledger side's counterparty comes from the transfer that settled the entry, on the
    // partner settlement account; each case gets its own source on that account and amount.
    const partner = fakePartner();
    let wallet: { id: string };
    beforeAll(async () => {
      const bank = await openAccount(db, { code: `bank:cp:${randomUUID().slice(0, 6)}`, type: "asset" });
      wallet = await openAccount(db, { code: `customer:cp:${randomUUID().slice(0, 6)}:wallet`, type: "liability", isNoOverdraft: true });
      await fund(db, bank.id, wallet.id, 10_000_00n);
    });

    it.each([
      ["the same name, other case and spacing: automatic (92)", "Jane Doe", "JANE  DOE", 31_01n, { matches: [{ rule: "amount_date", confidence: 92, lines: 1, items: 1 }], suggestions: [] }],
      ["another name: only a suggestion (80)", "Jane Doe", "John Roe", 31_02n, { matches: [], suggestions: [{ rule: "amount_date", confidence: 80 }] }],
      ["a name of two letters never corroborates (80)", "JD", "JD", 31_03n, { matches: [], suggestions: [{ rule: "amount_date", confidence: 80 }] }],
    ] as const)("%s", async (_name, transferName, lineName, amountMinor, expected) => {
      const tag = randomUUID().slice(0, 6);
      const t = (await createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: transferName, counterpartyAccount: "DE89370400440532013000", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: `cp-${tag}` })).transfer;
      await advanceTransfer(db, t.id, { adapterFor: () => partner });
      await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "settled", 1), { webhookEventId: null });
      expect((await db.pool.query(`SELECT state::text FROM transfers WHERE id = $1`, [t.id])).rows[0]).toEqual({ state: "settled" });
      const iban = randomIban();
      const src = await createSource(db, ADMIN, { name: `Partner cp ${tag}`, kind: "bank_account", ledgerAccount: "partner:sandbox:settlement:EUR", iban });
      const today = new Date().toISOString().slice(0, 10);
      // No reference at all on the line: only the amount, the date and the name.
      await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "cp.xml", content: bytes(statementXml([{ iban, date: today, entries: [{ amountMinor, direction: "debit", counterpartyName: lineName }] }])) });
      await runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: today, periodTo: today, trigger: "manual" });
      const matches = (await db.pool.query(
        `SELECT m.rule, m.confidence, (SELECT count(*)::int FROM recon_match_lines x WHERE x.match_id = m.id) AS lines, (SELECT count(*)::int FROM recon_match_items x WHERE x.match_id = m.id) AS items FROM recon_matches m WHERE m.source_id = $1`,
        [src.id],
      )).rows;
      const suggestions = (await db.pool.query(`SELECT rule, confidence FROM recon_suggestions WHERE source_id = $1 AND status = 'open'`, [src.id])).rows;
      expect({ matches, suggestions }).toEqual(expected);
    });
  });
});

/** Lines of 1.00, 2.00, … n.00 (distinct, so none is a duplicate of another), all with `ref`. */
const split = (n: number, ref: string, extra: Partial<EntrySpec> = {}): EntrySpec[] => Array.from({ length: n }, (_, i) => ({ amountMinor: BigInt(i + 1) * 100n, endToEndId: ref, ...extra }));
const sumOf = (lines: EntrySpec[]) => lines.reduce((s, l) => s + l.amountMinor, 0n);

describe("many_lines_one_item: 7-day window, at most 10 lines, exact sum", () => {
  it.each<[string, () => { lines: EntrySpec[]; item: bigint }, Expect]>([
    ["10 lines adding up to the item: one match of 10 lines", () => ({ lines: split(10, "SPLIT-TEN"), item: sumOf(split(10, "x")) }), { matches: [{ rule: "many_lines_one_item", confidence: 95, lines: 10, items: 1 }], suggestions: [] }],
    ["11 lines adding up to the item: over maxLines, nothing", () => ({ lines: split(11, "SPLIT-ELEVEN"), item: sumOf(split(11, "x")) }), none],
    ["2 lines, one 7 days after the item: inside the window", () => ({ lines: [{ amountMinor: 60_00n, endToEndId: "SPLIT-W7" }, { amountMinor: 40_00n, endToEndId: "SPLIT-W7", valueDate: shift(DAY, 7) }], item: 100_00n }), { matches: [{ rule: "many_lines_one_item", confidence: 95, lines: 2, items: 1 }], suggestions: [] }],
    ["2 lines, one 8 days after the item: outside, nothing", () => ({ lines: [{ amountMinor: 60_00n, endToEndId: "SPLIT-W8" }, { amountMinor: 40_00n, endToEndId: "SPLIT-W8", valueDate: shift(DAY, 8) }], item: 100_00n }), none],
    ["the lines add up to one minor unit less than the item: nothing", () => ({ lines: [{ amountMinor: 60_00n, endToEndId: "SPLIT-LESS" }, { amountMinor: 39_99n, endToEndId: "SPLIT-LESS" }], item: 100_00n }), none],
    ["the lines add up to one minor unit more than the item: nothing", () => ({ lines: [{ amountMinor: 60_00n, endToEndId: "SPLIT-MORE" }, { amountMinor: 40_01n, endToEndId: "SPLIT-MORE" }], item: 100_00n }), none],
  ])("%s", async (_name, build, expected) => {
    const w = await world();
    const { lines, item } = build();
    await w.post(item, { reference: lines[0]!.endToEndId! });
    await w.statement(lines);
    const r = await w.run();
    expect(await w.outcome()).toEqual(expected);
    if (expected.matches.length === 0) expect(r.summary.autoMatches).toBe(0);
  });
});

describe("one_line_many_items: 3-day window, at most 500 items, details that add up", () => {
  const detail = (e2e: string, amountMinor: bigint) => ({ amountMinor, currency: "EUR", direction: "debit" as const, endToEndId: e2e, accountServicerReference: null, instructionId: null, transactionId: null, remittanceInfo: null, counterpartyName: null, counterpartyAccount: null });

  async function batch(w: Awaited<ReturnType<typeof world>>, tag: string, items: bigint[], opts: { lineAmount?: bigint; valueDate?: string; detailAmounts?: bigint[]; detailRefs?: string[] } = {}) {
    for (let i = 0; i < items.length; i += 20) {
      await Promise.all(items.slice(i, i + 20).map((a, j) => w.post(a, { reference: `${tag}-${i + j + 1}`, direction: "debit" })));
    }
    const refs = opts.detailRefs ?? items.map((_, i) => `${tag}-${i + 1}`);
    const amounts = opts.detailAmounts ?? items;
    const details = refs.map((r, i) => detail(r, amounts[i]!));
    await w.statement([{ amountMinor: opts.lineAmount ?? items.reduce((s, a) => s + a, 0n), direction: "debit", details, ...(opts.valueDate ? { valueDate: opts.valueDate } : {}) }]);
  }

  it.each<[string, (w: Awaited<ReturnType<typeof world>>) => Promise<void>, Expect]>([
    ["value date 3 days after the items: one match", (w) => batch(w, "BW3", [30_00n, 70_00n], { valueDate: shift(DAY, 3) }), { matches: [{ rule: "one_line_many_items", confidence: 95, lines: 1, items: 2 }], suggestions: [] }],
    ["value date 4 days after the items: nothing", (w) => batch(w, "BW4", [30_00n, 70_00n], { valueDate: shift(DAY, 4) }), none],
    ["the line is one minor unit more than its details: nothing", (w) => batch(w, "BSUM", [30_00n, 70_00n], { lineAmount: 100_01n }), none],
    ["two details name the same item: nothing", (w) => batch(w, "BTWICE", [30_00n, 30_00n], { detailRefs: ["BTWICE-1", "BTWICE-1"] }), none],
    ["500 details (maxItems): one match of 500 items", (w) => batch(w, "B500", Array.from({ length: 500 }, (_, i) => BigInt(100 + i))), { matches: [{ rule: "one_line_many_items", confidence: 95, lines: 1, items: 500 }], suggestions: [] }],
    ["501 details: over maxItems, nothing", (w) => batch(w, "B501", Array.from({ length: 501 }, (_, i) => BigInt(100 + i))), none],
  ])("%s", async (_name, build, expected) => {
    const w = await world();
    await build(w);
    await w.run();
    expect(await w.outcome()).toEqual(expected);
  }, 120_000);

  // Found by this file and fixed: the rule compared the line with the sum of
  // the items its details name, never a detail's own amount with its item's. A batch whose
  // details say 31.00 and 69.00 for items of 30.00 and 70.00 was matched automatically at 95,
  // although the bank paid each payee another amount than the ledger says. Expected: no
  // automatic match (a break, or at most a suggestion).
  it("details whose amounts differ from their items (the totals agree) are not matched automatically", async () => {
    const w = await world();
    await batch(w, "BDET", [30_00n, 70_00n], { detailAmounts: [31_00n, 69_00n] });
    await w.run();
    expect((await w.outcome()).matches).toEqual([]);
  });
});
