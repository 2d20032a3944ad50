/**
 * Concurrent creates share one transaction (grouped creation, server/transfers/create.ts), and
 * each caller still gets exactly what a create alone would give: its own transfer, hold, events
 * and job; its own replay or typed error; and nothing written for a request that fails.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount, fund } from "../../server/ledger/testing";
import { getBalances } from "../../server/ledger/balances";
import { verifyLedger } from "../../server/ledger/verify";
import { createGroupStatsOf, createTransfer, type CreateTransferInput } from "../../server/transfers/create";
import { stopSender } from "../../server/jobs/queues";
import { serviceActor, SYSTEM_ACTOR } from "../../server/core/actor";
import { verifyAuditChain } from "../../server/audit/verify";
import { transferPayload } from "../../server/transfers/types";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let bank: Account;
const wallets: Account[] = [];

beforeAll(async () => {
  db = await createTestDb({ poolMax: 12 });
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  for (let i = 0; i < 6; i++) {
    const w = await openAccount(db, { code: `customer:${i}:wallet`, type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, w.id, 100_000n);
    wallets.push(w);
  }
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const input = (source: string, amountMinor: bigint, over: Partial<CreateTransferInput> = {}): CreateTransferInput => ({
  sourceAccountId: source,
  counterpartyName: "Jane Doe",
  counterpartyAccount: "DE89 3704 0044 0532 0130 00",
  amountMinor,
  currency: "EUR",
  rail: "instant",
  partner: "sandbox",
  reference: "grouped",
  ...over,
});

type Outcome = { ok: true; id: string; isReplay: boolean; state: string } | { ok: false; code: string };

async function createAll(requests: { input: CreateTransferInput; key: string }[]): Promise<Outcome[]> {
  return Promise.all(
    requests.map((r) =>
      createTransfer(db, SYSTEM_ACTOR, r.input, { idempotencyKey: r.key }).then(
        (res): Outcome => ({ ok: true, id: res.transfer.id, isReplay: res.isReplay, state: res.transfer.state }),
        (e: { code?: string }): Outcome => ({ ok: false, code: e.code ?? String(e) }),
      ),
    ),
  );
}

async function writtenFor(key: string) {
  const t = await db.pool.query<{ id: string; state: string; hold_id: string | null; version: number }>(`SELECT id, state, hold_id, version FROM transfers WHERE idempotency_key = $1`, [key]);
  const row = t.rows[0];
  if (!row) return null;
  const events = await db.pool.query<{ from_state: string | null; to_state: string; cause: string }>(`SELECT from_state, to_state, cause FROM transfer_events WHERE transfer_id = $1 ORDER BY id`, [row.id]);
  const holds = await db.pool.query<{ status: string; amount_minor: string; idempotency_key: string }>(`SELECT status, amount_minor::text, idempotency_key FROM holds WHERE id = $1`, [row.hold_id]);
  return { ...row, events: events.rows, holds: holds.rows.map(({ status, amount_minor }) => ({ status, amount_minor })), holdKeys: holds.rows.map((h) => h.idempotency_key) };
}

describe("grouped transfer creation", () => {
  it("writes each of many concurrent creates as a create alone would, in shared transactions", async () => {
    const createGroupStats = createGroupStatsOf(db);
    const before = { ...createGroupStats };
    const requests = Array.from({ length: 24 }, (_, i) => ({ input: input(wallets[i % wallets.length]!.id, BigInt(100 + i)), key: randomUUID() }));
    const outcomes = await createAll(requests);
    expect(outcomes.every((o) => o.ok && o.state === "reserved" && !o.isReplay)).toBe(true);
    // Grouping really happened: fewer transactions than creates.
    expect(createGroupStats.groups).toBeGreaterThan(before.groups);
    expect(createGroupStats.items - before.items).toBeGreaterThan(createGroupStats.groups - before.groups);
    for (const [i, r] of requests.entries()) {
      const w = await writtenFor(r.key);
      expect(w).toMatchObject({
        id: (outcomes[i] as { id: string }).id,
        state: "reserved",
        events: [
          { from_state: null, to_state: "created", cause: "create" },
          { from_state: "created", to_state: "reserved", cause: "reserve" },
        ],
        holds: [{ status: "pending", amount_minor: String(100 + i) }],
      });
      // Placed under the transfer's own key, as a create alone places it.
      expect(w!.holdKeys).toEqual([`transfer:${w!.id}:reserve`]);
    }
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("writes a new transfer already reserved: version 1, both first events in order, the reserved message as a transition writes it, one audit record per service create", async () => {
    const service = serviceActor({ id: randomUUID(), name: "group-test", scopes: ["transfers:create"] });
    const requests = Array.from({ length: 12 }, (_, i) => ({ input: input(wallets[i % wallets.length]!.id, BigInt(200 + i)), key: randomUUID() }));
    const createGroupStats = createGroupStatsOf(db);
    const groupsBefore = createGroupStats.groups;
    const results = await Promise.all(requests.map((r) => createTransfer(db, service, r.input, { idempotencyKey: r.key })));
    expect(createGroupStats.groups).toBeGreaterThan(groupsBefore);
    for (const { transfer: t, isReplay } of results) {
      expect(isReplay).toBe(false);
      expect(t).toMatchObject({ state: "reserved", version: 1, attempts: 0, nextAttemptAt: null, leaseUntil: null });
      const events = await db.pool.query<{ id: string; from_state: string | null; to_state: string; cause: string; actor_type: string; actor_label: string; created_at: Date }>(
        `SELECT id::text, from_state, to_state, cause, actor_type, actor_label, created_at FROM transfer_events WHERE transfer_id = $1 ORDER BY id`,
        [t.id],
      );
      expect(events.rows.map(({ from_state, to_state, cause, actor_type, actor_label }) => ({ from_state, to_state, cause, actor_type, actor_label }))).toEqual([
        { from_state: null, to_state: "created", cause: "create", actor_type: "service", actor_label: "service:group-test" },
        { from_state: "created", to_state: "reserved", cause: "reserve", actor_type: "system", actor_label: "transfers" },
      ]);
      expect(events.rows[0]!.created_at.getTime()).toBe(t.createdAt.getTime());
      expect(events.rows[1]!.created_at.getTime()).toBe(t.stateChangedAt.getTime());
      const messages = await db.pool.query<{ topic: string; payload: unknown }>(`SELECT topic, payload FROM outbox_events WHERE aggregate_id = $1 AND topic LIKE 'transfer.%'`, [t.id]);
      expect(messages.rows).toEqual([{ topic: "transfer.reserved", payload: { ...transferPayload(t), fromState: "created", cause: "reserve" } }]);
      const audits = await db.pool.query<{ action: string; actor_type: string }>(`SELECT action, actor_type FROM audit_log WHERE target_type = 'transfer' AND target_id = $1`, [t.id]);
      expect(audits.rows).toEqual([{ action: "transfer.create", actor_type: "service" }]);
      const hold = await db.pool.query<{ status: string; amount_minor: string; idempotency_key: string }>(`SELECT status, amount_minor::text, idempotency_key FROM holds WHERE id = $1`, [t.holdId]);
      expect(hold.rows).toEqual([{ status: "pending", amount_minor: t.amountMinor.toString(), idempotency_key: `transfer:${t.id}:reserve` }]);
    }
    expect((await verifyAuditChain(db.pool)).isIntact).toBe(true);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("answers replays, conflicts, unknown and mismatched sources and refused holds one by one, writing nothing for a failure", async () => {
    const committedKey = randomUUID();
    await createTransfer(db, SYSTEM_ACTOR, input(wallets[0]!.id, 500n), { idempotencyKey: committedKey });
    const poor = await openAccount(db, { code: "customer:poor:wallet", type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, poor.id, 60n);
    // A first transfer from it, so that pricing has read its customer (the pricing cache) and the
    // refused one below reaches the batcher together with the others.
    await createTransfer(db, SYSTEM_ACTOR, input(poor.id, 10n), { idempotencyKey: randomUUID() });
    const usd = await openAccount(db, { code: "customer:usd:wallet", type: "liability", currency: "USD", isNoOverdraft: true });
    const createGroupStats = createGroupStatsOf(db);
    const before = { ...createGroupStats };
    const availableBefore = await Promise.all(wallets.map(async (w) => (await getBalances(db, w.id)).availableMinor));

    const good = Array.from({ length: 10 }, (_, i) => ({ input: input(wallets[i % wallets.length]!.id, 10n), key: randomUUID() }));
    const bad = [
      { input: input(wallets[0]!.id, 500n), key: committedKey, expect: { ok: true, isReplay: true } },
      { input: input(wallets[0]!.id, 501n), key: committedKey, expect: { ok: false, code: "IDEMPOTENCY_CONFLICT" } },
      { input: input(randomUUID(), 10n), key: randomUUID(), expect: { ok: false, code: "NOT_FOUND" } },
      { input: input(usd.id, 10n), key: randomUUID(), expect: { ok: false, code: "CURRENCY_MISMATCH" } },
      { input: input(poor.id, 60n), key: randomUUID(), expect: { ok: false, code: "INSUFFICIENT_FUNDS" } },
    ];
    const outcomes = await createAll([...good, ...bad]);
    outcomes.slice(0, good.length).forEach((o) => expect(o).toMatchObject({ ok: true, isReplay: false, state: "reserved" }));
    bad.forEach((b, i) => expect(outcomes[good.length + i]).toMatchObject(b.expect));
    // The refused hold made its group fall back to one transaction per create.
    expect(createGroupStats.fallbacks).toBeGreaterThan(before.fallbacks);

    for (const g of good) expect(await writtenFor(g.key)).toMatchObject({ state: "reserved", holds: [{ status: "pending", amount_minor: "10" }] });
    for (const b of bad.slice(2)) expect(await writtenFor(b.key)).toBeNull();
    expect((await writtenFor(committedKey))!.holds).toEqual([{ status: "pending", amount_minor: "500" }]);
    const availableAfter = await Promise.all(wallets.map(async (w) => (await getBalances(db, w.id)).availableMinor));
    const spent = wallets.map((_, i) => good.filter((g) => g.input.sourceAccountId === wallets[i]!.id).length * 10);
    expect(availableAfter).toEqual(availableBefore.map((a, i) => a - BigInt(spent[i]!)));
    expect((await getBalances(db, poor.id)).availableMinor).toBe(50n);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it("the same key sent twice at once creates one transfer and one replay", async () => {
    const key = randomUUID();
    const same = { input: input(wallets[1]!.id, 42n), key };
    const others = Array.from({ length: 8 }, () => ({ input: input(wallets[2]!.id, 1n), key: randomUUID() }));
    const outcomes = await createAll([same, ...others, same]);
    const first = outcomes[0] as { ok: true; id: string; isReplay: boolean };
    const last = outcomes[outcomes.length - 1] as { ok: true; id: string; isReplay: boolean };
    expect(first.ok && last.ok).toBe(true);
    expect(first.id).toBe(last.id);
    expect([first.isReplay, last.isReplay].sort()).toEqual([false, true]);
    expect((await db.pool.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [key])).rowCount).toBe(1);
    expect((await writtenFor(key))!.holds).toHaveLength(1);
  });
});
