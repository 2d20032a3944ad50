/**
 * Answers from the partner that are out of date must never release money that may have been paid
 * (issue 14, point 11). Deterministic interleavings with a gated partner:
 * - an operator asks the partner; before the answer arrives the worker submits again (an attempt
 *   whose outcome is unknown); the partner's "not found" described the moment before that
 *   attempt, so it must not fail the transfer or void its hold;
 * - a 4xx rejection after an earlier attempt whose outcome was unknown follows the last-attempt
 *   rule: the partner is asked, and only its "not found" fails the transfer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner } from "../support/fake-partner";
import { openAccount, fund } from "../../server/ledger/testing";
import { getBalances } from "../../server/ledger/balances";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { queryTransferAtPartner } from "../../server/transfers/operations";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { Account } from "../../server/ledger/accounts";
import type { PartnerAdapter, StatusOutcome } from "../../server/partners/types";

let db: TestDb;
let bank: Account;
let wallet: Account;
const operator = { type: "user" as const, id: "00000000-0000-4000-8000-0000000000ab", label: "operator@race.test" };

beforeAll(async () => {
  db = await createTestDb();
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:race:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const newTransfer = (amountMinor: bigint) =>
  createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89 3704 0044 0532 0130 00", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: "race" }, { idempotencyKey: randomUUID() });

const available = async () => (await getBalances(db, wallet.id)).availableMinor;
const due = (id: string) => db.pool.query(`UPDATE transfers SET next_attempt_at = NULL WHERE id = $1`, [id]);

/** A partner whose status answer waits at a gate, so a test decides what happens meanwhile. */
function gatedStatus(answer: StatusOutcome): { adapter: PartnerAdapter; asked: Promise<void>; open: () => void } {
  let markAsked!: () => void;
  const asked = new Promise<void>((r) => (markAsked = r));
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const base = fakePartner();
  const adapter: PartnerAdapter = {
    ...base,
    async queryStatus() {
      markAsked();
      await gate;
      return answer;
    },
  };
  return { adapter, asked, open };
}

describe("an operator's partner query racing the worker", () => {
  it("a 'not found' asked before the worker's next submission neither fails the transfer nor voids its hold", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(4_200n);
    const worker = fakePartner();
    // Attempt 1: the call timed out (outcome unknown); a retry is scheduled.
    worker.script.push("unknown");
    expect(await advanceTransfer(db, t.id, { adapterFor: () => worker })).toMatchObject({ action: "retry_scheduled", attempt: 1 });

    const partner = gatedStatus({ kind: "ok", status: "not_found", partnerRef: null, raw: { status: "not_found" } });
    const query = queryTransferAtPartner(db, operator, { transferId: t.id, reason: "customer asks where the money is", idempotencyKey: randomUUID() }, () => partner.adapter);
    await partner.asked;
    // Meanwhile the worker submits attempt 2: it times out too, and the partner may now hold it.
    worker.script.push("unknown");
    await due(t.id);
    expect(await advanceTransfer(db, t.id, { adapterFor: () => worker })).toMatchObject({ action: "retry_scheduled", attempt: 2 });
    partner.open();

    const result = await query;
    expect(result.isApplied).toBe(false);
    expect(result.transfer.state).toBe("reserved");
    const row = await db.pool.query(`SELECT state, hold_id FROM transfers WHERE id = $1`, [t.id]);
    expect(row.rows[0].state).toBe("reserved");
    const hold = await db.pool.query(`SELECT status FROM holds WHERE id = $1`, [row.rows[0].hold_id]);
    expect(hold.rows[0].status).toBe("pending");
    expect(await available()).toBe(before - 4_200n);
    const audit = await db.pool.query(`SELECT after FROM audit_log WHERE action = 'transfer.query_partner' AND target_id = $1`, [t.id]);
    expect(audit.rows[0].after).toMatchObject({ partnerStatus: "not_found", isApplied: false });
  });

  it("an answer whose transfer did not change meanwhile is applied as before, once 'not found' can be believed", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(1_300n);
    const worker = fakePartner();
    worker.script.push("unknown");
    await advanceTransfer(db, t.id, { adapterFor: () => worker });
    const notFound = { kind: "ok" as const, status: "not_found" as const, partnerRef: null, raw: { status: "not_found" } };
    // Right after the timed-out attempt the partner may still be processing it: not applied.
    const soon = fakePartner();
    soon.status = "not_found";
    const early = await queryTransferAtPartner(db, operator, { transferId: t.id, reason: "check", idempotencyKey: randomUUID() }, () => soon);
    expect(early).toMatchObject({ isApplied: false, partnerStatus: "not_found", transfer: { state: "reserved" } });
    const audit = await db.pool.query(`SELECT after FROM audit_log WHERE action = 'transfer.query_partner' AND target_id = $1 ORDER BY id`, [t.id]);
    expect(audit.rows[0].after.notApplied).toMatch(/not believed before/);
    expect(await available()).toBe(before - 1_300n);
    // Asked when the attempt is old enough, the same answer is applied.
    const partner = gatedStatus(notFound);
    const later = new Date(Date.now() + 10 * 60_000);
    const query = queryTransferAtPartner(db, operator, { transferId: t.id, reason: "check", idempotencyKey: randomUUID(), now: later }, () => partner.adapter);
    await partner.asked;
    partner.open();
    const result = await query;
    expect(result).toMatchObject({ isApplied: true, partnerStatus: "not_found", transfer: { state: "failed" } });
    expect(await available()).toBe(before);
  });
});

describe("a 4xx rejection after an attempt whose outcome was unknown", () => {
  it.each([
    ["the partner has it: it moves forward, the hold stays", "acknowledged" as const, "acknowledged", false],
    ["the partner has no record: it fails and the hold is released", "not_found" as const, "failed", true],
  ])("%s", async (_label, partnerSays, expectedState, isReleased) => {
    const before = await available();
    const { transfer: t } = await newTransfer(900n);
    const partner = fakePartner();
    partner.script.push("unknown", "rejected");
    partner.status = partnerSays;
    expect(await advanceTransfer(db, t.id, { adapterFor: () => partner })).toMatchObject({ action: "retry_scheduled" });
    await due(t.id);
    const second = await advanceTransfer(db, t.id, { adapterFor: () => partner });
    let queries = 1;
    if (partnerSays === "not_found") {
      // Too soon after the uncertain attempt to believe "not found": it waits, the hold intact.
      expect(second).toMatchObject({ action: "waiting" });
      expect(await available()).toBe(before - 900n);
      // Once the uncertain attempt is old enough the partner is asked again (not sent the payment
      // again), and its "not found" is final.
      const later = new Date(Date.now() + 10 * 60_000);
      expect(await advanceTransfer(db, t.id, { adapterFor: () => partner, now: () => later })).toMatchObject({ action: "failed" });
      queries = 2;
      const submits = await db.pool.query(`SELECT count(*)::int AS n FROM partner_requests WHERE transfer_id = $1 AND kind = 'submit'`, [t.id]);
      expect(submits.rows[0].n).toBe(2);
    }
    const row = await db.pool.query(`SELECT state FROM transfers WHERE id = $1`, [t.id]);
    expect(row.rows[0].state).toBe(expectedState);
    expect(await available()).toBe(isReleased ? before : before - 900n);
    const n = await db.pool.query(`SELECT count(*)::int AS n FROM partner_requests WHERE transfer_id = $1 AND kind = 'query'`, [t.id]);
    expect(n.rows[0].n).toBe(queries);
  });

  it("the partner cannot say: an operator decides, nothing is released", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(800n);
    const partner = fakePartner();
    partner.script.push("unknown", "rejected");
    partner.status = "unavailable";
    await advanceTransfer(db, t.id, { adapterFor: () => partner });
    await due(t.id);
    expect(await advanceTransfer(db, t.id, { adapterFor: () => partner })).toMatchObject({ action: "needs_attention" });
    expect(await available()).toBe(before - 800n);
  });

  it("a rejection with no uncertain attempt before it still fails at once, without asking", async () => {
    const before = await available();
    const { transfer: t } = await newTransfer(700n);
    const partner = fakePartner();
    partner.script.push("rejected");
    expect(await advanceTransfer(db, t.id, { adapterFor: () => partner })).toMatchObject({ action: "failed" });
    expect(await available()).toBe(before);
    const queries = await db.pool.query(`SELECT count(*)::int AS n FROM partner_requests WHERE transfer_id = $1 AND kind = 'query'`, [t.id]);
    expect(queries.rows[0].n).toBe(0);
  });
});
