/**
 * `npm run ledger:verify` proves the ledger from the database alone: exit 0 on a consistent
 * ledger, 1 with the discrepancy named when a stored balance was tampered with, 2 when it cannot run.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount, fund } from "../../server/ledger/testing";

const root = path.resolve(import.meta.dirname, "../..");
let db: TestDb;

function runVerify(databaseUrl: string) {
  return spawnSync(process.execPath, ["--import", "tsx", "scripts/ledger-verify.ts"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

beforeAll(async () => {
  db = await createTestDb();
  const bank = await openAccount(db, { type: "asset" });
  const wallet = await openAccount(db, { isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 12_345n);
});
afterAll(async () => {
  await db?.drop();
});

describe("npm run ledger:verify", () => {
  it("exits 0 and reports no discrepancy on a consistent ledger", () => {
    const r = runVerify(db.url);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ isOk: true, discrepancies: [] });
  });

  it("exits 1 naming the account when a stored balance no longer equals its postings", async () => {
    // As a superuser would: balances are not append-only, so a direct edit is possible.
    await db.pool.query(`UPDATE account_balances SET posted_minor = posted_minor + 1 WHERE account_id = (SELECT account_id FROM account_balances WHERE posted_minor <> 0 LIMIT 1) AND slot = (SELECT slot FROM account_balances WHERE posted_minor <> 0 LIMIT 1)`);
    const r = runVerify(db.url);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.isOk).toBe(false);
    expect(report.discrepancies.map((d: { kind: string }) => d.kind)).toContain("posted_mismatch");
  });

  it("exits 2 when the database cannot be reached", () => {
    const r = runVerify("postgresql://postgres@127.0.0.1:1/none");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ledger:verify could not run/);
  });
});
