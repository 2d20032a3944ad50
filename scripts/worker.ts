// `npm run start:worker`: the worker process alone (production), against DATABASE_URL.
import { env } from "../server/env";
import { db, closeDb } from "../server/db/client";
import { startWorker } from "../server/worker/worker";

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
const handle = await startWorker({ databaseUrl: config.DATABASE_URL, db: db(), metricsPort: config.WORKER_METRICS_PORT });
let isStopping = false;
const stop = async () => {
  if (isStopping) return;
  isStopping = true;
  await handle.stop();
  await closeDb();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
