// Batched paths of the transfer pipeline (docs/performance.md, "Transfers performance"): webhooks
// applied many per transaction must have exactly the effects of applying them one by one; a batch
// with one failing event falls back to one-by-one and the others still apply; a batch of
// submissions with mixed partner answers decides each transfer as a single submission would; the
// ledger's per-item batch keys are validated and keep each operation's own key.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner } from "../support/fake-partner";
import { resetEnvForTests } from "../../server/env";
import { openAccount, fund } from "../../server/ledger/testing";
import { setAccountStatus, type Account } from "../../server/ledger/accounts";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfers } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { signPayload } from "../../server/core/signature";
import { partners } from "../../server/composition";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { processPendingWebhooks } from "../../server/transfers/webhook-processing";

const SECRET = "whsec_batching_test_0123456789";
const saved = process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;

let db: TestDb;
let bank: Account;
let wallet: Account;
let handler: (req: Request, partner: string) => Promise<Response>;
const partner = fakePartner();

beforeAll(async () => {
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = SECRET;
  resetEnvForTests();
  partners.reset();
  db = await createTestDb();
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:batch:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000_000n);
  handler = createWebhookHandler({ getDb: () => db, partners });
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  if (saved === undefined) delete process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  else process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = saved;
  resetEnvForTests();
  partners.reset();
});

async function newTransfer(source: Account = wallet, amountMinor = 1_000n) {
  const { transfer } = await createTransfer(
    db,
    SYSTEM_ACTOR,
    { sourceAccountId: source.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: "batching" },
    { idempotencyKey: randomUUID() },
  );
  return transfer;
}

type EventType = "acknowledged" | "settled" | "failed" | "returned";

/** Stores one signed partner event through the webhook handler (as the partner would send it). */
async function store(key: string, type: EventType, eventId: string): Promise<void> {
  const at = new Date().toISOString();
  const body = JSON.stringify({
    id: eventId,
    type: `payment.${type}`,
    created_at: at,
    data: { payment_id: `ref-${key}`, idempotency_key: key, transfer_id: "x", rail: "instant", status: type, amount_minor: "1000", currency: "EUR", reason: type === "failed" ? "closed" : null, occurred_at: at },
  });
  const headers = new Headers({ "content-type": "application/json", "x-event-id": eventId, "x-signature": signPayload(SECRET, body, new Date()) });
  const res = await handler(new Request("http://console.test/api/webhooks/sandbox", { method: "POST", headers, body }), "sandbox");
  expect(res.status).toBe(200);
}

/** Everything a transfer's history says, in order, without ids and times. */
async function historyOf(transferId: string) {
  const t = (
    await db.pool.query<{ state: string; attention: boolean; hold: string | null; settled: boolean; returned: boolean }>(
      `SELECT t.state, t.attention_reason IS NOT NULL AS attention, h.status AS hold, t.settlement_entry_id IS NOT NULL AS settled, t.return_entry_id IS NOT NULL AS returned
         FROM transfers t LEFT JOIN holds h ON h.id = t.hold_id WHERE t.id = $1`,
      [transferId],
    )
  ).rows[0]!;
  const events = (await db.pool.query<{ e: string }>(`SELECT from_state || '>' || to_state || ':' || cause AS e FROM transfer_events WHERE transfer_id = $1 AND from_state IS NOT NULL ORDER BY id`, [transferId])).rows.map((r) => r.e);
  const outbox = (await db.pool.query<{ topic: string }>(`SELECT topic FROM outbox_events WHERE aggregate_id = $1 ORDER BY id`, [transferId])).rows.map((r) => r.topic);
  const effects = (
    await db.pool.query<{ effect: string }>(
      `SELECT w.effect FROM webhook_events w JOIN transfers t ON t.idempotency_key = w.idempotency_key WHERE t.id = $1 AND NOT w.is_duplicate ORDER BY w.received_at, w.id`,
      [transferId],
    )
  ).rows.map((r) => r.effect);
  return { ...t, events, outbox, effects };
}

async function drain(opts: Parameters<typeof processPendingWebhooks>[3] = {}): Promise<void> {
  for (let i = 0; i < 20 && (await processPendingWebhooks(db, partners, 500, opts)).claimed > 0; i++);
}

describe("batched webhook application", () => {
  it("has exactly the effects of applying the same events one by one, in any order and with redeliveries", async () => {
    const eventType = fc.constantFrom<EventType>("acknowledged", "settled", "failed", "returned");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.record({ type: eventType, copy: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 5 }), { minLength: 4, maxLength: 8 }), async (sequences) => {
        // A pair of transfers per sequence: one applied in batches, its twin one by one.
        const pairs = [];
        for (const seq of sequences) pairs.push({ seq, batched: await newTransfer(), single: await newTransfer() });
        const outcomes = await advanceTransfers(db, pairs.flatMap((p) => [p.batched.id, p.single.id]), { adapterFor: () => partner });
        expect(outcomes.every((o) => o.action === "submitted")).toBe(true);

        const batchKeysBefore = Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM idempotency_records WHERE key LIKE 'transfers:%'`)).rows[0]!.n);
        for (const p of pairs) for (const [i, e] of p.seq.entries()) await store(p.batched.idempotencyKey, e.type, `b-${p.batched.id}-${e.copy ? i - 1 : i}-${e.type}`);
        await drain();
        for (const p of pairs) for (const [i, e] of p.seq.entries()) await store(p.single.idempotencyKey, e.type, `s-${p.single.id}-${e.copy ? i - 1 : i}-${e.type}`);
        await drain({ apply: applyPartnerEvent });

        for (const p of pairs) {
          const a = await historyOf(p.batched.id);
          const b = await historyOf(p.single.id);
          expect(a, `events ${JSON.stringify(p.seq)}`).toEqual(b);
        }
        // The batched side really ran as batches: more than one ledger effect went as one command.
        const ledgerEffects = pairs.filter((p) => p.seq.some((e) => e.type === "settled" || e.type === "failed")).length;
        const batchKeysAfter = Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM idempotency_records WHERE key LIKE 'transfers:%'`)).rows[0]!.n);
        if (ledgerEffects >= 2) expect(batchKeysAfter).toBeGreaterThan(batchKeysBefore);
      }),
      { numRuns: 6 },
    );
    // Each settlement is still booked under the transfer's own key, whichever path booked it.
    const keys = (await db.pool.query<{ ok: boolean }>(
      `SELECT bool_and(e.idempotency_key = 'transfer:' || t.id || ':settle') AS ok FROM transfers t JOIN journal_entries e ON e.id = t.settlement_entry_id`,
    )).rows[0]!;
    expect(keys.ok).toBe(true);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("falls back to one by one when one event cannot apply, so the others still do", async () => {
    const frozenWallet = await openAccount(db, { code: `customer:frozen-${randomUUID()}:wallet`, type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, frozenWallet.id, 100_000n);
    const ok1 = await newTransfer();
    const stuck = await newTransfer(frozenWallet);
    const ok2 = await newTransfer();
    await advanceTransfers(db, [ok1.id, stuck.id, ok2.id], { adapterFor: () => partner });
    await setAccountStatus(db, SYSTEM_ACTOR, { accountId: frozenWallet.id, status: "frozen", reason: "batching test" }, { idempotencyKey: randomUUID() });
    for (const t of [ok1, stuck, ok2]) await store(t.idempotencyKey, "settled", `fb-${t.id}`);

    const r = await processPendingWebhooks(db, partners, 500);
    expect(r.claimed).toBe(3);
    expect(r.byEffect.applied).toBe(2);
    expect(r.failures).toBe(1);
    expect((await historyOf(ok1.id)).state).toBe("settled");
    expect((await historyOf(ok2.id)).state).toBe("settled");
    const left = await historyOf(stuck.id);
    expect(left.state).toBe("submitted");
    expect(left.hold).toBe("pending");
    const ev = (await db.pool.query<{ processed_at: Date | null; last_error: string | null }>(`SELECT processed_at, last_error FROM webhook_events WHERE event_id = $1`, [`fb-${stuck.id}`])).rows[0]!;
    expect(ev.processed_at).toBeNull();
    expect(ev.last_error).toMatch(/frozen/i);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });
});

describe("batched submissions", () => {
  it("decides each transfer of a batch as a single submission would, and records every call", async () => {
    const ts = [];
    for (let i = 0; i < 5; i++) ts.push(await newTransfer());
    // Calls happen in the order of the batch.
    partner.script = ["accepted", "rejected", "retryable", "unknown", "accepted"];
    const ids = ts.map((t) => t.id);
    const outcomes = await advanceTransfers(db, [...ids, ids[0]!], { adapterFor: () => partner });
    expect(outcomes.map((o) => o.action)).toEqual(["submitted", "failed", "retry_scheduled", "retry_scheduled", "submitted", "submitted"]);
    const rows = (
      await db.pool.query<{ id: string; state: string; hold: string; next_attempt_at: Date | null; lease_until: Date | null; outcome: string }>(
        `SELECT t.id, t.state, h.status AS hold, t.next_attempt_at, t.lease_until, p.outcome
           FROM transfers t JOIN holds h ON h.id = t.hold_id JOIN partner_requests p ON p.transfer_id = t.id AND p.kind = 'submit'
          WHERE t.id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows;
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(rows).toHaveLength(5);
    expect(ids.map((id) => [byId.get(id)!.state, byId.get(id)!.hold, byId.get(id)!.outcome])).toEqual([
      ["submitted", "pending", "accepted"],
      ["failed", "voided", "rejected"],
      ["reserved", "pending", "retryable"],
      ["reserved", "pending", "unknown"],
      ["submitted", "pending", "accepted"],
    ]);
    for (const id of [ids[2]!, ids[3]!]) {
      expect(byId.get(id)!.next_attempt_at).not.toBeNull();
      expect(byId.get(id)!.lease_until).toBeNull();
    }
    // A second pass before the retry is due changes nothing and calls nobody.
    const calls = partner.submits.length;
    const again = await advanceTransfers(db, ids, { adapterFor: () => partner });
    expect(again.map((o) => o.action)).toEqual(["none", "none", "waiting", "waiting", "none"]);
    expect(partner.submits.length).toBe(calls);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });
});

describe("ledger batches with their own item keys", () => {
  it("refuses malformed item keys and writes nothing", async () => {
    const before = Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM journal_entries`)).rows[0]!.n);
    const item = { type: "transfer" as const, debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: 5n, currency: "EUR" };
    await expect(executeLedgerCommand(db, SYSTEM_ACTOR, { type: "batch", items: [item, item], itemKeys: ["k-1"] }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/one key per batch item/),
    });
    await expect(executeLedgerCommand(db, SYSTEM_ACTOR, { type: "batch", items: [item, item], itemKeys: ["same", "same"] }, { idempotencyKey: randomUUID() })).rejects.toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/distinct/),
    });
    expect(Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM journal_entries`)).rows[0]!.n)).toBe(before);
    const keys = [`own-${randomUUID()}`, `own-${randomUUID()}`];
    const r = await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "batch", items: [item, item], itemKeys: keys }, { idempotencyKey: randomUUID() });
    expect(r.entries.map((e) => e.idempotencyKey)).toEqual(keys);
  });
});
