/**
 * A crashed `npm start` leaves nothing behind: SIGKILL the launcher once the console is up, and
 * the web server, the worker, the partner sandbox and the embedded PostgreSQL all stop by
 * themselves; the next start reuses the data folder intact (migrations current, demo world
 * already present).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../server/db/embedded";

const root = path.resolve(import.meta.dirname, "../..");
const started: ChildProcess[] = [];

function startConsole(env: Record<string, string>): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TZ: "UTC", LOG_LEVEL: "warn", ...env } as unknown as NodeJS.ProcessEnv,
  });
  started.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const ready = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes("press Ctrl-C")) {
        clearInterval(t);
        resolve();
      }
    }, 100);
    child.on("exit", (code) => {
      clearInterval(t);
      reject(new Error(`launcher exited early (${code}):\n${out}`));
    });
  });
  return { child, output: () => out, ready };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

afterAll(() => {
  for (const c of started) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("a crashed start", () => {
  it("leaves no stray processes and a reusable data folder", { timeout: 240_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "start-crash-"));
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await findFreePort()),
      EMBEDDED_PG_PORT: String(await findFreePort()),
      WORKER_METRICS_PORT: String(await findFreePort()),
      SANDBOX_PORT: String(await findFreePort()),
    };
    const first = startConsole(env);
    await first.ready;
    const pgPid = Number((await readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[0]);
    expect(isAlive(pgPid)).toBe(true);
    expect(await isPortFree(Number(env.PORT))).toBe(false);

    first.child.kill("SIGKILL");

    expect(await waitFor(() => !isAlive(pgPid), 20_000)).toBe(true);
    expect(await waitFor(() => isPortFree(Number(env.PORT)), 20_000)).toBe(true);
    expect(await waitFor(() => isPortFree(Number(env.WORKER_METRICS_PORT)), 20_000)).toBe(true);
    expect(await waitFor(() => isPortFree(Number(env.SANDBOX_PORT)), 20_000)).toBe(true);
    expect(await waitFor(() => isPortFree(Number(env.EMBEDDED_PG_PORT)), 20_000)).toBe(true);

    const second = startConsole(env);
    await second.ready;
    expect(second.output()).toMatch(/migrations current \(\d+ applied, 0 new\)/);
    expect(second.output()).toMatch(/demo users: 0 created/);
    const res = await fetch(`http://127.0.0.1:${env.PORT}/api/ready`);
    expect(res.status).toBe(200);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
    expect(await waitFor(() => isPortFree(Number(env.EMBEDDED_PG_PORT)), 20_000)).toBe(true);
  });
});
