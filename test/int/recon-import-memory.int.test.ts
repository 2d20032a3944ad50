// A 100 MB camt.053 statement imports within 256 MB of memory: the importing process (scripts/bench/
// recon-import.ts, the benchmark's own) runs with the V8 limits of `npm run statement:import`
// (scripts/lib/import-process.ts) and streams the file into PostgreSQL; every line arrives, and the
// peak resident memory (heap, code and buffers) stays under 256 MiB.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAccount } from "../../server/ledger/testing";
import { createSource } from "../../server/recon/sources";
import { writeBenchStatement } from "../../scripts/lib/camt053-generate";
import { IMPORT_PROCESS_NODE_FLAGS } from "../../scripts/lib/import-process";
import { createTestDb, type TestDb } from "../support/test-db";
import { ADMIN } from "./recon-test-helpers";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), "recon-import-memory-"));
let db: TestDb;

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("import memory", () => {
  it("imports a 100 MB statement with under 256 MiB resident", async () => {
    const account = await openAccount(db, { code: "bank:memory:EUR", type: "asset" });
    const source = await createSource(db, ADMIN, { name: "Memory bank", kind: "bank_account", ledgerAccount: account.code, iban: "NL91ABNA0417164300" });
    const file = await writeBenchStatement(path.join(dir, "big.xml"), 185_000, { iban: "NL91ABNA0417164300" });
    expect(file.bytes).toBeGreaterThan(100 * 1000 * 1000);
    const { stdout } = await run(process.execPath, [...IMPORT_PROCESS_NODE_FLAGS, "--import", "tsx", "scripts/bench/recon-import.ts", db.url, source.id, file.path], { cwd: ROOT, maxBuffer: 1 << 20, env: { ...process.env, LOG_LEVEL: "error" } });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { status: string; lines: number; maxRssBytes: number };
    expect(out).toMatchObject({ status: "imported", lines: 185_000 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM recon_lines WHERE source_id = $1`, [source.id])).rows[0]).toEqual({ n: 185_000 });
    // Resident memory: code and buffers beside the heap (measured 175-190 MiB on 2026-12-02).
    expect(out.maxRssBytes).toBeLessThan(256 * 1024 * 1024);
    process.stdout.write(`import of ${file.bytes} bytes: peak RSS ${Math.round(out.maxRssBytes / 1048576)} MiB\n`);
  }, 300_000);
});
