// `npm run start:worker`: the worker process alone (production), against DATABASE_URL. With
// DEMO_TRAFFIC=true (set by `npm start` in demo mode) it also runs the demo traffic generator.
import { env, isProductionDeployment } from "../server/env";
import { assertConnectsAsRuntimeRole } from "../server/db/runtime-role";
import { db, closeDb } from "../server/db/client";
import { startWorker } from "../server/worker/worker";
import { startDemoTraffic, type DemoTrafficHandle } from "../server/demo/traffic";
import { sandboxBaseUrl } from "../server/partners/registry";
import { startTracing, stopTracing } from "../server/observability/tracing";

let config;
try {
  config = env();
} catch (err) {
  process.stderr.write(`[worker] error: ${(err as Error).message}\n`);
  process.exit(1);
}
if (!config.DATABASE_URL) {
  process.stderr.write("[worker] error: DATABASE_URL is required\n");
  process.exit(1);
}
// Traces first, so every span of the worker's work is recorded (exported only when configured).
await startTracing("worker");
if (isProductionDeployment(config)) {
  try {
    await assertConnectsAsRuntimeRole(db().pool, "worker");
  } catch (err) {
    process.stderr.write(`[worker] error: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
// Ctrl-C can arrive while the worker is still starting (npm start announces the console once the
// web answers): the signal handlers are installed before the start, and stopping waits for it, so
// the worker always stops gracefully and says so instead of dying on the default signal action.
const trafficStop = new AbortController();
let traffic: DemoTrafficHandle | undefined;
let isStopping = false;
const starting = startWorker({ databaseUrl: config.DATABASE_URL, db: db(), metricsPort: config.WORKER_METRICS_PORT });
const stop = async () => {
  if (isStopping) return;
  isStopping = true;
  trafficStop.abort();
  const handle = await starting.catch(() => null);
  // The generator finishes its current transfer while the worker drains; the pool closes last.
  await Promise.all([traffic?.stopped, handle?.stop()]);
  await closeDb();
  await stopTracing();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
try {
  await starting;
} catch (err) {
  // A start that fails (the job engine's schema, a metrics port in use) says why and exits 1,
  // rather than dying on an unhandled rejection.
  process.stderr.write(`[worker] error: the worker did not start: ${(err as Error).message}\n`);
  await closeDb().catch(() => {});
  process.exit(1);
}
if (config.DEMO_TRAFFIC && !isStopping) traffic = startDemoTraffic(db(), { signal: trafficStop.signal, sandboxUrl: sandboxBaseUrl(config) });
// Under npm start: tell the launcher the worker runs (it announces the console after this), then
// close the channel so that it holds nothing open.
if (process.send) process.send({ type: "worker-ready" }, () => process.disconnect?.());
