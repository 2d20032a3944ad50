/**
 * One transfer, one trace: the API call that creates it, the worker's job that submits it, the
 * partner call (which carries the trace as `traceparent` and `x-correlation-id`), the database
 * statements in between, and the webhook that settles it all share the trace id of the creating
 * call, recorded by an in-memory exporter. The job finds the trace in its payload, the webhook in
 * the transfer's row.
 */
import { randomUUID } from "node:crypto";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { resetEnvForTests } from "../../server/env";
import { createCaller } from "../../server/api/root";
import { serviceActor } from "../../server/core/actor";
import { openAccount, fund } from "../../server/ledger/testing";
import { stopSender } from "../../server/jobs/queues";
import { partners } from "../../server/composition";
import { createSandboxAdapter } from "../../server/partners/sandbox-adapter";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { startWorker, type WorkerHandle } from "../../server/worker/worker";
import { startTracingForTests } from "../../server/observability/tracing";
import { eventually, startReceiver, startTestSandbox, TEST_SECRET, type Receiver } from "./sandbox-test-helpers";
import type { SandboxHandle } from "../../server/sandbox/server";

const savedSecrets = process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let db: TestDb;
let walletId: string;
let receiver: Receiver;
let sandbox: SandboxHandle;
let worker: WorkerHandle | undefined;
const partnerHeaders: Headers[] = [];

beforeAll(async () => {
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = TEST_SECRET;
  resetEnvForTests();
  partners.reset();
  stopTracing = await startTracingForTests(exporter);
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  const wallet = await openAccount(db, { code: "customer:trace:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 100_000n);
  walletId = wallet.id;
  const webhooks = createWebhookHandler({ getDb: () => db, partners });
  receiver = await startReceiver((req) => webhooks(req, "sandbox"));
  sandbox = await startTestSandbox(db, receiver.url, { isTicking: true });
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.close();
  await receiver?.close();
  await stopSender(db.pool);
  await db?.drop();
  await stopTracing();
  if (savedSecrets === undefined) delete process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  else process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = savedSecrets;
  resetEnvForTests();
  partners.reset();
});

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe("a transfer's trace", () => {
  it("API call, submission, partner call, database statements and webhook share one trace", { timeout: 60_000 }, async () => {
    const recordingFetch: typeof fetch = (input, init) => {
      partnerHeaders.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const adapter = createSandboxAdapter({ baseUrl: sandbox.url, webhookSecrets: [TEST_SECRET], toleranceSeconds: 300, timeoutMs: { instant: 5_000, batch: 5_000 }, fetch: recordingFetch });
    const caller = createCaller({ db, actor: serviceActor({ id: randomUUID(), name: "payouts", scopes: ["transfers:create", "transfers:read"] }), requestId: "trace-test", ip: null });

    const { transfer } = await caller.transfers.create({
      sourceAccountId: walletId,
      counterpartyName: "Jane Doe",
      counterpartyAccount: "DE89370400440532013000",
      amountMinor: "4200",
      currency: "EUR",
      rail: "instant",
      reference: "trace me",
      idempotencyKey: randomUUID(),
    });
    const api = named(exporter.getFinishedSpans(), "trpc transfers.create");
    expect(api).toHaveLength(1);
    const traceId = api[0]!.spanContext().traceId;

    // The transfer keeps the creating call's trace: the worker that claims it continues that trace.
    const row = (await db.pool.query<{ trace_parent: string }>(`SELECT trace_parent FROM transfers WHERE id = $1`, [transfer.id])).rows[0]!;
    expect(row.trace_parent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    worker = await startWorker({
      databaseUrl: db.url,
      db,
      metricsPort: 0,
      jobs: [],
      outboxRelay: false,
      orchestration: { concurrency: 1, sweepIntervalMs: 200, deps: { adapterFor: () => adapter } },
    });
    await eventually(async () => (await db.pool.query(`SELECT 1 FROM transfers WHERE id = $1 AND state = 'settled'`, [transfer.id])).rowCount === 1, 30_000);
    await eventually(() => named(exporter.getFinishedSpans(), "webhook.apply").some((s) => s.spanContext().traceId === traceId), 10_000);

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const claimSpan = named(spans, "transfer.submission");
    expect(claimSpan).toHaveLength(1);
    expect(claimSpan[0]!.attributes["transfer.id"]).toBe(transfer.id);
    expect(claimSpan[0]!.attributes["transfer.step"]).toBe("submitted");
    const submit = named(spans, "partner.submit");
    expect(submit).toHaveLength(1);
    // The partner call is the claim's child, and the partner got the trace in its headers.
    expect(submit[0]!.parentSpanContext?.spanId).toBe(claimSpan[0]!.spanContext().spanId);
    const sent = partnerHeaders.find((h) => h.get("idempotency-key") !== null)!;
    expect(sent.get("x-correlation-id")).toBe(traceId);
    expect(sent.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-`));
    expect(named(spans, "webhook.apply").length).toBeGreaterThanOrEqual(1);
    expect(spans.some((s) => s.name.startsWith("db ") && s.attributes["db.system.name"] === "postgresql")).toBe(true);
  });
});
