/**
 * `npm run statement:import`: a statement file from disk is streamed into its source (found by the
 * statement's IBAN, or named with --source) and reconciled, as the database's runtime role; the
 * same file again is a reported no-op; a refused file exits 1 naming the place and writes nothing;
 * bad usage and an unreachable database exit 2.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { bankSource, count, statementXml } from "./recon-test-helpers";

const root = path.resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "statement-import-"));
let db: TestDb;

function runImport(databaseUrl: string, args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "scripts/statement-import.ts", ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe("npm run statement:import", () => {
  it("imports a statement into the source its IBAN names, reconciles its period, and a second import is a no-op", async () => {
    const src = await bankSource(db);
    const xml = file("s1.xml", statementXml([{ iban: src.iban!, statementId: "CLI-1", sequence: 1, entries: [{ amountMinor: 12_34n, endToEndId: "E2E-CLI-1" }, { amountMinor: 5_00n, direction: "debit" }] }]));
    const first = runImport(db.runtimeUrl, [xml]);
    expect(first.status, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ status: "imported", sourceId: src.id, lineCount: 2, run: { sourceId: src.id, periodFrom: "2026-11-20", periodTo: "2026-11-20", summary: { lines: 2, openBreaksByType: { missing_in_ledger: 2 } } } });
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(2);
    const audited = (await db.pool.query<{ actor_label: string }>(`SELECT actor_label FROM audit_log WHERE action = 'recon.import' ORDER BY id DESC LIMIT 1`)).rows[0];
    expect(audited?.actor_label).toMatch(/^statement-import:/);

    const again = runImport(db.runtimeUrl, [xml, `--source=${src.name}`]);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "duplicate_file", run: null });
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(2);
  });

  it("exits 1 naming the place when the file is refused, and writes nothing", async () => {
    const src = await bankSource(db);
    const good = statementXml([{ iban: src.iban!, entries: [{ amountMinor: 1_00n }, { amountMinor: 7_77n }] }]);
    // The second entry's amount gets a third decimal (the balances, 8.77, stay as they are).
    const broken = file("broken.xml", good.replace(/<Amt Ccy="EUR">7\.77<\/Amt>/, '<Amt Ccy="EUR">7.775</Amt>'));
    expect(broken).not.toBe(good);
    const r = runImport(db.runtimeUrl, [broken, "--no-run"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/STATEMENT_INVALID: .*Ntry\[2\]\/Amt/);
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(0);
    expect(await count(db, "recon_imports", "source_id = $1", [src.id])).toBe(0);
  });

  it("exits 2 on bad usage, an unknown source, or an unreachable database", () => {
    const xml = file("any.xml", statementXml([{ iban: "DE00000000000000000000", entries: [{ amountMinor: 1n }] }]));
    expect(runImport(db.url, []).status).toBe(2);
    expect(runImport(db.url, [xml, "--sauce=x"]).stderr).toMatch(/unknown option --sauce=x/);
    const unknown = runImport(db.url, [xml, "--source=No such bank"]);
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringMatching(/no reconciliation source named "No such bank"/)]);
    const unreachable = runImport("postgresql://postgres@127.0.0.1:1/none", [xml]);
    expect(unreachable.status).toBe(2);
  });
});
