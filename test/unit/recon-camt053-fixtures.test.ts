// Real camt.053 files (../shared/fixtures/camt053): our streaming reader agrees with another
// parser's reading (genkgo/camt, the .expected.json beside each file) on every entry's amount,
// currency, direction and dates; statement:parse prints them and refuses the malformed file.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseCamt053File } from "../../server/partners/camt053/parse";
import { CAMT053_FIXTURES, genkgoExpectedEntries } from "../support/fixtures";

const FIXTURES = CAMT053_FIXTURES;
const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const fixtures = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith(".expected.json")) : [];

describe("camt.053 fixtures", () => {
  it("finds the fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  it.each(fixtures)("%s: entries agree on amount, currency, direction and dates", async (expectedFile) => {
    const xml = path.join(FIXTURES, expectedFile.replace(/\.expected\.json$/, ".xml"));
    const expected = genkgoExpectedEntries(JSON.parse(readFileSync(path.join(FIXTURES, expectedFile), "utf8")));
    expect(expected.length).toBeGreaterThan(0);
    const doc = await parseCamt053File(xml);
    for (const want of expected) {
      const statement = doc.statements.find((s) => s.header.statementId === want.statementId);
      expect(statement?.header.statementId, `statement ${want.statementId}`).toBe(want.statementId);
      const got = statement!.entries[want.index]!;
      expect({ amountMinor: got.amountMinor, currency: got.currency, direction: got.direction, bookingDate: got.bookingDate, valueDate: got.valueDate }).toEqual({
        amountMinor: want.amountMinor,
        currency: want.currency,
        direction: want.direction,
        bookingDate: want.bookingDate,
        valueDate: want.valueDate,
      });
    }
  });

  it("reads every statement of a multi-statement file, with balances and references", async () => {
    const doc = await parseCamt053File(path.join(FIXTURES, "camt053.v2.multi.statement.xml"));
    expect(doc.statements.map((s) => s.header.statementId)).toEqual(["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"]);
    const [first, second] = doc.statements;
    expect(first!.header.openingBalance).toEqual({ amountMinor: 1815n, currency: "EUR", direction: "credit", date: "2014-12-30" });
    expect(first!.header.closingBalance).toEqual({ amountMinor: 2700n, currency: "EUR", direction: "credit", date: "2014-12-31" });
    expect(first!.entries[0]).toMatchObject({ amountMinor: 885n, direction: "credit", endToEndId: "000000001", remittanceInfo: "Transaction Description 1" });
    expect(second!.entries[0]).toMatchObject({ amountMinor: 700n, direction: "debit", endToEndId: "000000002", remittanceInfo: "Transaction Description 2" });
  });

  it("reads version 001.04 with an account given as Othr/Id and the entry's servicer reference", async () => {
    const doc = await parseCamt053File(path.join(FIXTURES, "camt053.v4.xml"));
    expect(doc.version).toBe("001.04");
    expect(doc.statements[0]!.header).toMatchObject({ accountIban: null, accountOtherId: "NL26VAYB8060476890", sequence: "12312" });
    expect(doc.statements[0]!.entries[0]).toMatchObject({ accountServicerReference: "AAAASESS-FP-CN_98765/01", bankTransactionCode: "PAYM/0001/0005" });
  });

  it("statement:parse prints the normalized JSON with amounts as integer strings", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/statement-parse.ts", path.join(FIXTURES, "camt053.v2.minimal.xml")], { cwd: ROOT });
    const out = JSON.parse(stdout) as { format: string; statements: { statementId: string; openingBalance: unknown; entries: Record<string, unknown>[] }[] };
    expect(out.format).toBe("camt.053.001.02");
    expect(out.statements[0]!.openingBalance).toEqual({ amountMinor: "1815", currency: "EUR", direction: "credit", date: "2014-12-30" });
    expect(out.statements[0]!.entries[0]).toMatchObject({ amountMinor: "885", currency: "EUR", direction: "credit", bookingDate: "2014-12-31", valueDate: "2015-01-02", remittanceInfo: "4654654654654654" });
  }, 30_000);

  it("statement:parse exits non-zero on the malformed file and says why", async () => {
    const err = await run(process.execPath, ["--import", "tsx", "scripts/statement-parse.ts", path.join(FIXTURES, "camt053.v2.wrong.xml")], { cwd: ROOT }).then(
      () => null,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe(1);
    expect(err!.stdout).toBe("");
    expect(err!.stderr).toMatch(/STATEMENT_INVALID: BkToCstmrStmt \(line 8\): the statement list has no Stmt/);
  }, 30_000);
});
