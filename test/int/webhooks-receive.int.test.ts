// Webhooks in (server/partners/webhooks.ts, webhook-http.ts, app/api/webhooks/[partner]/route.ts):
// valid, tampered body, wrong secret, stale and future timestamps, rotation, size and shape
// limits, duplicates (also concurrent), out of order, asynchronous application with retries,
// replay (permissioned, audited), the transfer page's list, and the whole path from the sandbox
// through our route to a settled (and returned) transfer.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner } from "../support/fake-partner";
import { resetEnvForTests } from "../../server/env";
import { openAccount, fund } from "../../server/ledger/testing";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR, userActor } from "../../server/core/actor";
import type { RoleName } from "../../server/core/permissions";
import { signPayload } from "../../server/core/signature";
import { partners } from "../../server/composition";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { MAX_PROCESS_ATTEMPTS, listWebhookEvents, processPendingWebhooks, replayWebhookEvent, type ApplyPartnerEvent } from "../../server/transfers/webhook-processing";
import type { Account } from "../../server/ledger/accounts";
import { adapterFor, eventually, setFaults, startReceiver, startTestSandbox, TEST_SECRET } from "./sandbox-test-helpers";

const SECRET = TEST_SECRET;
const OLD_SECRET = "whsec_previous_0123456789";
const savedEnv = { PARTNER_SANDBOX_WEBHOOK_SECRETS: process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS };

let db: TestDb;
let wallet: Account;
let handler: (req: Request, partner: string) => Promise<Response>;
const partner = fakePartner();

beforeAll(async () => {
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = `${SECRET},${OLD_SECRET}`;
  resetEnvForTests();
  partners.reset();
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:7:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 10_000_000n);
  handler = createWebhookHandler({ getDb: () => db, partners });
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  if (savedEnv.PARTNER_SANDBOX_WEBHOOK_SECRETS === undefined) delete process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  else process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = savedEnv.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  resetEnvForTests();
  partners.reset();
});

async function submittedTransfer(amountMinor = 1_000n) {
  const { transfer } = await createTransfer(
    db,
    SYSTEM_ACTOR,
    { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: "webhook test" },
    { idempotencyKey: randomUUID() },
  );
  await advanceTransfer(db, transfer.id, { adapterFor: () => partner });
  return transfer;
}

const stateOf = async (transferId: string) => (await db.pool.query<{ state: string }>(`SELECT state FROM transfers WHERE id = $1`, [transferId])).rows[0]!.state;

function eventBody(key: string, type: string, over: { id?: string; occurredAt?: Date } = {}): string {
  const at = (over.occurredAt ?? new Date()).toISOString();
  return JSON.stringify({
    id: over.id ?? `evt_${randomUUID().replace(/-/g, "")}`,
    type: `payment.${type}`,
    created_at: at,
    data: { payment_id: `ref-${key}`, idempotency_key: key, transfer_id: "x", rail: "instant", status: type, amount_minor: "1000", currency: "EUR", reason: null, occurred_at: at },
  });
}

function request(body: string, opts: { secret?: string; at?: Date; eventId?: string | null; signature?: string | null; partner?: string } = {}): Request {
  const headers = new Headers({ "content-type": "application/json", "user-agent": "sandbox-bank/1", "x-delivery-attempt": "1" });
  const eventId = opts.eventId === undefined ? (JSON.parse(body) as { id: string }).id : opts.eventId;
  if (eventId !== null) headers.set("x-event-id", eventId);
  const signature = opts.signature === undefined ? signPayload(opts.secret ?? SECRET, body, opts.at ?? new Date()) : opts.signature;
  if (signature !== null) headers.set("x-signature", signature);
  return new Request(`http://console.test/api/webhooks/${opts.partner ?? "sandbox"}`, { method: "POST", headers, body });
}

const send = async (body: string, opts: Parameters<typeof request>[1] = {}) => {
  const res = await handler(request(body, opts), opts.partner ?? "sandbox");
  return { status: res.status, json: (await res.json()) as { received?: true; id?: string; isDuplicate?: boolean; error?: { code: string } } };
};

async function counts() {
  const q = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql)).rows[0]!.n);
  return {
    webhookEvents: await q(`SELECT count(*) AS n FROM webhook_events`),
    securityEvents: await q(`SELECT count(*) AS n FROM security_events WHERE kind = 'webhook_rejected'`),
    transferEvents: await q(`SELECT count(*) AS n FROM transfer_events`),
    audit: await q(`SELECT count(*) AS n FROM audit_log`),
    postings: await q(`SELECT count(*) AS n FROM postings`),
  };
}

/** Applies everything pending (bounded). */
async function drain(apply?: ApplyPartnerEvent) {
  const effects: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const r = await processPendingWebhooks(db, partners, 100, apply ? { apply } : {});
    for (const [k, v] of Object.entries(r.byEffect)) effects[k] = (effects[k] ?? 0) + (v ?? 0);
    if (r.claimed === 0) break;
  }
  return effects;
}

// Each test starts with nothing pending, so the effects it counts are its own.
beforeEach(async () => {
  await drain();
});

const row = async (id: string) => (await db.pool.query(`SELECT * FROM webhook_events WHERE id = $1`, [id])).rows[0] as Record<string, unknown>;

describe("receiving", () => {
  it("valid: 200, stored raw with evidence, applied only when processed", async () => {
    const t = await submittedTransfer();
    const body = eventBody(t.idempotencyKey, "settled");
    const r = await send(body);
    expect(r).toMatchObject({ status: 200, json: { received: true, isDuplicate: false } });
    const stored = await row(r.json.id!);
    expect(stored).toMatchObject({ partner: "sandbox", event_type: "settled", idempotency_key: t.idempotencyKey, raw_body: body, signature_result: "valid", is_duplicate: false, effect: null, processed_at: null });
    expect(stored.headers).toMatchObject({ "x-event-id": JSON.parse(body).id, "user-agent": "sandbox-bank/1" });
    expect(String((stored.headers as Record<string, string>)["x-signature"])).toMatch(/^t=\d+,v1=/);
    expect(await stateOf(t.id)).toBe("submitted");
    expect(await drain()).toEqual({ applied: 1 });
    expect(await stateOf(t.id)).toBe("settled");
    expect(await row(r.json.id!)).toMatchObject({ effect: "applied", transfer_id: t.id, effect_detail: { transferId: t.id, fromState: "submitted", toState: "settled" } });
  });

  it.each<[string, (body: string) => Parameters<typeof request>[1], (body: string) => string, string]>([
    ["a tampered body", () => ({}), (b) => b.replace('"1000"', '"100000"'), "mismatch"],
    ["a wrong secret", () => ({ secret: "whsec_attacker_0123456789" }), (b) => b, "mismatch"],
    ["a stale timestamp", () => ({ at: new Date(Date.now() - 301_000) }), (b) => b, "stale"],
    ["a timestamp from the future", () => ({ at: new Date(Date.now() + 301_000) }), (b) => b, "stale"],
    ["no signature", () => ({ signature: null }), (b) => b, "missing"],
    ["a malformed signature", () => ({ signature: "sha256=abc" }), (b) => b, "malformed"],
  ])("refuses %s with 401, storing nothing but a security event", async (_name, opts, mutate, reason) => {
    const t = await submittedTransfer();
    const body = eventBody(t.idempotencyKey, "settled");
    const before = await counts();
    // The signature is made over the original body; `mutate` tampers with what is sent.
    const req = request(body, opts(body));
    const tampered = new Request(req.url, { method: "POST", headers: req.headers, body: mutate(body) });
    const res = await handler(tampered, "sandbox");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(`webhook_${reason}`);
    await drain();
    expect(await counts()).toEqual({ ...before, securityEvents: before.securityEvents + 1 });
    expect(await stateOf(t.id)).toBe("submitted");
    const sec = (await db.pool.query(`SELECT detail FROM security_events WHERE kind = 'webhook_rejected' ORDER BY id DESC LIMIT 1`)).rows[0] as { detail: Record<string, unknown> };
    expect(sec.detail).toEqual({ partner: "sandbox", reason, eventId: JSON.parse(body).id, bodyBytes: Buffer.byteLength(mutate(body)) });
  });

  it("accepts the previous secret during a rotation", async () => {
    const t = await submittedTransfer();
    expect((await send(eventBody(t.idempotencyKey, "acknowledged"), { secret: OLD_SECRET })).status).toBe(200);
  });

  it.each<[string, () => Promise<Response>, number, string]>([
    ["a signed body that is not an event", () => handler(request("{}", { eventId: "evt_x" }), "sandbox"), 400, "webhook_invalid_payload"],
    ["an x-event-id different from the body's", () => handler(request(eventBody("k", "settled"), { eventId: "evt_other" }), "sandbox"), 400, "webhook_event_id_mismatch"],
    ["no x-event-id", () => handler(request(eventBody("k", "settled"), { eventId: null }), "sandbox"), 400, "webhook_missing_event_id"],
    ["a body over 64 KiB", () => handler(request(JSON.stringify({ id: "evt_big", pad: "x".repeat(70_000) })), "sandbox"), 413, "webhook_body_too_large"],
    ["an unknown partner", () => handler(request(eventBody("k", "settled"), { partner: "acme" }), "acme"), 404, "unknown_partner"],
  ])("refuses %s, storing no event", async (_name, call, status, code) => {
    const before = await counts();
    const res = await call();
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    const after = await counts();
    expect(after.webhookEvents).toBe(before.webhookEvents);
    expect(after.securityEvents).toBe(before.securityEvents + (status === 404 ? 0 : 1));
  });

  it("keeps evidence immutable and rows undeletable (database rule)", async () => {
    const t = await submittedTransfer();
    const r = await send(eventBody(t.idempotencyKey, "acknowledged"));
    await expect(db.pool.query(`UPDATE webhook_events SET raw_body = '{}' WHERE id = $1`, [r.json.id])).rejects.toThrow(/evidence is immutable/);
    await expect(db.pool.query(`DELETE FROM webhook_events WHERE id = $1`, [r.json.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`UPDATE webhook_events SET is_duplicate = true WHERE id = $1`, [r.json.id])).rejects.toThrow(/evidence is immutable/);
  });
});

describe("duplicates and order", () => {
  it("a redelivered event is stored as a flagged duplicate and applied once", async () => {
    const t = await submittedTransfer();
    const body = eventBody(t.idempotencyKey, "settled");
    const first = await send(body);
    const second = await send(body);
    expect(second).toMatchObject({ status: 200, json: { isDuplicate: true } });
    expect(await row(second.json.id!)).toMatchObject({ is_duplicate: true, duplicate_of_id: first.json.id, effect: "duplicate_event", dedupe_event_id: null, effect_detail: { duplicateOf: first.json.id, isBodyIdentical: true } });
    expect(await drain()).toEqual({ applied: 1 });
    const settled = await db.pool.query(`SELECT 1 FROM transfer_events WHERE transfer_id = $1 AND to_state = 'settled'`, [t.id]);
    expect(settled.rowCount).toBe(1);
    // A third copy after processing is still only a duplicate.
    expect((await send(body)).json.isDuplicate).toBe(true);
    expect(await drain()).toEqual({});
  });

  it("ten concurrent deliveries of one event: exactly one original", async () => {
    const t = await submittedTransfer();
    const body = eventBody(t.idempotencyKey, "settled");
    const results = await Promise.all(Array.from({ length: 10 }, () => send(body)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => !r.json.isDuplicate)).toHaveLength(1);
    const rows = (await db.pool.query(`SELECT is_duplicate FROM webhook_events WHERE event_id = $1`, [JSON.parse(body).id])).rows;
    expect(rows.filter((r) => !r.is_duplicate)).toHaveLength(1);
    expect(rows).toHaveLength(10);
    expect(await drain()).toEqual({ applied: 1 });
  });

  it("a burst of different events is stored in shared statements, each answered with its own original; their redeliveries are duplicates", async () => {
    const ts = await Promise.all(Array.from({ length: 12 }, () => submittedTransfer()));
    const bodies = ts.map((t) => eventBody(t.idempotencyKey, "settled"));
    const eventIds = bodies.map((b) => (JSON.parse(b) as { id: string }).id);
    // The pool's connections are held meanwhile, so the events queue as they would under load.
    const held = await Promise.all(Array.from({ length: db.pool.options.max }, () => db.pool.connect()));
    // The first event's redelivery arrives in the same burst: it waits for the first copy and is its duplicate.
    const sending = Promise.all([...bodies, bodies[0]!].map((b) => send(b)));
    await new Promise((r) => setTimeout(r, 100));
    for (const c of held) c.release();
    const answered = await sending;
    const originals = answered.slice(0, bodies.length);
    const early = answered[bodies.length]!;
    expect(early).toMatchObject({ status: 200, json: { isDuplicate: true } });
    const copies = await Promise.all(bodies.map((b) => send(b)));
    for (const [i, eventId] of eventIds.entries()) {
      const rows = (await db.pool.query<{ id: string; is_duplicate: boolean; duplicate_of_id: string | null }>(`SELECT id::text, is_duplicate, duplicate_of_id::text FROM webhook_events WHERE event_id = $1`, [eventId])).rows;
      const original = rows.find((r) => !r.is_duplicate)!;
      expect(originals[i]).toMatchObject({ status: 200, json: { id: original.id, isDuplicate: false } });
      expect(copies[i]).toMatchObject({ status: 200, json: { isDuplicate: true } });
      expect(rows.find((r) => r.id === copies[i]!.json.id)).toMatchObject({ is_duplicate: true, duplicate_of_id: original.id });
      expect(rows).toHaveLength(i === 0 ? 3 : 2);
      if (i === 0) expect(rows.find((r) => r.id === early.json.id)).toMatchObject({ is_duplicate: true, duplicate_of_id: original.id });
    }
    // Fewer transactions than originals (rows one statement inserted share its xmin; read before
    // the application rewrites the rows): they were grouped.
    const txs = await db.pool.query<{ n: number }>(`SELECT count(DISTINCT xmin::text)::int AS n FROM webhook_events WHERE event_id = ANY($1) AND NOT is_duplicate`, [eventIds]);
    expect(txs.rows[0]!.n).toBeLessThan(bodies.length);
    expect(await drain()).toEqual({ applied: bodies.length });
    for (const t of ts) expect(await stateOf(t.id)).toBe("settled");
  });

  it("a group whose insert fails is stored again one event at a time: one bad event fails only its own delivery", async () => {
    const ts = await Promise.all(Array.from({ length: 6 }, () => submittedTransfer()));
    const bodies = ts.map((t) => eventBody(t.idempotencyKey, "settled"));
    const eventIds = bodies.map((b) => (JSON.parse(b) as { id: string }).id);
    // A pool whose first grouped insert (more than one event) fails with an error that is not the
    // database being unreachable, and whose insert of the third event alone fails too.
    let failedGroups = 0;
    let failedAlone = 0;
    const failing = new Proxy(db.pool, {
      get(target, key) {
        if (key === "query") {
          return (...args: unknown[]) => {
            const q = args[0] as { text?: string; values?: unknown[][] };
            if (failedGroups === 0 && q.text?.includes("INSERT INTO webhook_events") && (q.values?.[0]?.length ?? 0) > 1) {
              failedGroups++;
              return Promise.reject(new Error("group insert refused by the test"));
            }
            if (q.text?.includes("INSERT INTO webhook_events") && q.values?.[0]?.length === 1 && q.values[1]?.[0] === eventIds[2]) {
              failedAlone++;
              return Promise.reject(new Error("this event's insert refused by the test"));
            }
            return (target.query as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const failingHandler = createWebhookHandler({ getDb: () => ({ ...db, pool: failing }), partners });
    const held = await Promise.all(Array.from({ length: db.pool.options.max }, () => db.pool.connect()));
    const sending = Promise.allSettled(bodies.map((b) => failingHandler(request(b), "sandbox")));
    await new Promise((r) => setTimeout(r, 100));
    for (const c of held) c.release();
    const settled = await sending;
    expect(failedGroups).toBe(1);
    expect(failedAlone).toBe(1);
    for (const [i, eventId] of eventIds.entries()) {
      const rows = (await db.pool.query<{ id: string; is_duplicate: boolean }>(`SELECT id::text, is_duplicate FROM webhook_events WHERE event_id = $1`, [eventId])).rows;
      const answer = settled[i]!;
      if (i === 2) {
        // Not stored, not answered 200: the partner sends it again.
        expect(answer).toMatchObject({ status: "rejected", reason: { message: "this event's insert refused by the test" } });
        expect(rows).toEqual([]);
        continue;
      }
      if (answer.status !== "fulfilled") throw new Error(`delivery ${i} failed: ${String(answer.reason)}`);
      const json = (await answer.value.json()) as { id?: string; isDuplicate?: boolean };
      expect(answer.value.status).toBe(200);
      expect(rows).toEqual([{ id: json.id, is_duplicate: false }]);
    }
    expect(await drain()).toEqual({ applied: bodies.length - 1 });
  });

  it("out of order: settled before acknowledged settles; the late acknowledgement is recorded and ignored", async () => {
    const t = await submittedTransfer();
    const settled = await send(eventBody(t.idempotencyKey, "settled"));
    const acked = await send(eventBody(t.idempotencyKey, "acknowledged"));
    expect(await drain()).toEqual({ applied: 1, ignored_backwards: 1 });
    expect(await stateOf(t.id)).toBe("settled");
    expect(await row(settled.json.id!)).toMatchObject({ effect: "applied" });
    expect(await row(acked.json.id!)).toMatchObject({ effect: "ignored_backwards", transfer_id: t.id });
  });

  it("a late return after settlement returns the transfer; unknown transfers are recorded as such", async () => {
    const t = await submittedTransfer();
    await send(eventBody(t.idempotencyKey, "settled"));
    await drain();
    await send(eventBody(t.idempotencyKey, "returned"));
    const unknown = await send(eventBody(`no-such-${randomUUID()}`, "settled"));
    expect(await drain()).toEqual({ applied: 1, unknown_transfer: 1 });
    expect(await stateOf(t.id)).toBe("returned");
    expect(await row(unknown.json.id!)).toMatchObject({ effect: "unknown_transfer", transfer_id: null });
  });
});

describe("processing failures", () => {
  it("retries with backoff, then marks the event as an error for an operator", async () => {
    const t = await submittedTransfer();
    const r = await send(eventBody(t.idempotencyKey, "settled"));
    // Test double standing in for a failing applyPartnerEvent (database trouble).
    const failing: ApplyPartnerEvent = async () => {
      throw new Error("simulated apply failure");
    };
    const first = await processPendingWebhooks(db, partners, 100, { apply: failing });
    expect(first).toMatchObject({ claimed: 1, failures: 1 });
    expect(await row(r.json.id!)).toMatchObject({ process_attempts: 1, last_error: "simulated apply failure", effect: null, processed_at: null });
    // Backing off: not claimed again right away.
    expect((await processPendingWebhooks(db, partners, 100, { apply: failing })).claimed).toBe(0);
    for (let i = 2; i <= MAX_PROCESS_ATTEMPTS; i++) {
      const future = new Date(Date.now() + i * 10 * 60_000);
      expect((await processPendingWebhooks(db, partners, 100, { apply: failing, now: () => future })).claimed).toBe(1);
    }
    expect(await row(r.json.id!)).toMatchObject({ process_attempts: MAX_PROCESS_ATTEMPTS, effect: "error" });
    expect((await processPendingWebhooks(db, partners, 100, { apply: failing, now: () => new Date(Date.now() + 86_400_000) })).claimed).toBe(0);
    expect(await stateOf(t.id)).toBe("submitted");
  });
});

describe("replay", () => {
  const as = (roles: RoleName[]) => userActor({ id: "00000000-0000-4000-8000-0000000000bb", email: `${roles.join("-")}@demo.local`, name: "t", roles });

  it("needs transfers:operate, a reason and an existing event, in that order", async () => {
    const t = await submittedTransfer();
    const r = await send(eventBody(t.idempotencyKey, "acknowledged"));
    await expect(replayWebhookEvent(db, partners, as(["viewer"]), { webhookEventId: r.json.id!, reason: "" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(replayWebhookEvent(db, partners, as(["operator"]), { webhookEventId: "nope", reason: " " })).rejects.toMatchObject({ code: "BAD_INPUT" });
    await expect(replayWebhookEvent(db, partners, as(["operator"]), { webhookEventId: "nope", reason: "retry" })).rejects.toMatchObject({ code: "BAD_INPUT" });
    await expect(replayWebhookEvent(db, partners, as(["operator"]), { webhookEventId: randomUUID(), reason: "retry" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("re-applies an event that arrived before its transfer existed, audited", async () => {
    const key = randomUUID();
    const r = await send(eventBody(key, "settled"));
    expect(await drain()).toEqual({ unknown_transfer: 1 });
    const { transfer } = await createTransfer(
      db,
      SYSTEM_ACTOR,
      { sourceAccountId: wallet.id, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: 500n, currency: "EUR", rail: "instant", partner: "sandbox", reference: "late" },
      { idempotencyKey: key },
    );
    await advanceTransfer(db, transfer.id, { adapterFor: () => partner });
    const result = await replayWebhookEvent(db, partners, as(["operator"]), { webhookEventId: r.json.id!, reason: "partner confirmed settlement" }, { requestId: "req-replay" });
    expect(result).toMatchObject({ effect: "applied", transferId: transfer.id, toState: "settled", replayCount: 1 });
    expect(await stateOf(transfer.id)).toBe("settled");
    const stored = await row(r.json.id!);
    expect(stored).toMatchObject({ effect: "unknown_transfer", replay_count: 1, transfer_id: transfer.id });
    expect((stored.effect_detail as { lastReplay: { effect: string } }).lastReplay.effect).toBe("applied");
    const audit = (await db.pool.query(`SELECT actor_label, action, target_id, reason, request_id, after FROM audit_log WHERE action = 'webhook.replayed' AND target_id = $1`, [r.json.id])).rows;
    expect(audit).toEqual([
      expect.objectContaining({ actor_label: "operator@demo.local", reason: "partner confirmed settlement", request_id: "req-replay", after: expect.objectContaining({ replayEffect: "applied", replayCount: 1 }) }),
    ]);
    // Idempotent: a second replay changes the transfer no further.
    expect(await replayWebhookEvent(db, partners, as(["operator"]), { webhookEventId: r.json.id!, reason: "again" })).toMatchObject({ effect: "duplicate_state", replayCount: 2 });
  });
});

describe("listWebhookEvents", () => {
  it("lists a transfer's webhooks oldest first, duplicates included, with keyset pages", async () => {
    const t = await submittedTransfer();
    const body = eventBody(t.idempotencyKey, "settled");
    await send(eventBody(t.idempotencyKey, "acknowledged"));
    await send(body);
    await send(body);
    const all = await listWebhookEvents(db, { transferId: t.id });
    expect(all.items.map((i) => [i.eventType, i.isDuplicate])).toEqual([
      ["acknowledged", false],
      ["settled", false],
      ["settled", true],
    ]);
    expect(all.items[0]!.rawBody).toContain(t.idempotencyKey);
    expect(all.nextAfter).toBeNull();
    const page1 = await listWebhookEvents(db, { idempotencyKey: t.idempotencyKey, limit: 2 });
    const page2 = await listWebhookEvents(db, { idempotencyKey: t.idempotencyKey, limit: 2, after: page1.nextAfter! });
    expect([...page1.items, ...page2.items].map((i) => i.id)).toEqual(all.items.map((i) => i.id));
    expect(page2.nextAfter).toBeNull();
  });

  it.each([[{}], [{ transferId: "x" }], [{ idempotencyKey: "k", transferId: randomUUID() }], [{ idempotencyKey: "k", limit: 0 }], [{ idempotencyKey: "k", limit: 201 }], [{ idempotencyKey: "k", after: "x" }]])("refuses %o", async (input) => {
    await expect(listWebhookEvents(db, input)).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});

describe("the Next route", () => {
  it("POST /api/webhooks/[partner] reads the raw body and answers through the same path", async () => {
    const { POST } = await import("../../app/api/webhooks/[partner]/route");
    const g = globalThis as unknown as { __dbHandles?: unknown };
    const saved = g.__dbHandles;
    g.__dbHandles = db;
    try {
      const t = await submittedTransfer();
      // Whitespace and key order are part of what was signed; nothing may normalise them.
      const body = eventBody(t.idempotencyKey, "settled").replace('{"id"', '{ "id"') + "\n";
      const ok = await POST(request(body), { params: Promise.resolve({ partner: "sandbox" }) });
      expect(ok.status).toBe(200);
      const id = ((await ok.json()) as { id: string }).id;
      expect((await row(id)).raw_body).toBe(body);
      const bad = await POST(request(body, { secret: "whsec_wrong_0123456789" }), { params: Promise.resolve({ partner: "sandbox" }) });
      expect(bad.status).toBe(401);
      const unknown = await POST(request(body), { params: Promise.resolve({ partner: "nobank" }) });
      expect(unknown.status).toBe(404);
    } finally {
      g.__dbHandles = saved;
    }
  });
});

describe("end to end with the sandbox", () => {
  it("sandbox -> signed webhooks -> our route -> applied: duplicates, disorder and a late return converge", async () => {
    const receiver = await startReceiver((req) => handler(req, "sandbox"));
    const sandbox = await startTestSandbox(db, receiver.url);
    try {
      await setFaults(sandbox, "instant", { settleDelayMsMin: 0, settleDelayMsMax: 0, duplicateWebhookProbability: 1, outOfOrderProbability: 1, returnProbability: 1, returnDelayMs: 1_000 });
      const adapter = adapterFor(sandbox, 2_000);
      const { transfer } = await createTransfer(
        db,
        SYSTEM_ACTOR,
        { sourceAccountId: wallet.id, counterpartyName: "Jane", counterpartyAccount: "DE89370400440532013000", amountMinor: 4_200n, currency: "EUR", rail: "instant", partner: "sandbox", reference: "e2e" },
        { idempotencyKey: randomUUID() },
      );
      expect(await advanceTransfer(db, transfer.id, { adapterFor: () => adapter })).toMatchObject({ action: "submitted" });
      await sandbox.tick();
      await sandbox.tick(new Date(Date.now() + 2_000));
      await sandbox.tick(new Date(Date.now() + 4_000));
      await eventually(async () => (await db.pool.query(`SELECT 1 FROM webhook_events WHERE idempotency_key = $1`, [transfer.idempotencyKey])).rowCount === 6);
      await drain();
      expect(await stateOf(transfer.id)).toBe("returned");
      const list = await listWebhookEvents(db, { transferId: transfer.id });
      const summary = list.items.map((i) => `${i.eventType}:${i.isDuplicate ? "dup" : i.effect}`).sort();
      expect(summary).toEqual(["acknowledged:dup", "acknowledged:ignored_backwards", "returned:applied", "returned:dup", "settled:applied", "settled:dup"].sort());
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM sandbox_payments WHERE idempotency_key = $1`, [transfer.idempotencyKey])).rows[0]).toEqual({ n: 1 });
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  });
});
