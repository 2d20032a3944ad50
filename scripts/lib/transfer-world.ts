/**
 * A whole transfer world for integration tests and benchmarks: the partner sandbox (in process or
 * its own process), the webhook endpoint (the same handler as the Next route, served by node:http
 * in this process), web processes (scripts/bench/http-server.ts: the tRPC API and the webhook
 * route), and worker processes started and killed at will.
 */
import http from "node:http";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { DbHandles } from "../../server/db/client";
import { startSandbox, type SandboxHandle } from "../../server/sandbox/server";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { DEMO_SANDBOX_WEBHOOK_SECRET } from "../../server/partners/registry";
import { QUEUES, signalQueue } from "../../server/jobs/queues";
import { partners } from "../../server/composition";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Every child started here watches this process (scripts/lib/exit-with-parent.mjs) and exits when
 * it is gone, so a benchmark or test killed hard leaves no workers, web processes or sandboxes
 * behind on the shared machine.
 */
const EXIT_WITH_PARENT = ["--import", path.join(root, "scripts/lib/exit-with-parent.mjs")];
const parentEnv = () => ({ LAUNCHER_PID: String(process.pid) });

export interface WebhookEndpoint {
  url: string;
  close(): Promise<void>;
}

/** Serves POST /api/webhooks/<partner> with the product's handler on 127.0.0.1. */
export async function startWebhookEndpoint(db: DbHandles): Promise<WebhookEndpoint> {
  const handler = createWebhookHandler({ getDb: () => db, partners, notifyWebhookReceived: () => signalQueue(db, QUEUES.webhookApply) });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const partner = (req.url ?? "").split("/").pop() ?? "";
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) });
    const response = await handler(request, partner);
    res.writeHead(response.status, { "content-type": "application/json" });
    res.end(await response.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startTestSandbox(db: DbHandles, webhookBaseUrl: string, seed = "test"): Promise<SandboxHandle> {
  return startSandbox({
    pool: db.pool,
    port: 0,
    webhookTargetUrls: [`${webhookBaseUrl}/api/webhooks/sandbox`],
    webhookSecret: DEMO_SANDBOX_WEBHOOK_SECRET,
    defaultSeed: seed,
    defaultCutoffSeconds: 5,
  });
}

/** Starts `scripts/worker.ts` as a child process against `databaseUrl`. */
export function spawnWorker(databaseUrl: string, sandboxUrl: string, extraEnv: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", path.join(root, "scripts/worker.ts")], {
    cwd: root,
    env: { ...process.env, ...parentEnv(), DATABASE_URL: databaseUrl, SANDBOX_URL: sandboxUrl, WORKER_METRICS_PORT: "0", LOG_LEVEL: "error", DEMO_TRAFFIC: "false", OUTBOX_RELAY_ENABLED: "false", ...extraEnv },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/**
 * Starts `scripts/sandbox.ts` as a child process; resolves once it answers on its port. Webhooks go
 * to `/api/webhooks/sandbox` on the base URL, or on each of several in turn (one per web process).
 */
export async function spawnSandbox(databaseUrl: string, port: number, webhookBaseUrls: string | readonly string[], extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const targets = (typeof webhookBaseUrls === "string" ? [webhookBaseUrls] : webhookBaseUrls).map((u) => `${u}/api/webhooks/sandbox`);
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", path.join(root, "scripts/sandbox.ts")], {
    cwd: root,
    env: { ...process.env, ...parentEnv(), DATABASE_URL: databaseUrl, SANDBOX_PORT: String(port), WEBHOOK_TARGET_URL: targets.join(","), LOG_LEVEL: "error", ...extraEnv },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sandbox exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/admin/stats`);
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("sandbox did not start within 30 s");
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface WebProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
}

/**
 * Starts a web process (scripts/bench/http-server.ts: the tRPC API at /api/trpc and partner webhooks
 * at /api/webhooks/<partner>, the product's own handlers) against `databaseUrl`; resolves once it
 * listens. Stop it with stopWeb (graceful) or killHard.
 */
export async function spawnWeb(databaseUrl: string, poolMax: number, extraEnv: Record<string, string> = {}): Promise<WebProcess> {
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", path.join(root, "scripts/bench/http-server.ts"), databaseUrl, String(poolMax)], {
    cwd: root,
    env: { ...process.env, ...parentEnv(), DATABASE_URL: databaseUrl, LOG_LEVEL: "error", ...extraEnv },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error("a web process did not start within 60 s")), 60_000);
    rl.on("line", (line) => {
      const m = /^LISTENING (\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`a web process exited with code ${code} before listening`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** Stops a web process the way a deployment would (SIGTERM: it closes its server and pool); SIGKILL after 5 s. */
export async function stopWeb(web: WebProcess): Promise<void> {
  if (web.child.exitCode !== null || web.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => web.child.once("exit", () => r()));
  web.child.stdin?.end();
  web.child.kill("SIGTERM");
  const timer = setTimeout(() => web.child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
