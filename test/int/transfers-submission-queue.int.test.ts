// The submission queue is the transfers table (server/transfers/submission-queue.ts): a due
// reserved transfer is claimed by exactly one worker, with its attempt counted and its submission
// recorded; what must not be submitted plainly is left to the slower path; and the worker's loop
// (server/worker/submission-loop.ts) wakes on a NOTIFY, submits, and survives a failing batch.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner } from "../support/fake-partner";
import { eventually } from "./sandbox-test-helpers";
import { openAccount, fund } from "../../server/ledger/testing";
import type { Account } from "../../server/ledger/accounts";
import { createTransfer } from "../../server/transfers/create";
import { retryTransfer } from "../../server/transfers/operations";
import { NOT_FOUND_WAIT_NOTE } from "../../server/transfers/orchestrator";
import { claimDueSubmissions, findOtherDueTransfers, signalSubmissionDue, SUBMISSION_CHANNEL } from "../../server/transfers/submission-queue";
import { startSubmissionLoop } from "../../server/worker/submission-loop";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";

let db: TestDb;
let wallet: Account;
const partner = fakePartner();

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:queue:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});
beforeEach(async () => {
  // Each test starts with an empty queue: whatever an earlier test left is settled out of the way.
  await db.pool.query(`UPDATE transfers SET attention_reason = 'out of this test' WHERE state IN ('created', 'reserved') AND attention_reason IS NULL`);
  partner.submits.length = 0;
  partner.script.length = 0;
});

async function newTransfer(reference = "queue") {
  const { transfer } = await createTransfer(
    db,
    SYSTEM_ACTOR,
    { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 1_000n, currency: "EUR", rail: "instant", partner: "sandbox", reference },
    { idempotencyKey: randomUUID() },
  );
  return transfer;
}

const rowOf = async (id: string) =>
  (await db.pool.query<{ state: string; attempts: number; lease_until: Date | null }>(`SELECT state::text AS state, attempts, lease_until FROM transfers WHERE id = $1`, [id])).rows[0]!;

describe("claiming due submissions", () => {
  it("claims a due transfer once, records the submission first, and claims it again only when its lease has run out", async () => {
    const t = await newTransfer("claim once");
    const now = new Date();
    const claimed = await claimDueSubmissions(db, 10, now);
    expect(claimed.map((c) => c.t.id)).toEqual([t.id]);
    expect(claimed[0]!.claim.attempt).toBe(1);
    expect(claimed[0]!.t.attempts).toBe(1);
    const policy = (await db.pool.query<{ submit_timeout_ms: number }>(`SELECT submit_timeout_ms FROM rail_policies WHERE partner = 'sandbox' AND rail = 'instant'`)).rows[0]!;
    expect(claimed[0]!.t.leaseUntil!.getTime()).toBe(now.getTime() + 2 * policy.submit_timeout_ms + 10_000);
    // The submission is recorded before the call, as the partner will receive it.
    const recorded = await db.pool.query<{ id: string; kind: string; attempt: number; request: Record<string, unknown>; outcome: string | null }>(
      `SELECT id::text, kind, attempt, request, outcome FROM partner_requests WHERE transfer_id = $1`,
      [t.id],
    );
    expect(recorded.rows).toEqual([
      {
        id: claimed[0]!.claim.requestId,
        kind: "submit",
        attempt: 1,
        outcome: null,
        request: { rail: "instant", amountMinor: "1000", currency: "EUR", counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", reference: "claim once", idempotencyKey: t.idempotencyKey },
      },
    ]);

    // Leased: nobody else takes it, until the lease has run out.
    expect(await claimDueSubmissions(db, 10, new Date(now.getTime() + 1_000))).toEqual([]);
    const after = new Date(claimed[0]!.t.leaseUntil!.getTime() + 1);
    const again = await claimDueSubmissions(db, 10, after);
    expect(again.map((c) => [c.t.id, c.claim.attempt])).toEqual([[t.id, 2]]);
  });

  it("concurrent claimers never take the same transfer, and together take every one, oldest first within each claim", async () => {
    const created = [];
    for (let i = 0; i < 40; i++) created.push(await newTransfer(`concurrent ${i}`));
    const claimers = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    try {
      const now = new Date();
      const results = await Promise.all(claimers.map((pool) => claimDueSubmissions({ pool }, 16, now)));
      const ids = results.flatMap((r) => r.map((c) => c.t.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(created.map((t) => t.id)));
      for (const r of results) {
        const changed = r.map((c) => c.t.stateChangedAt.getTime());
        expect(changed).toEqual([...changed].sort((a, b) => a - b));
      }
      // Each recorded one submission, no more.
      const n = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM partner_requests WHERE transfer_id = ANY($1::uuid[])`, [ids]);
      expect(n.rows[0]!.n).toBe(40);
    } finally {
      await Promise.all(claimers.map((p) => p.end()));
    }
  });

  it("leaves what is not a plain submission to the slower path, and what is not due to its time", async () => {
    const [waiting, attention, spent, notFound, created] = [await newTransfer(), await newTransfer(), await newTransfer(), await newTransfer(), await newTransfer()];
    const now = new Date();
    const past = new Date(now.getTime() - 1_000);
    await db.pool.query(`UPDATE transfers SET next_attempt_at = $2, attempts = 1 WHERE id = $1`, [waiting.id, new Date(now.getTime() + 60_000)]);
    await db.pool.query(`UPDATE transfers SET attention_reason = 'outcome unknown' WHERE id = $1`, [attention.id]);
    await db.pool.query(`UPDATE transfers SET next_attempt_at = $2, attempts = (SELECT max_submit_attempts FROM rail_policies WHERE partner = 'sandbox' AND rail = 'instant') WHERE id = $1`, [spent.id, past]);
    await db.pool.query(`UPDATE transfers SET next_attempt_at = $2, attempts = 1, last_error = $3 WHERE id = $1`, [notFound.id, past, `${NOT_FOUND_WAIT_NOTE}, but its last submission may still be in process`]);
    // A transfer whose reserve did not commit with it (the state machine allows created; the
    // guard lets a row move only forward, so it is written back as a new row would be).
    await db.pool.query(`ALTER TABLE transfers DISABLE TRIGGER USER`);
    await db.pool.query(`UPDATE transfers SET state = 'created' WHERE id = $1`, [created.id]);
    await db.pool.query(`ALTER TABLE transfers ENABLE TRIGGER USER`);

    expect(await claimDueSubmissions(db, 10, now)).toEqual([]);
    expect(new Set(await findOtherDueTransfers(db, 10, now))).toEqual(new Set([spent.id, notFound.id, created.id]));
    // Its backoff over, the waiting one is a plain submission again.
    const later = new Date(now.getTime() + 61_000);
    expect((await claimDueSubmissions(db, 10, later)).map((c) => c.t.id)).toEqual([waiting.id]);
  });

  it("takes ready transfers and due retries together, oldest state change first, and none still in backoff", async () => {
    // Claimed through two indexes (ready, due retries): the order must still be one order.
    const [oldWaiting, a, b, c, d] = [await newTransfer("wait"), await newTransfer("a"), await newTransfer("b"), await newTransfer("c"), await newTransfer("d")];
    const now = new Date();
    const past = new Date(now.getTime() - 1_000);
    for (const [t, minutesAgo] of [[oldWaiting, 10], [a, 5], [b, 4], [c, 3], [d, 2]] as const) {
      await db.pool.query(`UPDATE transfers SET state_changed_at = $2 WHERE id = $1`, [t.id, new Date(now.getTime() - minutesAgo * 60_000)]);
    }
    await db.pool.query(`UPDATE transfers SET next_attempt_at = $2, attempts = 1 WHERE id = $1`, [oldWaiting.id, new Date(now.getTime() + 60_000)]);
    for (const t of [b, d]) await db.pool.query(`UPDATE transfers SET next_attempt_at = $2, attempts = 1, last_error = 'partner unavailable' WHERE id = $1`, [t.id, past]);

    expect((await claimDueSubmissions(db, 2, now)).map((x) => x.t.id)).toEqual([a.id, b.id]);
    expect((await claimDueSubmissions(db, 10, now)).map((x) => [x.t.id, x.claim.attempt])).toEqual([
      [c.id, 1],
      [d.id, 2],
    ]);
  });

  it("an operator's retry makes a waiting transfer due at once", async () => {
    const t = await newTransfer();
    await db.pool.query(`UPDATE transfers SET next_attempt_at = now() + interval '1 hour', attempts = 1, last_error = 'partner unavailable' WHERE id = $1`, [t.id]);
    expect(await claimDueSubmissions(db, 10, new Date())).toEqual([]);
    await retryTransfer(db, SYSTEM_ACTOR, { transferId: t.id, reason: "partner is back", idempotencyKey: randomUUID() });
    expect((await claimDueSubmissions(db, 10, new Date())).map((c) => [c.t.id, c.claim.attempt])).toEqual([[t.id, 2]]);
  });

  it("a wake-up reaches a listener as one notification for a burst", async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const got: string[] = [];
      listener.on("notification", (n) => got.push(n.channel));
      await listener.query(`LISTEN ${SUBMISSION_CHANNEL}`);
      for (let i = 0; i < 20; i++) signalSubmissionDue(db);
      await eventually(() => got.length >= 1, 5_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([SUBMISSION_CHANNEL]);
    } finally {
      await listener.end();
    }
  });
});

describe("the worker's submission loop", () => {
  it("wakes on a create's notification, not only on its poll, and submits every due transfer", async () => {
    const loop = startSubmissionLoop({ db, databaseUrl: db.url, deps: { adapterFor: () => partner }, maxInFlight: 8, batchSize: 4, idlePollMs: 60_000 });
    try {
      // Let the claimer find the queue empty and go to sleep for its minute.
      await new Promise((r) => setTimeout(r, 500));
      const ts: Awaited<ReturnType<typeof newTransfer>>[] = [];
      for (let i = 0; i < 10; i++) ts.push(await newTransfer(`loop ${i}`));
      await eventually(async () => {
        for (const t of ts) if ((await rowOf(t.id)).state !== "submitted") return false;
        return true;
      }, 10_000);
      expect(partner.submits.filter((k) => ts.some((t) => t.idempotencyKey === k))).toHaveLength(10);
    } finally {
      await loop.stop();
    }
  });

  it("records each answer as it comes back: a slow partner call holds back no other transfer, and the window bounds the calls in flight", async () => {
    const slow = await newTransfer("slow call");
    const others: Awaited<ReturnType<typeof newTransfer>>[] = [];
    for (let i = 0; i < 6; i++) others.push(await newTransfer(`fast ${i}`));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let inFlight = 0;
    let maxSeen = 0;
    const adapter = {
      ...partner,
      async submit(p: Parameters<typeof partner.submit>[0], signal: AbortSignal) {
        inFlight++;
        maxSeen = Math.max(maxSeen, inFlight);
        try {
          if (p.idempotencyKey === slow.idempotencyKey) await released;
          else await new Promise((r) => setTimeout(r, 20));
          return await partner.submit(p, signal);
        } finally {
          inFlight--;
        }
      },
    };
    const loop = startSubmissionLoop({ db, databaseUrl: null, deps: { adapterFor: () => adapter }, maxInFlight: 3, batchSize: 8, idlePollMs: 20 });
    try {
      await eventually(async () => {
        for (const t of others) if ((await rowOf(t.id)).state !== "submitted") return false;
        return true;
      }, 10_000);
      expect((await rowOf(slow.id)).state).toBe("reserved");
      expect(maxSeen).toBe(3);
      release();
      await eventually(async () => (await rowOf(slow.id)).state === "submitted", 10_000);
    } finally {
      release();
      await loop.stop();
    }
  });

  it("a batch whose database work fails is claimed again once its leases run out, and submitted with the same key", async () => {
    const t = await newTransfer("failing batch");
    let failures = 1;
    // The adapter lookup fails once after the claim: the slot's batch throws, as a lost database would.
    const deps = {
      adapterFor: () => {
        if (failures-- > 0) throw new Error("connection lost");
        return partner;
      },
    };
    let clock = Date.now();
    const loop = startSubmissionLoop({ db, databaseUrl: null, deps: { ...deps, now: () => new Date(clock) }, maxInFlight: 4, batchSize: 4, idlePollMs: 20 });
    try {
      await eventually(async () => (await rowOf(t.id)).attempts === 1, 5_000);
      await new Promise((r) => setTimeout(r, 300));
      // Still leased: not claimed again yet, and nothing reached the partner.
      expect(await rowOf(t.id)).toMatchObject({ state: "reserved", attempts: 1 });
      expect(partner.submits).not.toContain(t.idempotencyKey);
      clock += 120_000;
      await eventually(async () => (await rowOf(t.id)).state === "submitted", 10_000);
      expect(await rowOf(t.id)).toMatchObject({ attempts: 2 });
      expect(partner.submits.filter((k) => k === t.idempotencyKey)).toHaveLength(1);
    } finally {
      await loop.stop();
    }
  });
});
