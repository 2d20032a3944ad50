// The ECB rates file parser (server/pricing/ecb-csv.ts): the real history reads whole and exactly;
// any malformed row or non-numeric rate refuses the whole file, naming the line and column.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { parseEcbRatesCsv } from "../../server/pricing/ecb-csv";
import { ECB_HISTORY_CSV } from "../support/fixtures";

const REAL = readFileSync(ECB_HISTORY_CSV, "utf8");

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("parseEcbRatesCsv on the real history", () => {
  const file = parseEcbRatesCsv(REAL);

  it("reads every reference date and currency column", () => {
    expect(file.days).toHaveLength(REAL.trim().split("\n").length - 1);
    expect(file.currencies.slice(0, 3)).toEqual(["USD", "JPY", "BGN"]);
    expect(file.currencies).toHaveLength(41);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keeps each rate exactly as published and N/A as no rate", () => {
    const day = file.days.find((d) => d.date === "2024-03-15")!;
    expect(day.rates.get("USD")!.text).toBe("1.0892");
    expect([day.rates.get("USD")!.rate.n, day.rates.get("USD")!.rate.d]).toEqual([2723n, 2500n]);
    expect(day.rates.get("IDR")!.text).toBe("17011.02");
    expect(day.rates.has("RUB")).toBe(false);
    const first = file.days.find((d) => d.date === "1999-01-04")!;
    expect(first.rates.get("CYP")!.text).toBe("0.58231");
    expect(first.rates.get("TRL")!.text).toBe("372274");
    expect(first.rates.has("BGN")).toBe(false);
  });
});

describe("parseEcbRatesCsv refuses the whole file", () => {
  const H = "Date,USD,JPY,";
  it.each([
    ["a non-numeric rate", `${H}\n2024-03-15,1.0892,162.03,\n2024-03-14,1.0887,abc,\n`, /^INVALID_RATES_FILE: rates file line 3: column JPY \(3\): rate "abc" is not a decimal number/],
    ["a negative rate", `${H}\n2024-03-15,-1.0892,162.03,\n`, /line 2: column USD \(2\): rate "-1.0892" must not be negative/],
    ["a zero rate", `${H}\n2024-03-15,0,162.03,\n`, /line 2: column USD \(2\): rate "0" must be greater than zero/],
    ["an exponent", `${H}\n2024-03-15,1e0,162.03,\n`, /line 2: column USD \(2\): rate "1e0"/],
    ["a comma decimal", `Date,USD,JPY\n2024-03-15,"1,0892",162.03\n`, /line 2: column USD \(2\): rate "1,0892"/],
    ["a padded rate", `${H}\n2024-03-15, 1.0892,162.03,\n`, /line 2: column USD \(2\): rate " 1.0892"/],
    ["a missing cell", `${H}\n2024-03-15,1.0892,\n`, /line 2: expected 3 cells \(Date and 2 currencies, then a trailing comma\), found 2/],
    ["an extra cell", `${H}\n2024-03-15,1.0892,162.03,5,\n`, /line 2: expected 3 cells/],
    ["a missing trailing comma", `${H}\n2024-03-15,1.0892,162.03,x\n`, /line 2: expected the line to end with a comma/],
    ["a blank line", `${H}\n2024-03-15,1.0892,162.03,\n\n2024-03-14,1.0887,161.5,\n`, /line 3: the line is blank/],
    ["an impossible date", `${H}\n2024-02-30,1.0892,162.03,\n`, /line 2: column Date \(1\): "2024-02-30" is not a YYYY-MM-DD date/],
    ["a date in another format", `${H}\n15/03/2024,1.0892,162.03,\n`, /line 2: column Date/],
    ["a duplicate date", `${H}\n2024-03-15,1.0892,162.03,\n2024-03-15,1.0892,162.03,\n`, /line 3: date 2024-03-15 already appears on line 2/],
    ["a bad header", `Day,USD,\n2024-03-15,1.0892,\n`, /line 1: the first column must be "Date"/],
    ["a bad currency code", `Date,usd,\n2024-03-15,1.0892,\n`, /line 1: column 2: "usd" is not a three-letter currency code/],
    ["EUR as a column", `Date,EUR,\n2024-03-15,1,\n`, /line 1: column 2: EUR is the base currency/],
    ["a duplicate currency", `Date,USD,USD,\n2024-03-15,1,1,\n`, /line 1: column 3: currency USD appears twice/],
    ["an empty file", ``, /line 1: the file is empty/],
    ["an unclosed quote", `${H}\n2024-03-15,"1.0892,162.03,\n`, /line 2: not readable as CSV/],
  ])("%s", (_name, text, message) => {
    expect(errorOf(() => parseEcbRatesCsv(text))).toMatch(/^INVALID_RATES_FILE: /);
    expect(errorOf(() => parseEcbRatesCsv(text))).toMatch(message);
  });

  it("refuses the real history with one bad cell near its end, naming that line", () => {
    const lines = REAL.split("\n");
    const n = lines.length - 3; // a row near the end, after thousands of good ones
    lines[n] = lines[n]!.replace(/,([0-9.]+),/, ",1.2.3,");
    expect(errorOf(() => parseEcbRatesCsv(lines.join("\n")))).toMatch(new RegExp(`^INVALID_RATES_FILE: rates file line ${n + 1}: column USD \\(2\\): rate "1.2.3"`));
  });

  it("accepts a file without trailing commas, CRLF line ends and a byte-order mark", () => {
    const f = parseEcbRatesCsv(`\uFEFFDate,USD,JPY\r\n2024-03-15,1.0892,N/A\r\n`);
    expect(f.days[0]!.rates.get("USD")!.text).toBe("1.0892");
    expect(f.days[0]!.rates.has("JPY")).toBe(false);
    expect(f.rateCount).toBe(1);
  });
});
