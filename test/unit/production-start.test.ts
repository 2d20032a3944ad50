/**
 * Production refuses demo settings at start (issue 14, point 13): each server process stops
 * before serving anything, with one line naming the setting. The processes are started for real
 * (no database is reached: the configuration is checked first).
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

const production = {
  NODE_ENV: "production",
  DATABASE_URL: "postgres://console@db.internal:5432/console",
  NEXTAUTH_URL: "https://console.example",
  NEXTAUTH_SECRET: "p".repeat(40),
  OUTBOX_SECRET_KEY: "ab".repeat(32),
  OUTBOX_ALLOWED_HOSTS: "*.svc.internal",
  TOTP_ENCRYPTION_KEY: "cd".repeat(32),
  AUDIT_ANCHOR_SIGNING_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  WORKER_METRICS_PORT: "0",
};

function run(args: string[], vars: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...vars } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("a production process with demo settings does not start", () => {
  it("the worker names DEMO_MODE", async () => {
    const r = await run(["scripts/worker.ts"], { ...production, DEMO_MODE: "true" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[worker\] error: invalid configuration: .*DEMO_MODE must not be true in production/);
  });

  it("the web server (instrumentation hook) names OUTBOX_SECRET_KEY", async () => {
    const { OUTBOX_SECRET_KEY: _unset, ...withoutKey } = production;
    const r = await run(["-e", `import("./instrumentation.ts").then((m) => m.register()).then(() => process.exit(0))`], withoutKey);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[web\] error: invalid configuration: OUTBOX_SECRET_KEY is required in production/);
  });

  it("the worker names AUDIT_ANCHOR_SIGNING_KEY when it is missing", async () => {
    const { AUDIT_ANCHOR_SIGNING_KEY: _unset, ...withoutKey } = production;
    const r = await run(["scripts/worker.ts"], withoutKey);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[worker\] error: invalid configuration: AUDIT_ANCHOR_SIGNING_KEY is required in production/);
  });

  it("the demo seed refuses a production database", async () => {
    const r = await run(["scripts/db-seed.ts"], { ...production, SEED_DEMO: "true" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SEED_DEMO must not be true in production/);
  });
}, 60_000);
