/**
 * Ctrl-C under `npm start` stops the web server and the worker before the database, quietly: the
 * terminal's SIGINT goes to the launcher's whole process group (sandbox, web, worker), never to
 * the embedded PostgreSQL, which the launcher stops last. Before the fix the database got the
 * signal too and cut everyone's connections ("job engine error" 57P01 lines).
 *
 * On the way it scrapes the running web process's /api/metrics with the demo's token (kept in the
 * data folder and printed at start), and is refused without it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../server/db/embedded";

const root = path.resolve(import.meta.dirname, "../..");
let launcher: ChildProcess | undefined;

afterAll(() => {
  if (launcher?.pid && launcher.exitCode === null) process.kill(-launcher.pid, "SIGKILL");
});

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

describe("Ctrl-C under npm start", () => {
  it("stops web, worker and sandbox before the database, without connection errors", { timeout: 420_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "start-stop-"));
    const ports = {
      PORT: String(await findFreePort()),
      EMBEDDED_PG_PORT: String(await findFreePort()),
      WORKER_METRICS_PORT: String(await findFreePort()),
      SANDBOX_PORT: String(await findFreePort()),
    };
    // Detached: the launcher leads a process group of its own, like a shell's foreground job.
    launcher = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: root,
      detached: true,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TZ: "UTC", LOG_LEVEL: "info", DATA_DIR: dataDir, ...ports } as unknown as NodeJS.ProcessEnv,
    });
    let out = "";
    launcher.stdout!.on("data", (d) => (out += d));
    launcher.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => launcher!.once("exit", (code) => resolve(code)));
    for (let i = 0; i < 3600 && !out.includes("press Ctrl-C") && launcher.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(out, out).toContain("press Ctrl-C");

    // The demo's metrics token is printed at start; the endpoint refuses a scrape without it.
    const token = /Authorization: Bearer ([A-Za-z0-9_-]{16,})'/.exec(out)?.[1];
    expect(token, out).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const metricsUrl = `http://127.0.0.1:${ports.PORT}/api/metrics`;
    expect((await fetch(metricsUrl)).status).toBe(401);
    const scraped = await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    const families = parsePrometheusTextFormat(await scraped.text());
    const names = families.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(["console_database_up", "transfers_active", "job_queue_depth", "webhook_lag_seconds", "ledger_integrity_ok", "audit_chain_intact"]));

    // Ctrl-C: SIGINT to the launcher's process group, as a terminal sends it.
    const stopAt = out.length;
    process.kill(-launcher.pid!, "SIGINT");
    const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000))]);
    const tail = out.slice(stopAt);
    expect(code, tail).toBe(0);
    expect(tail).not.toMatch(/57P01|job engine error|terminating connection|Connection terminated/);
    // The worker finished stopping before the database was asked to.
    const workerStopped = tail.indexOf("worker stopped");
    const databaseStopping = tail.indexOf("stopping embedded PostgreSQL");
    expect(workerStopped, tail).toBeGreaterThanOrEqual(0);
    expect(databaseStopping, tail).toBeGreaterThan(workerStopped);
    expect(await isPortFree(Number(ports.EMBEDDED_PG_PORT))).toBe(true);
    expect(await isPortFree(Number(ports.PORT))).toBe(true);
  });
});
