/**
 * The system under test for Playwright: a private database (embedded PostgreSQL in a temporary
 * folder, or a fresh database on DATABASE_URL's server), migrated and seeded with the demo users;
 * a local OpenID Connect provider (scripts/oidc-dev-provider.ts); and the production build served
 * by `next start`. Everything stops when Playwright stops this process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, findFreePort, tempDataDir, type EmbeddedServer } from "../server/db/embedded";
import { applyMigrations } from "../server/db/migrate";

const root = path.resolve(import.meta.dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3100);
const oidcPort = Number(process.env.OIDC_PORT ?? 3901);
const baseUrl = `http://localhost:${port}`;
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
  const databaseUrl = u.toString();
  await applyMigrations(databaseUrl);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    DEMO_MODE: "true",
    NEXTAUTH_URL: baseUrl,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    AUTH_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
    AUTH_OIDC_CLIENT_ID: "console-e2e",
    AUTH_OIDC_CLIENT_SECRET: "console-e2e-secret",
    AUTH_OIDC_NAME: "Demo SSO",
    WORKER_METRICS_PORT: "0",
    NEXT_TELEMETRY_DISABLED: "1",
    LOG_LEVEL: "warn",
    TZ: "UTC",
  };
  const seed = spawn(process.execPath, ["--import", "tsx", "scripts/db-seed.ts"], { cwd: root, env, stdio: "inherit" });
  const seedCode = await new Promise<number>((r) => seed.on("exit", (c) => r(c ?? 1)));
  if (seedCode !== 0) throw new Error("seed failed");

  start("oidc", ["--import", "tsx", "scripts/oidc-dev-provider.ts", String(oidcPort), `${baseUrl}/api/auth/callback/oidc`], env);
  start("worker", ["--import", "tsx", "scripts/worker.ts"], env);
  start("web", [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], env);
}

main().catch((err) => {
  process.stderr.write(`[e2e-server] ${(err as Error).stack ?? err}\n`);
  void shutdown(1);
});
