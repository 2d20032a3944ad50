/**
 * The system under test for Playwright: a private database (embedded PostgreSQL in a temporary
 * folder, or a fresh database on DATABASE_URL's server), migrated and seeded with the demo world
 * (users, ledger, transfers) plus one deterministic stuck transfer (E2E_STUCK_REFERENCE: reserved,
 * its submission's outcome unknown, waiting for an operator); a local OpenID Connect provider
 * (scripts/oidc-dev-provider.ts); the partner sandbox without faults; the worker; and the
 * production build served by `next start`. No demo traffic runs. Everything stops when Playwright
 * stops this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, findFreePort, tempDataDir, type EmbeddedServer } from "../server/db/embedded";
import { applyMigrations } from "../server/db/migrate";
import { grantRuntimeRole, urlAs } from "../server/db/runtime-role";
import { createDbHandles } from "../server/db/client";
import { stopSender } from "../server/jobs/queues";
import { DEMO_PAYEES, seedUnknownOutcomeTransfer } from "../server/demo/seed-transfers";

const root = path.resolve(import.meta.dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3100);
const oidcPort = Number(process.env.OIDC_PORT ?? 3901);
const baseUrl = `http://localhost:${port}`;
/** The stuck transfer the e2e specs retry (by this reference): EUR 125.00 from customer:0005:wallet, instant rail. */
const E2E_STUCK_REFERENCE = "e2e-stuck-1";
const children: ChildProcess[] = [];
let embedded: EmbeddedServer | undefined;
let dropDatabase: (() => Promise<void>) | undefined;

async function shutdown(code: number): Promise<never> {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  await dropDatabase?.().catch(() => {});
  await embedded?.stop().catch(() => {});
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

function start(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
  child.on("exit", (code, signal) => {
    process.stderr.write(`[e2e-server] ${name} exited (${signal ?? code})\n`);
    void shutdown(1);
  });
  children.push(child);
  return child;
}

async function main() {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: tempDataDir("e2e-pg"), port: await findFreePort(), isEphemeral: true });
    adminUrl = embedded.adminUrl;
  }
  const dbName = `e2e_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await c.end();
  };
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const ownerUrl = u.toString();
  await applyMigrations(ownerUrl);
  // Everything the browser drives runs as the runtime role, which owns no table (as in production).
  const runtimeRole = `e2e_runtime_${randomBytes(4).toString("hex")}`;
  const runtimePassword = randomBytes(18).toString("base64url");
  await grantRuntimeRole(ownerUrl, runtimeRole, { createWithPassword: runtimePassword });
  const databaseUrl = urlAs(ownerUrl, runtimeRole, runtimePassword);
  const dropDb = dropDatabase;
  dropDatabase = async () => {
    await dropDb?.();
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS "${runtimeRole}"`).catch(() => {});
    await c.end();
  };

  const sandboxPort = await findFreePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    DEMO_MODE: "true",
    DEMO_LAUNCHER: "true",
    NEXTAUTH_URL: baseUrl,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    AUTH_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
    AUTH_OIDC_CLIENT_ID: "console-e2e",
    AUTH_OIDC_CLIENT_SECRET: "console-e2e-secret",
    AUTH_OIDC_NAME: "Demo SSO",
    WORKER_METRICS_PORT: "0",
    SANDBOX_PORT: String(sandboxPort),
    WEBHOOK_TARGET_URL: `http://127.0.0.1:${port}/api/webhooks/sandbox`,
    DEMO_TRAFFIC: "false",
    NEXT_TELEMETRY_DISABLED: "1",
    LOG_LEVEL: "warn",
    TZ: "UTC",
  };
  const seed = spawn(process.execPath, ["--import", "tsx", "scripts/db-seed.ts"], { cwd: root, env, stdio: "inherit" });
  const seedCode = await new Promise<number>((r) => seed.on("exit", (c) => r(c ?? 1)));
  if (seedCode !== 0) throw new Error("seed failed");
  await seedStuckTransfer(databaseUrl);

  start("oidc", ["--import", "tsx", "scripts/oidc-dev-provider.ts", String(oidcPort), `${baseUrl}/api/auth/callback/oidc`], env);
  start("sandbox", ["--import", "tsx", "scripts/sandbox.ts"], env);
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`http://127.0.0.1:${sandboxPort}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    if (res?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  start("worker", ["--import", "tsx", "scripts/worker.ts"], env);
  start("web", [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], env);
}

/**
 * E2E_STUCK_REFERENCE by the real path: submitted to a partner that never answers until the
 * attempts run out, so it waits in `reserved` for an operator. A Retry sends it to the sandbox.
 */
async function seedStuckTransfer(databaseUrl: string): Promise<void> {
  const db = createDbHandles(databaseUrl, { max: 4, applicationName: "e2e-seed" });
  try {
    const wallet = await db.pool.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = 'customer:0005:wallet'`);
    if (!wallet.rows[0]) throw new Error("the demo wallet customer:0005:wallet is missing");
    await seedUnknownOutcomeTransfer(db, {
      key: `e2e:${E2E_STUCK_REFERENCE}`,
      sourceAccountId: wallet.rows[0].id,
      currency: "EUR",
      amountMinor: 12_500n,
      payee: DEMO_PAYEES.EUR![2]!,
      reference: E2E_STUCK_REFERENCE,
      createdAt: new Date(Date.now() - 10 * 60_000),
      metadata: { source: "e2e" },
    });
  } finally {
    await stopSender(db.pool);
    await db.prisma.$disconnect().catch(() => {});
    await db.pool.end().catch(() => {});
  }
}

main().catch((err) => {
  process.stderr.write(`[e2e-server] ${(err as Error).stack ?? err}\n`);
  void shutdown(1);
});
