// Versioned rule sets (server/recon/rule-sets.ts) against PostgreSQL: drafts change, other versions
// never do; a backtest compares a draft with the active version over a past period and changes
// nothing; activation is a four-eyes proposal (kind recon_rule_set_activation) applied once.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { openAccount } from "../../server/ledger/testing";
import { importStatement } from "../../server/recon/import";
import { readRuleSet, runReconciliation } from "../../server/recon/matching";
import { backtestRuleSet, createDraftRuleSet, updateDraftRuleSet } from "../../server/recon/rule-sets";
import { DEFAULT_RULES } from "../../server/recon/rules";
import { createTestDb, type TestDb } from "../support/test-db";
import { appCodeOf, enrol, errorOf, person } from "./approvals-test-helpers";
import { ADMIN, OPERATOR, bankSource, bytes, count, statementXml } from "./recon-test-helpers";

let db: TestDb;
const rulesAdmin = person("rita", ["admin"]);
const approver = person("ada", ["approver"]);
const operator = person("omar", ["operator"]);

beforeAll(async () => {
  db = await createTestDb();
  await enrol(db, approver);
});
afterAll(async () => db.drop());

const withoutReference = DEFAULT_RULES.filter((r) => r.kind !== "reference" && r.kind !== "reference_tolerance");

describe("drafts", () => {
  it("a draft changes until it is activated; the database keeps other versions' rules as they were", async () => {
    const d = await createDraftRuleSet(db, ADMIN, { rules: DEFAULT_RULES, autoApplyThreshold: 95, note: "stricter" });
    expect(d).toMatchObject({ status: "draft", autoApplyThreshold: 95 });
    const u = await updateDraftRuleSet(db, ADMIN, { version: d.version, rules: withoutReference, autoApplyThreshold: 90 });
    expect(u.rules).toEqual(withoutReference);
    await expect(db.pool.query(`UPDATE recon_rule_sets SET rules = '[]' WHERE version = 1`)).rejects.toThrow(/rules never change/);
    await expect(db.pool.query(`UPDATE recon_rule_sets SET status = 'active', active_marker = true WHERE version = $1`, [d.version])).rejects.toThrow(/recon_rule_sets_active_marker_key/);
    expect(appCodeOf(await errorOf(updateDraftRuleSet(db, ADMIN, { version: 1, rules: DEFAULT_RULES, autoApplyThreshold: 90 })))).toBe("CONFLICT");
    expect(appCodeOf(await errorOf(createDraftRuleSet(db, ADMIN, { rules: [{ kind: "reference" }], autoApplyThreshold: 90 })))).toBe("BAD_INPUT");
  });
});

describe("backtest", () => {
  it("compares a draft with the active version over a past period, line by line, and changes nothing", async () => {
    const src = await bankSource(db);
    const counter = await openAccount(db, { code: `clearing:${randomUUID().slice(0, 8)}`, type: "liability" });
    // The last item has no reference and the same amount as the second: amount and date alone are ambiguous for that line.
    for (const [ref, amount] of [["BT-000001", 10_00n], ["BT-000002", 20_00n], ["BT-000003", 30_00n], [null, 20_00n]] as const) {
      await executeLedgerCommand(
        db,
        SYSTEM_ACTOR,
        { type: "post_entry", entry: { effectiveAt: new Date("2026-11-20T10:00:00Z"), metadata: ref ? { reference: ref } : {}, postings: [{ accountId: src.accountId, side: "debit", amountMinor: amount, currency: "EUR" }, { accountId: counter.id, side: "credit", amountMinor: amount, currency: "EUR" }] } },
        { idempotencyKey: `bt:${randomUUID()}` },
      );
    }
    const xml = statementXml([{ iban: src.iban!, entries: [{ amountMinor: 10_00n, endToEndId: "BT-000001" }, { amountMinor: 20_00n, endToEndId: "BT-000002", counterpartyName: "x" }, { amountMinor: 30_00n, remittanceInfo: "ref bt-000003 ok" }] }]);
    await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "bt.xml", content: bytes(xml) });
    await runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: "2026-11-19", periodTo: "2026-11-21", trigger: "manual" });
    const draft = await createDraftRuleSet(db, ADMIN, { rules: withoutReference, autoApplyThreshold: 90 });
    const snapshot = async () => [await count(db, "recon_matches"), await count(db, "recon_match_lines"), await count(db, "recon_breaks"), await count(db, "recon_suggestions"), await count(db, "recon_runs")];
    const before = await snapshot();
    const bt = await backtestRuleSet(db, { version: draft.version, sourceId: src.id, periodFrom: "2026-11-19", periodTo: "2026-11-21" });
    expect(await snapshot()).toEqual(before);
    expect(bt.active).toMatchObject({ version: 1, lines: 3, items: 4, autoMatchedLines: 3, unmatchedLines: 0, unmatchedItems: 1, byRule: { reference: 2, amount_date: 1 } });
    expect(Object.keys(bt.active).sort()).toEqual(["autoMatchedLines", "byRule", "items", "lines", "suggestedLines", "unmatchedItems", "unmatchedLines", "version"]);
    // Without the reference rules the first line is still found by amount and date (its reference
    // corroborates it), the second is ambiguous (two items of 20.00) and the third unchanged.
    expect(bt.draft).toMatchObject({ version: draft.version, lines: 3, autoMatchedLines: 2, unmatchedLines: 1, byRule: { amount_date: 2 } });
    expect([bt.wouldMatch, bt.wouldUnmatch, bt.wouldRematch]).toEqual([0, 1, 1]);
    expect(bt.differences).toHaveLength(2);
    expect(bt.differences.map((d) => [d.active?.split(":")[0] ?? null, d.draft?.split(":")[0] ?? null])).toEqual([
      ["reference", "amount_date"],
      ["reference", null],
    ]);
  });
});

describe("activation under four eyes", () => {
  it("is proposed by someone with recon:rules and applied by a different approver; the old version retires", async () => {
    const draft = await createDraftRuleSet(db, ADMIN, { rules: DEFAULT_RULES, autoApplyThreshold: 95 });
    const active = await readRuleSet(db.pool);
    expect(appCodeOf(await errorOf(proposeAdjustment(db, { actor: operator, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: draft.version }, reason: "stricter auto-apply", idempotencyKey: `k:${randomUUID()}` })))).toBe("FORBIDDEN");
    const p = await proposeAdjustment(db, { actor: rulesAdmin, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: draft.version, basedOnActiveVersion: active.version }, reason: "stricter auto-apply", idempotencyKey: `k:${randomUUID()}` });
    expect(p).toMatchObject({ status: "open", requiredApprovals: 1 });
    expect((await readRuleSet(db.pool)).version).toBe(active.version);
    const r = await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id });
    expect(r.status).toBe("applied");
    const now = await readRuleSet(db.pool);
    expect(now).toMatchObject({ version: draft.version, status: "active", autoApplyThreshold: 95 });
    const rows = (await db.pool.query(`SELECT version, status, proposal_id FROM recon_rule_sets WHERE version IN ($1, $2) ORDER BY version`, [active.version, draft.version])).rows;
    expect(rows).toEqual([
      { version: active.version, status: "retired", proposal_id: null },
      { version: draft.version, status: "active", proposal_id: p.id },
    ]);
    // A proposal for a version that is no longer a draft is refused.
    expect(appCodeOf(await errorOf(proposeAdjustment(db, { actor: rulesAdmin, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: draft.version }, reason: "again", idempotencyKey: `k:${randomUUID()}` })))).toBe("CONFLICT");
  });

  it("a proposal overtaken by another activation fails cleanly when approved", async () => {
    const a = await createDraftRuleSet(db, ADMIN, { rules: DEFAULT_RULES, autoApplyThreshold: 91 });
    const b = await createDraftRuleSet(db, ADMIN, { rules: DEFAULT_RULES, autoApplyThreshold: 92 });
    const pa = await proposeAdjustment(db, { actor: rulesAdmin, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: a.version }, reason: "a", idempotencyKey: `k:${randomUUID()}` });
    const pb = await proposeAdjustment(db, { actor: rulesAdmin, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: b.version }, reason: "b", idempotencyKey: `k:${randomUUID()}` });
    await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: pa.id });
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: pb.id })))).toBe("CONFLICT");
    expect((await readRuleSet(db.pool)).version).toBe(a.version);
  });
});
