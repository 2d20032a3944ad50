/**
 * Admission control of new transfers (server/transfers/admission.ts): past the backlog bound a
 * create is refused with the typed, retryable OVERLOADED (503 with Retry-After over HTTP) and
 * nothing is written; a replay still gets its transfer; operator retries and partner webhooks go
 * on while admission is closed; once the backlog drains, creates are accepted again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { createTestDb, type TestDb } from "../support/test-db";
import { resetEnvForTests } from "../../server/env";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { fund, openAccount } from "../../server/ledger/testing";
import { getBalances } from "../../server/ledger/balances";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { retryTransfer } from "../../server/transfers/operations";
import { admissionGateFor } from "../../server/transfers/admission";
import { stopSender } from "../../server/jobs/queues";
import { processPendingWebhooks } from "../../server/transfers/webhook-processing";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { signPayload } from "../../server/core/signature";
import { partners } from "../../server/composition";
import { fakePartner } from "../support/fake-partner";
import { APP_ORIGIN, actorOf, httpHandler, makeUser } from "./auth-test-helpers";
import { approveKeyActivation } from "./approvals-test-helpers";
import { createCaller } from "../../server/api/root";
import { SERVICE_KEY_SCOPES } from "../../server/core/permissions";
import type { Account } from "../../server/ledger/accounts";

const SECRET = "whsec_admission_test_0123456789";
const saved = { ...process.env };
const BOUND = 4;
let db: TestDb;
let wallet: Account;
const partner = fakePartner();

beforeAll(async () => {
  process.env.TRANSFER_ADMISSION_ENABLED = "true";
  process.env.TRANSFER_ADMISSION_MAX_BACKLOG = String(BOUND);
  process.env.TRANSFER_ADMISSION_SAMPLE_MS = "10";
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = SECRET;
  resetEnvForTests();
  partners.reset();
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  wallet = await openAccount(db, { code: "customer:1:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 1_000_000n);
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
  for (const k of ["TRANSFER_ADMISSION_ENABLED", "TRANSFER_ADMISSION_MAX_BACKLOG", "TRANSFER_ADMISSION_SAMPLE_MS", "PARTNER_SANDBOX_WEBHOOK_SECRETS"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  resetEnvForTests();
  partners.reset();
});

const create = (key: string = randomUUID()) =>
  createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 100n, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: key });

/** Waits until the gate's background sample shows what `ok` wants. */
async function gateUntil(ok: (isOpen: boolean) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok((await admissionGateFor(db).state()).isOpen)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the admission gate did not change");
}

describe("admission control", () => {
  const keys: string[] = [];
  const ids: string[] = [];

  it("admits transfers up to the bound, then refuses with OVERLOADED and writes nothing", async () => {
    for (let i = 0; i <= BOUND; i++) {
      const key = randomUUID();
      const r = await create(key);
      keys.push(key);
      ids.push(r.transfer.id);
    }
    await gateUntil((open) => !open);
    const before = await getBalances(db, wallet.id);
    const key = randomUUID();
    const err = await create(key).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "OVERLOADED", isRetryable: true, details: { backlog: BOUND + 1, retryAfterSeconds: expect.any(Number) } });
    expect((err as Error).message).toMatch(/5 transfers are waiting for submission \(limit 4\)/);
    expect(await getBalances(db, wallet.id)).toEqual(before);
    expect((await db.pool.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [key])).rowCount).toBe(0);
  });

  it("still answers a replay of an admitted transfer with its result", async () => {
    const again = await create(keys[0]);
    expect(again).toMatchObject({ isReplay: true, transfer: { id: ids[0] } });
  });

  it("over HTTP the refusal is a 503 with Retry-After", async () => {
    const admin = await makeUser(db, "admission.admin@test.local", ["admin"]);
    const { secret, activationProposalId } = await createCaller({ db, actor: actorOf(admin), requestId: "t", ip: null }).admin.serviceKeys.create({ name: "payouts", scopes: [...SERVICE_KEY_SCOPES], reason: "admission test" });
    // A key that can move money works once a second person approves its activation (issue 14).
    await approveKeyActivation(db, activationProposalId);
    const body = { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "100", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() };
    const res = await httpHandler(db)(
      new Request(`${APP_ORIGIN}/api/trpc/transfers.create`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${secret}` }, body: JSON.stringify(superjson.serialize(body)) }),
    );
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const json = (await res.json()) as { error: { json: { data: { appCode: string; isRetryable: boolean } } } };
    expect(json.error.json.data).toMatchObject({ appCode: "OVERLOADED", isRetryable: true });
  });

  it("operator retries and partner webhooks go on while admission is closed", async () => {
    expect((await admissionGateFor(db).state()).isOpen).toBe(false);
    const retried = await retryTransfer(db, SYSTEM_ACTOR, { transferId: ids[1]!, reason: "operator retry while overloaded", idempotencyKey: randomUUID() });
    expect(retried.state).toBe("reserved");
    await advanceTransfer(db, ids[0]!, { adapterFor: () => partner });
    const t0 = (await db.pool.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM transfers WHERE id = $1`, [ids[0]])).rows[0]!;
    const at = new Date().toISOString();
    const raw = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, "")}`, type: "payment.settled", created_at: at, data: { payment_id: "p1", idempotency_key: t0.idempotency_key, transfer_id: "x", rail: "instant", status: "settled", amount_minor: "100", currency: "EUR", reason: null, occurred_at: at } });
    const headers = new Headers({ "content-type": "application/json", "x-event-id": (JSON.parse(raw) as { id: string }).id, "x-signature": signPayload(SECRET, raw, new Date()) });
    const res = await createWebhookHandler({ getDb: () => db, partners })(new Request("http://console.test/api/webhooks/sandbox", { method: "POST", headers, body: raw }), "sandbox");
    expect(res.status).toBe(200);
    await processPendingWebhooks(db, partners, 100);
    expect((await db.pool.query<{ state: string }>(`SELECT state FROM transfers WHERE id = $1`, [ids[0]])).rows[0]!.state).toBe("settled");
  });

  it("admits again once the backlog has drained below the bound", async () => {
    for (const id of ids.slice(1)) await advanceTransfer(db, id, { adapterFor: () => partner });
    await gateUntil((open) => open);
    const r = await create();
    expect(r.transfer.state).toBe("reserved");
  });
});
