/**
 * GET /api/metrics on the web process: Prometheus text format, for a scraper holding the bearer
 * token METRICS_BEARER_TOKEN. As a factory so tests can call it with plain Requests and a test
 * database.
 *
 * Invariants kept:
 * - No token configured: 404 (the endpoint does not exist). A missing or wrong token: 401 with
 *   `WWW-Authenticate: Bearer`, nothing read. Tokens are compared in constant time.
 * - The gauges read from the database are refreshed at each scrape in one read-only transaction
 *   with a short statement timeout; when the database cannot answer, the scrape still succeeds
 *   with `console_database_up 0` and the process's own metrics.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Gauge, type Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { env } from "../env";
import { componentLogger } from "../observability/logger";
import { webMetrics } from "../observability/metrics";
import { readOperationalGauges, type OperationalGauges } from "./operational-gauges";

const log = componentLogger("metrics");

export interface MetricsHandlerOptions {
  getDb: () => DbHandles;
  /** Default METRICS_BEARER_TOKEN. */
  token?: string | null;
  /** Default the web process's registry. */
  registry?: Registry;
  now?: () => Date;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Whether `header` is `Bearer <token>` (constant time in the token's content). */
export function isAuthorizedScrape(header: string | null, token: string): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

interface ScrapeGauges {
  databaseUp: Gauge;
  transfersActive: Gauge<"state">;
  transfersStuck: Gauge<"state">;
  queueDepth: Gauge<"queue">;
  queueOldest: Gauge<"queue">;
  webhookLag: Gauge;
  webhookPending: Gauge;
  ledgerOk: Gauge;
  ledgerCheckAge: Gauge;
  auditOk: Gauge;
  auditCheckAge: Gauge;
  sloBudget: Gauge<"slo">;
  sloBurn: Gauge<"slo" | "window">;
  sloAlert: Gauge<"slo">;
  sloSli: Gauge<"slo">;
  reconMatchRate: Gauge;
  reconOpenBreaks: Gauge;
}

const registered = new WeakMap<Registry, ScrapeGauges>();

function gaugesOf(registry: Registry): ScrapeGauges {
  const existing = registered.get(registry);
  if (existing) return existing;
  const r = [registry];
  const gauges: ScrapeGauges = {
    databaseUp: new Gauge({ name: "console_database_up", help: "1 when the database answered this scrape's queries, else 0", registers: r }),
    transfersActive: new Gauge({ name: "transfers_active", help: "Transfers in each active (non-final) state", labelNames: ["state"], registers: r }),
    transfersStuck: new Gauge({ name: "transfers_stuck", help: "Transfers over their state's time budget or waiting for an operator, by state", labelNames: ["state"], registers: r }),
    queueDepth: new Gauge({ name: "job_queue_depth", help: "Work due and waiting for a worker, by queue (transfer-advance: transfers waiting for submission)", labelNames: ["queue"], registers: r }),
    queueOldest: new Gauge({ name: "job_queue_oldest_age_seconds", help: "Age of the oldest work due and waiting for a worker, by queue (0 when none)", labelNames: ["queue"], registers: r }),
    webhookLag: new Gauge({ name: "webhook_lag_seconds", help: "Age of the oldest stored partner webhook not yet applied (0 when none)", registers: r }),
    webhookPending: new Gauge({ name: "webhook_pending_events", help: "Stored partner webhooks not yet applied", registers: r }),
    ledgerOk: new Gauge({ name: "ledger_integrity_ok", help: "1 when the last ledger integrity check (worker job ledger-verify) found no discrepancy, 0 when it did, -1 before the first check", registers: r }),
    ledgerCheckAge: new Gauge({ name: "ledger_integrity_check_age_seconds", help: "Seconds since the last completed ledger integrity check (-1 before the first)", registers: r }),
    auditOk: new Gauge({ name: "audit_chain_intact", help: "1 when the last audit chain verification (worker job audit-verify) found every lane intact, 0 when not, -1 before the first", registers: r }),
    auditCheckAge: new Gauge({ name: "audit_chain_check_age_seconds", help: "Seconds since the last completed audit chain verification (-1 before the first)", registers: r }),
    reconMatchRate: new Gauge({ name: "recon_match_rate_ratio", help: "Statement lines matched automatically over lines in today's (UTC) reconciliation runs (-1 without lines)", registers: r }),
    reconOpenBreaks: new Gauge({ name: "recon_open_breaks", help: "Reconciliation breaks not resolved (open or accepted as timing differences)", registers: r }),
    sloSli: new Gauge({ name: "slo_sli_ratio", help: "Good events over valid events in each SLO's window (1 with no events)", labelNames: ["slo"], registers: r }),
    sloBudget: new Gauge({ name: "slo_error_budget_remaining_ratio", help: "Share of each SLO's error budget left in its window (negative when overspent)", labelNames: ["slo"], registers: r }),
    sloBurn: new Gauge({ name: "slo_burn_rate", help: "Error budget burn rate of each SLO over the alerting windows (1 = spending exactly the budget)", labelNames: ["slo", "window"], registers: r }),
    sloAlert: new Gauge({ name: "slo_alert_state", help: "Burn-rate alert state of each SLO: 0 ok, 1 ticket, 2 page", labelNames: ["slo"], registers: r }),
  };
  registered.set(registry, gauges);
  return gauges;
}

function apply(g: ScrapeGauges, v: OperationalGauges): void {
  g.databaseUp.set(1);
  g.transfersActive.reset();
  for (const [state, n] of Object.entries(v.transfersActive)) g.transfersActive.set({ state }, n);
  g.transfersStuck.reset();
  for (const [state, n] of Object.entries(v.transfersStuck)) g.transfersStuck.set({ state }, n);
  g.queueDepth.reset();
  g.queueOldest.reset();
  for (const q of v.queues) {
    g.queueDepth.set({ queue: q.queue }, q.depth);
    g.queueOldest.set({ queue: q.queue }, q.oldestAgeSeconds);
  }
  g.webhookLag.set(v.webhookLagSeconds);
  g.webhookPending.set(v.webhookPending);
  g.ledgerOk.set(v.ledgerIntegrity === null ? -1 : v.ledgerIntegrity.isOk ? 1 : 0);
  g.ledgerCheckAge.set(v.ledgerIntegrity?.ageSeconds ?? -1);
  g.auditOk.set(v.auditChain === null ? -1 : v.auditChain.isOk ? 1 : 0);
  g.auditCheckAge.set(v.auditChain?.ageSeconds ?? -1);
  g.reconMatchRate.set(v.reconMatchRate ?? -1);
  g.reconOpenBreaks.set(v.reconOpenBreaks);
  for (const gauge of [g.sloSli, g.sloBudget, g.sloBurn, g.sloAlert]) gauge.reset();
  for (const s of v.slos) {
    g.sloSli.set({ slo: s.key }, s.sli);
    g.sloBudget.set({ slo: s.key }, s.budgetRemaining);
    for (const [window, rate] of Object.entries(s.burnRates)) g.sloBurn.set({ slo: s.key, window }, rate);
    g.sloAlert.set({ slo: s.key }, s.alertLevel);
  }
}

export function createMetricsHandler(opts: MetricsHandlerOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const token = opts.token !== undefined ? opts.token : (env().METRICS_BEARER_TOKEN ?? null);
    if (!token) return new Response("metrics are off: set METRICS_BEARER_TOKEN\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    if (!isAuthorizedScrape(req.headers.get("authorization"), token)) {
      return new Response("send the metrics bearer token: Authorization: Bearer <METRICS_BEARER_TOKEN>\n", {
        status: 401,
        headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"', "cache-control": "no-store" },
      });
    }
    const registry = opts.registry ?? webMetrics().registry;
    const gauges = gaugesOf(registry);
    try {
      apply(gauges, await readOperationalGauges(opts.getDb(), opts.now?.() ?? new Date()));
    } catch (e) {
      gauges.databaseUp.set(0);
      log.warn({ err: (e as Error).message }, "metrics scrape could not read the database");
    }
    return new Response(await registry.metrics(), { status: 200, headers: { "content-type": registry.contentType, "cache-control": "no-store" } });
  };
}
