/**
 * The idempotency contract under concurrency, through the HTTP API with service keys and signed-in
 * people:
 * - identical requests with one key, fired at once at every mutation that takes a key while other
 *   traffic drains the same account, are each answered with the stored result or the retryable
 *   IDEMPOTENCY_IN_PROGRESS, never a business error, and the effect happens exactly once;
 * - a key belongs to its caller (svc:<key id>/…, usr:<user id>/…): another caller's same key is a
 *   different request, writing another scope into a key reaches only one's own, and no caller can
 *   use or collide with the system's keys (transfer:<id>:settle cannot block a settlement);
 * - an internal idempotency conflict is a typed failure that surfaces on the transfer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { createTestDb, type TestDb } from "../support/test-db";
import { APP_ORIGIN, actorOf, httpHandler, makeUser, sessionCookieFor } from "./auth-test-helpers";
import { approveKeyActivation } from "./approvals-test-helpers";
import { createCaller } from "../../server/api/root";
import { SERVICE_KEY_SCOPES } from "../../server/core/permissions";
import { serviceActor, SYSTEM_ACTOR } from "../../server/core/actor";
import { resetEnvForTests } from "../../server/env";
import { openAccount, fund } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { stopSender } from "../../server/jobs/queues";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { queryTransferAtPartner } from "../../server/transfers/operations";
import { signPayload } from "../../server/core/signature";
import { partners } from "../../server/composition";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { processPendingWebhooks } from "../../server/transfers/webhook-processing";
import { fakePartner } from "../support/fake-partner";
import { randomIban, statementXml } from "./recon-test-helpers";
import type { Actor } from "../../server/core/actor";

const WEBHOOK_SECRET = "whsec_idempotency_contract_0123456789";
const savedSecrets = process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;

let t: TestDb;
let handle: (req: Request) => Promise<Response>;
let webhooks: (req: Request, partner: string) => Promise<Response>;
let keyA: Record<string, string>;
let keyB: Record<string, string>;
let keyAId: string;
let bankId: string;
/** A signed-in admin's browser (approvals.policy.propose is a person's power; no key holds it). */
let adminHeaders: Record<string, string>;
let adminActor: Actor;
const partner = fakePartner();

beforeAll(async () => {
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = WEBHOOK_SECRET;
  resetEnvForTests();
  partners.reset();
  t = await createTestDb({ poolMax: 24 });
  handle = httpHandler(t);
  webhooks = createWebhookHandler({ getDb: () => t, partners });
  const admin = await makeUser(t, "idem.admin@test.local", ["admin"]);
  const caller = createCaller({ db: t, actor: actorOf(admin), requestId: "setup", ip: null });
  const a = await caller.admin.serviceKeys.create({ name: "service-a", scopes: [...SERVICE_KEY_SCOPES], reason: "idempotency contract" });
  const b = await caller.admin.serviceKeys.create({ name: "service-b", scopes: [...SERVICE_KEY_SCOPES], reason: "idempotency contract" });
  // Keys that can move money work once a second person approves their activation.
  await approveKeyActivation(t, a.activationProposalId);
  await approveKeyActivation(t, b.activationProposalId);
  keyA = { "content-type": "application/json", authorization: `Bearer ${a.secret}` };
  keyB = { "content-type": "application/json", authorization: `Bearer ${b.secret}` };
  keyAId = a.key.id;
  adminHeaders = { "content-type": "application/json", origin: APP_ORIGIN, cookie: await sessionCookieFor(admin.id) };
  adminActor = actorOf(admin);
  bankId = (await openAccount(t, { code: "bank:EUR", type: "asset" })).id;
});
afterAll(async () => {
  await stopSender(t.pool);
  await t?.drop();
  if (savedSecrets === undefined) delete process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  else process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = savedSecrets;
  resetEnvForTests();
  partners.reset();
});

interface Answer {
  status: number;
  data?: Record<string, unknown>;
  error?: { message: string; data: { appCode: string | null; isRetryable: boolean } };
}

async function call(path: string, input: unknown, headers: Record<string, string>): Promise<Answer> {
  const res = await handle(new Request(`${APP_ORIGIN}/api/trpc/${path}`, { method: "POST", headers, body: JSON.stringify(superjson.serialize(input)) }));
  const body = (await res.json()) as { result?: { data: Parameters<typeof superjson.deserialize>[0] }; error?: { json: Answer["error"] } };
  if (body.result) return { status: res.status, data: superjson.deserialize(body.result.data) };
  return { status: res.status, error: body.error!.json };
}

/** A fresh no-overdraft wallet holding `amountMinor`. */
async function wallet(amountMinor: bigint): Promise<string> {
  const w = await openAccount(t, { code: `wallet:${randomUUID()}`, type: "liability", isNoOverdraft: true });
  await fund(t, bankId, w.id, amountMinor);
  return w.id;
}

/** Small transfers out of `walletId` under keys of their own, racing the duplicates. */
function drain(walletId: string, count: number, amountMinor: bigint): Promise<Answer>[] {
  return Array.from({ length: count }, () =>
    call("ledger.transfer", { debitAccountId: walletId, creditAccountId: bankId, amountMinor: amountMinor.toString(), currency: "EUR", idempotencyKey: `drain-${randomUUID()}` }, keyA),
  );
}

/**
 * What an answer identifies: the first entry or hold it returns, else the transfer, account,
 * proposal or comment; a bulk answer as a whole.
 */
function identity(path: string, a: Answer): unknown {
  if (a.data === undefined || a.data === null) return null;
  if (Array.isArray(a.data)) return JSON.stringify(a.data);
  if (path === "recon.importStatement") return (a.data as { importId: string }).importId;
  const d = a.data as { id?: string; transfer?: { id: string }; entries?: { entryId: string }[]; holds?: { holdId: string }[] };
  if (path === "transfers.create") return d.transfer!.id;
  return d.entries?.[0]?.entryId ?? d.holds?.[0]?.holdId ?? d.id;
}

const DUPLICATES = 12;
const ROUNDS = 3;

interface Scenario {
  path: string;
  /** Who sends the duplicates (default: service A). */
  headers?: () => Record<string, string>;
  /** Prepares one round: the request to duplicate, and the table rows that must exist once. */
  setup: () => Promise<{ input: Record<string, unknown>; walletId: string; countOnce: () => Promise<number> }>;
}

/** The key as stored for service A (and as sent, so that the count cannot miss a copy). */
const stored = (key: string) => [`svc:${keyAId}/${key}`, key];
const entryCount = (key: string) => async () => Number((await t.pool.query(`SELECT count(*) FROM journal_entries WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count);

const scenarios: Scenario[] = [
  {
    path: "ledger.transfer",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      return { walletId, input: { debitAccountId: walletId, creditAccountId: bankId, amountMinor: "800", currency: "EUR", idempotencyKey: key }, countOnce: entryCount(key) };
    },
  },
  {
    path: "ledger.entries.post",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      const postings = [
        { accountId: walletId, side: "debit", amountMinor: "800", currency: "EUR" },
        { accountId: bankId, side: "credit", amountMinor: "800", currency: "EUR" },
      ];
      return { walletId, input: { postings, idempotencyKey: key }, countOnce: entryCount(key) };
    },
  },
  {
    path: "ledger.batch",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      return {
        walletId,
        input: { items: [{ type: "transfer", debitAccountId: walletId, creditAccountId: bankId, amountMinor: "800", currency: "EUR" }], idempotencyKey: key },
        countOnce: entryCount(`${key}#0`),
      };
    },
  },
  {
    path: "ledger.holds.place",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      return {
        walletId,
        input: { debitAccountId: walletId, creditAccountId: bankId, amountMinor: "800", currency: "EUR", expiresAt: new Date(Date.now() + 3600_000), idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM holds WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count),
      };
    },
  },
  {
    path: "ledger.holds.post",
    setup: async () => {
      const walletId = await wallet(2_000n);
      const placed = await call("ledger.holds.place", { debitAccountId: walletId, creditAccountId: bankId, amountMinor: "800", currency: "EUR", expiresAt: new Date(Date.now() + 3600_000), idempotencyKey: randomUUID() }, keyA);
      const holdId = (placed.data!.holds as { holdId: string }[])[0]!.holdId;
      const key = randomUUID();
      return { walletId, input: { holdId, idempotencyKey: key }, countOnce: entryCount(key) };
    },
  },
  {
    path: "ledger.holds.void",
    setup: async () => {
      const walletId = await wallet(2_000n);
      const placed = await call("ledger.holds.place", { debitAccountId: walletId, creditAccountId: bankId, amountMinor: "800", currency: "EUR", expiresAt: new Date(Date.now() + 3600_000), idempotencyKey: randomUUID() }, keyA);
      const holdId = (placed.data!.holds as { holdId: string }[])[0]!.holdId;
      const key = randomUUID();
      return {
        walletId,
        input: { holdId, idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM idempotency_records WHERE key = ANY($1::text[])`, [stored(key)])).rows[0].count),
      };
    },
  },
  {
    path: "ledger.entries.reverse",
    setup: async () => {
      const walletId = await wallet(500n);
      const topUp = await executeLedgerCommand(t, SYSTEM_ACTOR, { type: "transfer", debitAccountId: bankId, creditAccountId: walletId, amountMinor: 800n, currency: "EUR" }, { idempotencyKey: `topup:${randomUUID()}` });
      const key = randomUUID();
      return { walletId, input: { entryId: topUp.entries[0]!.entryId, idempotencyKey: key }, countOnce: entryCount(key) };
    },
  },
  {
    path: "transfers.create",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      return {
        walletId,
        input: { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "800", currency: "EUR", rail: "instant", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM transfers WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count),
      };
    },
  },
  {
    path: "ledger.accounts.create",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      const code = `acct:${randomUUID()}`;
      return {
        walletId,
        input: { code, name: "Concurrent", currency: "EUR", type: "liability", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM ledger_accounts WHERE code = $1`, [code])).rows[0].count),
      };
    },
  },
  {
    path: "approvals.propose",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const code = (await t.pool.query<{ code: string }>(`SELECT code FROM ledger_accounts WHERE id = $1`, [walletId])).rows[0]!.code;
      const key = randomUUID();
      const payload = { description: "correction", postings: [{ accountCode: code, side: "debit", amount: "8.00", currency: "EUR" }, { accountCode: "bank:EUR", side: "credit", amount: "8.00", currency: "EUR" }] };
      return {
        walletId,
        input: { kind: "journal_entry", payload, reason: "duplicate proposal test", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM adjustment_proposals WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count),
      };
    },
  },
  // Issue 16 gap 1: the keyed mutations the first version of this table did not cover.
  {
    path: "ledger.accounts.freeze",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const key = randomUUID();
      return { walletId, input: { accountId: walletId, reason: "suspected takeover", idempotencyKey: key }, countOnce: recordCount(key) };
    },
  },
  {
    path: "ledger.accounts.unfreeze",
    setup: async () => {
      const walletId = await wallet(1_000n);
      expect((await call("ledger.accounts.freeze", { accountId: walletId, reason: "suspected takeover", idempotencyKey: randomUUID() }, keyA)).status).toBe(200);
      const key = randomUUID();
      return { walletId, input: { accountId: walletId, reason: "customer verified", idempotencyKey: key }, countOnce: proposalCount(key) };
    },
  },
  {
    path: "transfers.cancel",
    setup: async () => {
      const { walletId, transferId } = await reservedTransfer();
      const key = randomUUID();
      return { walletId, input: { transferId, reason: "customer asked", idempotencyKey: key }, countOnce: eventCount(transferId, "cancelled") };
    },
  },
  {
    path: "transfers.retry",
    setup: async () => {
      const { walletId, transferId } = await reservedTransfer();
      const key = randomUUID();
      return { walletId, input: { transferId, reason: "partner is back", idempotencyKey: key }, countOnce: auditCount(transferId, "transfer.retry") };
    },
  },
  {
    path: "transfers.bulkRetry",
    setup: async () => {
      const { walletId, transferId } = await reservedTransfer();
      const key = randomUUID();
      return { walletId, input: { transferIds: [transferId], reason: "partner is back", idempotencyKey: key }, countOnce: auditCount(transferId, "transfer.retry") };
    },
  },
  {
    path: "transfers.markFailed",
    setup: async () => {
      const { walletId, transferId } = await reservedTransfer();
      const key = randomUUID();
      return { walletId, input: { transferId, reason: "beneficiary closed the account", idempotencyKey: key }, countOnce: eventCount(transferId, "failed") };
    },
  },
  {
    path: "transfers.proposeForceOutcome",
    setup: async () => {
      const { walletId, transferId } = await reservedTransfer();
      await advanceTransfer(t, transferId, { adapterFor: () => partner });
      const key = randomUUID();
      return { walletId, input: { transferId, outcome: "settled", evidence: "statement line 12", reason: "the bank statement shows it paid", idempotencyKey: key }, countOnce: proposalCount(key) };
    },
  },
  {
    path: "approvals.comment",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const code = (await t.pool.query<{ code: string }>(`SELECT code FROM ledger_accounts WHERE id = $1`, [walletId])).rows[0]!.code;
      const payload = { description: "correction", postings: [{ accountCode: code, side: "debit", amount: "1.00", currency: "EUR" }, { accountCode: "bank:EUR", side: "credit", amount: "1.00", currency: "EUR" }] };
      const proposed = await call("approvals.propose", { kind: "journal_entry", payload, reason: "to comment on", idempotencyKey: randomUUID() }, keyA);
      const key = randomUUID();
      return {
        walletId,
        input: { proposalId: proposed.data!.id, body: "the statement line is attached", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM adjustment_comments WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count),
      };
    },
  },
  {
    path: "approvals.policy.propose",
    headers: () => adminHeaders,
    setup: async () => {
      const walletId = await wallet(1_000n);
      const version = Number((await t.pool.query(`SELECT max(version) AS v FROM approval_policies`)).rows[0].v);
      const key = randomUUID();
      return {
        walletId,
        input: { basedOnVersion: version, thresholds: { EUR: "10000.00" }, expiryHours: 48, reason: "raise the EUR threshold", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM adjustment_proposals WHERE idempotency_key LIKE '%/' || $1`, [key])).rows[0].count),
      };
    },
  },
  // Recon's own scheme (server/recon/idempotency.ts): a duplicate in flight is answered
  // IDEMPOTENCY_IN_PROGRESS at once, without waiting.
  {
    path: "recon.importStatement",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const { sourceId, iban } = await reconSource();
      const xml = statementXml([{ iban, entries: [{ amountMinor: 12_34n, remittanceInfo: "duplicate import" }] }]);
      const key = randomUUID();
      return {
        walletId,
        input: { fileName: "s.xml", contentBase64: Buffer.from(xml).toString("base64"), idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM recon_imports WHERE source_id = $1`, [sourceId])).rows[0].count),
      };
    },
  },
  {
    path: "recon.breaks.note",
    setup: async () => {
      const walletId = await wallet(1_000n);
      const { sourceId, iban } = await reconSource();
      const xml = statementXml([{ iban, entries: [{ amountMinor: 56_78n, remittanceInfo: "nobody knows" }] }]);
      const imported = await call("recon.importStatement", { fileName: "b.xml", contentBase64: Buffer.from(xml).toString("base64"), idempotencyKey: randomUUID() }, keyA);
      expect(imported.status, JSON.stringify(imported.error)).toBe(200);
      const breakId = (await t.pool.query<{ id: string }>(`SELECT b.id FROM recon_breaks b WHERE b.source_id = $1 AND b.status = 'open' LIMIT 1`, [sourceId])).rows[0]!.id;
      const key = randomUUID();
      return {
        walletId,
        input: { breakId, note: "asked the bank", idempotencyKey: key },
        countOnce: async () => Number((await t.pool.query(`SELECT count(*) FROM recon_break_events WHERE break_id = $1 AND kind = 'note'`, [breakId])).rows[0].count),
      };
    },
  },
];

/** A bank-account reconciliation source on a fresh ledger account (a rules admin's work). */
async function reconSource(): Promise<{ sourceId: string; iban: string }> {
  const account = await openAccount(t, { code: `bank:recon:${randomUUID().slice(0, 8)}`, type: "asset" });
  const iban = randomIban();
  const caller = createCaller({ db: t, actor: adminActor, requestId: "setup", ip: null });
  const source = await caller.recon.sources.create({ name: `Idem bank ${randomUUID().slice(0, 8)}`, kind: "bank_account", ledgerAccount: account.code, iban, idempotencyKey: randomUUID() });
  return { sourceId: source.id, iban };
}

/** A transfer from a fresh wallet, reserved and not yet submitted. */
async function reservedTransfer(): Promise<{ walletId: string; transferId: string }> {
  const walletId = await wallet(10_000n);
  const created = await call("transfers.create", { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "500", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() }, keyA);
  expect(created.status, JSON.stringify(created.error)).toBe(200);
  return { walletId, transferId: (created.data!.transfer as { id: string }).id };
}
const recordCount = (key: string) => async () => Number((await t.pool.query(`SELECT count(*) FROM idempotency_records WHERE key = ANY($1::text[])`, [stored(key)])).rows[0].count);
const proposalCount = (key: string) => async () => Number((await t.pool.query(`SELECT count(*) FROM adjustment_proposals WHERE idempotency_key = ANY($1::text[])`, [stored(key)])).rows[0].count);
const eventCount = (transferId: string, toState: string) => async () => Number((await t.pool.query(`SELECT count(*) FROM transfer_events WHERE transfer_id = $1 AND to_state = $2::transfer_state`, [transferId, toState])).rows[0].count);
const auditCount = (transferId: string, action: string) => async () => Number((await t.pool.query(`SELECT count(*) FROM audit_log WHERE target_type = 'transfer' AND target_id = $1 AND action = $2`, [transferId, action])).rows[0].count);

describe("identical requests with one key, at once, while other traffic drains the account", () => {
  it.each(scenarios.map((s) => [s.path, s] as const))("%s: every answer is the stored result or IN_PROGRESS, and the effect happens once", async (path, scenario) => {
    for (let round = 0; round < ROUNDS; round++) {
      const { input, walletId, countOnce } = await scenario.setup();
      const answers = await Promise.all([
        ...Array.from({ length: DUPLICATES }, () => call(path, input, scenario.headers?.() ?? keyA)),
        ...drain(walletId, 8, 20n),
      ]).then((all) => all.slice(0, DUPLICATES));
      const ok = answers.filter((a) => a.status === 200);
      expect(ok.length, `${path} round ${round}: ${JSON.stringify(answers.filter((a) => a.status !== 200).map((a) => a.error))}`).toBeGreaterThan(0);
      for (const a of answers) {
        if (a.status === 200) continue;
        expect(a.status, `${path}: ${JSON.stringify(a.error)}`).toBe(409);
        expect(a.error!.data).toMatchObject({ appCode: "IDEMPOTENCY_IN_PROGRESS", isRetryable: true });
      }
      expect(new Set(ok.map((a) => identity(path, a))).size, `${path}: one identity for every answer`).toBe(1);
      expect(await countOnce(), `${path}: applied once`).toBe(1);
    }
  }, 60_000);
});

describe("transfers.queryPartner with one key, at once", () => {
  // The route calls queryTransferAtPartner with the configured partner adapters; here the same
  // function gets a scripted partner, so the answer is known.
  it("every duplicate gets the first query's answer, and the query is recorded once", async () => {
    const { transferId } = await reservedTransfer();
    const scripted = fakePartner();
    scripted.status = "not_found";
    const actor = serviceActor({ id: keyAId, name: "service-a", scopes: [...SERVICE_KEY_SCOPES] });
    const input = { transferId, reason: "where is it", idempotencyKey: randomUUID() };
    const ask = () => queryTransferAtPartner(t, actor, input, () => scripted);
    const answers = await Promise.all(Array.from({ length: DUPLICATES }, ask));
    const shape = (a: Awaited<ReturnType<typeof ask>>) => JSON.stringify([a.transfer.id, a.transfer.state, a.transfer.version.toString(), a.partnerStatus, a.isApplied]);
    expect(new Set(answers.map(shape)).size).toBe(1);
    const recorded = await t.pool.query(`SELECT 1 FROM audit_log WHERE target_type = 'transfer' AND target_id = $1 AND action = 'transfer.query_partner'`, [transferId]);
    expect(recorded.rowCount).toBe(1);
    // A later repeat with the key is answered from the record too.
    expect(shape(await ask())).toBe(shape(answers[0]!));
    expect((await t.pool.query(`SELECT 1 FROM audit_log WHERE target_type = 'transfer' AND target_id = $1 AND action = 'transfer.query_partner'`, [transferId])).rowCount).toBe(1);
  });
});

describe("keys belong to their caller", () => {
  it("two callers may use the same key for different requests; each replays its own", async () => {
    const walletId = await wallet(10_000n);
    const mk = (amount: string) => ({ debitAccountId: walletId, creditAccountId: bankId, amountMinor: amount, currency: "EUR", idempotencyKey: "order-1" });
    const a = await call("ledger.transfer", mk("100"), keyA);
    const b = await call("ledger.transfer", mk("200"), keyB);
    expect([a.status, b.status]).toEqual([200, 200]);
    const entryOf = (x: Answer) => (x.data!.entries as { entryId: string }[])[0]!.entryId;
    expect(entryOf(a)).not.toBe(entryOf(b));
    const againA = await call("ledger.transfer", mk("100"), keyA);
    const againB = await call("ledger.transfer", mk("200"), keyB);
    expect([entryOf(againA), againA.data!.isReplay]).toEqual([entryOf(a), true]);
    expect([entryOf(againB), againB.data!.isReplay]).toEqual([entryOf(b), true]);
    // The key is conflicting only within a caller.
    const conflict = await call("ledger.transfer", mk("300"), keyA);
    expect(conflict.error!.data.appCode).toBe("IDEMPOTENCY_CONFLICT");
  });

  it("a caller cannot replay or block another caller's transfer with its key", async () => {
    const walletId = await wallet(10_000n);
    const req = { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "100", currency: "EUR", rail: "instant", idempotencyKey: "payout-7" };
    const a = await call("transfers.create", req, keyA);
    const b = await call("transfers.create", { ...req, amountMinor: "150" }, keyB);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((a.data!.transfer as { id: string }).id).not.toBe((b.data!.transfer as { id: string }).id);
  });

  it("a caller's transfer:<id>:settle key is the caller's own: the transfer still settles under the system's key", async () => {
    const walletId = await wallet(10_000n);
    const created = await call("transfers.create", { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "500", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() }, keyA);
    const transfer = created.data!.transfer as { id: string; idempotencyKey: string };
    // The attack from the review: the same key string as the system's settlement and void.
    for (const suffix of ["settle", "void"]) {
      const squat = await call("ledger.transfer", { debitAccountId: walletId, creditAccountId: bankId, amountMinor: "1", currency: "EUR", idempotencyKey: `transfer:${transfer.id}:${suffix}` }, keyA);
      expect(squat.status).toBe(200);
    }
    await advanceTransfer(t, transfer.id, { adapterFor: () => partner });
    await deliver(transfer.idempotencyKey, "settled");
    const row = (await t.pool.query<{ state: string; last_error: string | null }>(`SELECT state, last_error FROM transfers WHERE id = $1`, [transfer.id])).rows[0]!;
    expect(row).toEqual({ state: "settled", last_error: null });
    const settleEntry = await t.pool.query(`SELECT 1 FROM journal_entries WHERE idempotency_key = $1`, [`transfer:${transfer.id}:settle`]);
    expect(settleEntry.rowCount).toBe(1);
  });

  it("an internal idempotency conflict is typed and surfaces on the transfer with a reason", async () => {
    const walletId = await wallet(10_000n);
    const created = await call("transfers.create", { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "500", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() }, keyA);
    const transfer = created.data!.transfer as { id: string; idempotencyKey: string };
    await advanceTransfer(t, transfer.id, { adapterFor: () => partner });
    // Something inside the system (a bug, or hands on the database) took the settlement key.
    await t.pool.query(`INSERT INTO idempotency_records (key, request_hash, command_type, response) VALUES ($1, 'not-this-request', 'transfer', '{}'::jsonb)`, [`transfer:${transfer.id}:settle`]);
    await deliver(transfer.idempotencyKey, "settled");
    const row = (await t.pool.query<{ state: string; last_error: string | null; attention_reason: string | null }>(`SELECT state, last_error, attention_reason FROM transfers WHERE id = $1`, [transfer.id])).rows[0]!;
    expect(row.state).toBe("submitted");
    expect(row.last_error).toMatch(/IDEMPOTENCY_CONFLICT: idempotency key transfer:.*:settle was already used/);
    expect(row.attention_reason).toMatch(/reported settled, which cannot be booked \(IDEMPOTENCY_CONFLICT\)/);
  });
});

describe("a person's keys are the person's own (usr:<user id>/…)", () => {
  let alice: { id: string; headers: Record<string, string> };
  let bob: { id: string; headers: Record<string, string> };
  const asPerson = async (email: string) => {
    const u = await makeUser(t, email, ["operator"]);
    return { id: u.id, headers: { "content-type": "application/json", origin: APP_ORIGIN, cookie: await sessionCookieFor(u.id) } };
  };
  beforeAll(async () => {
    alice = await asPerson("idem.alice@test.local");
    bob = await asPerson("idem.bob@test.local");
  });

  /** A journal entry proposal moving `amount` (decimal EUR) out of a fresh wallet, under `key`. */
  const proposal = async (amount: string, key: string) => {
    const walletId = await wallet(10_000n);
    const code = (await t.pool.query<{ code: string }>(`SELECT code FROM ledger_accounts WHERE id = $1`, [walletId])).rows[0]!.code;
    const payload = { description: "scoped key", postings: [{ accountCode: code, side: "debit", amount, currency: "EUR" }, { accountCode: "bank:EUR", side: "credit", amount, currency: "EUR" }] };
    return { kind: "journal_entry", payload, reason: "person-scoped idempotency key", idempotencyKey: key };
  };
  const storedKeyOf = async (proposalId: string) => (await t.pool.query<{ k: string }>(`SELECT idempotency_key AS k FROM adjustment_proposals WHERE id = $1`, [proposalId])).rows[0]!.k;

  it("a person, another person and a service key may use one key for different requests; each replays its own", async () => {
    const key = `shared-${randomUUID()}`;
    const callers = [
      { who: alice.headers, scope: `usr:${alice.id}`, input: await proposal("1.00", key) },
      { who: bob.headers, scope: `usr:${bob.id}`, input: await proposal("2.00", key) },
      { who: keyA, scope: `svc:${keyAId}`, input: await proposal("3.00", key) },
    ];
    const first = [];
    for (const c of callers) {
      const a = await call("approvals.propose", c.input, c.who);
      expect(a.status, JSON.stringify(a.error)).toBe(200);
      expect(await storedKeyOf(a.data!.id as string)).toBe(`${c.scope}/${key}`);
      first.push(a.data!.id as string);
    }
    expect(new Set(first).size).toBe(3);
    for (const [i, c] of callers.entries()) {
      const again = await call("approvals.propose", c.input, c.who);
      expect([again.data!.id, again.data!.isReplay]).toEqual([first[i], true]);
    }
    // Within one person the key still binds one request.
    const conflict = await call("approvals.propose", callers[1]!.input, alice.headers);
    expect(conflict.error!.data.appCode).toBe("IDEMPOTENCY_CONFLICT");
  });

  it("a person who writes another caller's scope into a key reaches only their own scope", async () => {
    const input = await proposal("4.00", `k-${randomUUID()}`);
    const byKey = await call("approvals.propose", input, keyA);
    const forged = `svc:${keyAId}/${input.idempotencyKey}`;
    const byAlice = await call("approvals.propose", { ...input, idempotencyKey: forged }, alice.headers);
    expect([byKey.status, byAlice.status]).toEqual([200, 200]);
    expect(byAlice.data!.isReplay).toBe(false);
    expect(byAlice.data!.id).not.toBe(byKey.data!.id);
    expect(await storedKeyOf(byAlice.data!.id as string)).toBe(`usr:${alice.id}/${forged}`);
  });

  it("a person cannot write the system's keys: a freeze keyed transfer:<id>:settle does not stop the settlement", async () => {
    const walletId = await wallet(10_000n);
    const other = await wallet(100n);
    const created = await call("transfers.create", { sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "500", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() }, keyA);
    const transfer = created.data!.transfer as { id: string; idempotencyKey: string };
    const systemKey = `transfer:${transfer.id}:settle`;
    const squat = await call("ledger.accounts.freeze", { accountId: other, reason: "squatting the settlement key", idempotencyKey: systemKey }, alice.headers);
    expect(squat.status, JSON.stringify(squat.error)).toBe(200);
    expect((await t.pool.query(`SELECT 1 FROM idempotency_records WHERE key = $1`, [`usr:${alice.id}/${systemKey}`])).rowCount).toBe(1);
    await advanceTransfer(t, transfer.id, { adapterFor: () => partner });
    await deliver(transfer.idempotencyKey, "settled");
    const row = (await t.pool.query<{ state: string; last_error: string | null }>(`SELECT state, last_error FROM transfers WHERE id = $1`, [transfer.id])).rows[0]!;
    expect(row).toEqual({ state: "settled", last_error: null });
    expect((await t.pool.query(`SELECT 1 FROM journal_entries WHERE idempotency_key = $1`, [systemKey])).rowCount).toBe(1);
  });
});

/** A signed settlement webhook through the real route, then the worker's processing. */
async function deliver(partnerKey: string, type: string): Promise<void> {
  const at = new Date().toISOString();
  const body = JSON.stringify({
    id: `evt_${randomUUID().replace(/-/g, "")}`,
    type: `payment.${type}`,
    created_at: at,
    data: { payment_id: `ref-${partnerKey}`, idempotency_key: partnerKey, transfer_id: "x", rail: "instant", status: type, amount_minor: "500", currency: "EUR", reason: null, occurred_at: at },
  });
  const headers = new Headers({ "content-type": "application/json", "x-event-id": (JSON.parse(body) as { id: string }).id, "x-signature": signPayload(WEBHOOK_SECRET, body, new Date()) });
  const res = await webhooks(new Request("http://console.test/api/webhooks/sandbox", { method: "POST", headers, body }), "sandbox");
  expect(res.status).toBe(200);
  await processPendingWebhooks(t, partners, 100);
}
