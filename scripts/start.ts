/**
 * `npm start`: one command runs the whole console.
 *
 * Without DATABASE_URL it boots an embedded PostgreSQL under DATA_DIR (default .data, git-ignored),
 * applies migrations, seeds the demo world once (idempotent; a second start reuses it), builds the
 * web app when its sources changed, and runs the partner sandbox (unless SANDBOX_URL points at one
 * elsewhere), then, once it answers, the web server and the worker until Ctrl-C. In demo mode the
 * worker also runs the demo traffic generator (DEMO_TRAFFIC). With DATABASE_URL set it uses that
 * database and seeds nothing unless SEED_DEMO=true.
 *
 * Ctrl-C: the terminal signals the launcher, the sandbox, the web server and the worker (one process
 * group); the embedded PostgreSQL runs in a group of its own, so it keeps serving while they finish
 * their work and close their connections, and the launcher stops it last.
 *
 * Logs: children write readable coloured lines when the launcher's output is a terminal
 * (LOG_FORMAT=pretty), JSON lines otherwise or when LOG_FORMAT says so.
 *
 * Failure handling: configuration errors, a bad DATABASE_URL, a port in use or an unreadable data
 * folder stop the start with one line naming the cause and a non-zero exit. Whatever was started
 * before the failure (embedded server, children) is stopped again. Children watch the launcher
 * (scripts/lib/exit-with-parent.mjs), so even a SIGKILLed launcher leaves no stray processes; a
 * PostgreSQL left by such a crash is shut down by the next start.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { ConfigError, parseEnv, processEnvSnapshot } from "../server/env";
import { startEmbeddedPostgres, EmbeddedPostgresError, type EmbeddedServer } from "../server/db/embedded";
import { applyMigrations, MigrationError } from "../server/db/migrate";
import { grantRuntimeRole, roleOf, urlAs } from "../server/db/runtime-role";
import { isBuildCurrent, computeSourceStamp, STAMP_FILE } from "../server/platform/build-stamp";
import { DEMO_SIGN_INS } from "../server/demo/demo-users";
import { demoRateMaxAgeDays } from "../server/demo/demo-rates";
import lockfile from "proper-lockfile";

/** The role the web, worker and sandbox use on the embedded database: it owns no table. */
const RUNTIME_ROLE = "ledger_app";
/**
 * How long a child gets to stop after SIGTERM before it is killed. Longer than the worker's own
 * graceful stop (its job queue waits up to 20 s for running jobs), so a slow stop still finishes.
 */
const CHILD_STOP_GRACE_MS = 30_000;
/** How long the web server and the worker may take to start (a loaded CI machine needs tens of seconds). */
const CHILD_START_TIMEOUT_MS = 120_000;

const root = path.resolve(import.meta.dirname, "..");
const say = (msg: string) => process.stdout.write(`[start] ${msg}\n`);

class StartError extends Error {}

const PORT_VARIABLE: Record<string, string> = { web: "PORT", database: "EMBEDDED_PG_PORT", sandbox: "SANDBOX_PORT" };

async function ensurePortFree(port: number, what: keyof typeof PORT_VARIABLE): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
  if (!free) throw new StartError(`port ${port} (${what}) is already in use; stop what uses it or set ${PORT_VARIABLE[what]}`);
}

async function loadOrCreateSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "auth-secret");
  try {
    const s = (await readFile(file, "utf8")).trim();
    if (s.length >= 32) return s;
  } catch {
    // First start: create it below.
  }
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, secret + "\n", { mode: 0o600 });
  await chmod(file, 0o600);
  return secret;
}

/** The runtime role's password on this machine's embedded database (kept with the data, 0600). */
async function loadOrCreateRuntimePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "runtime-role-password");
  try {
    const s = (await readFile(file, "utf8")).trim();
    if (s.length >= 24) return s;
  } catch {
    // First start: create it below.
  }
  const password = randomBytes(24).toString("base64url");
  await writeFile(file, password + "\n", { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

/** The demo's metrics bearer token, kept in the data folder like the session secret. */
async function loadOrCreateMetricsToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "metrics-token");
  try {
    const s = (await readFile(file, "utf8")).trim();
    if (s.length >= 16) return s;
  } catch {
    // First start: create it below.
  }
  const token = randomBytes(24).toString("base64url");
  await writeFile(file, token + "\n", { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/**
 * Builds the web app when its sources changed since the last build. Two starts in one checkout
 * (two terminals, or tests) take turns through a lock file: the second waits for the first build,
 * then finds it current instead of failing on Next.js's own build lock.
 */
async function buildIfStale(env: NodeJS.ProcessEnv): Promise<void> {
  if (await isBuildCurrent(root)) return;
  const lockOptions = { lockfilePath: path.join(root, ".next-build.lock"), realpath: false, stale: 30_000 };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(root, lockOptions);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    say("another npm start is building the web app in this folder; waiting for it");
    release = await lockfile.lock(root, { ...lockOptions, retries: { retries: 1_200, factor: 1, minTimeout: 500, maxTimeout: 500 } });
  }
  try {
    if (await isBuildCurrent(root)) return;
    say("building the web app (first start or sources changed; takes a minute or two)");
    const code = await run(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], env);
    if (code !== 0) throw new StartError("next build failed (see above)");
    await writeFile(path.join(root, STAMP_FILE), (await computeSourceStamp(root)) + "\n");
  } finally {
    await release();
  }
}

function describeDbError(err: unknown, url: string): string {
  const u = new URL(url);
  const where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
  const code = (err as { code?: string }).code;
  const msg = (err as Error).message;
  return `cannot use DATABASE_URL (${where}): ${code ? `${code} ` : ""}${msg}`;
}

async function main(): Promise<number> {
  const raw = processEnvSnapshot();
  let config;
  try {
    config = parseEnv(raw);
  } catch (err) {
    process.stderr.write(`[start] error: ${(err as Error).message}\n`);
    return 1;
  }
  const dataDir = path.resolve(root, config.DATA_DIR);
  const isEmbedded = !config.DATABASE_URL;
  const children: ChildProcess[] = [];
  const names = new Map<ChildProcess, string>();
  let embedded: EmbeddedServer | undefined;
  let isStopping = false;

  const stopAll = async (exitCode: number) => {
    if (isStopping) return;
    isStopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              say(`${names.get(c) ?? "a child"} did not stop within ${CHILD_STOP_GRACE_MS / 1000} s; killing it`);
              c.kill("SIGKILL");
              resolve();
            }, CHILD_STOP_GRACE_MS);
            c.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    if (embedded) {
      say("stopping embedded PostgreSQL");
      await embedded.stop().catch(() => {});
    }
    process.exit(exitCode);
  };

  try {
    await ensurePortFree(config.PORT, "web");
    let databaseUrl: string;
    /** Where migrations run: the tables' owner. The children connect as databaseUrl's role. */
    let ownerUrl: string;
    let runtimePassword: string | null = null;
    let secret = config.NEXTAUTH_SECRET;
    if (isEmbedded) {
      try {
        await mkdir(dataDir, { recursive: true });
      } catch (err) {
        throw new StartError(`data folder ${dataDir} cannot be created: ${(err as NodeJS.ErrnoException).code}`);
      }
      say(`starting embedded PostgreSQL on 127.0.0.1:${config.EMBEDDED_PG_PORT} (data in ${path.relative(root, dataDir) || dataDir})`);
      embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT, isOwnProcessGroup: true });
      // Detached watchdog: stops this PostgreSQL if the launcher dies without cleaning up.
      spawn(process.execPath, [path.join(root, "scripts/lib/reaper.mjs"), String(process.pid), path.join(dataDir, "pg")], {
        detached: true,
        stdio: "ignore",
      }).unref();
      process.once("SIGINT", () => void stopAll(0));
      process.once("SIGTERM", () => void stopAll(0));
      process.once("SIGHUP", () => void stopAll(0));
      ownerUrl = await ensureDatabase(embedded.adminUrl, "console");
      runtimePassword = await loadOrCreateRuntimePassword(dataDir);
      databaseUrl = urlAs(ownerUrl, RUNTIME_ROLE, runtimePassword);
      secret ??= await loadOrCreateSecret(dataDir);
    } else {
      databaseUrl = config.DATABASE_URL!;
      ownerUrl = config.DATABASE_MIGRATION_URL ?? databaseUrl;
      process.once("SIGINT", () => void stopAll(0));
      process.once("SIGTERM", () => void stopAll(0));
    }

    try {
      const m = await applyMigrations(ownerUrl, { log: say });
      say(`migrations current (${m.alreadyApplied + m.applied.length} applied, ${m.applied.length} new)`);
      // The web, the worker and the sandbox connect as a role that owns no table.
      if (runtimePassword !== null) await grantRuntimeRole(ownerUrl, RUNTIME_ROLE, { createWithPassword: runtimePassword });
      else if (ownerUrl !== databaseUrl && roleOf(ownerUrl) !== roleOf(databaseUrl)) await grantRuntimeRole(ownerUrl, roleOf(databaseUrl));
    } catch (err) {
      if (err instanceof MigrationError) throw new StartError(err.message);
      throw new StartError(describeDbError(err, ownerUrl));
    }

    // The partner sandbox runs here unless SANDBOX_URL names one elsewhere.
    const isSandboxLocal = !config.SANDBOX_URL;
    if (isSandboxLocal) await ensurePortFree(config.SANDBOX_PORT, "sandbox");

    const isDemo = isEmbedded || config.DEMO_MODE;
    if (isDemo && config.NODE_ENV === "production") {
      throw new StartError(
        `NODE_ENV=production: npm start would run the demo (${isEmbedded ? "an embedded database, " : ""}DEMO_MODE, demo sign-ins and secrets); production runs npm run start:web and start:worker against DATABASE_URL`,
      );
    }
    const baseUrl = config.NEXTAUTH_URL ?? `http://localhost:${config.PORT}`;
    const webhookTargetUrl = config.WEBHOOK_TARGET_URL ?? `http://127.0.0.1:${config.PORT}/api/webhooks/sandbox`;
    const sandboxUrl = config.SANDBOX_URL ?? `http://127.0.0.1:${config.SANDBOX_PORT}`;
    // Demo traffic in demo mode, unless DEMO_TRAFFIC says otherwise.
    const isTrafficOn = raw.DEMO_TRAFFIC ? config.DEMO_TRAFFIC : isDemo;
    // Readable log lines in a terminal unless LOG_FORMAT says otherwise.
    const logFormat = raw.LOG_FORMAT ? config.LOG_FORMAT : process.stdout.isTTY ? "pretty" : "json";
    // The demo serves /api/metrics with a token kept in the data folder; elsewhere only when set.
    const metricsToken = config.METRICS_BEARER_TOKEN ?? (isEmbedded ? await loadOrCreateMetricsToken(dataDir) : undefined);
    const childEnv: NodeJS.ProcessEnv = {
      ...raw,
      NODE_ENV: "production",
      DATABASE_URL: databaseUrl,
      DEMO_MODE: isDemo ? "true" : "false",
      // Next.js serves a build only with NODE_ENV=production; this mark (with a database on this
      // machine) keeps the demo from counting as a production deployment (server/env.ts).
      DEMO_LAUNCHER: isDemo ? "true" : "false",
      NEXTAUTH_URL: baseUrl,
      NEXTAUTH_SECRET: secret ?? "",
      PORT: String(config.PORT),
      LAUNCHER_PID: String(process.pid),
      NEXT_TELEMETRY_DISABLED: "1",
      WEBHOOK_TARGET_URL: webhookTargetUrl,
      DEMO_TRAFFIC: isTrafficOn ? "true" : "false",
      // The demo's reference rates are the ECB history shipped in the repository, which ends on a
      // past date: in demo mode quotes may use it (each states its rate date), unless set.
      ...(isDemo && !raw.PRICING_RATE_MAX_AGE_DAYS ? { PRICING_RATE_MAX_AGE_DAYS: String(demoRateMaxAgeDays()) } : {}),
      LOG_FORMAT: logFormat,
      ...(metricsToken ? { METRICS_BEARER_TOKEN: metricsToken } : {}),
    };

    // The children run with NODE_ENV=production: a run that is not the local demo must satisfy the
    // production rules, and is told so here rather than by a child that exits.
    parseEnv(childEnv);

    if (isEmbedded || config.SEED_DEMO) {
      const code = await run(process.execPath, ["--import", "tsx", "scripts/db-seed.ts"], childEnv);
      if (code !== 0) throw new StartError("seeding the demo world failed (see above)");
    }

    await buildIfStale(childEnv);

    const preload = ["--import", path.join(root, "scripts/lib/exit-with-parent.mjs")];
    const watch = (name: string, child: ChildProcess) => {
      children.push(child);
      names.set(child, name);
      child.on("exit", (code, signal) => {
        if (isStopping) return;
        say(`${name} exited (${signal ?? code}); stopping everything`);
        void stopAll(code === 0 ? 1 : (code ?? 1));
      });
    };
    if (isSandboxLocal) {
      watch("sandbox", spawn(process.execPath, [...preload, "--import", "tsx", path.join(root, "scripts/sandbox.ts")], { cwd: root, env: childEnv, stdio: "inherit" }));
      // The worker submits to the sandbox from its first second: start it once the sandbox answers.
      let isUp = false;
      for (let i = 0; i < 300 && !isStopping && !isUp; i++) {
        isUp = (await fetch(`${sandboxUrl}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))?.ok === true;
        if (!isUp) await new Promise((r) => setTimeout(r, 100));
      }
      // Stopping (Ctrl-C, or the sandbox exited): stopAll ends the process; start nothing more.
      if (isStopping) return await new Promise<number>(() => {});
      if (!isUp) throw new StartError(`the partner sandbox did not answer on ${sandboxUrl} within 30 s`);
    }
    watch("web", spawn(process.execPath, [...preload, path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", String(config.PORT), "-H", "127.0.0.1"], { cwd: root, env: childEnv, stdio: "inherit" }));
    // The worker says when it has started over an IPC channel (scripts/worker.ts), so that the
    // console is announced only once the worker too runs with its signal handlers in place: a
    // Ctrl-C right after "press Ctrl-C" then stops it gracefully instead of killing it mid-import.
    const worker = spawn(process.execPath, [...preload, "--import", "tsx", path.join(root, "scripts/worker.ts")], {
      cwd: root,
      env: childEnv,
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    watch("worker", worker);
    const workerReady = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), CHILD_START_TIMEOUT_MS);
      worker.on("message", (m) => {
        if ((m as { type?: string } | null)?.type !== "worker-ready") return;
        clearTimeout(t);
        resolve(true);
      });
      worker.once("exit", () => {
        clearTimeout(t);
        resolve(false);
      });
    });

    // Announce the console only once it answers, so the printed URL works when it is printed.
    for (let i = 0; i < CHILD_START_TIMEOUT_MS / 100 && !isStopping; i++) {
      const res = await fetch(`http://127.0.0.1:${config.PORT}/api/health`).catch(() => null);
      if (res?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(await workerReady) && !isStopping) throw new StartError(`the worker did not start within ${CHILD_START_TIMEOUT_MS / 1000} s`);
    if (isStopping) return await new Promise<number>(() => {});
    say(`console: ${baseUrl}`);
    say(`partner sandbox: ${sandboxUrl}${isSandboxLocal ? ` (webhooks to ${webhookTargetUrl})` : " (external, SANDBOX_URL)"}`);
    if (metricsToken) say(`metrics: curl -H 'Authorization: Bearer ${config.METRICS_BEARER_TOKEN ? "<METRICS_BEARER_TOKEN>" : metricsToken}' http://127.0.0.1:${config.PORT}/api/metrics`);
    if (isTrafficOn) say("demo traffic: about 20 transfers a minute with modest partner faults (DEMO_TRAFFIC=false turns it off)");
    if (isDemo) {
      say("demo sign-ins (email / password):");
      for (const u of DEMO_SIGN_INS) say(`  ${u.roles.join("+").padEnd(16)} ${u.email} / ${u.password}`);
    }
    say("press Ctrl-C to stop");
    return await new Promise<number>(() => {});
  } catch (err) {
    const line =
      err instanceof StartError || err instanceof EmbeddedPostgresError || err instanceof ConfigError
        ? err.message
        : `unexpected failure: ${(err as Error).stack ?? String(err)}`;
    process.stderr.write(`[start] error: ${line}\n`);
    await stopAll(1);
    return 1;
  }
}

void main().then((code) => process.exit(code));
