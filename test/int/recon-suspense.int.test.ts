// Correcting a break to the currency's suspense account under four eyes, beside the write-off:
// proposed through recon.breaks.proposeSuspenseCorrection, applied by a different approver, the
// balanced entry against ops:recon:suspense:<CCY> is posted, matched and the break closed as
// corrected_to_suspense in one transaction; what cannot be corrected is refused by name, and a
// write-off proposed for the same break fails cleanly once the correction applied.
import { randomUUID } from "node:crypto";
import { type TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { approveProposal } from "../../server/approvals/proposals";
import { adjustmentKinds } from "../../server/composition";
import { stopSender } from "../../server/jobs/queues";
import { openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBreak, listBreaks, undoMatch } from "../../server/recon/breaks";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { SUSPENSE_ACCOUNT } from "../../server/recon/write-off";
import { createTestDb, type TestDb } from "../support/test-db";
import { appCodeOf, callerAs, enrol, errorOf, person } from "./approvals-test-helpers";
import { OPERATOR, bankSource, bytes, statementXml, type EntrySpec } from "./recon-test-helpers";

let db: TestDb;
const operator = person("sonja", ["operator"]);
const viewer = person("victor", ["viewer"]);
const approver = person("arne", ["approver"]);
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
  const post = async (amountMinor: bigint, reference?: string) => {
    const r = await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      {
        type: "post_entry",
        entry: {
          effectiveAt: new Date(`${DAY}T12:00:00Z`),
          metadata: reference ? { reference } : {},
          postings: [
            { accountId: src.accountId, side: "debit", amountMinor, currency: "EUR" },
            { accountId: counter.id, side: "credit", amountMinor, currency: "EUR" },
          ],
        },
      },
      { idempotencyKey: `item:${randomUUID()}` },
    );
    return r.entries[0]!.entryId;
  };
  const statement = async (entries: EntrySpec[]) =>
    importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${randomUUID()}.xml`, content: bytes(statementXml([{ iban: src.iban!, sequence: null, statementId: `S-${randomUUID().slice(0, 6)}`, entries }])) });
  const run = () => runReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: "2026-11-10", periodTo: "2026-11-30", trigger: "manual" }, { now: NOW });
  const openBreaks = async () => (await listBreaks(db, { sourceId: src.id, statuses: ["open", "timing"] }, { now: NOW })).items;
  const balance = async (accountId: string) => BigInt((await db.pool.query<{ s: string }>(`SELECT coalesce(sum(posted_minor), 0)::text AS s FROM account_balances WHERE account_id = $1`, [accountId])).rows[0]!.s);
  return { src, post, statement, run, openBreaks, balance };
}

const suspenseAccountId = async () => (await db.pool.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = $1`, [SUSPENSE_ACCOUNT("EUR")])).rows[0]?.id;

describe("correction to suspense under four eyes", () => {
  it.each([
    ["missing_in_ledger", [{ amountMinor: 12_00n, endToEndId: "SUS-LEDGER" }], [] as bigint[], 12_00n],
    ["missing_in_statement", [], [13_00n], -13_00n],
    ["amount_mismatch", [{ amountMinor: 90_00n, endToEndId: "SUS-AMOUNT" }], [100_00n], -10_00n],
  ] as const)("%s: the approved correction posts against ops:recon:suspense:EUR, matches and closes the break", async (type, lines, items, effect) => {
    const w = await world();
    for (const amt of items) await w.post(amt, type === "amount_mismatch" ? "SUS-AMOUNT" : undefined);
    await w.statement(lines.length ? [...lines] : [{ amountMinor: 1n, endToEndId: "COVER-ONLY" }]);
    await w.run();
    const b = (await w.openBreaks()).find((x) => x.type === type)!;
    expect(b).toBeDefined();
    const sourceBefore = await w.balance(w.src.accountId);
    const suspenseBefore = (await suspenseAccountId()) ? await w.balance((await suspenseAccountId())!) : 0n;

    const p = await callerAs(db, operator).recon.breaks.proposeSuspenseCorrection({ breakId: b.id, reason: "unexplained credit, parked for treasury", idempotencyKey: `sus:${randomUUID()}` });
    expect((await db.pool.query(`SELECT kind, status::text FROM adjustment_proposals WHERE id = $1`, [p.id])).rows[0]).toEqual({ kind: "recon_break_suspense_correction", status: "open" });
    const proposed = await getBreak(db, b.id);
    expect(proposed).toMatchObject({ status: "open", suspenseProposalId: p.id, writeOffProposalId: null });
    expect(proposed.events.map((e) => e.kind)).toEqual(["opened", "suspense_correction_proposed"]);

    // Four eyes: the proposer cannot approve.
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: operator, kinds: adjustmentKinds }, { proposalId: p.id })))).toMatch(/FORBIDDEN|SELF_APPROVAL/);
    const r = await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: p.id });
    expect(r.status).toBe("applied");

    const after = await getBreak(db, b.id);
    expect(after).toMatchObject({ status: "resolved", resolution: "corrected_to_suspense" });
    expect(after.events.map((e) => e.kind)).toEqual(["opened", "suspense_correction_proposed", "corrected_to_suspense"]);
    expect(await w.balance(w.src.accountId) - sourceBefore).toBe(effect);
    // The suspense account (a liability, credit-normal) holds the other side of the entry.
    const sid = (await suspenseAccountId())!;
    const postings = (await db.pool.query<{ code: string; side: string; amount: string }>(`SELECT a.code, p.side::text, p.amount_minor::text AS amount FROM postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.entry_id = $1 ORDER BY a.code`, [r.appliedEntryIds[0]])).rows;
    expect(postings.map((x) => x.code).sort()).toEqual([w.src.ledgerAccountCode, "ops:recon:suspense:EUR"].sort());
    expect(postings.find((x) => x.code === "ops:recon:suspense:EUR")!.side).toBe(effect > 0n ? "credit" : "debit");
    expect((await db.pool.query(`SELECT type::text, currency::text FROM ledger_accounts WHERE id = $1`, [sid])).rows[0]).toEqual({ type: "liability", currency: "EUR" });
    expect(await w.balance(sid) - suspenseBefore).toBe(effect);
    const entry = (await db.pool.query(`SELECT metadata->>'reconBreakId' AS break_id, metadata->>'adjustmentId' AS adj FROM journal_entries WHERE id = $1`, [r.appliedEntryIds[0]])).rows[0];
    expect(entry).toEqual({ break_id: b.id, adj: p.id });
    const m = (await db.pool.query<{ id: string; rule: string; difference_minor: string }>(`SELECT m.id::text, m.rule, m.difference_minor::text FROM recon_matches m JOIN recon_match_items i ON i.match_id = m.id JOIN postings p ON p.id = i.posting_id WHERE p.entry_id = $1`, [r.appliedEntryIds[0]])).rows[0]!;
    expect({ rule: m.rule, difference_minor: m.difference_minor }).toEqual({ rule: "suspense", difference_minor: "0" });
    // The correction's match is undone only by reversing its entry.
    expect(appCodeOf(await errorOf(undoMatch(db, OPERATOR, { matchId: m.id, reason: "try to undo" })))).toBe("CONFLICT");
    // Audited: the proposal on the break, and the approval's entry.
    const audit = (await db.pool.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY created_at, id`, [b.id])).rows.map((x) => x.action);
    expect(audit).toContain("recon.break.suspense_correction_proposed");
    // The next run leaves nothing open for it.
    await w.run();
    expect((await w.openBreaks()).filter((x) => x.type === type)).toEqual([]);
  });

  it("refuses by name what cannot be corrected, and who may not propose; a write-off proposed too fails cleanly once the correction applied", async () => {
    const w = await world();
    await w.statement([{ amountMinor: 21_00n, endToEndId: "BOTH-0001" }]);
    await w.run();
    const [b] = await w.openBreaks();
    const e = (await errorOf(callerAs(db, viewer).recon.breaks.proposeSuspenseCorrection({ breakId: b!.id, reason: "nope", idempotencyKey: `sus:${randomUUID()}` }))) as TRPCError;
    expect(e.code).toBe("FORBIDDEN");
    expect(appCodeOf(await errorOf(callerAs(db, operator).recon.breaks.proposeSuspenseCorrection({ breakId: randomUUID(), reason: "nope", idempotencyKey: `sus:${randomUUID()}` })))).toBe("NOT_FOUND");
    const bad = (await errorOf(callerAs(db, operator).recon.breaks.proposeSuspenseCorrection({ breakId: "not-a-uuid", reason: "nope", idempotencyKey: `sus:${randomUUID()}` }))) as TRPCError;
    expect(bad.code).toBe("BAD_REQUEST");
    expect(bad.message).toContain("breakId");

    const writeOff = await callerAs(db, operator).recon.breaks.proposeWriteOff({ breakId: b!.id, reason: "small unknown credit", idempotencyKey: `wo:${randomUUID()}` });
    const correction = await callerAs(db, operator).recon.breaks.proposeSuspenseCorrection({ breakId: b!.id, reason: "park it instead", idempotencyKey: `sus:${randomUUID()}` });
    expect(await getBreak(db, b!.id)).toMatchObject({ writeOffProposalId: writeOff.id, suspenseProposalId: correction.id });
    await approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: correction.id });
    expect(appCodeOf(await errorOf(approveProposal(db, { actor: approver, kinds: adjustmentKinds }, { proposalId: writeOff.id })))).toBe("CONFLICT");
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM journal_entries WHERE metadata->>'reconBreakId' = $1`, [b!.id])).rows[0]).toEqual({ n: 1 });
    expect((await getBreak(db, b!.id)).resolution).toBe("corrected_to_suspense");
  });

  it("cannot correct a statement gap to suspense", async () => {
    const w = await world();
    await importStatement(db, OPERATOR, { sourceId: w.src.id, fileName: "g1.xml", content: bytes(statementXml([{ iban: w.src.iban!, sequence: 1, entries: [] }])) });
    await importStatement(db, OPERATOR, { sourceId: w.src.id, fileName: "g3.xml", content: bytes(statementXml([{ iban: w.src.iban!, sequence: 3, entries: [] }])) });
    const gap = (await listBreaks(db, { sourceId: w.src.id, types: ["statement_gap"] }, { now: NOW })).items[0];
    expect(gap).toBeDefined();
    const err = await errorOf(callerAs(db, operator).recon.breaks.proposeSuspenseCorrection({ breakId: gap!.id, reason: "gap", idempotencyKey: `sus:${randomUUID()}` }));
    expect(appCodeOf(err)).toBe("BAD_INPUT");
    expect((err as Error).message).toBe("a statement_gap break cannot be corrected to suspense");
  });
});
