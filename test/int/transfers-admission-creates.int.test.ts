/**
 * Admission by the creates' own queue (server/transfers/admission.ts): when even the quickest of
 * the creates that started in a sample interval waited longer than TRANSFER_ADMISSION_MAX_CREATE_MS
 * for the database (here: every pool connection is taken), new creates are refused with OVERLOADED,
 * naming the reason, and write nothing; once no queue stands, creates are accepted. Creates that
 * wait for a lock inside their transaction (one hot account) do not close it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { resetEnvForTests } from "../../server/env";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { fund, openAccount } from "../../server/ledger/testing";
import { getBalances } from "../../server/ledger/balances";
import { createTransfer } from "../../server/transfers/create";
import { admissionGateFor, MIN_CREATES_FOR_QUEUE } from "../../server/transfers/admission";
import { stopSender } from "../../server/jobs/queues";
import type { Account } from "../../server/ledger/accounts";

const saved = { ...process.env };
const VARS = ["TRANSFER_ADMISSION_ENABLED", "TRANSFER_ADMISSION_MAX_CREATE_MS", "TRANSFER_ADMISSION_SAMPLE_MS"] as const;
let db: TestDb;
let wallet: Account;

beforeAll(async () => {
  process.env.TRANSFER_ADMISSION_ENABLED = "true";
  process.env.TRANSFER_ADMISSION_MAX_CREATE_MS = "100";
  process.env.TRANSFER_ADMISSION_SAMPLE_MS = "50";
  resetEnvForTests();
  db = await createTestDb({ poolMax: 4 });
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:queue:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  resetEnvForTests();
});

const create = (key: string = randomUUID()) =>
  createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 100n, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: key });

/** Asks the gate until its background sample says what `ok` wants. */
async function gateUntil(ok: (isOpen: boolean) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok((await admissionGateFor(db).state()).isOpen)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the admission gate did not change");
}

describe("admission by the creates' own queue", () => {
  it("a few slow creates say nothing; a standing queue closes admission, writes nothing new, and clears", async () => {
    // Fewer than MIN_CREATES_FOR_QUEUE slow creates (a cold start) leave admission open.
    const gate = admissionGateFor(db);
    await gate.state();
    for (let i = 0; i < MIN_CREATES_FOR_QUEUE - 1; i++) gate.observeCreate(5_000);
    await new Promise((r) => setTimeout(r, 60));
    await gateUntil((open) => open);
    expect((await gate.state()).isOpen).toBe(true);

    // Creates that wait for a lock inside their transaction are not queueing for the database.
    const locker = await db.pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM account_balances WHERE account_id = $1 FOR UPDATE`, [wallet.id]);
      const locked = Array.from({ length: 10 }, () => create());
      await new Promise((r) => setTimeout(r, 400));
      await locker.query("COMMIT");
      await Promise.all(locked);
    } finally {
      locker.release();
    }
    // The samples that cover them (every 50 ms) all find admission open.
    const seen: boolean[] = [];
    for (let i = 0; i < 30; i++) {
      seen.push((await gate.state()).isOpen);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen.every(Boolean)).toBe(true);

    // Creates queue for the database: every connection of the pool is taken for a while.
    const held = await Promise.all(Array.from({ length: 4 }, () => db.pool.connect()));
    const queued = Array.from({ length: 12 }, () => create());
    await new Promise((r) => setTimeout(r, 400));
    for (const c of held) c.release();
    const done = await Promise.all(queued);
    expect(done.every((r) => r.transfer.state === "reserved")).toBe(true);
    await gateUntil((open) => !open);
    const state = await gate.state();
    expect(state).toMatchObject({ isOpen: false, closedBy: "creates" });
    expect(state.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(state.createMs).toBeGreaterThanOrEqual(300);

    const before = await getBalances(db, wallet.id);
    const key = randomUUID();
    const err = await create(key).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "OVERLOADED", isRetryable: true, details: { createMs: state.createMs, retryAfterSeconds: expect.any(Number) } });
    expect((err as Error).message).toMatch(/new transfers queue for the database before they are written: even the quickest waited \d+ ms \(limit 100 ms\)/);
    expect(await getBalances(db, wallet.id)).toEqual(before);
    expect((await db.pool.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [key])).rowCount).toBe(0);

    // Refused creates are not measured: with the queue gone, the next interval opens the gate.
    await gateUntil((open) => open);
    expect((await create()).transfer.state).toBe("reserved");
  });
});
