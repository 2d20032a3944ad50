/**
 * /api/metrics (server/slo/metrics-http.ts) against a real database: refused without
 * the bearer token (404 when none is configured, 401 when missing or wrong), and with it a body
 * that parses as Prometheus text and holds the figures the issue lists, read from the database:
 * transfers, queues, webhooks, integrity, procedure latency, and each objective's SLI, budget, burn
 * rates and alert state and reconciliation's match rate and open breaks against a known state.
 */
import { randomUUID } from "node:crypto";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { createCaller } from "../../server/api/root";
import { serviceActor } from "../../server/core/actor";
import { openAccount, fund } from "../../server/ledger/testing";
import { BOSS_SCHEMA, stopSender } from "../../server/jobs/queues";
import { PgBoss } from "pg-boss";
import { createMetricsHandler, isAuthorizedScrape } from "../../server/slo/metrics-http";
import { webMetrics } from "../../server/observability/metrics";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { ensureDefaultSlos } from "../../server/slo/definitions";
import { evaluateAndPublish } from "../../server/slo/evaluate";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { OPERATOR, bankSource, bytes, statementXml } from "./recon-test-helpers";

const TOKEN = "scrape-token-0123456789abcdef";
let db: TestDb;
let walletId: string;

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  const wallet = await openAccount(db, { code: "customer:metrics:wallet", type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 100_000n);
  walletId = wallet.id;
});
afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const scrape = (handler: (r: Request) => Promise<Response>, authorization?: string) =>
  handler(new Request("http://console/api/metrics", { headers: authorization ? { authorization } : {} }));

const value = (families: PrometheusFamily[], name: string, labels: Record<string, string> = {}) => {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value === undefined ? undefined : Number(sample.value);
};

describe("/api/metrics", () => {
  it("does not exist without a configured token, and refuses a scrape without the right one", async () => {
    expect((await scrape(createMetricsHandler({ getDb: () => db, token: null }), `Bearer ${TOKEN}`)).status).toBe(404);
    const handler = createMetricsHandler({ getDb: () => db, token: TOKEN, registry: new Registry() });
    for (const auth of [undefined, "Bearer", `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
      const res = await scrape(handler, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain("transfers_active");
    }
    expect(isAuthorizedScrape(`bearer   ${TOKEN}`, TOKEN)).toBe(true);
  });

  it("answers Prometheus text with transfers, queues, webhooks, integrity and procedure latency", async () => {
    // A procedure call records its latency in the web registry.
    const caller = createCaller({ db, actor: serviceActor({ id: randomUUID(), name: "payouts", scopes: ["transfers:create", "transfers:read"] }), requestId: "metrics-test", ip: null });
    await caller.transfers.create({ sourceAccountId: walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: "500", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() });
    await db.pool.query(`UPDATE transfers SET state_changed_at = now() - interval '2 hours' WHERE state = 'reserved'`).catch(() => undefined);

    const handler = createMetricsHandler({ getDb: () => db, token: TOKEN, registry: webMetrics().registry });
    const res = await scrape(handler, `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = parsePrometheusTextFormat(text);

    expect(value(families, "console_database_up")).toBe(1);
    expect(value(families, "transfers_active", { state: "reserved" })).toBe(1);
    expect(value(families, "transfers_active", { state: "submitted" })).toBe(0);
    expect(value(families, "transfers_stuck", { state: "reserved" })).toBe(1);
    // The transfer waiting for submission is the transfer-advance queue's depth, two hours old.
    expect(value(families, "job_queue_depth", { queue: "transfer-advance" })).toBe(1);
    expect(value(families, "job_queue_oldest_age_seconds", { queue: "transfer-advance" })).toBeGreaterThan(7_000);
    expect(value(families, "webhook_lag_seconds")).toBe(0);
    expect(value(families, "webhook_pending_events")).toBe(0);
    // No integrity check has run in this database yet.
    expect(value(families, "ledger_integrity_ok")).toBe(-1);
    expect(value(families, "audit_chain_intact")).toBe(-1);
    const latency = families.find((f) => f.name === "trpc_request_duration_seconds");
    expect(latency?.type).toBe("HISTOGRAM");
    // (The parser drops a histogram's labels; read the count's line itself.)
    expect(text).toMatch(/^trpc_request_duration_seconds_count\{procedure="transfers\.create",type="mutation",outcome="ok"\} [1-9]\d*$/m);
  });

  it("reports the last integrity checks from the worker's jobs", async () => {
    const boss = new PgBoss({ connectionString: db.url, schema: BOSS_SCHEMA, supervise: false, schedule: false });
    await boss.start();
    for (const q of ["ledger-verify", "audit-verify"]) await boss.createQueue(q);
    await boss.stop({ graceful: false });
    await db.pool.query(
      `INSERT INTO pgboss.job (name, state, data, output, completed_on) VALUES ('ledger-verify', 'completed', '{}', '{"isOk": false}', now() - interval '90 seconds'),
         ('audit-verify', 'completed', '{}', '{"isIntact": true}', now() - interval '30 seconds')`,
    );
    const res = await scrape(createMetricsHandler({ getDb: () => db, token: TOKEN, registry: new Registry() }), `Bearer ${TOKEN}`);
    const families = parsePrometheusTextFormat(await res.text());
    expect(value(families, "ledger_integrity_ok")).toBe(0);
    expect(value(families, "ledger_integrity_check_age_seconds")).toBeGreaterThanOrEqual(89);
    expect(value(families, "audit_chain_intact")).toBe(1);
  });

  it("still answers, with console_database_up 0, when the database cannot", async () => {
    const broken = { ...db, pool: { connect: () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })) } } as unknown as TestDb;
    const res = await scrape(createMetricsHandler({ getDb: () => broken, token: TOKEN, registry: new Registry() }), `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(value(parsePrometheusTextFormat(await res.text()), "console_database_up")).toBe(0);
  });

  it("exports each objective's SLI, budget, burn rates and alert state, and reconciliation's match rate and open breaks, as evaluated", { timeout: 60_000 }, async () => {
    // A database of its own, so every figure is known: 4 transfers settled and 4 failed by the
    // partner two minutes ago; one statement of 2 lines of which one matches a ledger posting.
    const own = await createTestDb();
    try {
      const bank = await openAccount(own, { code: "bank:EUR", type: "asset" });
      const wallet = await openAccount(own, { code: "customer:gauges:wallet", type: "liability", isNoOverdraft: true });
      await fund(own, bank.id, wallet.id, 1_000_000n);
      expect(await ensureDefaultSlos(own)).toBe(7);
      const partner = fakePartner();
      const at = new Date(Date.now() - 2 * 60_000);
      for (let i = 0; i < 8; i++) {
        const { transfer } = await createTransfer(own, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 1_000n, currency: "EUR", rail: "instant", partner: "sandbox" }, { idempotencyKey: randomUUID(), now: at });
        await advanceTransfer(own, transfer.id, { adapterFor: () => partner, now: () => at });
        const done = new Date(at.getTime() + 1_000);
        if (i % 2 === 0) await applyPartnerEvent(own, partnerEvent(transfer.idempotencyKey, "settled", 1), { webhookEventId: null, now: done });
        else await applyPartnerEvent(own, { ...partnerEvent(transfer.idempotencyKey, "failed", 1), reason: "bank_internal_error" }, { webhookEventId: null, now: done });
      }
      const src = await bankSource(own);
      const today = new Date().toISOString().slice(0, 10);
      const counter = await openAccount(own, { code: "clearing:gauges", type: "liability" });
      await executeLedgerCommand(
        own,
        SYSTEM_ACTOR,
        { type: "post_entry", entry: { effectiveAt: new Date(`${today}T00:00:01Z`), metadata: { reference: "gauge-0001" }, postings: [{ accountId: src.accountId, side: "debit", amountMinor: 12_00n, currency: "EUR" }, { accountId: counter.id, side: "credit", amountMinor: 12_00n, currency: "EUR" }] } },
        { idempotencyKey: `gauge:${randomUUID()}` },
      );
      await importStatement(own, OPERATOR, { sourceId: src.id, fileName: "g.xml", content: bytes(statementXml([{ iban: src.iban!, sequence: null, date: today, entries: [{ amountMinor: 12_00n, endToEndId: "GAUGE-0001" }, { amountMinor: 7_00n, endToEndId: "GAUGE-0002" }] }])) });
      const run = await runReconciliation(own, OPERATOR, { sourceId: src.id, periodFrom: today, periodTo: today, trigger: "manual" });
      expect(run.summary).toMatchObject({ lines: 2, matchedLines: 1 });
      const now = new Date();
      await evaluateAndPublish(own, now);

      const res = await scrape(createMetricsHandler({ getDb: () => own, token: TOKEN, registry: new Registry(), now: () => now }), `Bearer ${TOKEN}`);
      const text = await res.text();
      const families = parsePrometheusTextFormat(text);
      // Transfer success: 4 good of 8 valid, target 99.5%: budget 1 - 4 / (0.005 * 8) = -99, burning
      // 0.5 / 0.005 = 100 times the budget in every window (all events are two minutes old): page (2).
      expect(value(families, "slo_sli_ratio", { slo: "transfer-success" })).toBeCloseTo(0.5, 9);
      expect(value(families, "slo_error_budget_remaining_ratio", { slo: "transfer-success" })).toBeCloseTo(-99, 6);
      for (const window of ["5m", "1h", "6h"]) expect(value(families, "slo_burn_rate", { slo: "transfer-success", window }), window).toBeCloseTo(100, 6);
      expect(value(families, "slo_alert_state", { slo: "transfer-success" })).toBe(2);
      // Webhook lag: no minute was sampled in this database: no events, nothing burnt, ok (0).
      expect(value(families, "slo_sli_ratio", { slo: "webhook-lag-30s" })).toBe(1);
      expect(value(families, "slo_error_budget_remaining_ratio", { slo: "webhook-lag-30s" })).toBe(1);
      expect(value(families, "slo_burn_rate", { slo: "webhook-lag-30s", window: "1h" })).toBe(0);
      expect(value(families, "slo_alert_state", { slo: "webhook-lag-30s" })).toBe(0);
      // Reconciliation: 1 of 2 lines matched today; the other line is an open break. The match-rate
      // objective (95%) reads the same run: budget 1 - 1 / (0.05 * 2) = -9.
      expect(value(families, "recon_match_rate_ratio")).toBeCloseTo(0.5, 9);
      expect(value(families, "recon_open_breaks")).toBe(1);
      expect(value(families, "slo_sli_ratio", { slo: "recon-auto-match" })).toBeCloseTo(0.5, 9);
      expect(value(families, "slo_error_budget_remaining_ratio", { slo: "recon-auto-match" })).toBeCloseTo(-9, 6);
      // Every default objective is exported, each with its alert state.
      expect(families.find((f) => f.name === "slo_alert_state")?.metrics.map((m) => m.labels?.["slo"]).sort()).toEqual(
        ["batch-settled-1d", "few-stuck-transfers", "instant-settled-30s", "recon-auto-match", "recon-breaks-3d", "transfer-success", "webhook-lag-30s"],
      );
    } finally {
      await stopSender(own.pool);
      await own.drop();
    }
  });
});
