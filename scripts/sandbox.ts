// `node --import tsx scripts/sandbox.ts`: the partner sandbox (a simulated bank) as its own process, against
// DATABASE_URL. It keeps its books in the sandbox_* tables, so it can be stopped and restarted at
// any time; several may run at once. See docs/api.md "Partner sandbox".
import { env } from "../server/env";
import { createDbHandles } from "../server/db/client";
import { sandboxOptionsFromEnv } from "../server/sandbox/config";
import { startSandbox } from "../server/sandbox/server";

let config;
try {
  config = env();
  if (!config.DATABASE_URL) throw new Error("DATABASE_URL is required");
} catch (err) {
  process.stderr.write(`[sandbox] error: ${(err as Error).message}\n`);
  process.exit(1);
}
// The sandbox stands in for a bank, whose books are not ours: its commits do not wait for the disk
// (a database crash may forget its last few milliseconds, as a bank's outage might; nothing can be
// corrupted), so the simulator does not take disk flushes from the product it shares a server with.
const db = createDbHandles(config.DATABASE_URL, { max: 10, applicationName: "sandbox", serverOptions: "-c synchronous_commit=off" });
const options = sandboxOptionsFromEnv(db.pool, config);
let handle;
try {
  handle = await startSandbox(options);
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  process.stderr.write(`[sandbox] error: ${code === "EADDRINUSE" ? `port ${options.port} is already in use; set SANDBOX_PORT` : (err as Error).message}\n`);
  await db.pool.end().catch(() => {});
  process.exit(1);
}
process.stdout.write(`[sandbox] partner sandbox on ${handle.url}, webhooks to ${options.webhookTargetUrls.join(", ")}\n`);
let isStopping = false;
const stop = async () => {
  if (isStopping) return;
  isStopping = true;
  await handle.close();
  await db.prisma.$disconnect().catch(() => {});
  await db.pool.end().catch(() => {});
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
