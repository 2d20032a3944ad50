/**
 * The worker process: runs scheduled maintenance, transfer orchestration and the outbox relay on pg-boss,
 * a PostgreSQL-backed job engine, so any number of workers can run against one database and each
 * scheduled run happens once.
 *
 * Invariants kept:
 * - A job is a plain domain function of (db handles, now); pg-boss gives at-least-once delivery,
 *   so every job is idempotent.
 * - SIGTERM/SIGINT stop the worker gracefully: no new jobs are fetched, running ones finish (up to
 *   a bound), then the pool closes.
 */
import http from "node:http";
import { PgBoss } from "pg-boss";
import { BOSS_SCHEMA } from "../jobs/queues";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { componentLogger } from "../observability/logger";
import { MAINTENANCE_JOBS, type MaintenanceJob } from "./jobs";
import { startOrchestration, type OrchestrationOptions } from "./orchestration";
import { env } from "../env";
import { createOutboxMetrics, relayConfigFromEnv, startOutboxRelay, type OutboxRelayHandle } from "../outbox/relay";
import { createVacuumFallbackMetrics, startVacuumFallback, type VacuumFallbackHandle } from "../db/vacuum-fallback";

const log = componentLogger("worker");

export interface WorkerHandle {
  stop(): Promise<void>;
}

export interface WorkerOptions {
  databaseUrl: string;
  db: DbHandles;
  metricsPort: number;
  jobs?: readonly MaintenanceJob[];
  /** Transfer orchestration (default on); tests of maintenance alone turn it off. */
  orchestration?: false | Pick<OrchestrationOptions, "concurrency" | "processWebhooks" | "sweepIntervalMs" | "deps">;
  /** Run the outbox relay loop (server/outbox/relay.ts); default OUTBOX_RELAY_ENABLED. */
  outboxRelay?: boolean;
  /** Vacuum what autovacuum does not, every this many ms (server/db/vacuum-fallback.ts); 0: off. Default DB_VACUUM_FALLBACK_INTERVAL_MS. */
  vacuumFallbackIntervalMs?: number;
}

export async function startWorker(opts: WorkerOptions): Promise<WorkerHandle> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "worker_" });
  const jobs = opts.jobs ?? MAINTENANCE_JOBS;
  for (const job of jobs) job.registerMetrics?.(registry);

  const boss = new PgBoss({ connectionString: opts.databaseUrl, schema: BOSS_SCHEMA, application_name: "worker", useListenNotify: true });
  let isStopping = false;
  boss.on("error", (err: Error & { code?: string }) => {
    // On Ctrl-C the terminal signals the embedded database too; its connections ending while we
    // stop are expected, not errors worth a stack.
    if (isStopping && (err.code === "57P01" || /terminat|Connection terminated/i.test(err.message))) return;
    log.error({ code: err.code, message: err.message }, "job engine error");
  });
  await boss.start();

  for (const job of jobs) {
    await boss.createQueue(job.name, { retryLimit: 3, retryBackoff: true, expireInSeconds: job.timeoutSeconds ?? 300 });
    await boss.schedule(job.name, job.cron, {}, { tz: "UTC" });
    await boss.work(job.name, async () => {
      const started = Date.now();
      const result = await job.run(opts.db, new Date());
      log.info({ job: job.name, ms: Date.now() - started, result }, "job finished");
      return result;
    });
  }

  const orchestration = opts.orchestration === false ? null : await startOrchestration({ boss, db: opts.db, databaseUrl: opts.databaseUrl, registry, concurrency: env().WORKER_TRANSFER_CONCURRENCY, ...(opts.orchestration ?? {}) });

  let server: http.Server | undefined;
  if (opts.metricsPort > 0) {
    server = http.createServer(async (req, res) => {
      if (req.url === "/metrics") {
        res.setHeader("content-type", registry.contentType);
        res.end(await registry.metrics());
      } else if (req.url === "/health") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "ok" }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(opts.metricsPort, "127.0.0.1", () => resolve());
    });
  }
  // Started last, so a failed start above leaves no loop running.
  let outboxRelay: OutboxRelayHandle | undefined;
  if (opts.outboxRelay ?? env().OUTBOX_RELAY_ENABLED) {
    outboxRelay = startOutboxRelay(opts.db, relayConfigFromEnv(), { metrics: createOutboxMetrics(registry) });
  }
  let vacuumFallback: VacuumFallbackHandle | undefined;
  const vacuumIntervalMs = opts.vacuumFallbackIntervalMs ?? env().DB_VACUUM_FALLBACK_INTERVAL_MS;
  if (vacuumIntervalMs > 0) {
    vacuumFallback = startVacuumFallback(
      opts.db.pool,
      { schemas: ["public", BOSS_SCHEMA], minDeadRows: 2_000, deadShare: 0.1, maxTablesPerRound: 12, intervalMs: vacuumIntervalMs },
      createVacuumFallbackMetrics(registry),
    );
  }
  log.info({ jobs: jobs.map((j) => j.name), metricsPort: opts.metricsPort }, "worker started");

  return {
    async stop() {
      isStopping = true;
      await outboxRelay?.stop();
      await vacuumFallback?.stop();
      await orchestration?.stop();
      await boss.stop({ graceful: true, timeout: 20_000 });
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      log.info("worker stopped");
    },
  };
}
