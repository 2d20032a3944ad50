// What people do to breaks is in the audit log (assign, note, timing, link a transfer, match by
// hand and undo, confirm and dismiss a suggestion), with actor, reason and before/after; a break's
// timeline comes back in the order it happened; the worker's scheduled run (job recon-run,
// runScheduledReconciliation) reconciles every active source over its last 7 days and skips the
// inactive; and every match records the rule-set version that made it (a run after an approved
// activation records the new one, earlier matches keep theirs).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { stopSender } from "../../server/jobs/queues";
import { fund, openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { acceptTimingDifference, addBreakNote, assignBreaks, confirmSuggestion, dismissSuggestion, getBreak, linkBreakToTransfer, listBreaks, matchByHand, undoMatch } from "../../server/recon/breaks";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { DEFAULT_RULES } from "../../server/recon/rules";
import { createDraftRuleSet } from "../../server/recon/rule-sets";
import { SCHEDULE_LOOKBACK_DAYS } from "../../server/recon/runs";
import { updateSource } from "../../server/recon/sources";
import { createTransfer } from "../../server/transfers/create";
import { reconRunJob } from "../../server/worker/jobs";
import { createTestDb, type TestDb } from "../support/test-db";
import { enrol, person } from "./approvals-test-helpers";
import { ADMIN, OPERATOR, bankSource, bytes, statementXml, type EntrySpec } from "./recon-test-helpers";

let db: TestDb;
const approver = person("aurora", ["approver"]);
const rulesAdmin = person("rhea", ["admin"]);
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
  const post = async (amountMinor: bigint, opts: { reference?: string; date?: string } = {}) => {
    const r = await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      {
        type: "post_entry",
        entry: {
          effectiveAt: new Date(`${opts.date ?? DAY}T12:00:00Z`),
          metadata: opts.reference ? { reference: opts.reference } : {},
          postings: [
            { accountId: src.accountId, side: "debit", amountMinor, currency: "EUR" },
            { accountId: counter.id, side: "credit", amountMinor, currency: "EUR" },
          ],
        },
      },
      { idempotencyKey: `item:${randomUUID()}` },
    );
    return (await db.pool.query<{ id: string }>(`SELECT id::text FROM postings WHERE entry_id = $1 AND account_id = $2`, [r.entries[0]!.entryId, src.accountId])).rows[0]!.id;
  };
  const statement = (entries: EntrySpec[], date = DAY) =>
    importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${randomUUID()}.xml`, content: bytes(statementXml([{ iban: src.iban!, sequence: null, statementId: `S-${randomUUID().slice(0, 6)}`, date, entries }])) });
  const run = () => runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: "2026-11-10", periodTo: "2026-11-30", trigger: "manual" }, { now: NOW });
  const openBreaks = async () => (await listBreaks(db, { sourceId: src.id, statuses: ["open", "timing"] }, { now: NOW })).items;
  return { src, post, statement, run, openBreaks };
}

async function auditOf(targetId: string) {
  return (
    await db.pool.query<{ action: string; actor_label: string; reason: string | null; before: Record<string, unknown> | null; after: Record<string, unknown> | null }>(
      `SELECT action, actor_label, reason, before, after FROM audit_log WHERE target_id = $1 ORDER BY id`,
      [targetId],
    )
  ).rows;
}

describe("break resolutions are audited", () => {
  it("assign, note, timing difference and transfer link on a break: actor, reason, before and after", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 41_00n, endToEndId: "AUDIT-0001" }]);
    await w.run();
    const [b] = await w.openBreaks();
    const assignee = randomUUID();
    await assignBreaks(db, OPERATOR, { breakIds: [b!.id], assigneeId: assignee, assigneeLabel: "olga@recon.test" });
    await addBreakNote(db, OPERATOR, { breakId: b!.id, note: "asked the bank for the payer" });
    const deadlineAt = new Date(Date.now() + 2 * 86_400_000);
    await acceptTimingDifference(db, OPERATOR, { breakId: b!.id, deadlineAt, note: "payer confirms it lands Monday" });
    const bankAcct = await openAccount(db, { code: `bank:audit:${randomUUID().slice(0, 6)}`, type: "asset" });
    const wallet = await openAccount(db, { code: `customer:audit:${randomUUID().slice(0, 6)}:wallet`, type: "liability", isNoOverdraft: true });
    await fund(db, bankAcct.id, wallet.id, 100_00n);
    const t = (await createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Audit Payee", counterpartyAccount: "DE89370400440532013000", amountMinor: 41_00n, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: `audit-${randomUUID()}` })).transfer;
    await linkBreakToTransfer(db, OPERATOR, { breakId: b!.id, transferId: t.id });

    const audit = await auditOf(b!.id);
    expect(audit.map((a) => a.action)).toEqual(["recon.break.assign", "recon.break.note", "recon.break.timing", "recon.break.link_transfer"]);
    expect(audit.every((a) => a.actor_label === OPERATOR.label)).toBe(true);
    expect(audit[0]).toMatchObject({ before: { assignee: null }, after: { assignee: "olga@recon.test" } });
    expect(audit[1]).toMatchObject({ after: { note: "asked the bank for the payer" } });
    expect(audit[2]).toMatchObject({ reason: "payer confirms it lands Monday", before: { status: "open", deadlineAt: null }, after: { status: "timing", deadlineAt: deadlineAt.toISOString() } });
    expect(audit[3]).toMatchObject({ before: { transferId: null }, after: { transferId: t.id } });
  });

  it("a manual match and its undo, a confirmed and a dismissed suggestion", async () => {
    const w = await world();
    const p1 = await w.post(50_00n, { reference: "MANUAL-AUD" });
    await w.post(61_61n);
    await w.post(72_72n);
    await w.statement([{ amountMinor: 50_00n, remittanceInfo: "no usable reference" }, { amountMinor: 61_61n }, { amountMinor: 72_72n }]);
    await w.run();
    const lines = (await db.pool.query<{ id: string; amount: string }>(`SELECT id::text, amount_minor::text AS amount FROM recon_lines WHERE source_id = $1`, [w.src.id])).rows;
    const line50 = lines.find((l) => l.amount === "5000")!.id;

    const m = await matchByHand(db, OPERATOR, { sourceId: w.src.id, lineIds: [line50], postingIds: [p1], note: "same payer, bank lost the reference" });
    await undoMatch(db, OPERATOR, { matchId: m.matchId, reason: "wrong payer after all" });
    const matchAudit = await auditOf(m.matchId);
    expect(matchAudit.map((a) => a.action)).toEqual(["recon.match.manual", "recon.match.undo"]);
    expect(matchAudit[0]).toMatchObject({ actor_label: OPERATOR.label, reason: "same payer, bank lost the reference", after: { lineIds: [line50], postingIds: [p1], differenceMinor: "0", rule: "manual" } });
    expect(matchAudit[1]).toMatchObject({ reason: "wrong payer after all", before: { lineIds: [line50], postingIds: [p1] } });

    const suggestions = (await db.pool.query<{ id: string; amount: string }>(
      `SELECT s.id, l.amount_minor::text AS amount FROM recon_suggestions s JOIN recon_lines l ON l.id = s.line_ids[1] WHERE s.source_id = $1 AND s.status = 'open'`,
      [w.src.id],
    )).rows;
    expect(suggestions.map((s) => s.amount).sort()).toEqual(["6161", "7272"]);
    const toConfirm = suggestions.find((s) => s.amount === "6161")!.id;
    const toDismiss = suggestions.find((s) => s.amount === "7272")!.id;
    const confirmed = await confirmSuggestion(db, OPERATOR, { suggestionId: toConfirm, note: "checked the invoice" });
    await dismissSuggestion(db, OPERATOR, { suggestionId: toDismiss, reason: "different customer" });
    expect(await auditOf(toConfirm)).toEqual([expect.objectContaining({ action: "recon.suggestion.confirm", actor_label: OPERATOR.label, after: expect.objectContaining({ matchId: confirmed.matchId }) })]);
    expect(await auditOf(toDismiss)).toEqual([expect.objectContaining({ action: "recon.suggestion.dismiss", actor_label: OPERATOR.label, reason: "different customer" })]);
    // A confirmed suggestion's match keeps the rule-set version that suggested it; a person's match has none.
    const versions = (await db.pool.query<{ kind: string; rule_set_version: number | null }>(`SELECT kind, rule_set_version FROM recon_matches WHERE source_id = $1 ORDER BY id`, [w.src.id])).rows;
    expect(versions).toEqual([
      { kind: "manual", rule_set_version: null },
      { kind: "confirmed", rule_set_version: 1 },
    ]);
  });

  it("a break's timeline comes back in the order it happened, across event ids of different lengths", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 13_13n, endToEndId: "TIMELINE-1" }]);
    await w.run();
    const [b] = await w.openBreaks();
    const idOf = async () => (await db.pool.query<{ min: string; max: string }>(`SELECT min(id)::text AS min, max(id)::text AS max FROM recon_break_events WHERE break_id = $1`, [b!.id])).rows[0]!;
    // Add notes until the break's first and last event ids have a different number of digits (9 → 10, 99 → 100…).
    let n = 0;
    while (n < 1000) {
      const ids = await idOf();
      if (ids.min.length !== ids.max.length) break;
      await addBreakNote(db, OPERATOR, { breakId: b!.id, note: `note ${++n}` });
    }
    const events = (await getBreak(db, b!.id)).events;
    expect(events.map((e) => e.kind)).toEqual(["opened", ...Array.from({ length: n }, () => "note")]);
    expect(events.filter((e) => e.kind === "note").map((e) => e.note)).toEqual(Array.from({ length: n }, (_, i) => `note ${i + 1}`));
  });
});

const shift = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe("the scheduled run (job recon-run)", () => {
  it("reconciles every active source over its last 7 days, skips the inactive, and changes nothing when run again", async () => {
    const now = new Date("2026-11-27T12:00:00Z");
    const first = shift("2026-11-27", -SCHEDULE_LOOKBACK_DAYS);
    const active = await world();
    await active.post(20_00n, { reference: "SCHED-IN", date: first });
    await active.post(21_00n, { reference: "SCHED-OUT", date: shift(first, -1) });
    await active.statement([{ amountMinor: 20_00n, endToEndId: "SCHED-IN" }], first);
    await active.statement([{ amountMinor: 21_00n, endToEndId: "SCHED-OUT" }], shift(first, -1));
    const inactive = await world();
    await inactive.post(22_00n, { reference: "SCHED-OFF" });
    await inactive.statement([{ amountMinor: 22_00n, endToEndId: "SCHED-OFF" }]);
    await updateSource(db, ADMIN, { sourceId: inactive.src.id, expectedVersion: 0, isActive: false, reason: "feed retired" });
    const activeCount = Number((await db.pool.query(`SELECT count(*) AS n FROM recon_sources WHERE is_active`)).rows[0].n);

    expect(reconRunJob.cron).toBe("*/15 * * * *");
    expect(await reconRunJob.run(db, now)).toEqual({ sources: activeCount, failed: 0 });
    const runs = (await db.pool.query(`SELECT source_id, trigger, actor_label, period_from::text, period_to::text, rule_set_version, status, summary FROM recon_runs WHERE trigger = 'schedule' ORDER BY started_at`)).rows;
    expect(runs.filter((r) => r.source_id === inactive.src.id)).toEqual([]);
    const mine = runs.filter((r) => r.source_id === active.src.id);
    expect(mine).toEqual([expect.objectContaining({ trigger: "schedule", actor_label: "recon-schedule", period_from: first, period_to: "2026-11-27", rule_set_version: 1, status: "completed" })]);
    expect(mine[0].summary).toMatchObject({ lines: 1, autoMatches: 1 });
    // The line of the 8th day back is outside the look-back: still unmatched.
    const matchedRefs = (await db.pool.query<{ ref: string }>(`SELECT l.end_to_end_id AS ref FROM recon_lines l JOIN recon_match_lines m ON m.line_id = l.id WHERE l.source_id = $1`, [active.src.id])).rows.map((r) => r.ref);
    expect(matchedRefs).toEqual(["SCHED-IN"]);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM recon_matches WHERE source_id = $1`, [inactive.src.id])).rows[0]).toEqual({ n: 0 });

    const again = await reconRunJob.run(db, new Date(now.getTime() + 15 * 60_000));
    expect(again).toEqual({ sources: activeCount, failed: 0 });
    const second = (await db.pool.query(`SELECT summary FROM recon_runs WHERE trigger = 'schedule' AND source_id = $1 ORDER BY started_at DESC LIMIT 1`, [active.src.id])).rows[0];
    expect(second.summary).toMatchObject({ autoMatches: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM recon_matches WHERE source_id = $1`, [active.src.id])).rows[0]).toEqual({ n: 1 });
  });
});

// Last in the file: it changes the active rule set of this file's database.
describe("rule-set version on matches", () => {
  it("an automatic match records the version that made it; after an approved activation, new matches record the new one", async () => {
    const w = await world();
    await w.post(30_00n, { reference: "RSV-ONE" });
    await w.statement([{ amountMinor: 30_00n, endToEndId: "RSV-ONE" }]);
    await w.run();
    const draft = await createDraftRuleSet(db, ADMIN, { rules: DEFAULT_RULES, autoApplyThreshold: 90, note: "same rules, new version" });
    const p = await proposeAdjustment(db, { actor: rulesAdmin, kinds: adjustmentKinds }, { kind: "recon_rule_set_activation", payload: { version: draft.version, basedOnActiveVersion: 1 }, reason: "version bump for the test", idempotencyKey: `rsv:${randomUUID()}` });
    expect((await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id })).status).toBe("applied");
    await w.post(31_00n, { reference: "RSV-TWO" });
    await w.statement([{ amountMinor: 31_00n, endToEndId: "RSV-TWO" }]);
    const run = await w.run();
    const rows = (await db.pool.query<{ rule: string; kind: string; rule_set_version: number; ref: string }>(
      `SELECT m.rule, m.kind, m.rule_set_version, l.end_to_end_id AS ref FROM recon_matches m JOIN recon_match_lines ml ON ml.match_id = m.id JOIN recon_lines l ON l.id = ml.line_id WHERE m.source_id = $1 ORDER BY m.id`,
      [w.src.id],
    )).rows;
    expect(rows).toEqual([
      { rule: "reference", kind: "auto", rule_set_version: 1, ref: "RSV-ONE" },
      { rule: "reference", kind: "auto", rule_set_version: draft.version, ref: "RSV-TWO" },
    ]);
    expect(draft.version).toBe(2);
    expect((await db.pool.query(`SELECT rule_set_version FROM recon_runs WHERE id = $1`, [run.runId])).rows[0]).toEqual({ rule_set_version: 2 });
  });
});
