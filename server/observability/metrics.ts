/**
 * The web process's Prometheus registry (prom-client), served at /api/metrics
 * (server/slo/metrics-http.ts). The worker keeps its own registry and port (server/worker/worker.ts).
 *
 * Invariants kept:
 * - One registry per process, kept on globalThis: Next.js may load this module once per bundle
 *   layer, and every copy must record into the registry the metrics route serves.
 * - Label values are bounded: procedures are the router's own paths, outcomes are tRPC error
 *   codes, states and queues are fixed sets.
 */
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

interface WebMetrics {
  registry: Registry;
  procedureDuration: Histogram<"procedure" | "type" | "outcome">;
}

const g = globalThis as unknown as { __ledgerWebMetrics?: WebMetrics };

/** The web process's registry and request metrics (created on first use). */
export function webMetrics(): WebMetrics {
  if (g.__ledgerWebMetrics) return g.__ledgerWebMetrics;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "web_" });
  const procedureDuration = new Histogram({
    name: "trpc_request_duration_seconds",
    help: "tRPC procedure latency by procedure, type (query or mutation) and outcome (ok or the tRPC error code)",
    labelNames: ["procedure", "type", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  g.__ledgerWebMetrics = { registry, procedureDuration };
  return g.__ledgerWebMetrics;
}
