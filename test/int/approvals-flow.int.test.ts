// Manual adjustments under four eyes against a real PostgreSQL, through the tRPC caller (one
// session per role) and the domain functions: propose → preview → approve/reject/withdraw/expire,
// the two-approver threshold, self-approval through every path, bad input, stale previews.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { createTestDb, type TestDb } from "../support/test-db";
import { approveProposal, expireDueProposals, proposeAdjustment, rejectProposal, withdrawProposal } from "../../server/approvals/proposals";
import { getProposal } from "../../server/approvals/queries";
import { getBalances } from "../../server/ledger/balances";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { appCodeOf, callerAs, enrol, entryPayload, errorOf, miniLedger, person, registerPeople, serviceKey, type MiniLedger } from "./approvals-test-helpers";
import { adjustmentKinds } from "../../server/composition";

let db: TestDb;
let L: MiniLedger;
const operator = person("omar", ["operator"]);
const approver = person("ada", ["approver"]);
const approver2 = person("abe", ["approver"]);
const both = person("bea", ["operator", "approver"]);
const admin = person("alex", ["admin"]);

beforeAll(async () => {
  db = await createTestDb();
  await registerPeople(db, operator, approver, approver2, both, admin);
  L = await miniLedger(db, 500_00n);
  for (const a of [approver, approver2, both]) await enrol(db, a);
});
afterAll(async () => {
  await db?.drop();
});

const key = () => `test:${randomUUID()}`;

async function propose(amount: string, opts: { by?: typeof operator; from?: string; to?: string } = {}) {
  return callerAs(db, opts.by ?? operator).approvals.propose({
    kind: "journal_entry",
    payload: entryPayload(opts.from ?? L.bank.code, opts.to ?? L.wallet.code, amount),
    reason: "customer credited short by the partner",
    idempotencyKey: key(),
  });
}

async function countRows(table: string): Promise<number> {
  return Number((await db.pool.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
}

async function entriesFor(proposalId: string): Promise<number> {
  return Number((await db.pool.query(`SELECT count(*) FROM journal_entries WHERE idempotency_key LIKE $1`, [`adjustment:${proposalId}%`])).rows[0].count);
}

describe("propose, preview, approve", () => {
  it("applies an approved correction through the ledger, with the preview the proposer saw and an audit trail", async () => {
    const before = await getBalances(db, L.wallet.id);
    const p = await propose("12.50");
    expect(p).toMatchObject({ status: "open", requiredApprovals: 1, isReplay: false });

    const detail = await callerAs(db, approver).approvals.get({ id: p.id });
    const w = detail.proposedPreview.balances.find((b) => b.accountId === L.wallet.id)!;
    expect(w.before.postedMinor).toBe(before.postedMinor);
    expect(w.after.postedMinor).toBe(before.postedMinor + 1250n);
    expect(detail.proposedPreview.entries[0]!.postings.map((x) => [x.accountCode, x.side, x.amountMinor])).toEqual([
      [L.bank.code, "debit", 1250n],
      [L.wallet.code, "credit", 1250n],
    ]);
    expect(detail.staleness).toEqual({ isStale: false, differences: [] });
    expect(detail.viewer).toMatchObject({ canApprove: true, canReject: true, canWithdraw: false });

    const r = await callerAs(db, approver).approvals.approve({ proposalId: p.id });
    expect(r).toMatchObject({ status: "applied", approvals: 1, requiredApprovals: 1 });
    expect((await getBalances(db, L.wallet.id)).postedMinor).toBe(before.postedMinor + 1250n);

    const entry = await callerAs(db, approver).ledger.entries.get({ entryId: r.appliedEntryIds[0]! });
    expect(entry.idempotencyKey).toBe(`adjustment:${p.id}`);
    expect(entry.metadata).toEqual({ adjustmentId: p.id });
    const actions = (await db.pool.query(`SELECT action FROM audit_log WHERE target_type = 'adjustment_proposal' AND target_id = $1 ORDER BY id`, [p.id])).rows.map((x) => x.action);
    expect(actions).toEqual(["adjustment.propose", "adjustment.approve", "adjustment.apply"]);
    const ledgerAudit = await db.pool.query(`SELECT actor_label FROM audit_log WHERE target_type = 'journal_entry' AND target_id = $1`, [entry.id]);
    expect(ledgerAudit.rows).toEqual([{ actor_label: approver.email }]);
  });

  it("replays a proposal with the same key and refuses the key for a different request", async () => {
    const k = key();
    const input = { kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "1.00"), reason: "retry me", idempotencyKey: k };
    const a = await callerAs(db, operator).approvals.propose(input);
    const b = await callerAs(db, operator).approvals.propose(input);
    expect(b).toMatchObject({ id: a.id, isReplay: true });
    const err = await errorOf(callerAs(db, operator).approvals.propose({ ...input, reason: "something else" }));
    expect(appCodeOf(err)).toBe("IDEMPOTENCY_CONFLICT");
  });

  it("lets a service key propose through the API", async () => {
    const svc = serviceKey("recon-bot", ["adjustments:read", "adjustments:propose"]);
    const p = await propose("2.00", { by: svc as never });
    const detail = await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id);
    expect(detail.proposer).toMatchObject({ type: "service", label: "service:recon-bot" });
    await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: p.id });
    expect((await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id)).status).toBe("applied");
  });
});

describe("the inbox", () => {
  it("pages newest first with keyset cursors, each proposal once, and refuses a cursor it did not issue", async () => {
    const proposer = person("pia", ["operator"]);
    await registerPeople(db, proposer);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await propose("0.10", { by: proposer })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await callerAs(db, proposer).approvals.list({ view: "mine", limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((x) => x.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const err = await errorOf(callerAs(db, proposer).approvals.list({ view: "mine", limit: 2, cursor: "bm90LWEtY3Vyc29y" }));
    expect(appCodeOf(err)).toBe("BAD_INPUT");
  });
});

describe("evidence", () => {
  it("stores an uploaded file and a link with the proposal; the file reads back byte for byte", async () => {
    const pdf = Buffer.from("%PDF-1.4\n% statement line 118\n");
    const p = await callerAs(db, operator).approvals.propose({
      kind: "journal_entry",
      payload: entryPayload(L.bank.code, L.wallet.code, "1.50"),
      reason: "statement attached",
      evidenceUrl: "https://tickets.example.com/OPS-9",
      evidenceFile: { fileName: "../statement.pdf", contentType: "application/pdf", contentBase64: pdf.toString("base64") },
      idempotencyKey: key(),
    });
    const d = await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id);
    expect(d.evidenceUrl).toBe("https://tickets.example.com/OPS-9");
    expect(d.evidence).toEqual([expect.objectContaining({ fileName: "statement.pdf", contentType: "application/pdf", sizeBytes: pdf.length })]);
    const file = await callerAs(db, approver).approvals.evidence({ proposalId: p.id, evidenceId: d.evidence[0]!.id });
    expect(Buffer.from(file.contentBase64, "base64").equals(pdf)).toBe(true);
    const html = await errorOf(
      callerAs(db, operator).approvals.propose({ kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "1.50"), reason: "x", evidenceFile: { fileName: "x.pdf", contentType: "application/pdf", contentBase64: Buffer.from("<html><script>").toString("base64") }, idempotencyKey: key() }),
    );
    expect(appCodeOf(html) === "BAD_REQUEST" ? "BAD_INPUT" : appCodeOf(html)).toBe("BAD_INPUT");
  });
});

describe("the proposer never approves", () => {
  it("refuses a person holding both roles, through the API and the domain, and changes nothing", async () => {
    const p = await propose("3.00", { by: both });
    const decisions = await countRows("adjustment_decisions");
    const viaApi = await errorOf(callerAs(db, both).approvals.approve({ proposalId: p.id }));
    expect(viaApi).toBeInstanceOf(TRPCError);
    expect((viaApi as TRPCError).code).toBe("FORBIDDEN");
    expect(appCodeOf(viaApi)).toBe("SELF_APPROVAL");
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: both }, { proposalId: p.id })))).toBe("SELF_APPROVAL");
    expect(appCodeOf(await errorOf(rejectProposal(db, { kinds: adjustmentKinds, actor: both }, { proposalId: p.id, reason: "mine" })))).toBe("SELF_APPROVAL");
    expect((await getProposal(db, { kinds: adjustmentKinds, actor: both }, p.id)).viewer).toMatchObject({ canApprove: false, canWithdraw: true, isProposer: true });
    expect(await countRows("adjustment_decisions")).toBe(decisions);
    expect(await entriesFor(p.id)).toBe(0);
  });

  it("refuses service keys: no key may hold the approve scope, and the domain refuses one that somehow does", async () => {
    const svc = serviceKey("payments", ["adjustments:read", "adjustments:propose"]);
    const p = await propose("4.00", { by: svc as never });
    const viaApi = await errorOf(callerAs(db, svc).approvals.approve({ proposalId: p.id }));
    expect((viaApi as TRPCError).code).toBe("FORBIDDEN");
    const forged = serviceKey("payments", ["adjustments:read", "adjustments:propose", "adjustments:approve"]);
    (forged as { keyId: string }).keyId = (svc as { keyId: string }).keyId;
    const viaDomain = await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: forged }, { proposalId: p.id }));
    expect(appCodeOf(viaDomain)).toBe("FORBIDDEN");
    expect(await entriesFor(p.id)).toBe(0);
  });

  it("the database itself refuses a decision by the proposer", async () => {
    const p = await propose("5.00", { by: both });
    const err = await errorOf(db.pool.query(`INSERT INTO adjustment_decisions (proposal_id, decision, actor_id, actor_label, created_at) VALUES ($1, 'approve', $2, 'x', now())`, [p.id, both.userId]));
    expect((err as { code?: string }).code).toBe("AP001");
  });
});

describe("the two-approver threshold", () => {
  it("needs two distinct approvers at or above the threshold; the same approver twice counts once", async () => {
    const p = await propose("10000.00");
    expect(p.requiredApprovals).toBe(2);
    const first = await callerAs(db, approver).approvals.approve({ proposalId: p.id });
    expect(first).toMatchObject({ status: "open", approvals: 1, requiredApprovals: 2, appliedEntryIds: [] });
    expect(await entriesFor(p.id)).toBe(0);
    const again = await errorOf(callerAs(db, approver).approvals.approve({ proposalId: p.id }));
    expect(appCodeOf(again)).toBe("ALREADY_APPROVED");
    expect((await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id)).viewer.approveBlockedReason).toMatch(/second approver/);
    const second = await callerAs(db, approver2).approvals.approve({ proposalId: p.id });
    expect(second).toMatchObject({ status: "applied", approvals: 2, requiredApprovals: 2 });
    expect(await entriesFor(p.id)).toBe(1);
  });

  it("needs one approver just below the threshold", async () => {
    expect((await propose("9999.99")).requiredApprovals).toBe(1);
  });
});

describe("closing a proposal", () => {
  it("expires: approval after the deadline is refused, the worker marks it expired, and it stays closed", async () => {
    const t0 = new Date("2026-11-21T09:00:00Z");
    const p = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: operator, now: t0 }, { kind: "journal_entry", payload: entryPayload(L.bank.code, L.wallet.code, "6.00"), reason: "late", idempotencyKey: key() });
    expect(p.expiresAt.toISOString()).toBe("2026-11-24T09:00:00.000Z");
    const late = new Date("2026-11-24T09:00:00Z");
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: approver, now: late }, { proposalId: p.id })))).toBe("PROPOSAL_EXPIRED");
    expect((await getProposal(db, { kinds: adjustmentKinds, actor: approver, now: late }, p.id)).status).toBe("expired");
    expect(await expireDueProposals(db, new Date("2026-11-24T08:59:59Z"))).not.toContain(p.id);
    expect(await expireDueProposals(db, late)).toContain(p.id);
    expect(await expireDueProposals(db, late)).not.toContain(p.id);
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: approver, now: t0 }, { proposalId: p.id })))).toBe("PROPOSAL_NOT_OPEN");
    const audit = await db.pool.query(`SELECT actor_type FROM audit_log WHERE action = 'adjustment.expire' AND target_id = $1`, [p.id]);
    expect(audit.rows).toEqual([{ actor_type: "system" }]);
    expect(await entriesFor(p.id)).toBe(0);
  });

  it("withdraws: only by the proposer; a withdrawn proposal cannot be approved", async () => {
    const p = await propose("7.00");
    expect(appCodeOf(await errorOf(callerAs(db, approver).approvals.withdraw({ proposalId: p.id })))).toBe("FORBIDDEN");
    expect(appCodeOf(await errorOf(withdrawProposal(db, { kinds: adjustmentKinds, actor: person("other-op", ["operator"]) }, { proposalId: p.id })))).toBe("FORBIDDEN");
    expect(await callerAs(db, operator).approvals.withdraw({ proposalId: p.id, reason: "wrong account" })).toEqual({ proposalId: p.id, status: "withdrawn" });
    expect(appCodeOf(await errorOf(callerAs(db, approver).approvals.approve({ proposalId: p.id })))).toBe("PROPOSAL_NOT_OPEN");
    expect(appCodeOf(await errorOf(callerAs(db, operator).approvals.withdraw({ proposalId: p.id })))).toBe("PROPOSAL_NOT_OPEN");
    expect(await entriesFor(p.id)).toBe(0);
  });

  it("rejects with a reason only; a rejected or applied proposal takes no decision", async () => {
    const p = await propose("8.00");
    const noReason = await errorOf(callerAs(db, approver).approvals.reject({ proposalId: p.id, reason: "  " }));
    expect((noReason as TRPCError).code).toBe("BAD_REQUEST");
    await callerAs(db, approver).approvals.reject({ proposalId: p.id, reason: "no evidence attached" });
    const d = await getProposal(db, { kinds: adjustmentKinds, actor: operator }, p.id);
    expect(d).toMatchObject({ status: "rejected", closeReason: "no evidence attached", rejection: { actorLabel: approver.email } });
    expect(appCodeOf(await errorOf(callerAs(db, approver2).approvals.approve({ proposalId: p.id })))).toBe("PROPOSAL_NOT_OPEN");

    const applied = await propose("1.25");
    await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: applied.id });
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: approver2 }, { proposalId: applied.id })))).toBe("PROPOSAL_NOT_OPEN");
    expect(appCodeOf(await errorOf(rejectProposal(db, { kinds: adjustmentKinds, actor: approver2 }, { proposalId: applied.id, reason: "too late" })))).toBe("PROPOSAL_NOT_OPEN");
    expect(await entriesFor(applied.id)).toBe(1);
    // The database keeps a closed proposal closed, whatever the path.
    const err = await errorOf(db.pool.query(`UPDATE adjustment_proposals SET status = 'open', closed_at = NULL WHERE id = $1`, [applied.id]));
    expect((err as { code?: string }).code).toBe("AP002");
  });
});

describe("bad input: typed errors, nothing stored", () => {
  it.each([
    ["an unbalanced entry", "UNBALANCED", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "1.00" }, { accountCode: "WALLET", side: "credit", amount: "0.99" }] }],
    ["a single posting", "UNBALANCED", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "1.00" }] }],
    ["an unknown account", "NOT_FOUND", { description: "x", postings: [{ accountCode: "nope:nothing", side: "debit", amount: "1.00" }, { accountCode: "WALLET", side: "credit", amount: "1.00" }] }],
    ["8.855 EUR", "INVALID_AMOUNT", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "8.855" }, { accountCode: "WALLET", side: "credit", amount: "8.855" }] }],
    ["a comma decimal", "INVALID_AMOUNT", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "8,85" }, { accountCode: "WALLET", side: "credit", amount: "8,85" }] }],
    ["a zero amount", "INVALID_AMOUNT", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "0" }, { accountCode: "WALLET", side: "credit", amount: "0" }] }],
    ["a wrong currency", "CURRENCY_MISMATCH", { description: "x", postings: [{ accountCode: "BANK", side: "debit", amount: "1", currency: "USD" }, { accountCode: "WALLET", side: "credit", amount: "1", currency: "USD" }] }],
    ["an overdraft", "INSUFFICIENT_FUNDS", { description: "x", postings: [{ accountCode: "WALLET", side: "debit", amount: "999999.00" }, { accountCode: "BANK", side: "credit", amount: "999999.00" }] }],
    ["a missing description", "BAD_INPUT", { postings: [{ accountCode: "BANK", side: "debit", amount: "1" }, { accountCode: "WALLET", side: "credit", amount: "1" }] }],
  ])("refuses %s with %s", async (_name, code, payload) => {
    const fixed = JSON.parse(JSON.stringify(payload).replaceAll('"BANK"', JSON.stringify(L.bank.code)).replaceAll('"WALLET"', JSON.stringify(L.wallet.code)));
    const n = await countRows("adjustment_proposals");
    const err = await errorOf(callerAs(db, operator).approvals.propose({ kind: "journal_entry", payload: fixed, reason: "bad", idempotencyKey: key() }));
    expect(appCodeOf(err) === "BAD_REQUEST" ? "BAD_INPUT" : appCodeOf(err)).toBe(code);
    expect(await countRows("adjustment_proposals")).toBe(n);
  });

  it("refuses an unknown kind, and approval by someone without the approver role", async () => {
    expect(appCodeOf(await errorOf(callerAs(db, operator).approvals.propose({ kind: "mint_money", payload: {}, reason: "x", idempotencyKey: key() })))).toBe("BAD_INPUT");
    const p = await propose("1.10");
    for (const who of [operator, admin, person("vera", ["viewer"])]) {
      const err = await errorOf(callerAs(db, who).approvals.approve({ proposalId: p.id }));
      expect((err as TRPCError).code).toBe("FORBIDDEN");
    }
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: operator }, { proposalId: p.id })))).toBe("FORBIDDEN");
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: randomUUID() })))).toBe("NOT_FOUND");
    expect(await entriesFor(p.id)).toBe(0);
  });
});

describe("a stale preview", () => {
  it("warns the approver, refuses cleanly when a balance limit would break, posts nothing and records why", async () => {
    const small = await miniLedger(db, 100_00n);
    const p = await propose("80.00", { from: small.wallet.code, to: small.other.code });
    // The wallet is spent elsewhere after the proposal: only 30.00 remain.
    await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "transfer", debitAccountId: small.wallet.id, creditAccountId: small.bank.id, amountMinor: 70_00n, currency: "EUR" }, { idempotencyKey: key() });

    const view = await callerAs(db, approver).approvals.get({ id: p.id });
    expect(view.livePreview?.error?.code).toBe("INSUFFICIENT_FUNDS");
    expect(view.staleness?.isStale).toBe(true);
    expect(view.staleness?.differences[0]).toMatch(/Approving now would fail: INSUFFICIENT_FUNDS/);

    const err = await errorOf(callerAs(db, approver).approvals.approve({ proposalId: p.id }));
    expect(appCodeOf(err)).toBe("INSUFFICIENT_FUNDS");
    expect(await entriesFor(p.id)).toBe(0);
    expect((await getBalances(db, small.wallet.id)).postedMinor).toBe(30_00n);
    const after = await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id);
    expect(after).toMatchObject({ status: "open", approvals: [], failureCount: 1, lastFailure: { code: "INSUFFICIENT_FUNDS", byLabel: approver.email } });
    const audit = await db.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [p.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(["adjustment.propose", "adjustment.apply_failed"]);
  });

  it("shows the difference when balances moved but approval still works", async () => {
    const p = await propose("1.00", { from: L.bank.code, to: L.other.code });
    await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "transfer", debitAccountId: L.bank.id, creditAccountId: L.other.id, amountMinor: 5_00n, currency: "EUR" }, { idempotencyKey: key() });
    const view = await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id);
    expect(view.staleness?.isStale).toBe(true);
    expect(view.staleness?.differences.join("\n")).toMatch(new RegExp(`${L.other.code}: posted balance is 5.00 EUR now, 0.00 EUR when proposed`));
    expect((await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: p.id })).status).toBe("applied");
  });
});

describe("other kinds", () => {
  it("reverses an entry under four eyes; the reversal points to the original", async () => {
    const original = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "transfer", debitAccountId: L.bank.id, creditAccountId: L.other.id, amountMinor: 2_00n, currency: "EUR" }, { idempotencyKey: key() });
    const entryId = original.entries[0]!.entryId;
    const p = await callerAs(db, operator).approvals.propose({ kind: "reversal", payload: { entryId }, reason: "duplicate payout", idempotencyKey: key() });
    const r = await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: p.id });
    const rev = await callerAs(db, approver).ledger.entries.get({ entryId: r.appliedEntryIds[0]! });
    expect(rev.reversesEntryId).toBe(entryId);
    expect(rev.idempotencyKey).toBe(`adjustment:${p.id}`);
    const again = await errorOf(callerAs(db, operator).approvals.propose({ kind: "reversal", payload: { entryId }, reason: "again", idempotencyKey: key() }));
    expect(appCodeOf(again)).toBe("ALREADY_REVERSED");
  });

  it("changes the policy only through an approved policy_change, audited; operators cannot propose one", async () => {
    const before = await callerAs(db, operator).approvals.policy.get();
    expect((await errorOf(callerAs(db, operator).approvals.policy.propose({ basedOnVersion: before.version, thresholds: { EUR: "5.00" }, expiryHours: 24, reason: "x", idempotencyKey: key() })) as TRPCError).code).toBe("FORBIDDEN");
    const p = await callerAs(db, admin).approvals.policy.propose({ basedOnVersion: before.version, thresholds: { EUR: "50.00", USD: "10000.00" }, expiryHours: 24, reason: "tighten EUR", idempotencyKey: key() });
    const view = await getProposal(db, { kinds: adjustmentKinds, actor: approver }, p.id);
    expect(view.proposedPreview.changes).toEqual(expect.arrayContaining([{ label: "Two approvers from (EUR)", before: "10,000.00 EUR", after: "50.00 EUR" }, { label: "Proposals expire after", before: "72 h (configured default)", after: "24 h" }]));
    expect((await callerAs(db, operator).approvals.policy.get()).version).toBe(before.version);
    await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: p.id });
    const after = await callerAs(db, operator).approvals.policy.get();
    expect(after).toMatchObject({ version: before.version + 1, expiryHours: 24, proposalId: p.id });
    expect((await propose("50.00")).requiredApprovals).toBe(2);
    // A currency without a threshold (GBP is no longer listed) always needs two approvers.
    const stale = await errorOf(callerAs(db, admin).approvals.policy.propose({ basedOnVersion: before.version, thresholds: { EUR: "1.00" }, expiryHours: null, reason: "old", idempotencyKey: key() }));
    expect(appCodeOf(stale)).toBe("CONFLICT");
  });
});

describe("comments", () => {
  it("keeps a thread; a retried comment is stored once; readers without a part cannot comment", async () => {
    const p = await propose("1.05");
    const k = key();
    await callerAs(db, approver).approvals.comment({ proposalId: p.id, body: "Which ticket?", idempotencyKey: k });
    const replay = await callerAs(db, approver).approvals.comment({ proposalId: p.id, body: "Which ticket?", idempotencyKey: k });
    expect(replay.isReplay).toBe(true);
    await callerAs(db, operator).approvals.comment({ proposalId: p.id, body: "OPS-1234", idempotencyKey: key() });
    expect(appCodeOf(await errorOf(callerAs(db, person("vera", ["viewer"])).approvals.comment({ proposalId: p.id, body: "hi", idempotencyKey: key() })))).toBe("FORBIDDEN");
    const d = await getProposal(db, { kinds: adjustmentKinds, actor: operator }, p.id);
    expect(d.comments.map((c) => [c.authorLabel, c.body])).toEqual([
      [approver.email, "Which ticket?"],
      [operator.email, "OPS-1234"],
    ]);
  });
});
