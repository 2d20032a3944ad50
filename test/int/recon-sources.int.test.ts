// Reconciliation sources (server/recon/sources.ts): created and changed by admins, audited, with
// versioned CSV mappings; refusals in their documented order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { openAccount } from "../../server/ledger/testing";
import { createSource, getSource, updateSource } from "../../server/recon/sources";
import { createTestDb, type TestDb } from "../support/test-db";
import { ADMIN, randomIban } from "./recon-test-helpers";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => db.drop());

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return (e as AppError).code;
}

describe("sources", () => {
  it("creates a bank account source in its account's currency, IBAN normalized, audited", async () => {
    const acct = await openAccount(db, { code: "bank:src:JPY", type: "asset", currency: "JPY" });
    const s = await createSource(db, ADMIN, { name: "Bank JPY", kind: "bank_account", ledgerAccount: acct.code, iban: "de89 3704 0044 0532 0130 00" });
    expect(s).toMatchObject({ currency: "JPY", iban: "DE89370400440532013000", ledgerAccountCode: "bank:src:JPY", normalSide: "debit", version: 0, csvMappingVersion: null });
    const audit = (await db.pool.query(`SELECT action, actor_label FROM audit_log WHERE target_id = $1`, [s.id])).rows;
    expect(audit).toEqual([{ action: "recon.source.create", actor_label: ADMIN.label }]);
  });

  it("refuses, in order: missing IBAN, a bad IBAN, a CSV feed without mapping, an unknown mapping, an unknown account, a taken name or IBAN", async () => {
    const acct = await openAccount(db, { code: "bank:src:EUR", type: "asset" });
    expect(await codeOf(createSource(db, ADMIN, { name: "No IBAN", kind: "bank_account", ledgerAccount: acct.code }))).toBe("BAD_INPUT");
    expect(await codeOf(createSource(db, ADMIN, { name: "Bad IBAN", kind: "bank_account", ledgerAccount: acct.code, iban: "12345" }))).toBe("BAD_INPUT");
    expect(await codeOf(createSource(db, ADMIN, { name: "No map", kind: "csv_feed", ledgerAccount: acct.code }))).toBe("BAD_INPUT");
    expect(await codeOf(createSource(db, ADMIN, { name: "Bad map", kind: "csv_feed", ledgerAccount: acct.code, csvMapping: { builtIn: "nope" } }))).toBe("BAD_INPUT");
    expect(await codeOf(createSource(db, ADMIN, { name: "No account", kind: "bank_account", ledgerAccount: "bank:none", iban: randomIban() }))).toBe("NOT_FOUND");
    const iban = randomIban();
    await createSource(db, ADMIN, { name: "Taken", kind: "bank_account", ledgerAccount: acct.code, iban });
    expect(await codeOf(createSource(db, ADMIN, { name: "Taken", kind: "bank_account", ledgerAccount: acct.code, iban: randomIban() }))).toBe("CONFLICT");
    expect(await codeOf(createSource(db, ADMIN, { name: "Other", kind: "bank_account", ledgerAccount: acct.code, iban }))).toBe("CONFLICT");
  });

  it("a new CSV mapping is a new version; updates check the version and are audited with before and after", async () => {
    const acct = await openAccount(db, { code: "partner:src:settlement:EUR", type: "asset" });
    const s = await createSource(db, ADMIN, { name: "Feed", kind: "csv_feed", ledgerAccount: acct.code, csvMapping: { builtIn: "sandbox_settlement" } });
    expect(s.csvMappingVersion).toBe(1);
    const custom = { columns: { amount: "amt", bookingDate: "d" }, currency: "EUR", amountFormat: "decimal", sign: { kind: "signed", negativeIs: "debit" }, dateFormat: "YYYY-MM-DD" };
    const u = await updateSource(db, ADMIN, { sourceId: s.id, expectedVersion: 0, csvMapping: { mapping: custom }, name: "Feed renamed", reason: "bank changed its export" });
    expect(u).toMatchObject({ version: 1, csvMappingVersion: 2, name: "Feed renamed" });
    expect(await codeOf(updateSource(db, ADMIN, { sourceId: s.id, expectedVersion: 0, isActive: false, reason: "stale version" }))).toBe("VERSION_CONFLICT");
    const bad = { ...custom, amountFormat: "float" };
    expect(await codeOf(updateSource(db, ADMIN, { sourceId: s.id, expectedVersion: 1, csvMapping: { mapping: bad }, reason: "bad mapping" }))).toBe("BAD_INPUT");
    expect((await getSource(db, s.id)).csvMappingVersion).toBe(2);
    const versions = (await db.pool.query(`SELECT version, name FROM recon_csv_mappings WHERE source_id = $1 ORDER BY version`, [s.id])).rows;
    expect(versions).toEqual([
      { version: 1, name: "sandbox_settlement" },
      { version: 2, name: "custom" },
    ]);
    const audit = (await db.pool.query(`SELECT reason, before->>'name' AS before, after->>'name' AS after FROM audit_log WHERE target_id = $1 AND action = 'recon.source.update'`, [s.id])).rows;
    expect(audit).toEqual([{ reason: "bank changed its export", before: "Feed", after: "Feed renamed" }]);
    await expect(db.pool.query(`UPDATE recon_csv_mappings SET name = 'x' WHERE source_id = $1`, [s.id])).rejects.toThrow(/append-only/);
  });
});
