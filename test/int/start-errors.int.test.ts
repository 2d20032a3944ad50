/**
 * `npm start` refuses to start, with one line naming the cause and a non-zero exit, when the
 * configuration is malformed, DATABASE_URL is unreachable, the port is taken or the data folder
 * is unusable; and it leaves nothing running behind.
 */
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../server/db/embedded";

const root = path.resolve(import.meta.dirname, "../..");

function runStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TZ: "UTC", ...env } as unknown as NodeJS.ProcessEnv,
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("[start] error:"));
}

describe("npm start refuses bad setups with one line", () => {
  let blocker: net.Server;
  let busyPort: number;
  let freePort: number;
  let scratch: string;

  beforeAll(async () => {
    busyPort = await findFreePort();
    freePort = await findFreePort();
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(busyPort, "127.0.0.1", () => r()));
    scratch = await mkdtemp(path.join(tmpdir(), "start-errors-"));
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it("names a malformed variable", async () => {
    const r = await runStart({ PORT: "eighty", DATA_DIR: scratch });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/PORT must be a whole number/)]);
  });

  it("reports an unreachable DATABASE_URL", async () => {
    const r = await runStart({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${freePort}/nope`, PORT: String(await findFreePort()) });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`cannot use DATABASE_URL \\(127\\.0\\.0\\.1:${freePort}/nope\\): ECONNREFUSED`))]);
  });

  it("reports a web port already in use", async () => {
    const r = await runStart({ PORT: String(busyPort), DATA_DIR: scratch });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`port ${busyPort} \\(web\\) is already in use`))]);
  });

  it("reports an embedded database port already in use", async () => {
    const r = await runStart({ PORT: String(await findFreePort()), EMBEDDED_PG_PORT: String(busyPort), DATA_DIR: path.join(scratch, "pgport") });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 is already in use`))]);
  });

  it("reports a partner sandbox port already in use, after stopping the database it started", { timeout: 90_000 }, async () => {
    const pgPort = await findFreePort();
    const r = await runStart({ PORT: String(await findFreePort()), EMBEDDED_PG_PORT: String(pgPort), SANDBOX_PORT: String(busyPort), DATA_DIR: path.join(scratch, "sandboxport") });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`port ${busyPort} \\(sandbox\\) is already in use; stop what uses it or set SANDBOX_PORT`))]);
    const isPgFree = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(pgPort, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    expect(isPgFree).toBe(true);
  });

  it("reports a data folder that is not a usable folder", async () => {
    const file = path.join(scratch, "not-a-folder");
    await writeFile(file, "x");
    const r = await runStart({ PORT: String(await findFreePort()), EMBEDDED_PG_PORT: String(await findFreePort()), DATA_DIR: file });
    expect(r.code).toBe(1);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/data folder .*not-a-folder.* (cannot be created|is not readable and writable): E(EXIST|NOTDIR)/)]);
  });
});
