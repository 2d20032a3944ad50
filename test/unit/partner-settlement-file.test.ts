// Settlement files (server/partners/settlement-file.ts): exact parsing into bigint, RFC 4180
// quoting, whole-file refusal naming the line, and format -> parse round trips (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSettlementCsv, parseSettlementCsv, SettlementFileError, splitCsv } from "../../server/partners/settlement-file";
import type { SettlementLine } from "../../server/partners/types";

const META = { partner: "sandbox", rail: "batch" as const, date: "2026-11-21" };
const HEADER = "partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date";

describe("parseSettlementCsv", () => {
  it("reads amounts exactly as bigint, including the largest BIGINT", () => {
    const raw = `${HEADER}\nsbx_1,tr-1,Invoice 7,885,EUR,settled,2026-11-21\nsbx_2,tr-2,x,9223372036854775807,JPY,returned,2026-11-21\n`;
    const file = parseSettlementCsv(raw, META);
    expect(file.lines.map((l) => l.amountMinor)).toEqual([885n, 9223372036854775807n]);
    expect(file.lines[1]).toEqual({ lineNumber: 2, partnerRef: "sbx_2", idempotencyKey: "tr-2", reference: "x", amountMinor: 9223372036854775807n, currency: "JPY", status: "returned", valueDate: "2026-11-21" });
    expect(file.raw).toBe(raw);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(file).toMatchObject(META);
  });

  it("reads quoted fields with commas, quotes and line breaks, and CRLF line ends", () => {
    const raw = `${HEADER}\r\nsbx_1,tr-1,"Invoice 7, ""March""\nsecond line",100,EUR,settled,2026-11-21\r\n`;
    expect(parseSettlementCsv(raw, META).lines[0]!.reference).toBe('Invoice 7, "March"\nsecond line');
  });

  it("accepts a file with no lines and an empty idempotency key on an unattributed line", () => {
    expect(parseSettlementCsv(`${HEADER}\n`, META).lines).toEqual([]);
    expect(parseSettlementCsv(`${HEADER}\nsbx_9,,unidentified item,1,EUR,settled,2026-11-21`, META).lines[0]!.idempotencyKey).toBe("");
  });

  it.each([
    ["885.0", /amount_minor "885.0" is not a positive whole number/],
    ["8.85", /amount_minor "8.85"/],
    ["1e3", /amount_minor "1e3"/],
    [" 885", /amount_minor " 885"/],
    ["-5", /amount_minor "-5"/],
    ["+5", /amount_minor "\+5"/],
    ["0", /amount_minor "0"/],
    ["007", /amount_minor "007"/],
    ["9223372036854775808", /amount_minor "9223372036854775808"/],
    ["", /amount_minor ""/],
  ])("refuses the amount %j", (amount, message) => {
    const raw = `${HEADER}\nsbx_1,tr-1,ref,${amount},EUR,settled,2026-11-21\n`;
    expect(() => parseSettlementCsv(raw, META)).toThrow(SettlementFileError);
    expect(() => parseSettlementCsv(raw, META)).toThrow(message);
  });

  it.each([
    ["a wrong header", `partner_ref,amount\nsbx_1,1`, /line 1: the header must be/],
    ["an empty file", ``, /line 1: the header must be/],
    ["too few fields", `${HEADER}\nsbx_1,tr-1,ref,885,EUR,settled`, /line 2: expected 7 fields, found 6/],
    ["too many fields", `${HEADER}\nsbx_1,tr-1,ref,885,EUR,settled,2026-11-21,x`, /line 2: expected 7 fields, found 8/],
    ["a blank line", `${HEADER}\n\nsbx_1,tr-1,ref,885,EUR,settled,2026-11-21`, /line 2: expected 7 fields, found 1/],
    ["an empty partner_ref", `${HEADER}\n,tr-1,ref,885,EUR,settled,2026-11-21`, /line 2: partner_ref is empty/],
    ["an unknown currency", `${HEADER}\nsbx_1,tr-1,ref,885,XXX,settled,2026-11-21`, /line 2: currency "XXX"/],
    ["a lower-case currency", `${HEADER}\nsbx_1,tr-1,ref,885,eur,settled,2026-11-21`, /line 2: currency "eur"/],
    ["an unknown status", `${HEADER}\nsbx_1,tr-1,ref,885,EUR,pending,2026-11-21`, /line 2: status "pending"/],
    ["an impossible date", `${HEADER}\nsbx_1,tr-1,ref,885,EUR,settled,2026-02-30`, /line 2: value_date "2026-02-30"/],
    ["a non-ISO date", `${HEADER}\nsbx_1,tr-1,ref,885,EUR,settled,21/11/2026`, /line 2: value_date/],
    ["an unterminated quote", `${HEADER}\nsbx_1,tr-1,"ref,885,EUR,settled,2026-11-21`, /line 2: unterminated quoted field/],
    ["text after a closing quote", `${HEADER}\nsbx_1,tr-1,"ref"x,885,EUR,settled,2026-11-21`, /line 2: text after a closing quote/],
    ["a quote inside a bare field", `${HEADER}\nsbx_1,tr-1,re"f,885,EUR,settled,2026-11-21`, /line 2: a quote may only open a field/],
  ])("refuses the whole file on %s, naming the line", (_name, raw, message) => {
    expect(() => parseSettlementCsv(raw, META)).toThrow(message);
  });

  it("names the physical line of the bad record after a multi-line quoted field", () => {
    const raw = `${HEADER}\nsbx_1,tr-1,"two\nlines",1,EUR,settled,2026-11-21\nsbx_2,tr-2,ref,x,EUR,settled,2026-11-21\n`;
    expect(() => parseSettlementCsv(raw, META)).toThrow(/line 4: amount_minor "x"/);
  });
});

describe("formatSettlementCsv", () => {
  it("writes the header, quotes only where needed, ends with a newline", () => {
    const text = formatSettlementCsv([
      { partnerRef: "sbx_1", idempotencyKey: "tr-1", reference: 'a, "b"', amountMinor: 885n, currency: "EUR", status: "settled", valueDate: "2026-11-21" },
      { partnerRef: "sbx_2", idempotencyKey: "tr-2", reference: " padded ", amountMinor: 1n, currency: "JPY", status: "returned", valueDate: "2026-11-21" },
    ]);
    expect(text).toBe(`${HEADER}\nsbx_1,tr-1,"a, ""b""",885,EUR,settled,2026-11-21\nsbx_2,tr-2," padded ",1,JPY,returned,2026-11-21\n`);
  });

  it("round-trips any lines exactly (property)", () => {
    const line = fc.record({
      partnerRef: fc.string({ minLength: 1, maxLength: 40 }),
      idempotencyKey: fc.string({ maxLength: 40 }),
      reference: fc.string({ maxLength: 60 }),
      amountMinor: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      currency: fc.constantFrom("EUR", "USD", "JPY", "BHD", "GBP"),
      status: fc.constantFrom("settled" as const, "returned" as const),
      valueDate: fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        const parsed = parseSettlementCsv(formatSettlementCsv(lines), META).lines;
        const expected: SettlementLine[] = lines.map((l, i) => ({ ...l, lineNumber: i + 1 }));
        expect(parsed).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("splitCsv", () => {
  it("keeps empty fields and reports each record's starting line", () => {
    expect(splitCsv('a,,c\n"x\ny",2\n')).toEqual([
      { line: 1, fields: ["a", "", "c"] },
      { line: 2, fields: ["x\ny", "2"] },
    ]);
  });
});
