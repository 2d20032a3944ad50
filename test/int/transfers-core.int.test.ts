// The transfers domain end to end against a real PostgreSQL, with a scripted partner: creation
// and idempotency, every orchestration outcome, partner events in any order, operator actions,
// the database's own state-machine guard, and the list's filters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { openAccount, fund } from "../../server/ledger/testing";
import { getBalances } from "../../server/ledger/balances";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer, notFoundFinalAfterMs, type AdvanceOutcome } from "../../server/transfers/orchestrator";
import { getRailPolicy } from "../../server/transfers/rail-policies";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { cancelTransfer, markTransferFailed, queryTransferAtPartner, retryTransfer } from "../../server/transfers/operations";
import { listTransfers, getTransferDetail, summarizeStuck } from "../../server/transfers/queries";
import { verifyLedger } from "../../server/ledger/verify";
import { pollOverdueTransfers } from "../../server/transfers/sweeper";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let bank: Account;
let wallet: Account;
const partner = fakePartner();
const deps = { adapterFor: () => partner };

/** Advances a transfer, making each scheduled retry due at once, until a step is not a retry (at most 10). */
async function advanceThroughRetries(id: string): Promise<AdvanceOutcome> {
  let last: AdvanceOutcome | undefined;
  for (let i = 0; i < 10; i++) {
    await db.pool.query(`UPDATE transfers SET next_attempt_at = NULL WHERE id = $1`, [id]);
    last = await advanceTransfer(db, id, deps);
    if (last.action !== "retry_scheduled") break;
  }
  return last!;
}
const operator = { type: "user" as const, id: "00000000-0000-4000-8000-0000000000aa", label: "operator@demo.local" };

beforeAll(async () => {
  db = await createTestDb();
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:1:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const newTransfer = (amountMinor = 1_000n, key = randomUUID()) =>
  createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89 3704 0044 0532 0130 00", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: `inv-${key.slice(0, 8)}` }, { idempotencyKey: key });

const available = async () => (await getBalances(db, wallet.id)).availableMinor;

describe("transfers", () => {
  it("creates and reserves atomically, idempotently", async () => {
    const before = await available();
    const key = randomUUID();
    const a = await newTransfer(2_500n, key);
    expect(a.transfer.state).toBe("reserved");
    expect(a.transfer.holdId).not.toBeNull();
    expect(await available()).toBe(before - 2_500n);
    const again = await newTransfer(2_500n, key);
    expect(again).toMatchObject({ isReplay: true, transfer: { id: a.transfer.id } });
    await expect(newTransfer(2_501n, key)).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    expect(await available()).toBe(before - 2_500n);
  });

  it("refuses insufficient funds and writes nothing", async () => {
    const key = randomUUID();
    await expect(newTransfer(10_000_000n, key)).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    expect((await db.pool.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [key])).rowCount).toBe(0);
  });

  it("refuses bad input with typed errors", async () => {
    const base = { sourceAccountId: wallet.id, counterpartyName: "J", counterpartyAccount: "DE89370400440532013000", amountMinor: 5n, currency: "EUR", rail: "instant" as const, partner: "sandbox" };
    await expect(createTransfer(db, SYSTEM_ACTOR, { ...base, amountMinor: 0n }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "INVALID_AMOUNT" });
    await expect(createTransfer(db, SYSTEM_ACTOR, { ...base, currency: "XXX" }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "UNKNOWN_CURRENCY" });
    await expect(createTransfer(db, SYSTEM_ACTOR, { ...base, currency: "USD" }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "CURRENCY_MISMATCH" });
    await expect(createTransfer(db, SYSTEM_ACTOR, { ...base, partner: "nobank" }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "BAD_INPUT" });
    await expect(createTransfer(db, SYSTEM_ACTOR, { ...base, sourceAccountId: randomUUID() }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("submits, then settles on the partner's webhook; duplicates and late reports change nothing", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(700n);
    expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ action: "submitted", state: "submitted" });
    expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ action: "none", state: "submitted" });
    expect(await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "settled", 1), { webhookEventId: null })).toMatchObject({ effect: "applied", toState: "settled" });
    expect(await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "settled", 1), { webhookEventId: null })).toMatchObject({ effect: "duplicate_state" });
    expect(await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "acknowledged", 2), { webhookEventId: null })).toMatchObject({ effect: "ignored_backwards" });
    const d = await getTransferDetail(db, t.id, { includeAudit: true });
    expect(d.events.map((e) => e.toState)).toEqual(["created", "reserved", "submitted", "acknowledged", "settled"]);
    expect(d.hold?.status).toBe("posted");
    expect(d.entries).toHaveLength(1);
    expect(await available()).toBe(before - 700n);
    expect((await getBalances(db, wallet.id)).pendingMinor).toBe((await getBalances(db, wallet.id)).pendingMinor);
    expect(await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "returned", 3), { webhookEventId: null })).toMatchObject({ effect: "applied", toState: "returned" });
    expect(await available()).toBe(before);
  });

  it("retries retryable failures with backoff, then fails and releases the hold", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(300n);
    partner.script.push(...Array(6).fill("retryable"));
    const first = await advanceTransfer(db, t.id, deps);
    expect(first).toMatchObject({ action: "retry_scheduled", attempt: 1 });
    // Waiting out the backoff: a job arriving early only reschedules (the clock is the moment the
    // retry was scheduled, so a slow machine cannot have waited it out already).
    const scheduledFor = (first as { at: Date }).at;
    expect(await advanceTransfer(db, t.id, { ...deps, now: () => new Date(scheduledFor.getTime() - 1) })).toMatchObject({ action: "waiting", until: scheduledFor });
    let last;
    for (let i = 0; i < 10; i++) {
      await db.pool.query(`UPDATE transfers SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [t.id]);
      last = await advanceTransfer(db, t.id, deps);
      if (last.action === "failed") break;
    }
    expect(last).toMatchObject({ action: "failed" });
    const d = await getTransferDetail(db, t.id, { includeAudit: true });
    expect(d.transfer.state).toBe("failed");
    expect(d.partnerRequests.filter((r) => r.kind === "submit")).toHaveLength(6);
    // Every answer said "nothing executed": no need to ask the partner before failing.
    expect(d.partnerRequests.filter((r) => r.kind === "query")).toHaveLength(0);
    expect(d.hold?.status).toBe("voided");
    expect(await available()).toBe(before);
  });

  it("a last 'not executed' answer after an earlier unknown one asks the partner instead of failing", async () => {
    // The first submission timed out (the partner may have executed it); every later one is refused
    // with a 503 ("nothing executed" — by that request). Failing on the last 503 would release the
    // hold of a payment the partner holds; the partner is asked, and says it has it.
    const { transfer: t } = await newTransfer(250n);
    partner.script.push("unknown", ...Array(5).fill("retryable"));
    partner.status = "acknowledged";
    const last = await advanceThroughRetries(t.id);
    expect(last).toMatchObject({ action: "submitted", state: "acknowledged" });
    const d = await getTransferDetail(db, t.id, { includeAudit: true });
    expect(d.transfer.state).toBe("acknowledged");
    expect(d.hold?.status).toBe("pending");
    expect(d.partnerRequests.filter((r) => r.kind === "query")).toHaveLength(1);
    partner.status = "not_found";
  });

  it("asks the partner after unknown outcomes; waits for an operator when it cannot say", async () => {
    const { transfer: t } = await newTransfer(200n);
    partner.script.push(...Array(6).fill("unknown"));
    partner.status = "unavailable";
    const last = await advanceThroughRetries(t.id);
    expect(last).toMatchObject({ action: "needs_attention" });
    expect((await summarizeStuck(db)).needsAttention).toBeGreaterThanOrEqual(1);
    // The partner may hold the money, so nobody can cancel or fail it on their own word.
    await expect(cancelTransfer(db, operator, { transferId: t.id, reason: "customer asked", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(markTransferFailed(db, operator, { transferId: t.id, reason: "looks dead", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "CONFLICT" });
    // The partner answers now: it has it, acknowledged.
    partner.status = "acknowledged";
    const q = await queryTransferAtPartner(db, operator, { transferId: t.id, reason: "check status", idempotencyKey: randomUUID() }, () => partner);
    expect(q).toMatchObject({ partnerStatus: "acknowledged", transfer: { state: "acknowledged", attentionReason: null } });
  });

  it("an unknown outcome the partner never saw fails safely, once the partner has had time to process it", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(150n);
    partner.script.push(...Array(6).fill("unknown"));
    partner.status = "not_found";
    const last = await advanceThroughRetries(t.id);
    // Right after the last timed-out attempt the partner may still be processing it: "not found"
    // is not believed yet, and nothing is released.
    const policy = await getRailPolicy(db, "sandbox", "instant");
    expect(last).toMatchObject({ action: "waiting" });
    const until = (last as { until: Date }).until;
    const lastSubmit = (await db.pool.query<{ at: Date }>(`SELECT max(started_at) AS at FROM partner_requests WHERE transfer_id = $1 AND kind = 'submit'`, [t.id])).rows[0]!.at;
    expect(until.getTime() - lastSubmit.getTime()).toBe(notFoundFinalAfterMs(policy));
    expect(await available()).toBe(before - 150n);
    // Before that time it waits; after it, the partner is asked again (not sent the payment again)
    // and its "not found" fails the transfer and releases the hold.
    expect(await advanceTransfer(db, t.id, { ...deps, now: () => new Date(until.getTime() - 1) })).toMatchObject({ action: "waiting", until });
    expect(await advanceTransfer(db, t.id, { ...deps, now: () => new Date(until.getTime() + 1) })).toMatchObject({ action: "failed" });
    expect(await available()).toBe(before);
    const d = await getTransferDetail(db, t.id, { includeAudit: true });
    expect(d.partnerRequests.filter((r) => r.kind === "submit")).toHaveLength(6);
    expect(d.partnerRequests.filter((r) => r.kind === "query")).toHaveLength(2);
  });

  it("while a 'not found' is not yet believed, nobody can cancel or fail the transfer on it, and a partner that cannot answer leaves it to an operator", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(170n);
    partner.script.push(...Array(6).fill("unknown"));
    partner.status = "not_found";
    try {
      const last = await advanceThroughRetries(t.id);
      expect(last).toMatchObject({ action: "waiting" });
      // The latest partner call is a "not found" query, but too early to settle anything.
      await expect(cancelTransfer(db, operator, { transferId: t.id, reason: "customer asked", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "CONFLICT" });
      await expect(markTransferFailed(db, operator, { transferId: t.id, reason: "looks dead", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "CONFLICT" });
      expect(await available()).toBe(before - 170n);
      // When it is asked again the partner cannot say: an operator decides; nothing is released.
      partner.status = "unavailable";
      const after = new Date((last as { until: Date }).until.getTime() + 1);
      expect(await advanceTransfer(db, t.id, { ...deps, now: () => after })).toMatchObject({ action: "needs_attention" });
      expect(await available()).toBe(before - 170n);
      const d = await getTransferDetail(db, t.id, { includeAudit: true });
      expect(d.partnerRequests.filter((r) => r.kind === "submit")).toHaveLength(6);
    } finally {
      partner.status = "not_found";
    }
  });

  it("an operator's early 'not found' during an ordinary backoff does not stop the worker's next submission", async () => {
    const { transfer: t } = await newTransfer(180n);
    partner.script.push("unknown");
    expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ action: "retry_scheduled", attempt: 1 });
    const q = await queryTransferAtPartner(db, operator, { transferId: t.id, reason: "where is it", idempotencyKey: randomUUID() }, () => partner);
    expect(q).toMatchObject({ partnerStatus: "not_found", isApplied: false });
    await db.pool.query(`UPDATE transfers SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [t.id]);
    // The partner's script is empty: the next submission is accepted.
    expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ action: "submitted" });
    const d = await getTransferDetail(db, t.id, { includeAudit: true });
    expect(d.partnerRequests.filter((r) => r.kind === "submit")).toHaveLength(2);
  });

  it("a 'not found' asked too soon, then found: the late execution moves it forward and keeps the hold", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(160n);
    partner.script.push(...Array(6).fill("unknown"));
    partner.status = "not_found";
    const last = await advanceThroughRetries(t.id);
    expect(last).toMatchObject({ action: "waiting" });
    // The partner finished processing the last attempt after all.
    partner.status = "acknowledged";
    const after = new Date((last as { until: Date }).until.getTime() + 1);
    try {
      expect(await advanceTransfer(db, t.id, { ...deps, now: () => after })).toMatchObject({ action: "submitted", state: "acknowledged" });
      expect(await available()).toBe(before - 160n);
    } finally {
      partner.status = "not_found";
    }
  });

  it("operators cancel before submission and retry; replays with the same key change nothing", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(50n);
    const key = randomUUID();
    const c = await cancelTransfer(db, operator, { transferId: t.id, reason: "customer asked", idempotencyKey: key });
    expect(c.state).toBe("cancelled");
    expect(await available()).toBe(before);
    expect((await cancelTransfer(db, operator, { transferId: t.id, reason: "customer asked", idempotencyKey: key })).state).toBe("cancelled");
    await expect(retryTransfer(db, operator, { transferId: t.id, reason: "again", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "ILLEGAL_TRANSITION" });
    await expect(cancelTransfer(db, operator, { transferId: t.id, reason: "x", idempotencyKey: randomUUID() })).rejects.toMatchObject({ code: "BAD_INPUT" });
    const audit = await db.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [t.id]);
    expect(audit.rows.map((r) => r.action)).toContain("transfer.operator.cancel");
  });

  it("the database refuses illegal transitions and changes to what was requested", async () => {
    const { transfer: t } = await newTransfer(10n);
    await expect(db.pool.query(`UPDATE transfers SET state = 'settled' WHERE id = $1`, [t.id])).rejects.toMatchObject({ code: "TR001" });
    await expect(db.pool.query(`UPDATE transfers SET amount_minor = 11 WHERE id = $1`, [t.id])).rejects.toMatchObject({ code: "TR002" });
    await expect(db.pool.query(`DELETE FROM transfers WHERE id = $1`, [t.id])).rejects.toMatchObject({ code: "TR002" });
    await expect(db.pool.query(`UPDATE transfer_events SET cause = 'x' WHERE transfer_id = $1`, [t.id])).rejects.toMatchObject({ code: "TR003" });
    await cancelTransfer(db, operator, { transferId: t.id, reason: "cleanup", idempotencyKey: randomUUID() });
    await expect(db.pool.query(`UPDATE transfers SET state = 'reserved' WHERE id = $1`, [t.id])).rejects.toMatchObject({ code: "TR001" });
  });

  it("lists with filters, sorts and keyset pages", async () => {
    const all = await listTransfers(db, {}, { limit: 200 });
    expect(all.items.length).toBeGreaterThan(5);
    const page1 = await listTransfers(db, {}, { limit: 3, sort: "amount_desc" });
    const page2 = await listTransfers(db, {}, { limit: 3, sort: "amount_desc", cursor: page1.nextCursor! });
    const amounts = [...page1.items, ...page2.items].map((t) => t.amountMinor);
    expect(amounts).toEqual([...amounts].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(new Set([...page1.items, ...page2.items].map((t) => t.id)).size).toBe(6);
    const failed = await listTransfers(db, { states: ["failed"] });
    expect(failed.items.every((t) => t.state === "failed")).toBe(true);
    const some = all.items.find((t) => t.reference)!;
    const byRef = await listTransfers(db, { q: some.reference.slice(0, 8) });
    expect(byRef.items.map((t) => t.id)).toContain(some.id);
    expect((await listTransfers(db, { q: some.id })).items).toHaveLength(1);
    const stuck = await listTransfers(db, { isStuck: true });
    expect(stuck.items.every((t) => t.stuckReason !== null)).toBe(true);
    expect(stuck.items.length).toBeGreaterThanOrEqual(0);
    const { transfer: waiting } = await newTransfer(33n);
    await db.pool.query(`UPDATE transfers SET attention_reason = 'outcome unknown (test)' WHERE id = $1`, [waiting.id]);
    const attention = await listTransfers(db, { needsAttention: true });
    expect(attention.items.map((t) => t.id)).toContain(waiting.id);
    expect(attention.items.length).toBeGreaterThanOrEqual(1);
    expect(attention.items.every((t) => t.attentionReason !== null && t.stuckReason === t.attentionReason)).toBe(true);
    const ranged = await listTransfers(db, { amountMinMinor: 100n, amountMaxMinor: 300n });
    expect(ranged.items.every((t) => t.amountMinor >= 100n && t.amountMinor <= 300n)).toBe(true);
    await expect(listTransfers(db, {}, { cursor: "garbage" })).rejects.toMatchObject({ code: "BAD_INPUT" });
  });

  it("asks the partner about overdue submitted transfers whose webhooks never came", async () => {
    const { transfer: t } = await newTransfer(77n);
    await advanceTransfer(db, t.id, deps);
    partner.status = "settled";
    // Not overdue yet: nobody asks.
    expect((await pollOverdueTransfers(db, deps)).polled).toBe(0);
    await db.pool.query(`ALTER TABLE transfers DISABLE TRIGGER transfers_guard`);
    await db.pool.query(`UPDATE transfers SET state_changed_at = now() - interval '1 hour' WHERE id = $1`, [t.id]);
    await db.pool.query(`ALTER TABLE transfers ENABLE TRIGGER transfers_guard`);
    const polled = await pollOverdueTransfers(db, deps);
    expect(polled.moved).toBeGreaterThanOrEqual(1);
    expect((await getTransferDetail(db, t.id, { includeAudit: true })).transfer.state).toBe("settled");
    // Asked once a minute at most.
    expect((await pollOverdueTransfers(db, deps)).polled).toBe(0);
  });

  it("leaves the ledger consistent", async () => {
    const report = await verifyLedger(db);
    expect(report.discrepancies).toEqual([]);
  });
});
