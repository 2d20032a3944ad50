// Statement import (server/recon/import.ts) against a real PostgreSQL: exact lines, atomic refusal
// (nothing written, the place named), idempotency by file and by statement id + sequence, balance
// checks, gaps between statements as breaks, size limit, unknown accounts, currency mismatch, CSV
// feeds through the sandbox settlement mapping, and concurrent imports of one file.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { importStatement } from "../../server/recon/import";
import { createSource } from "../../server/recon/sources";
import { formatSettlementCsv } from "../../server/partners/settlement-file";
import { openAccount } from "../../server/ledger/testing";
import { createTestDb, type TestDb } from "../support/test-db";
import { ADMIN, OPERATOR, bankSource, bytes, count, randomIban, statementXml } from "./recon-test-helpers";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => db.drop());

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

async function* chunked(s: string, size: number): AsyncGenerator<Uint8Array> {
  const b = bytes(s);
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

describe("camt.053 import", () => {
  it("stores every line exactly with its statement, balances and an audit record", async () => {
    const src = await bankSource(db);
    const xml = statementXml([
      {
        iban: src.iban!,
        statementId: "S-1",
        sequence: 1,
        openingMinor: 100_00n,
        entries: [
          { amountMinor: 8_85n, direction: "credit", endToEndId: "E2E-1", remittanceInfo: "Invoice 7" },
          { amountMinor: 9223372036854775807n - 100_00n - 8_85n, direction: "credit", accountServicerReference: "ASR-2" },
          { amountMinor: 1n, direction: "debit", counterpartyName: "Shop", counterpartyAccount: "FR1420041010050500013M02606" },
        ],
      },
    ]);
    const out = await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "s1.xml", content: bytes(xml) });
    expect(out).toMatchObject({ status: "imported", sourceId: src.id, format: "camt.053.001.08", lineCount: 3, periodFrom: "2026-11-20", periodTo: "2026-11-20", breaks: [] });
    const lines = (
      await db.pool.query(
        `SELECT line_index, amount_minor::text, currency, direction, is_booked, booking_date::text, end_to_end_id, account_servicer_reference, remittance_info, counterparty_name, place
           FROM recon_lines WHERE source_id = $1 ORDER BY line_index`,
        [src.id],
      )
    ).rows;
    expect(lines).toEqual([
      { line_index: 0, amount_minor: "885", currency: "EUR", direction: "credit", is_booked: true, booking_date: "2026-11-20", end_to_end_id: "E2E-1", account_servicer_reference: null, remittance_info: "Invoice 7", counterparty_name: null, place: "BkToCstmrStmt/Stmt[1]/Ntry[1]" },
      { line_index: 1, amount_minor: "9223372036854764922", currency: "EUR", direction: "credit", is_booked: true, booking_date: "2026-11-20", end_to_end_id: null, account_servicer_reference: "ASR-2", remittance_info: null, counterparty_name: null, place: "BkToCstmrStmt/Stmt[1]/Ntry[2]" },
      { line_index: 2, amount_minor: "1", currency: "EUR", direction: "debit", is_booked: true, booking_date: "2026-11-20", end_to_end_id: null, account_servicer_reference: null, remittance_info: null, counterparty_name: "Shop", place: "BkToCstmrStmt/Stmt[1]/Ntry[3]" },
    ]);
    const st = (await db.pool.query(`SELECT statement_ref, sequence, sequence_no::text, opening_minor::text, closing_minor::text, net_minor::text, line_count FROM recon_statements WHERE source_id = $1`, [src.id])).rows;
    expect(st).toEqual([{ statement_ref: "S-1", sequence: "1", sequence_no: "1", opening_minor: "10000", closing_minor: "9223372036854775806", net_minor: "9223372036854765806", line_count: 3 }]);
    const audit = (await db.pool.query(`SELECT actor_label, after FROM audit_log WHERE action = 'recon.import' AND target_id = $1`, [out.importId])).rows;
    expect(audit).toMatchObject([{ actor_label: OPERATOR.label, after: { fileName: "s1.xml", lines: 3, statements: ["S-1"] } }]);
  });

  it("finds the source by the statement's IBAN when none is given, and reads a streamed file the same", async () => {
    const src = await bankSource(db);
    const xml = statementXml([{ iban: src.iban!, entries: [{ amountMinor: 5_00n }, { amountMinor: 2_50n, direction: "debit" }] }]);
    const out = await importStatement(db, OPERATOR, { fileName: "streamed.xml", content: chunked(xml, 97) });
    expect(out).toMatchObject({ status: "imported", sourceId: src.id, lineCount: 2, sizeBytes: bytes(xml).length });
  });

  it("the same file again is a reported no-op, whether sent whole or streamed", async () => {
    const src = await bankSource(db);
    const xml = statementXml([{ iban: src.iban!, entries: [{ amountMinor: 1_00n }] }]);
    const first = await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "a.xml", content: bytes(xml) });
    const again = await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "a-again.xml", content: bytes(xml) });
    const streamed = await importStatement(db, OPERATOR, { fileName: "a-streamed.xml", content: chunked(xml, 1000) });
    expect(again).toMatchObject({ status: "duplicate_file", importId: null, fileSha256: first.fileSha256 });
    expect(streamed).toMatchObject({ status: "duplicate_file", importId: null, fileSha256: first.fileSha256 });
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(1);
    expect(await count(db, "recon_imports", "source_id = $1", [src.id])).toBe(1);
  });

  it("a statement whose id and sequence were imported is skipped and reported; new ones in the same file are imported", async () => {
    const src = await bankSource(db);
    await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "1.xml", content: bytes(statementXml([{ iban: src.iban!, statementId: "D-1", sequence: 1, entries: [{ amountMinor: 1_00n }] }])) });
    const onlyOld = await importStatement(db, OPERATOR, {
      sourceId: src.id,
      fileName: "1-resent.xml",
      content: bytes(statementXml([{ iban: src.iban!, statementId: "D-1", sequence: 1, entries: [{ amountMinor: 1_00n }, { amountMinor: 7n }] }])),
    });
    expect(onlyOld).toMatchObject({ status: "nothing_new", importId: null, statements: [{ statementRef: "D-1", sequence: "1", isNew: false }] });
    const mixed = await importStatement(db, OPERATOR, {
      sourceId: src.id,
      fileName: "1-and-2.xml",
      content: bytes(
        statementXml([
          { iban: src.iban!, statementId: "D-1", sequence: 1, entries: [{ amountMinor: 1_00n }] },
          { iban: src.iban!, statementId: "D-2", sequence: 2, openingMinor: 1_00n, entries: [{ amountMinor: 2_00n }] },
        ]),
      ),
    });
    expect(mixed.status).toBe("imported");
    expect(mixed.statements.map((s) => [s.statementRef, s.isNew])).toEqual([
      ["D-2", true],
      ["D-1", false],
    ]);
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(2);
    expect(await count(db, "recon_breaks", "source_id = $1", [src.id])).toBe(0);
  });

  it("a skipped sequence number opens a statement_gap break; an opening that does not continue the last closing a balance_mismatch break", async () => {
    const src = await bankSource(db);
    const imp = (sequence: number, openingMinor: bigint, amountMinor: bigint) =>
      importStatement(db, OPERATOR, { sourceId: src.id, fileName: `${sequence}.xml`, content: bytes(statementXml([{ iban: src.iban!, statementId: `G-${sequence}`, sequence, openingMinor, entries: [{ amountMinor }] }])) });
    await imp(1, 0n, 10_00n);
    const gap = await imp(3, 25_00n, 1_00n);
    expect(gap.breaks).toEqual([{ type: "statement_gap", statementRef: "G-3", message: "statements 2 to 2 are missing between G-1 and G-3" }]);
    const jump = await imp(4, 27_00n, 1_00n);
    expect(jump.breaks).toEqual([{ type: "balance_mismatch", statementRef: "G-4", message: "the opening balance 27.00 of G-4 does not continue the closing balance 26.00 of G-3" }]);
    const rows = (await db.pool.query(`SELECT type, status, amount_minor::text, direction FROM recon_breaks WHERE source_id = $1 ORDER BY type::text`, [src.id])).rows;
    expect(rows).toEqual([
      { type: "balance_mismatch", status: "open", amount_minor: "100", direction: "credit" },
      { type: "statement_gap", status: "open", amount_minor: "1500", direction: "credit" },
    ]);
    expect(await count(db, "recon_break_events", "break_id IN (SELECT id FROM recon_breaks WHERE source_id = $1) AND kind = 'opened'", [src.id])).toBe(2);
    // The missing statement arrives late: the gap closes itself.
    await imp(2, 10_00n, 15_00n);
    expect((await db.pool.query(`SELECT status, resolution FROM recon_breaks WHERE source_id = $1 AND type = 'statement_gap'`, [src.id])).rows).toEqual([{ status: "resolved", resolution: "gap_filled" }]);
  });
});

describe("refusals write nothing and name the place", () => {
  it.each([
    ["a bad amount on the last entry", (iban: string) => statementXml([{ iban, entries: [{ amountMinor: 1_00n }, { amountMinor: 2_00n }] }]).replace(/>2\.00</, ">2.001<"), "STATEMENT_INVALID", /BkToCstmrStmt\/Stmt\[1\]\/Ntry\[2\]\/Amt \(line \d+\): amount "2.001" has more decimals than EUR allows/],
    ["balances that do not add up", (iban: string) => statementXml([{ iban, openingMinor: 10_00n, closingMinor: 12_00n, entries: [{ amountMinor: 1_00n }] }]), "STATEMENT_UNBALANCED", /Stmt\[1\]: opening 10.00 \+ entries 1.00 = 11.00, but the closing balance is 12.00/],
    ["the second statement of a file unbalanced", (iban: string) => statementXml([{ iban, statementId: "OK", entries: [{ amountMinor: 1_00n }] }, { iban, statementId: "BAD", sequence: 2, openingMinor: 1_00n, closingMinor: 0n, entries: [{ amountMinor: 1_00n }] }]), "STATEMENT_UNBALANCED", /Stmt\[2\]/],
    ["an unknown camt version", (iban: string) => statementXml([{ iban, entries: [{ amountMinor: 1_00n }] }]).replace("camt.053.001.08", "camt.053.001.11"), "STATEMENT_VERSION_UNSUPPORTED", /version 001.11 is not supported/],
    ["malformed XML", (iban: string) => statementXml([{ iban, entries: [{ amountMinor: 1_00n }] }]).replace("</Ntry>", ""), "STATEMENT_INVALID", /malformed XML/],
    ["another account's statement", () => statementXml([{ iban: randomIban(), entries: [{ amountMinor: 1_00n }] }]), "STATEMENT_UNKNOWN_ACCOUNT", /Stmt\[1\]\/Acct: the statement is for account DE\w+, but source .* is account DE/],
    ["a statement in another currency", (iban: string) => statementXml([{ iban, currency: "USD", entries: [{ amountMinor: 1_00n }] }]), "CURRENCY_MISMATCH", /Stmt\[1\]\/Acct\/Ccy: the account's currency is USD, but source .* is in EUR/],
  ])("%s", async (_name, make, code, message) => {
    const src = await bankSource(db);
    const e = await refusal(importStatement(db, OPERATOR, { sourceId: src.id, fileName: "bad.xml", content: bytes(make(src.iban!)) }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(0);
    expect(await count(db, "recon_statements", "source_id = $1", [src.id])).toBe(0);
    expect(await count(db, "recon_imports", "source_id = $1", [src.id])).toBe(0);
  });

  it("an IBAN no source has, with no source given", async () => {
    const e = await refusal(importStatement(db, OPERATOR, { fileName: "x.xml", content: bytes(statementXml([{ iban: "NL91ABNA0417164300", entries: [{ amountMinor: 1n }] }])) }));
    expect(e.code).toBe("STATEMENT_UNKNOWN_ACCOUNT");
    expect(e.message).toContain("no reconciliation source is set up for account NL91ABNA0417164300");
  });

  it("a file over the size limit, whole or streamed (counted as it arrives)", async () => {
    const src = await bankSource(db);
    const xml = statementXml([{ iban: src.iban!, entries: Array.from({ length: 50 }, (_v, i) => ({ amountMinor: BigInt(i + 1) })) }]);
    const whole = await refusal(importStatement(db, OPERATOR, { sourceId: src.id, fileName: "big.xml", content: bytes(xml), maxBytes: 4096 }));
    expect(whole.code).toBe("STATEMENT_TOO_LARGE");
    const streamed = await refusal(importStatement(db, OPERATOR, { sourceId: src.id, fileName: "big.xml", content: chunked(xml, 512), maxBytes: 4096 }));
    expect(streamed.code).toBe("STATEMENT_TOO_LARGE");
    expect(streamed.message).toBe("the file is larger than the limit of 4096 bytes");
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(0);
  });

  it("a single entry in another currency is kept as a line (it becomes a break when matched)", async () => {
    const src = await bankSource(db);
    const out = await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "fx.xml", content: bytes(statementXml([{ iban: src.iban!, entries: [{ amountMinor: 1_00n }, { amountMinor: 3_00n, currency: "USD" }] }])) });
    expect(out.lineCount).toBe(2);
    expect((await db.pool.query(`SELECT net_minor::text FROM recon_statements WHERE source_id = $1`, [src.id])).rows[0]).toEqual({ net_minor: "100" });
  });
});

describe("CSV feeds", () => {
  async function csvSource() {
    const tag = Math.random().toString(36).slice(2, 10);
    const account = await openAccount(db, { code: `partner:test${tag}:settlement:EUR`, type: "asset" });
    return createSource(db, ADMIN, { name: `Partner ${tag}`, kind: "partner_rail", ledgerAccount: account.code, partner: `test${tag}`, rail: "batch", csvMapping: { builtIn: "sandbox_settlement" } });
  }

  it("imports the sandbox settlement file through its built-in mapping; the same file again is a no-op", async () => {
    const src = await csvSource();
    const csv = formatSettlementCsv([
      { partnerRef: "sbx_1", idempotencyKey: "tr-1", reference: "Invoice 1", amountMinor: 12_34n, currency: "EUR", status: "settled", valueDate: "2026-11-20" },
      { partnerRef: "sbx_2", idempotencyKey: "tr-2", reference: "Invoice 2", amountMinor: 5_00n, currency: "EUR", status: "returned", valueDate: "2026-11-21" },
    ]);
    const out = await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "batch-2026-11-21.csv", content: bytes(csv) });
    expect(out).toMatchObject({ status: "imported", format: "csv:sandbox_settlement@1", lineCount: 2, periodFrom: "2026-11-20", periodTo: "2026-11-21" });
    const lines = (await db.pool.query(`SELECT amount_minor::text, direction, account_servicer_reference, end_to_end_id, place FROM recon_lines WHERE source_id = $1 ORDER BY line_index`, [src.id])).rows;
    expect(lines).toEqual([
      { amount_minor: "1234", direction: "debit", account_servicer_reference: "sbx_1", end_to_end_id: "tr-1", place: "line 2" },
      { amount_minor: "500", direction: "credit", account_servicer_reference: "sbx_2", end_to_end_id: "tr-2", place: "line 3" },
    ]);
    expect((await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "again.csv", content: bytes(csv) })).status).toBe("duplicate_file");
  });

  it("refuses a CSV with a bad line whole, naming line and column", async () => {
    const src = await csvSource();
    const csv = "partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date\nsbx_1,k,r,100,EUR,settled,2026-11-20\nsbx_2,k2,r,12.5,EUR,settled,2026-11-20\n";
    const e = await refusal(importStatement(db, OPERATOR, { sourceId: src.id, fileName: "bad.csv", content: bytes(csv) }));
    expect(e.message).toBe('line 3, column amount_minor: amount "12.5" is not a whole number of minor units');
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(0);
  });

  it("refuses XML for a CSV source and CSV without a source", async () => {
    const src = await csvSource();
    expect((await refusal(importStatement(db, OPERATOR, { sourceId: src.id, fileName: "x.xml", content: bytes("<Document/>") }))).message).toMatch(/reads CSV with a column mapping/);
    expect((await refusal(importStatement(db, OPERATOR, { fileName: "x.csv", content: bytes("a,b\n") }))).message).toMatch(/a CSV file needs its source/);
  });
});

describe("concurrency", () => {
  it("the same file imported twice at once is imported once; the other call reports the duplicate", async () => {
    const src = await bankSource(db);
    const xml = statementXml([{ iban: src.iban!, entries: Array.from({ length: 200 }, (_v, i) => ({ amountMinor: BigInt(i + 1) })) }]);
    const outs = await Promise.all([1, 2, 3].map((n) => importStatement(db, OPERATOR, { sourceId: src.id, fileName: `race-${n}.xml`, content: chunked(xml, 4096) })));
    expect(outs.map((o) => o.status).sort()).toEqual(["duplicate_file", "duplicate_file", "imported"]);
    expect(await count(db, "recon_lines", "source_id = $1", [src.id])).toBe(200);
  });
});

describe("database rules", () => {
  it("statement lines and statements are append-only, and a statement's balances must add up", async () => {
    const src = await bankSource(db);
    await importStatement(db, OPERATOR, { sourceId: src.id, fileName: "r.xml", content: bytes(statementXml([{ iban: src.iban!, entries: [{ amountMinor: 1_00n }] }])) });
    await expect(db.pool.query(`UPDATE recon_lines SET amount_minor = 2 WHERE source_id = $1`, [src.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM recon_statements WHERE source_id = $1`, [src.id])).rejects.toThrow(/append-only/);
    await expect(
      db.pool.query(
        `INSERT INTO recon_statements (source_id, import_id, statement_ref, sequence, format, currency, opening_minor, closing_minor, net_minor, line_count, period_from, period_to, created_at)
         SELECT source_id, import_id, 'X', 'x', format, currency, 0, 5, 4, 0, period_from, period_to, now() FROM recon_statements WHERE source_id = $1`,
        [src.id],
      ),
    ).rejects.toThrow(/recon_statements_balanced/);
    await expect(db.pool.query(`UPDATE recon_sources SET currency = 'USD' WHERE id = $1`, [src.id])).rejects.toThrow(/never change/);
  });
});
