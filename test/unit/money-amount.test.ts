import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatAmount, formatMoneyDisplay, parseAmount, parseMinorUnits, MAX_MINOR_UNITS } from "../../server/money/amount";
import { CURRENCY_EXPONENTS, currencyExponent } from "../../server/money/currencies";
import { AppError } from "../../server/errors/app-error";

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof AppError ? e.code : "NOT_APP_ERROR";
  }
}

describe("currency exponents", () => {
  it.each([
    ["JPY", 0], ["KRW", 0], ["EUR", 2], ["USD", 2], ["GBP", 2], ["BHD", 3], ["KWD", 3], ["JOD", 3], ["TND", 3], ["CLF", 4],
  ])("%s has exponent %i", (c, e) => expect(currencyExponent(c)).toBe(e));
  it.each(["XXX", "eur", "EURO", "", "E1R"])("%j is UNKNOWN_CURRENCY", (c) => expect(codeOf(() => currencyExponent(c))).toBe("UNKNOWN_CURRENCY"));
});

describe("parseAmount", () => {
  it.each([
    ["8.850", "EUR", 885n],
    ["8.85", "EUR", 885n],
    ["8", "EUR", 800n],
    ["0.01", "EUR", 1n],
    ["0", "EUR", 0n],
    ["1000", "JPY", 1000n],
    ["1000.0", "JPY", 1000n],
    ["1.234", "BHD", 1234n],
    ["1.2", "BHD", 1200n],
    ["0.001", "KWD", 1n],
    ["1.0001", "CLF", 10001n],
    ["00012.30", "USD", 1230n],
  ])("%s %s = %s", (s, c, v) => expect(parseAmount(s, c)).toBe(v));

  it.each([
    ["8.855", "EUR", "INVALID_AMOUNT"],
    ["1.5", "JPY", "INVALID_AMOUNT"],
    ["1.2345", "BHD", "INVALID_AMOUNT"],
    ["-1", "EUR", "INVALID_AMOUNT"],
    ["+1", "EUR", "INVALID_AMOUNT"],
    ["1e3", "EUR", "INVALID_AMOUNT"],
    [" 1", "EUR", "INVALID_AMOUNT"],
    ["1 000", "EUR", "INVALID_AMOUNT"],
    ["", "EUR", "INVALID_AMOUNT"],
    [".5", "EUR", "INVALID_AMOUNT"],
    ["5.", "EUR", "INVALID_AMOUNT"],
    ["1,5", "EUR", "INVALID_AMOUNT"],
    ["NaN", "EUR", "INVALID_AMOUNT"],
    ["Infinity", "EUR", "INVALID_AMOUNT"],
    ["0x10", "EUR", "INVALID_AMOUNT"],
    ["1".repeat(39), "EUR", "INVALID_AMOUNT"],
    ["1", "XXX", "UNKNOWN_CURRENCY"],
  ])("%j %s is %s", (s, c, code) => expect(codeOf(() => parseAmount(s, c))).toBe(code));

  it("names the value and the exponent when there are too many decimals", () => {
    expect(() => parseAmount("8.855", "EUR")).toThrow(/"8\.855".*EUR.*exponent 2/);
  });
  it("accepts a sign only when allowed, and refuses zero when asked", () => {
    expect(parseAmount("-1.50", "EUR", { allowNegative: true })).toBe(-150n);
    expect(codeOf(() => parseAmount("0.00", "EUR", { allowZero: false }))).toBe("INVALID_AMOUNT");
  });
  it("accepts 38 digits exactly", () => {
    expect(parseAmount("9".repeat(38), "JPY")).toBe(10n ** 38n - 1n);
  });
});

describe("formatAmount and display", () => {
  it.each([
    [885n, "EUR", "8.85", "8.85 EUR"],
    [5n, "EUR", "0.05", "0.05 EUR"],
    [-5n, "EUR", "-0.05", "-0.05 EUR"],
    [0n, "EUR", "0.00", "0.00 EUR"],
    [123456789n, "EUR", "1234567.89", "1,234,567.89 EUR"],
    [1234567n, "JPY", "1234567", "1,234,567 JPY"],
    [1234n, "BHD", "1.234", "1.234 BHD"],
    [-1234567891n, "KWD", "-1234567.891", "-1,234,567.891 KWD"],
    [1n, "CLF", "0.0001", "0.0001 CLF"],
  ])("%s %s", (v, c, plain, display) => {
    expect(formatAmount(v, c)).toBe(plain);
    expect(formatMoneyDisplay(v, c)).toBe(display);
  });
});

describe("parseMinorUnits", () => {
  it.each([["885", 885n], ["1", 1n], [MAX_MINOR_UNITS.toString(), MAX_MINOR_UNITS]])("%s", (s, v) => expect(parseMinorUnits(s)).toBe(v));
  it.each(["0", "-1", "01", "1.5", "", " 1", "1e3", (MAX_MINOR_UNITS + 1n).toString(), "9".repeat(40)])("%j is INVALID_AMOUNT", (s) =>
    expect(codeOf(() => parseMinorUnits(s))).toBe("INVALID_AMOUNT"),
  );
});

describe("properties", () => {
  const currencies = Object.keys(CURRENCY_EXPONENTS);
  it("format then parse is the identity", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.constantFrom(...currencies), (v, c) => {
        expect(parseAmount(formatAmount(v, c), c, { allowNegative: true })).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });
  it("parse then format normalises to the exponent", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,15}(\.[0-9]{1,4})?$/), fc.constantFrom("JPY", "EUR", "BHD", "CLF"), (s, c) => {
        const exp = currencyExponent(c);
        const frac = s.split(".")[1] ?? "";
        const isExact = frac.slice(exp).replace(/0/g, "") === "";
        if (!isExact) {
          expect(codeOf(() => parseAmount(s, c))).toBe("INVALID_AMOUNT");
          return;
        }
        const v = parseAmount(s, c);
        expect(parseAmount(formatAmount(v, c), c)).toBe(v);
        expect(formatAmount(v, c).split(".")[1]?.length ?? 0).toBe(exp);
      }),
      { numRuns: 2000 },
    );
  });
  it("minor-unit strings round-trip", () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: MAX_MINOR_UNITS }), (v) => {
      expect(parseMinorUnits(v.toString())).toBe(v);
    }), { numRuns: 1000 });
  });
});
