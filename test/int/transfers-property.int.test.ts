// Property: whatever the partner reports, in any order, duplicated, interleaved with our own
// submission outcomes, a transfer only ever moves along the state machine and the ledger always
// matches its state (hold pending while in flight, posted when settled, reversed when returned,
// released when failed or cancelled).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { openAccount, fund } from "../../server/ledger/testing";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { getTransferDetail } from "../../server/transfers/queries";
import { canTransition } from "../../server/transfers/state-machine";
import { verifyLedger } from "../../server/ledger/verify";
import { stopSender } from "../../server/jobs/queues";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { Account } from "../../server/ledger/accounts";

let db: TestDb;
let wallet: Account;
const partner = fakePartner();

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:p:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 100_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

type Step = { kind: "advance"; outcome: "accepted" | "rejected" | "retryable" | "unknown" } | { kind: "event"; type: "acknowledged" | "settled" | "failed" | "returned"; n: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), outcome: fc.constantFrom("accepted" as const, "rejected" as const, "retryable" as const, "unknown" as const) }),
  fc.record({ kind: fc.constant("event" as const), type: fc.constantFrom("acknowledged" as const, "settled" as const, "failed" as const, "returned" as const), n: fc.integer({ min: 0, max: 2 }) }),
);

describe("transfer state machine under arbitrary partner behaviour", () => {
  it("never takes an illegal edge and keeps the ledger consistent with the state", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), fc.bigInt({ min: 1n, max: 100_000n }), async (steps, amountMinor) => {
        const key = randomUUID();
        const { transfer } = await createTransfer(
          db,
          SYSTEM_ACTOR,
          { sourceAccountId: wallet.id, counterpartyName: "Prop Erty", counterpartyAccount: "NL91ABNA0417164300", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox" },
          { idempotencyKey: key },
        );
        partner.status = "not_found";
        for (const s of steps) {
          if (s.kind === "advance") {
            partner.script = [s.outcome];
            await db.pool.query(`UPDATE transfers SET next_attempt_at = NULL, lease_until = NULL WHERE id = $1 AND state IN ('created', 'reserved')`, [transfer.id]);
            await advanceTransfer(db, transfer.id, { adapterFor: () => partner });
          } else {
            // The same event id may arrive more than once (n repeats); each call must be harmless.
            await applyPartnerEvent(db, partnerEvent(key, s.type, s.n), { webhookEventId: null });
          }
        }
        const d = await getTransferDetail(db, transfer.id, { includeAudit: true });
        const events = d.events;
        if (process.env.DEBUG_PROP) console.log(JSON.stringify(events.map((e) => [e.id, e.fromState, e.toState, e.cause])));
        for (let i = 1; i < events.length; i++) {
          expect(events[i]!.fromState).toBe(events[i - 1]!.toState);
          expect(canTransition(events[i]!.fromState!, events[i]!.toState)).toBe(true);
        }
        expect(events[events.length - 1]!.toState).toBe(d.transfer.state);
        const hold = d.hold!;
        switch (d.transfer.state) {
          case "reserved":
          case "submitted":
          case "acknowledged":
            expect(hold.status).toBe("pending");
            expect(d.entries).toHaveLength(0);
            break;
          case "settled":
            expect(hold.status).toBe("posted");
            expect(d.entries).toHaveLength(1);
            expect(d.entries[0]!.reversedByEntryId).toBeNull();
            break;
          case "returned":
            expect(hold.status).toBe("posted");
            expect(d.entries).toHaveLength(2);
            expect(d.entries[1]!.reversesEntryId).toBe(d.entries[0]!.id);
            break;
          case "failed":
          case "cancelled":
            expect(hold.status).toBe("voided");
            expect(d.entries).toHaveLength(0);
            break;
          default:
            throw new Error(`unexpected state ${d.transfer.state}`);
        }
      }),
      { numRuns: 150 },
    );
    expect((await verifyLedger(db)).discrepancies).toEqual([]);
  });
});
