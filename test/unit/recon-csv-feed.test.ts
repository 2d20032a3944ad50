// CSV statement feeds (server/recon/csv-feed.ts): the sandbox settlement file through its built-in
// mapping, bank-style mappings (separators, date formats, sign conventions), and refusals that
// name the line and column.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { formatSettlementCsv } from "../../server/partners/settlement-file";
import { BUILT_IN_CSV_MAPPINGS, parseCsvAmount, parseCsvDate, parseCsvMapping, readCsvFeed, type CsvMapping } from "../../server/recon/csv-feed";
import type { StatementEntry } from "../../server/partners/statement-types";

async function read(text: string, mapping: CsvMapping): Promise<StatementEntry[]> {
  const out: StatementEntry[] = [];
  await readCsvFeed([text], { mapping, onEntry: (e) => void out.push(e) });
  return out;
}

async function refusal(text: string, mapping: CsvMapping): Promise<AppError> {
  const e = await read(text, mapping).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

const SANDBOX = BUILT_IN_CSV_MAPPINGS["sandbox_settlement"]!.mapping;

const BANK: CsvMapping = parseCsvMapping({
  delimiter: ";",
  columns: { amount: "Betrag", direction: "S/H", bookingDate: "Buchungstag", valueDate: "Valuta", remittanceInfo: "Verwendungszweck", endToEndId: "E2E" },
  currency: "EUR",
  amountFormat: "decimal",
  decimalSeparator: ",",
  thousandsSeparator: ".",
  sign: { kind: "indicator", creditValues: ["H"], debitValues: ["S"] },
  dateFormat: "DD.MM.YYYY",
});

describe("sandbox settlement mapping", () => {
  it("reads the sandbox's own file: settled is a debit, returned a credit, references kept", async () => {
    const csv = formatSettlementCsv([
      { partnerRef: "sbx_1", idempotencyKey: "tr-1", reference: "Invoice 7, March", amountMinor: 885n, currency: "EUR", status: "settled", valueDate: "2026-11-21" },
      { partnerRef: "sbx_2", idempotencyKey: "tr-2", reference: "", amountMinor: 9223372036854775807n, currency: "JPY", status: "returned", valueDate: "2026-11-22" },
    ]);
    const entries = await read(csv, SANDBOX);
    expect(entries.map((e) => [e.amountMinor, e.currency, e.direction, e.bookingDate, e.valueDate, e.accountServicerReference, e.endToEndId, e.remittanceInfo, e.place])).toEqual([
      [885n, "EUR", "debit", "2026-11-21", "2026-11-21", "sbx_1", "tr-1", "Invoice 7, March", "line 2"],
      [9223372036854775807n, "JPY", "credit", "2026-11-22", "2026-11-22", "sbx_2", "tr-2", null, "line 3"],
    ]);
  });

  it("round-trips any settlement lines the sandbox can write (fast-check)", async () => {
    const line = fc.record({
      partnerRef: fc.stringMatching(/^sbx_[0-9a-f]{1,24}$/),
      idempotencyKey: fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)).map((s) => s.trim()),
      reference: fc.string({ maxLength: 60 }).map((s) => s.trim()),
      amountMinor: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      currency: fc.constantFrom("EUR", "JPY", "BHD"),
      status: fc.constantFrom("settled" as const, "returned" as const),
      valueDate: fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 8 }), async (lines) => {
        const entries = await read(formatSettlementCsv(lines), SANDBOX);
        expect(entries.map((e) => ({ a: e.amountMinor, c: e.currency, d: e.direction, v: e.valueDate, r: e.accountServicerReference, k: e.endToEndId ?? "", ref: e.remittanceInfo ?? "" }))).toEqual(
          lines.map((l) => ({ a: l.amountMinor, c: l.currency, d: l.status === "settled" ? "debit" : "credit", v: l.valueDate, r: l.partnerRef, k: l.idempotencyKey, ref: l.reference })),
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe("bank mappings", () => {
  it("reads separators, dates and the indicator column exactly", async () => {
    const csv = `Buchungstag;Valuta;Betrag;S/H;Verwendungszweck;E2E\n20.11.2026;21.11.2026;1.234,56;S;Miete November;E-1\n20.11.2026;;0,5;h;"Gutschrift; Rest";\n`;
    const entries = await read(csv, BANK);
    expect(entries.map((e) => [e.amountMinor, e.direction, e.bookingDate, e.valueDate, e.remittanceInfo, e.endToEndId])).toEqual([
      [123456n, "debit", "2026-11-20", "2026-11-21", "Miete November", "E-1"],
      [50n, "credit", "2026-11-20", null, "Gutschrift; Rest", null],
    ]);
  });

  it("reads a signed amount column in minor or major units", async () => {
    const signed = parseCsvMapping({ columns: { amount: "amount", currency: "ccy", bookingDate: "date" }, amountFormat: "decimal", sign: { kind: "signed", negativeIs: "debit" }, dateFormat: "YYYYMMDD" });
    const entries = await read("date,amount,ccy\n20261120,-8.850,EUR\n20261121,300,JPY\n", signed);
    expect(entries.map((e) => [e.amountMinor, e.currency, e.direction, e.bookingDate])).toEqual([
      [885n, "EUR", "debit", "2026-11-20"],
      [300n, "JPY", "credit", "2026-11-21"],
    ]);
  });

  it.each([
    ["1.234,56", 123456n],
    ["1234,56", 123456n],
    ["12,3", 1230n],
    ["-1.000.000,00", -100000000n],
  ])("parses %s under the German convention", (v, want) => {
    expect(parseCsvAmount(v, "EUR", BANK)).toBe(want);
  });

  it.each(["12.34,56", "1,234.56", "1.234,567", "1,2,3"])("refuses %s under the German convention", (v) => {
    expect(() => parseCsvAmount(v, "EUR", BANK)).toThrow(AppError);
  });

  it.each([
    ["31.12.2026", "DD.MM.YYYY", "2026-12-31"],
    ["12/31/2026", "MM/DD/YYYY", "2026-12-31"],
    ["31/12/2026", "DD/MM/YYYY", "2026-12-31"],
    ["30.02.2026", "DD.MM.YYYY", null],
    ["2026-1-5", "YYYY-MM-DD", null],
  ] as const)("date %s in %s is %s", (v, format, want) => {
    expect(parseCsvDate(v, format)).toBe(want);
  });
});

describe("refusals name the line and column", () => {
  const H = "Buchungstag;Valuta;Betrag;S/H;Verwendungszweck;E2E\n";
  it.each([
    ["missing columns", "Buchungstag;Betrag\n20.11.2026;1,00\n", /line 1: the header lacks the mapped columns S\/H, Valuta, E2E, Verwendungszweck \(found: Buchungstag, Betrag\)/],
    ["too many decimals", `${H}20.11.2026;;1,001;S;x;\n`, /line 2, column Betrag: amount "1.001" has more decimals than EUR allows/],
    ["a word for an amount", `${H}20.11.2026;;abc;S;x;\n`, /line 2, column Betrag: amount "abc" is not a plain decimal/],
    ["an empty amount", `${H}20.11.2026;;;S;x;\n`, /line 2, column Betrag: is empty/],
    ["a zero amount", `${H}20.11.2026;;0,00;S;x;\n`, /line 2, column Betrag: must not be zero/],
    ["an unknown indicator", `${H}20.11.2026;;1,00;X;x;\n`, /line 2, column S\/H: "x" is neither a credit/],
    ["a negative amount with an indicator", `${H}20.11.2026;;-1,00;S;x;\n`, /line 2, column Betrag: "-1,00" must not be negative/],
    ["a bad booking date", `${H}2026-11-20;;1,00;S;x;\n`, /line 2, column Buchungstag: "2026-11-20" is not a DD.MM.YYYY date/],
    ["a missing booking date", `${H};;1,00;S;x;\n`, /line 2, column Buchungstag: is empty/],
    ["a bad date on line 3", `${H}20.11.2026;;1,00;S;x;\n20.11.2026;32.11.2026;1,00;S;x;\n`, /line 3, column Valuta/],
    ["a wrong field count", `${H}20.11.2026;;1,00;S\n`, /line 2: malformed CSV/],
    ["an unterminated quote", `${H}20.11.2026;;1,00;S;"x;\n`, /malformed CSV/],
    ["an empty file", "", /the file is empty/],
  ])("%s", async (_name, csv, message) => {
    const e = await refusal(csv, BANK);
    expect(e.code).toBe("STATEMENT_INVALID");
    expect(e.message).toMatch(message);
  });

  it("refuses an unknown currency in the sandbox file", async () => {
    const e = await refusal("partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date\nsbx_1,k,r,100,EURO,settled,2026-11-20\n", SANDBOX);
    expect(e.message).toMatch(/line 2, column currency: currency "EURO" is not a known ISO 4217 code/);
  });

  it("refuses a mapping that cannot work, naming the field", () => {
    expect(() => parseCsvMapping({ columns: { amount: "a", bookingDate: "d" }, amountFormat: "decimal", sign: { kind: "indicator", creditValues: ["C"], debitValues: ["D"] }, dateFormat: "YYYY-MM-DD" })).toThrow(
      /currency: give a currency column or a fixed currency; columns.direction: an indicator sign needs the direction column/,
    );
  });
});
