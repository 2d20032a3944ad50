// The sweeper re-enqueues transfers whose driving job was lost, and only those: a transfer that
// waits behind a long backlog still has its job, and enqueuing it again each sweep filled the queue
// with duplicates under overload (issue 17's congestion collapse).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount, fund } from "../../server/ledger/testing";
import { createTransfer } from "../../server/transfers/create";
import { SWEEP_GRACE_MS, sweepTransfers } from "../../server/transfers/sweeper";
import { QUEUES, stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let wallet: Account;

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:1:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const newTransfer = () =>
  createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89 3704 0044 0532 0130 00", amountMinor: 100n, currency: "EUR", rail: "instant", partner: "sandbox", reference: "inv-sweep" }, { idempotencyKey: randomUUID() });

async function jobsOf(transferId: string): Promise<string[]> {
  const res = await db.pool.query<{ state: string }>(`SELECT state::text AS state FROM pgboss.job WHERE name = $1 AND data->>'transferId' = $2 ORDER BY created_on`, [QUEUES.transferAdvance, transferId]);
  return res.rows.map((r) => r.state);
}

describe("sweeper", () => {
  it("leaves a transfer whose job is still waiting, however long it waited, and re-enqueues one whose job is gone, once", async () => {
    const { transfer: waiting } = await newTransfer();
    const { transfer: orphaned } = await newTransfer();
    expect(await jobsOf(waiting.id)).toEqual(["created"]);
    // The orphan's job ran out of retries (or its worker died before enqueueing): nothing will drive it.
    await db.pool.query(`UPDATE pgboss.job SET state = 'failed' WHERE name = $1 AND data->>'transferId' = $2`, [QUEUES.transferAdvance, orphaned.id]);
    const later = new Date(Date.now() + SWEEP_GRACE_MS * 3);

    expect(await sweepTransfers(db, later)).toEqual({ enqueued: 1 });
    expect(await jobsOf(waiting.id)).toEqual(["created"]);
    expect(await jobsOf(orphaned.id)).toEqual(["failed", "created"]);

    // The next sweep finds the orphan's new job waiting: no duplicate.
    expect(await sweepTransfers(db, new Date(later.getTime() + 5_000))).toEqual({ enqueued: 0 });
    expect(await jobsOf(orphaned.id)).toEqual(["failed", "created"]);
  });

  it("does not touch a transfer inside the grace period even without a job", async () => {
    const { transfer } = await newTransfer();
    await db.pool.query(`UPDATE pgboss.job SET state = 'completed' WHERE name = $1 AND data->>'transferId' = $2`, [QUEUES.transferAdvance, transfer.id]);
    expect(await sweepTransfers(db, new Date())).toEqual({ enqueued: 0 });
  });
});
