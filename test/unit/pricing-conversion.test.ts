// Conversion at the reference rates (server/pricing/reference-rates.ts) against the real ECB
// history: dates with and without rates, weekends and TARGET holidays, pairs through EUR, stale
// and missing refusals, half-way rounding, exponents 0/2/3, spreads, and the property that the
// result rounded once is within half a minor unit of the exact value.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { CURRENCY_EXPONENTS } from "../../server/money/currencies";
import { parseEcbRatesCsv } from "../../server/pricing/ecb-csv";
import { ROUNDING_MODES, exactRatio, formatExact, parseExactDecimal, type RoundingMode } from "../../server/pricing/exact";
import { RateHistory, convertAmount, type ConversionRequest } from "../../server/pricing/reference-rates";
import { ECB_HISTORY_CSV } from "../support/fixtures";

const FILE = parseEcbRatesCsv(readFileSync(ECB_HISTORY_CSV, "utf8"));
const ECB = new RateHistory(FILE.days);

function convert(req: Partial<ConversionRequest> & { from: string; to: string; on: string }) {
  return convertAmount(ECB, { amountMinor: 10000n, ...req });
}

function errorOf(fn: () => unknown): { code: string; message: string; details: unknown } | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
}

describe("reference date", () => {
  it.each([
    ["2024-03-15", "2024-03-15", "a Friday with rates"],
    ["2024-03-16", "2024-03-15", "Saturday uses Friday"],
    ["2024-03-17", "2024-03-15", "Sunday uses Friday"],
    ["2024-03-29", "2024-03-28", "Good Friday (TARGET holiday) uses Thursday"],
    ["2024-04-01", "2024-03-28", "Easter Monday: four days after Thursday, still fresh"],
    ["2024-04-02", "2024-04-02", "Tuesday after Easter has its own rates"],
    ["2023-12-26", "2023-12-22", "Boxing Day after Christmas and a weekend: four days"],
    ["2024-05-01", "2024-04-30", "Labour Day"],
    ["2025-05-13", "2025-05-09", "four days after the last date in the file"],
  ])("%s uses %s (%s)", (on, rateDate) => {
    expect(convert({ from: "USD", to: "EUR", on }).rateDate).toBe(rateDate);
  });

  it("refuses a rate older than the limit as stale, naming the date and age", () => {
    expect(errorOf(() => convert({ from: "USD", to: "JPY", on: "2025-05-14" }))).toEqual({
      code: "RATE_STALE",
      message: "the newest reference rate for USD/JPY on or before 2025-05-14 is from 2025-05-09, 5 days old (limit 4)",
      details: { from: "USD", to: "JPY", on: "2025-05-14", rateDate: "2025-05-09", ageDays: 5, maxAgeDays: 4 },
    });
    expect(convert({ from: "USD", to: "JPY", on: "2025-05-14", maxAgeDays: 5 }).rateDate).toBe("2025-05-09");
    expect(errorOf(() => convert({ from: "USD", to: "EUR", on: "2024-03-16", maxAgeDays: 0 }))?.code).toBe("RATE_STALE");
  });

  it("refuses a currency the ECB stopped publishing once its last rate is stale (RUB after 2022-03-01)", () => {
    expect(convert({ from: "EUR", to: "RUB", on: "2022-03-02" }).rateDate).toBe("2022-03-01");
    expect(errorOf(() => convert({ from: "EUR", to: "RUB", on: "2022-03-07" }))).toMatchObject({ code: "RATE_STALE", details: { rateDate: "2022-03-01", ageDays: 6 } });
  });

  it("refuses a pair with no rate on or before the date", () => {
    expect(errorOf(() => convert({ from: "EUR", to: "BGN", on: "1999-01-05" }))).toMatchObject({
      code: "RATE_NOT_FOUND",
      message: "no reference rate for BGN on or before 1999-01-05 (pair EUR/BGN)",
    });
    expect(errorOf(() => convert({ from: "USD", to: "EUR", on: "1998-12-31" }))?.code).toBe("RATE_NOT_FOUND");
    expect(errorOf(() => convert({ from: "AED", to: "EUR", on: "2024-03-15" }))).toMatchObject({ code: "RATE_NOT_FOUND", details: { currency: "AED" } });
  });

  it("refuses unknown currencies, historic ones without an exponent, bad amounts and bad dates", () => {
    expect(errorOf(() => convert({ from: "XXX", to: "EUR", on: "2024-03-15" }))?.code).toBe("UNKNOWN_CURRENCY");
    expect(errorOf(() => convert({ from: "EUR", to: "CYP", on: "2005-03-15" }))?.code).toBe("UNKNOWN_CURRENCY");
    expect(errorOf(() => convert({ from: "EUR", to: "USD", on: "2024-03-15", amountMinor: 0n }))?.code).toBe("INVALID_AMOUNT");
    expect(errorOf(() => convert({ from: "EUR", to: "USD", on: "2024-03-15", amountMinor: -5n }))?.code).toBe("INVALID_AMOUNT");
    expect(errorOf(() => convert({ from: "EUR", to: "USD", on: "15.03.2024" }))?.code).toBe("BAD_INPUT");
  });
});

describe("amounts", () => {
  it.each([
    // from, to, amount minor, on, converted, exact mid rate, via
    ["USD", "JPY", 10000n, "2024-03-15", 14876n, "405075/2723", "EUR"], // 100.00 x 162.03 / 1.0892 = 14876.0558…
    ["EUR", "JPY", 10000n, "2024-03-15", 16203n, "162.03", null],
    ["JPY", "EUR", 16203n, "2024-03-15", 10000n, "100/16203", null],
    ["EUR", "USD", 10000n, "2024-03-15", 10892n, "1.0892", null],
    ["GBP", "USD", 10000n, "2024-03-15", 12753n, "10892/8541", "EUR"], // 100 x 1.0892 / 0.8541 = 127.5260…
    ["USD", "USD", 12345n, "2024-03-15", 12345n, "1", null],
    ["EUR", "IDR", 1n, "2024-03-15", 17011n, "17011.02", null], // 0.01 EUR = 170.1102 IDR (minor: 17011.02 -> 17011)
    ["JPY", "USD", 1n, "2024-03-15", 1n, "2723/405075", "EUR"], // 1 JPY = 0.0067 USD -> 0.67 cents -> 1
  ])("%s %s -> %s on %s", (from, to, amountMinor, on, converted, mid, via) => {
    const r = convert({ from, to, on, amountMinor });
    expect(r.convertedMinor).toBe(converted);
    expect(formatExact(r.midRate)).toBe(mid);
    expect(r.via).toBe(via);
    expect(r.spreadMinor).toBe(0n);
  });

  it.each<[string, bigint, RoundingMode, bigint]>([
    // 2025-03-18: 1 EUR = 163.5 JPY; 2025-03-04: 156.5 -> exact halves of a yen
    ["2025-03-18", 100n, "half-even", 164n],
    ["2025-03-18", 100n, "half-up", 164n],
    ["2025-03-18", 100n, "down", 163n],
    ["2025-03-18", 100n, "up", 164n],
    ["2025-03-04", 100n, "half-even", 156n],
    ["2025-03-04", 100n, "half-up", 157n],
    ["2025-03-04", 100n, "down", 156n],
    ["2025-03-04", 100n, "up", 157n],
  ])("half-way case on %s: %s EUR cents to JPY, %s -> %s", (on, amountMinor, rounding, expected) => {
    expect(convert({ from: "EUR", to: "JPY", on, amountMinor, rounding }).convertedMinor).toBe(expected);
  });

  it("rounds to the target's exponent 0, 2 and 3 exactly once", () => {
    // A made-up history with BHD (exponent 3), which the ECB does not publish.
    const h = new RateHistory([{ date: "2024-01-02", rates: new Map([
      ["BHD", { rate: parseExactDecimal("0.4125", { what: "r", code: "INVALID_RATE" }), text: "0.4125" }],
      ["JPY", { rate: parseExactDecimal("157.5", { what: "r", code: "INVALID_RATE" }), text: "157.5" }],
    ]) }]);
    const c = (from: string, to: string, amountMinor: bigint, rounding: RoundingMode = "half-even") => convertAmount(h, { from, to, on: "2024-01-02", amountMinor, rounding }).convertedMinor;
    expect(c("EUR", "BHD", 1n)).toBe(4n); // 0.01 x 0.4125 = 0.004125 BHD = 4.125 fils
    expect(c("EUR", "BHD", 2n, "half-up")).toBe(8n); // 8.25
    expect(c("BHD", "EUR", 4125n)).toBe(1000n); // 4.125 BHD = 10.00 EUR exactly
    expect(c("BHD", "JPY", 1n)).toBe(0n); // 0.001 BHD = 0.3818… JPY
    expect(c("BHD", "JPY", 3n)).toBe(1n); // 1.145… JPY
    expect(c("JPY", "BHD", 1n)).toBe(3n); // 1 JPY = 0.0026190… BHD = 2.619 fils
    expect(c("EUR", "JPY", 1n)).toBe(2n); // 1.575 JPY
    expect(c("EUR", "JPY", 2n)).toBe(3n); // 3.15
  });

  it("applies a spread: customer rate = mid x (1 - spread), spread earned = mid amount - customer amount", () => {
    const r = convert({ from: "EUR", to: "USD", on: "2024-03-15", amountMinor: 100000n, spread: exactRatio(50n, 10000n), spreadText: "50 bps" });
    expect(r.midConvertedMinor).toBe(108920n);
    expect(formatExact(r.customerRate)).toBe("1.083754");
    expect(r.convertedMinor).toBe(108375n); // 1083.754 -> 1083.75
    expect(r.spreadMinor).toBe(545n);
    expect(r.explanation.lines.map((l) => l.label)).toEqual(["reference date", "USD per EUR", "mid rate", "spread", "customer rate", "converted", "spread earned"]);
    expect(r.explanation.summary).toBe("1000.00 EUR = 1083.75 USD at 1.083754 (mid 1.0892 less 0.5%), ECB reference rates of 2024-03-15, rounded half-even");
  });

  it("explains a cross conversion with the rates used", () => {
    const r = convert({ from: "USD", to: "JPY", on: "2024-03-17" });
    expect(r.ratesUsed).toEqual([{ currency: "USD", perEur: "1.0892", date: "2024-03-15" }, { currency: "JPY", perEur: "162.03", date: "2024-03-15" }]);
    expect(r.explanation.lines[0]!.text).toBe("ECB reference rates of 2024-03-15 (newest on or before 2024-03-17; limit 4 days)");
    expect(r.explanation.lines.find((l) => l.label === "mid rate")!.text).toBe("1 USD = 148.7605582079… (exactly 405075/2723) JPY (through EUR: 162.03 / 1.0892)");
  });
});

describe("conversion properties over the real history", () => {
  const known = FILE.currencies.filter((c) => Object.hasOwn(CURRENCY_EXPONENTS, c));
  const currency = fc.constantFrom("EUR", ...known);
  const day = fc.constantFrom(...FILE.days);
  const mode = fc.constantFrom<RoundingMode>(...ROUNDING_MODES);
  const amount = fc.bigInt(1n, 10n ** 15n);
  const exp = (c: string) => 10n ** BigInt(CURRENCY_EXPONENTS[c as keyof typeof CURRENCY_EXPONENTS]);

  it("rounding the exact fraction once stays within half a minor unit (one for down/up) of the exact value", () => {
    fc.assert(
      fc.property(day, currency, currency, amount, mode, (d, from, to, amountMinor, rounding) => {
        const fromRate = from === "EUR" ? "1" : d.rates.get(from)?.text;
        const toRate = to === "EUR" ? "1" : d.rates.get(to)?.text;
        fc.pre(fromRate !== undefined && toRate !== undefined);
        const r = convertAmount(ECB, { from, to, on: d.date, amountMinor, rounding });
        expect(r.rateDate).toBe(d.date);
        // Independently: exact = amount x (toRate / fromRate) x 10^toExp / 10^fromExp as p/q of
        // integers scaled from the published decimal strings.
        const [tn, ts] = scaled(toRate!);
        const [fn, fs] = scaled(fromRate!);
        const p = amountMinor * tn * fs * exp(to);
        const q = fn * ts * exp(from);
        // |converted - p/q| <= 1/2  <=>  |2 (converted q - p)| <= q
        const diff = r.convertedMinor * q - p;
        const abs = diff < 0n ? -diff : diff;
        if (rounding === "half-even" || rounding === "half-up") expect(2n * abs <= q).toBe(true);
        else expect(abs < q).toBe(true);
        if (rounding === "down") expect(diff <= 0n).toBe(true);
        if (rounding === "up") expect(diff >= 0n).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("with a spread, converted + spread earned = the amount at the mid rate, and the spread is never negative", () => {
    fc.assert(
      fc.property(day, currency, currency, amount, mode, fc.integer({ min: 0, max: 500 }), (d, from, to, amountMinor, rounding, bps) => {
        fc.pre(from === "EUR" || d.rates.has(from));
        fc.pre(to === "EUR" || d.rates.has(to));
        const r = convertAmount(ECB, { from, to, on: d.date, amountMinor, rounding, spread: exactRatio(BigInt(bps), 10000n) });
        expect(r.convertedMinor + r.spreadMinor).toBe(r.midConvertedMinor);
        expect(r.spreadMinor >= 0n).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

/** "163.36" -> [16336n, 100n]. */
function scaled(text: string): [bigint, bigint] {
  const [i, f = ""] = text.split(".");
  return [BigInt(i! + f), 10n ** BigInt(f.length)];
}
