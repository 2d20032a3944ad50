/**
 * `npm run statement:parse`, spawned as the CLI: on every real camt.053 fixture it exits 0 and
 * prints entries whose amounts, currencies, directions and dates are genkgo/camt's reading of the
 * same file (NAME.expected.json); on a settlement file written by the sandbox's own writer, read
 * with --mapping=sandbox_settlement (or recognised by its header), it prints the lines as the
 * mapping defines them; a malformed file exits 1 naming the place; bad usage exits 2.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatSettlementCsv } from "../../server/partners/settlement-file";
import { CAMT053_FIXTURES, genkgoExpectedEntries, REPO_ROOT } from "../support/fixtures";

const dir = mkdtempSync(path.join(tmpdir(), "statement-parse-"));

function parse(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "scripts/statement-parse.ts", ...args], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: "silent" }, encoding: "utf8", timeout: 60_000 });
}

interface ParsedJson {
  format: string;
  statements: {
    statementId: string;
    entryCount: number;
    openingBalance: unknown;
    closingBalance: unknown;
    entries: { amountMinor: string; currency: string; direction: string; bookingDate: string | null; valueDate: string | null; [k: string]: unknown }[];
  }[];
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const expectedFiles = readdirSync(CAMT053_FIXTURES).filter((f) => f.endsWith(".expected.json"));

describe("npm run statement:parse", () => {
  it("has the camt.053 fixtures and their expected readings", () => {
    expect(expectedFiles).toHaveLength(4);
  });

  it.each(expectedFiles)("%s: exit 0, every entry as genkgo/camt reads it", (expectedFile) => {
    const xml = path.join(CAMT053_FIXTURES, expectedFile.replace(/\.expected\.json$/, ".xml"));
    const expected = genkgoExpectedEntries(JSON.parse(readFileSync(path.join(CAMT053_FIXTURES, expectedFile), "utf8")));
    const r = parse([xml]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ParsedJson;
    expect(out.format).toMatch(/^camt\.053\.001\.0[24]$/);
    // Every statement and entry of the file (counted in its text: genkgo's dump lists the entries
    // of one statement only where a file has two), and genkgo's entries among them as it read them.
    const text = readFileSync(xml, "utf8");
    expect(out.statements.map((s) => s.statementId)).toEqual([...text.matchAll(/<Stmt>\s*<Id>([^<]+)<\/Id>/g)].map((m) => m[1]));
    expect(out.statements.reduce((n, s) => n + s.entryCount, 0)).toBe(text.match(/<Ntry>/g)!.length);
    expect(expected.length).toBeGreaterThan(0);
    for (const want of expected) {
      const got = out.statements.find((s) => s.statementId === want.statementId)!.entries[want.index]!;
      expect({ amountMinor: got.amountMinor, currency: got.currency, direction: got.direction, bookingDate: got.bookingDate, valueDate: got.valueDate }, `${want.statementId} entry ${want.index}`).toEqual({
        amountMinor: want.amountMinor.toString(),
        currency: want.currency,
        direction: want.direction,
        bookingDate: want.bookingDate,
        valueDate: want.valueDate,
      });
    }
  });

  it("reads what genkgo's dump leaves out as the file says (checked by hand: the first statement of the two)", () => {
    const r = parse([path.join(CAMT053_FIXTURES, "camt053.v2.multi.statement.xml")]);
    expect(r.status, r.stderr).toBe(0);
    const first = (JSON.parse(r.stdout) as ParsedJson).statements[0]!;
    // <Bal> OPBD 18.15 CRDT 2014-12-30, CLBD 27.00 CRDT 2014-12-31; <Ntry> 8.85 CRDT, booked 2014-12-31, value 2015-01-02, EndToEndId 000000001.
    expect([first.statementId, first.openingBalance, first.closingBalance]).toEqual([
      "253EURNL26VAYB8060476890",
      { amountMinor: "1815", currency: "EUR", direction: "credit", date: "2014-12-30" },
      { amountMinor: "2700", currency: "EUR", direction: "credit", date: "2014-12-31" },
    ]);
    expect(first.entries).toEqual([expect.objectContaining({ amountMinor: "885", currency: "EUR", direction: "credit", bookingDate: "2014-12-31", valueDate: "2015-01-02", endToEndId: "000000001", remittanceInfo: "Transaction Description 1" })]);
  });

  it("exits 1 on the malformed fixture and on a real statement made malformed, naming the place", () => {
    const wrong = parse([path.join(CAMT053_FIXTURES, "camt053.v2.wrong.xml")]);
    expect([wrong.status, wrong.stdout]).toEqual([1, ""]);
    expect(wrong.stderr).toMatch(/camt053\.v2\.wrong\.xml: STATEMENT_INVALID: BkToCstmrStmt \(line 8\): the statement list has no Stmt/);
    // The first entry's 8.85 EUR gets a third decimal: never rounded, refused where it is.
    const real = readFileSync(path.join(CAMT053_FIXTURES, "camt053.v2.minimal.xml"), "utf8");
    const broken = real.replace('<Amt Ccy="EUR">8.85</Amt>', '<Amt Ccy="EUR">8.855</Amt>');
    expect(broken).not.toBe(real);
    const r = parse([file("minimal-8.855.xml", broken)]);
    expect([r.status, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toMatch(/minimal-8\.855\.xml: STATEMENT_INVALID: .*Ntry\[1\]\/Amt.*8\.855/);
  });

  it("reads a sandbox settlement file with --mapping=sandbox_settlement, and by its header", () => {
    const csv = formatSettlementCsv([
      { partnerRef: "sbx_0b6f01", idempotencyKey: "tr_42", reference: "Invoice 7, March", amountMinor: 885n, currency: "EUR", status: "settled", valueDate: "2026-11-21" },
      { partnerRef: "sbx_0b6f02", idempotencyKey: "tr_43", reference: 'the "big" one', amountMinor: 1_000_000_00n, currency: "EUR", status: "settled", valueDate: "2026-11-21" },
      { partnerRef: "sbx_0b6f03", idempotencyKey: "tr_17", reference: "", amountMinor: 1_234n, currency: "JPY", status: "returned", valueDate: "2026-11-22" },
    ]);
    const p = file("sandbox-batch-2026-11-21.csv", csv);
    const r = parse([p, "--mapping=sandbox_settlement"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ParsedJson;
    expect(out.format).toBe("csv:sandbox_settlement@1");
    expect(out.statements).toHaveLength(1);
    expect(out.statements[0]!.entries.map((e) => [e.amountMinor, e.currency, e.direction, e.bookingDate, e.valueDate, e.accountServicerReference, e.endToEndId, e.remittanceInfo, e.place])).toEqual([
      ["885", "EUR", "debit", "2026-11-21", "2026-11-21", "sbx_0b6f01", "tr_42", "Invoice 7, March", "line 2"],
      ["100000000", "EUR", "debit", "2026-11-21", "2026-11-21", "sbx_0b6f02", "tr_43", 'the "big" one', "line 3"],
      ["1234", "JPY", "credit", "2026-11-22", "2026-11-22", "sbx_0b6f03", "tr_17", null, "line 4"],
    ]);
    const guessed = parse([p]);
    expect(guessed.status, guessed.stderr).toBe(0);
    expect(JSON.parse(guessed.stdout).statements).toEqual(out.statements);

    const bad = parse([file("bad.csv", csv.replace(",885,", ",8.85,")), "--mapping=sandbox_settlement"]);
    expect([bad.status, bad.stdout]).toEqual([1, ""]);
    expect(bad.stderr).toMatch(/bad\.csv: STATEMENT_INVALID: line 2, column amount_minor: amount "8\.85" is not a whole number of minor units/);
  });

  it("exits 2 on bad usage, saying what was wrong", () => {
    const xml = path.join(CAMT053_FIXTURES, "camt053.v2.minimal.xml");
    const cases: [string[], RegExp][] = [
      [[], /give the file to parse/],
      [[xml, path.join(CAMT053_FIXTURES, "camt053.v4.xml")], /give one file, not 2/],
      [[xml, "--maping=sandbox_settlement"], /unknown option --maping=sandbox_settlement/],
      [[xml, "--mapping=nope"], /unknown mapping "nope"; built in: sandbox_settlement/],
      [[xml, "--mapping=toString"], /unknown mapping "toString"/],
      [[path.join(dir, "no-such-file.xml")], /no-such-file\.xml is not a readable file/],
    ];
    for (const [args, message] of cases) {
      const r = parse(args);
      expect([r.status, r.stdout], args.join(" ")).toEqual([2, ""]);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr).toMatch(/usage: npm run statement:parse -- <file> \[--mapping=sandbox_settlement\]/);
    }
  });
});
