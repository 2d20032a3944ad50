// Exact decimals and the rounding modes (server/pricing/exact.ts): parsing is exact or refused,
// every mode on every kind of remainder, both signs, and properties of the rounding rule.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import {
  ROUNDING_MODES, exactInteger, exactRatio, formatExact, formatExactDecimal, formatPercent, parseExactDecimal, roundExact, type RoundingMode,
} from "../../server/pricing/exact";

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof AppError ? `${e.code}: ${e.message}` : "NOT_APP_ERROR";
  }
}

const rate = (s: string) => parseExactDecimal(s, { what: "rate", code: "INVALID_RATE" });

describe("parseExactDecimal", () => {
  it.each([
    ["1.0823", 10823n, 10000n],
    ["163.36", 4084n, 25n],
    ["0.009", 9n, 1000n],
    ["90", 90n, 1n],
    ["0001.50", 3n, 2n],
    ["18606.59", 1860659n, 100n],
  ])("%s is exactly %s/%s", (text, n, d) => {
    const v = rate(text);
    expect([v.n, v.d, v.s]).toEqual([n, d, 1n]);
  });

  it.each([
    ["abc", /rate "abc" is not a decimal number/],
    ["N/A", /not a decimal number/],
    ["1e3", /not a decimal number/],
    [" 1.2", /not a decimal number/],
    ["1,5", /not a decimal number/],
    ["1.", /not a decimal number/],
    [".5", /not a decimal number/],
    ["", /not a decimal number/],
    ["+1", /not a decimal number/],
    ["-1.5", /must not be negative/],
    ["0", /must be greater than zero/],
    ["0.000", /must be greater than zero/],
    ["1".repeat(31), /more than 30 digits/],
  ])("refuses %j with INVALID_RATE", (text, message) => {
    expect(codeOf(() => rate(text))).toMatch(/^INVALID_RATE: /);
    expect(codeOf(() => rate(text))).toMatch(message);
  });

  it("accepts zero only when asked, and never a negative zero as negative", () => {
    expect(parseExactDecimal("0", { what: "x", code: "INVALID_FEE_SCHEDULE", allowZero: true }).n).toBe(0n);
    expect(parseExactDecimal("-0", { what: "x", code: "INVALID_FEE_SCHEDULE", allowZero: true }).n).toBe(0n);
  });
});

describe("roundExact", () => {
  // value, then half-even, half-up, down, up
  const table: [string, bigint, bigint, [bigint, bigint, bigint, bigint]][] = [
    ["2.5", 5n, 2n, [2n, 3n, 2n, 3n]],
    ["3.5", 7n, 2n, [4n, 4n, 3n, 4n]],
    ["2.4", 12n, 5n, [2n, 2n, 2n, 3n]],
    ["2.6", 13n, 5n, [3n, 3n, 2n, 3n]],
    ["2.0", 2n, 1n, [2n, 2n, 2n, 2n]],
    ["0.5", 1n, 2n, [0n, 1n, 0n, 1n]],
    ["1/3", 1n, 3n, [0n, 0n, 0n, 1n]],
    ["2/3", 2n, 3n, [1n, 1n, 0n, 1n]],
    ["-2.5", -5n, 2n, [-2n, -3n, -2n, -3n]],
    ["-3.5", -7n, 2n, [-4n, -4n, -3n, -4n]],
    ["-2.4", -12n, 5n, [-2n, -2n, -2n, -3n]],
    ["-2.6", -13n, 5n, [-3n, -3n, -2n, -3n]],
    ["0", 0n, 1n, [0n, 0n, 0n, 0n]],
  ];
  it.each(table)("%s", (_label, n, d, expected) => {
    const v = exactRatio(n, d);
    expect(ROUNDING_MODES.map((m) => roundExact(v, m))).toEqual(expected);
  });

  const ratio = fc.tuple(fc.bigInt(-(10n ** 30n), 10n ** 30n), fc.bigInt(1n, 10n ** 12n)).map(([n, d]) => exactRatio(n, d));
  const mode = fc.constantFrom<RoundingMode>(...ROUNDING_MODES);

  it("lands within one unit, within half a unit for the half modes, and on the value when it is whole", () => {
    fc.assert(
      fc.property(ratio, mode, (v, m) => {
        const r = exactInteger(roundExact(v, m));
        const diff = r.sub(v).abs();
        expect(diff.lt(1n)).toBe(true);
        if (m === "half-even" || m === "half-up") expect(diff.lte(exactRatio(1n, 2n))).toBe(true);
        if (m === "down") expect(r.abs().lte(v.abs())).toBe(true);
        if (m === "up") expect(r.abs().gte(v.abs())).toBe(true);
        if (v.d === 1n) expect(roundExact(v, m)).toBe(v.s * v.n);
      }),
    );
  });

  it("is monotone and symmetric in sign", () => {
    fc.assert(
      fc.property(ratio, ratio, mode, (a, b, m) => {
        const [lo, hi] = a.lte(b) ? [a, b] : [b, a];
        expect(roundExact(lo, m) <= roundExact(hi, m)).toBe(true);
        expect(roundExact(a.neg(), m)).toBe(-roundExact(a, m));
      }),
    );
  });

  it("half-even sends exact halves to the even neighbour, every time", () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 20n), 10n ** 20n), (k) => {
        const r = roundExact(exactRatio(2n * k + 1n, 2n), "half-even");
        expect(r % 2n).toBe(0n);
      }),
    );
  });
});

describe("formatting", () => {
  it.each([
    [exactRatio(10823n, 10000n), "1.0823"],
    [exactRatio(405075n, 2723n), "405075/2723"],
    [exactRatio(-1n, 3n), "-1/3"],
    [exactInteger(14876n), "14876"],
    [exactRatio(1815n, 2n), "907.5"],
  ])("formatExact %#", (v, text) => expect(formatExact(v)).toBe(text));

  it("formats rounded decimals and percentages exactly", () => {
    expect(formatExactDecimal(exactRatio(405075n, 2723n), 10)).toBe("148.7605582079");
    expect(formatExactDecimal(exactRatio(5n, 2n), 0, "half-even")).toBe("2");
    expect(formatExactDecimal(exactRatio(-1n, 8n), 2, "half-up")).toBe("-0.13");
    expect(formatPercent(rate("0.009"))).toBe("0.9%");
    expect(formatPercent(exactRatio(90n, 10000n))).toBe("0.9%");
    expect(formatPercent(exactRatio(1n, 3n))).toBe("100/3%");
  });
});
