// CSV export: RFC 4180 escaping, formula-injection guard on text, and amounts that stay exact
// (bigint minor units and decimals made from them, never a JS number).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { collectRows, csvCell, decimal, moneyColumns, toCsv, type CsvColumn } from "../../components/kit/csv";
import { formatAmount } from "../../server/money/amount";

describe("csvCell", () => {
  it.each([
    ["plain text", "plain text"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["cr\rhere", '"cr\rhere"'],
    ["", ""],
    ["ünïcødé €", "ünïcødé €"],
  ])("text %j is written as %j", (v, out) => expect(csvCell(v)).toBe(out));

  it.each([
    ["=SUM(A1:A2)", "'=SUM(A1:A2)"],
    ["+1", "'+1"],
    ["-12.50", "'-12.50"],
    ["@cmd", "'@cmd"],
    ["\tx", "'\tx"],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
  ])("text a spreadsheet would run, %j, is defused", (v, out) => expect(csvCell(v)).toBe(out));

  it("writes bigint minor units exactly, far beyond a JS number's exact range", () => {
    expect(csvCell(9223372036854775807n)).toBe("9223372036854775807");
    expect(csvCell(-9007199254740993n)).toBe("-9007199254740993");
  });

  it("writes exact decimals unquoted and unguarded, and refuses anything else as one", () => {
    expect(csvCell(decimal("-12.50"))).toBe("-12.50");
    expect(csvCell(decimal("92233720368547758.07"))).toBe("92233720368547758.07");
    expect(() => decimal("1e3")).toThrow(/not an exact decimal/);
    expect(() => decimal("12.5.0")).toThrow(/not an exact decimal/);
    expect(() => decimal("=1")).toThrow(/not an exact decimal/);
  });

  it("takes a JS number only as a safe integer, never a fraction", () => {
    expect(csvCell(42)).toBe("42");
    expect(() => csvCell(0.1 + 0.2)).toThrow(/whole numbers only/);
    expect(() => csvCell(2 ** 53)).toThrow(/whole numbers only/);
  });

  it("writes dates as UTC ISO time, booleans as words, nothing as empty", () => {
    expect(csvCell(new Date("2026-11-21T08:00:00.123Z"))).toBe("2026-11-21T08:00:00.123Z");
    expect(csvCell(true)).toBe("true");
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
  });
});

describe("toCsv and money columns", () => {
  interface Row {
    ref: string;
    amountMinor: bigint;
    currency: string;
  }
  const columns: CsvColumn<Row>[] = [{ header: "Reference", value: (r) => r.ref }, ...moneyColumns<Row>("Amount", (r) => r)];

  it("writes a header line and one CRLF-terminated line per row, amounts exact per currency", () => {
    const rows: Row[] = [
      { ref: "pay, 1", amountMinor: 885n, currency: "EUR" },
      { ref: "yen", amountMinor: 1200n, currency: "JPY" },
      { ref: "dinar", amountMinor: -1005n, currency: "BHD" },
      { ref: "big", amountMinor: 9223372036854775807n, currency: "EUR" },
    ];
    expect(toCsv(columns, rows)).toBe(
      [
        "Reference,Amount (minor units),Amount,Amount currency",
        '"pay, 1",885,8.85,EUR',
        "yen,1200,1200,JPY",
        "dinar,-1005,-1.005,BHD",
        "big,9223372036854775807,92233720368547758.07,EUR",
        "",
      ].join("\r\n"),
    );
  });

  it("leaves the amount columns empty for a row without an amount", () => {
    const cols = moneyColumns<{ m: { amountMinor: bigint; currency: string } | null }>("Fee", (r) => r.m);
    expect(toCsv(cols, [{ m: null }])).toBe("Fee (minor units),Fee,Fee currency\r\n,,\r\n");
  });

  it("the decimal column reads back to the exact minor units for any amount", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n - 1n), max: 2n ** 63n - 1n }), fc.constantFrom("EUR", "JPY", "BHD"), (minor, currency) => {
        const [, minorCell, decimalCell] = toCsv(columns, [{ ref: "x", amountMinor: minor, currency }]).split("\r\n")[1]!.split(",");
        expect(BigInt(minorCell!)).toBe(minor);
        expect(decimalCell).toBe(formatAmount(minor, currency));
        expect(BigInt(decimalCell!.replace(".", ""))).toBe(minor);
      }),
    );
  });
});

describe("collectRows: every page of the filtered list, with a limit", () => {
  function pages(total: number, size: number) {
    const calls: (string | null)[] = [];
    const fetchPage = async (cursor: string | null) => {
      calls.push(cursor);
      const start = cursor ? Number(cursor) : 0;
      const rows = Array.from({ length: Math.max(0, Math.min(size, total - start)) }, (_, i) => start + i);
      const next = start + size < total ? String(start + size) : null;
      return { rows, nextCursor: next };
    };
    return { fetchPage, calls };
  }

  it("follows the cursor to the end", async () => {
    const { fetchPage, calls } = pages(25, 10);
    const r = await collectRows(fetchPage, { maxRows: 100 });
    expect(r.rows).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(r.isTruncated).toBe(false);
    expect(calls).toEqual([null, "10", "20"]);
  });

  it("stops at maxRows and says rows were left out", async () => {
    const { fetchPage, calls } = pages(1000, 10);
    const r = await collectRows(fetchPage, { maxRows: 25 });
    expect(r.rows).toHaveLength(25);
    expect(r.isTruncated).toBe(true);
    expect(calls).toHaveLength(3);
  });

  it("an empty list is an empty export", async () => {
    const r = await collectRows(pages(0, 10).fetchPage, { maxRows: 10 });
    expect(r).toEqual({ rows: [], isTruncated: false });
  });

  it("refuses to loop on a cursor that repeats", async () => {
    await expect(collectRows(async () => ({ rows: [1], nextCursor: "same" }), { maxRows: 100 })).rejects.toThrow(/same page cursor twice/);
  });

  it("stops when aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(collectRows(pages(10, 5).fetchPage, { maxRows: 100, signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});
