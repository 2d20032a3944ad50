// A 100 MB camt.053 statement is read within 256 MB: the streaming reader runs in a child process
// whose V8 heap is capped with --max-old-space-size=256, and the child's peak resident memory is
// checked too. The file is generated (scripts/lib/camt053-generate.ts) into a temporary folder.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { writeBenchStatement } from "../../scripts/lib/camt053-generate";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), "recon-memory-"));
const LIMIT_BYTES = 256 * 1024 * 1024;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("camt.053 memory", () => {
  it("reads a 100 MB statement in a process capped at 256 MB", async () => {
    const file = await writeBenchStatement(path.join(dir, "big.xml"), 185_000);
    expect(file.bytes).toBeGreaterThan(100 * 1000 * 1000);
    const { stdout } = await run(process.execPath, ["--max-old-space-size=256", "--import", "tsx", "scripts/lib/camt053-count.ts", file.path], { cwd: ROOT, maxBuffer: 1 << 20 });
    const out = JSON.parse(stdout) as { statements: number; entries: number; netMinor: string; maxRssBytes: number; maxHeapUsedBytes: number };
    expect(out.statements).toBe(1);
    expect(out.entries).toBe(185_000);
    expect(BigInt(out.netMinor)).toBe(file.netMinor);
    expect(out.maxRssBytes).toBeLessThan(LIMIT_BYTES);
    expect(out.maxHeapUsedBytes).toBeLessThan(LIMIT_BYTES / 2);
  }, 120_000);
});
