// Fee rules (server/pricing/fees.ts): validation refusals naming the part, rule selection, fees at
// tier edges, at the minimum and maximum, every rounding mode, exponents 0, 2 and 3, the cap at the
// amount, the explanation, and properties (never negative, never above the amount unless allowed,
// monotonic within a tier).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/app-error";
import { ROUNDING_MODES, type RoundingMode } from "../../server/pricing/exact";
import {
  compileFeeSchedule, computeFee, selectFeeRule, type FeeRuleDefinition, type FeeTierDefinition,
} from "../../server/pricing/fees";

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

const REF = { scheduleCode: "card-eu", version: 3, rail: "instant" };

function rule(over: Partial<FeeRuleDefinition> = {}): FeeRuleDefinition {
  return {
    id: "eur-default",
    currency: "EUR",
    tiers: [
      { label: "tier-1", fromMinor: "0", toMinor: "100000", fixedMinor: "0", rateBps: "90" },
      { label: "tier-2", fromMinor: "100000", toMinor: null, fixedMinor: "0", rate: "0.005" },
    ],
    minMinor: "30",
    maxMinor: "2500",
    ...over,
  };
}

function compiled(over: Partial<FeeRuleDefinition> = {}) {
  return compileFeeSchedule({ rules: [rule(over)] }).rules[0]!;
}

function fee(over: Partial<FeeRuleDefinition>, amountMinor: bigint): bigint {
  return computeFee(compiled(over), amountMinor, REF).feeMinor;
}

describe("compileFeeSchedule refuses", () => {
  const tiers = (...t: FeeTierDefinition[]) => ({ rules: [rule({ tiers: t })] });
  const t = (from: string, to: string | null, extra: Partial<FeeTierDefinition> = {}): FeeTierDefinition => ({ fromMinor: from, toMinor: to, rateBps: "10", ...extra });
  it.each([
    ["overlapping tiers", tiers(t("0", "1000"), t("900", null)), /rules\[0\] \(eur-default\)\.tiers\[1\]: overlaps tier-1: from 900 is below tier-1's to 1000/],
    ["tiers overlapping by one minor unit", tiers(t("0", "1000"), t("999", null)), /tiers\[1\]: overlaps tier-1: from 999 is below tier-1's to 1000/],
    ["unordered tiers", tiers(t("0", "1000"), t("5000", null), t("1000", "5000")), /tiers\[2\]: tiers are not in order: from 1000 comes after from 5000/],
    ["unordered bounded tiers", tiers(t("0", "1000"), t("2000", "3000"), t("1000", "2000"), t("3000", null)), /tiers\[2\]: tiers are not in order/],
    ["an open-ended tier before the last", tiers(t("0", null), t("1000", null)), /tiers\[0\]: only the last tier may be open-ended/],
    ["tiers out of order", tiers(t("0", "5000"), t("0", "1000"), t("1000", null)), /tiers\[1\]: overlaps tier-1/],
    ["a decreasing start", tiers(t("0", "1000"), t("1000", "2000"), t("500", null)), /tiers\[2\]: tiers are not in order: from 500 comes after from 1000/],
    ["a gap between tiers", tiers(t("0", "1000"), t("1001", null)), /leaves a gap after tier-1: amounts 1000 to 1000 would have no fee/],
    ["a first tier above 0", tiers(t("1", null)), /tiers\[0\]: the first tier must start at 0, not 1/],
    ["a bounded last tier", tiers(t("0", "1000")), /the last tier must be open-ended/],
    ["an empty tier", tiers(t("0", "0"), t("0", null)), /tiers\[0\]: from 0 must be below to 0/],
    ["a negative rate in bps", tiers(t("0", null, { rateBps: "-5" })), /tiers\[0\]\.rateBps "-5" must not be negative/],
    ["a negative decimal rate", tiers({ fromMinor: "0", toMinor: null, rate: "-0.01" }), /tiers\[0\]\.rate "-0.01" must not be negative/],
    ["a non-numeric rate", tiers(t("0", null, { rateBps: "ten" })), /rateBps "ten" is not a decimal number/],
    ["a rate above 100%", tiers({ fromMinor: "0", toMinor: null, rate: "1.5" }), /rate 150% is above 100%/],
    ["both rate forms", tiers({ fromMinor: "0", toMinor: null, rate: "0.01", rateBps: "100" }), /give exactly one of rateBps/],
    ["no rate", tiers({ fromMinor: "0", toMinor: null }), /give exactly one of rateBps/],
    ["a negative fixed component", tiers(t("0", null, { fixedMinor: "-1" })), /tiers\[0\]\.fixedMinor: -1 must not be negative/],
    ["a decimal in minor units", tiers(t("0", null, { fixedMinor: "0.30" })), /fixedMinor: must be an integer number of minor units/],
    ["a negative minimum", { rules: [rule({ minMinor: "-1" })] }, /minMinor: -1 must not be negative/],
    ["a negative maximum", { rules: [rule({ minMinor: null, maxMinor: "-1" })] }, /maxMinor: -1 must not be negative/],
    ["a minimum above the maximum", { rules: [rule({ minMinor: "500", maxMinor: "499" })] }, /minimum 500 is above maximum 499/],
    ["an unknown currency", { rules: [rule({ currency: "XXX" })] }, /currency "XXX" is not a known ISO 4217 code/],
    ["a duplicate selector", { rules: [rule(), rule({ id: "other" })] }, /rules\[1\] \(other\): another rule already applies to currency EUR, segment \(default\)/],
    ["a duplicate id", { rules: [rule(), rule({ segment: "vip" })] }, /rule id eur-default is used 2 times/],
    ["a customer rule with a segment", { rules: [rule({ customerId: "c-1", segment: "vip" })] }, /customer override applies to one customer/],
    ["an unknown rounding mode", { rules: [rule({ rounding: "nearest" as RoundingMode })] }, /rules\[0\]\.rounding: /],
    ["an unknown field", { rules: [{ ...rule(), extra: 1 }] }, /rules\[0\]: .*extra/i],
    ["no tiers", { rules: [rule({ tiers: [] })] }, /rules\[0\]\.tiers: /],
  ])("%s", (_name, def, message) => {
    const err = errorOf(() => compileFeeSchedule(def));
    expect(err).toMatch(/^INVALID_FEE_SCHEDULE: /);
    expect(err).toMatch(message);
  });

  it("accepts a sound schedule and fills in defaults", () => {
    const c = compileFeeSchedule({ rules: [rule()] });
    expect(c.definition.rules[0]).toMatchObject({ rounding: "half-even", allowFeeAboveAmount: false, segment: null, customerId: null });
    expect(c.rules[0]!.tiers.map((x) => [x.label, x.fromMinor, x.toMinor])).toEqual([["tier-1", 0n, 100000n], ["tier-2", 100000n, null]]);
  });
});

describe("selectFeeRule", () => {
  const schedule = compileFeeSchedule({
    rules: [
      rule({ id: "eur-default" }),
      rule({ id: "eur-vip", segment: "vip" }),
      rule({ id: "eur-acme", customerId: "acme" }),
      rule({ id: "jpy-default", currency: "JPY" }),
    ],
  });
  it.each([
    [{ currency: "EUR", segment: null, customerId: null }, "eur-default"],
    [{ currency: "EUR", segment: "vip", customerId: null }, "eur-vip"],
    [{ currency: "EUR", segment: "retail", customerId: null }, "eur-default"],
    [{ currency: "EUR", segment: "vip", customerId: "acme" }, "eur-acme"],
    [{ currency: "EUR", segment: "vip", customerId: "other" }, "eur-vip"],
    [{ currency: "JPY", segment: "vip", customerId: "acme" }, "jpy-default"],
  ])("%j -> %s", (selector, id) => expect(selectFeeRule(schedule, selector, "schedule card-eu v3").id).toBe(id));

  it("refuses a currency the version does not price", () => {
    expect(errorOf(() => selectFeeRule(schedule, { currency: "GBP", segment: null, customerId: null }, "schedule card-eu v3"))).toBe(
      "FEE_RULE_NOT_FOUND: schedule card-eu v3 has no fee rule for currency GBP",
    );
  });
});

describe("computeFee", () => {
  it.each([
    // amount, fee: 0.9% below 1,000.00 EUR, 0.5% from it, min 0.30, max 25.00, half-even
    [1n, 1n, "min 0.30 capped at the amount"],
    [3333n, 30n, "0.9% = 29.997 -> 30 (= minimum)"],
    [3334n, 30n, "30.006 -> 30"],
    [3389n, 31n, "30.501 -> 31"],
    [10000n, 90n, "the issue's example: 0.90 EUR"],
    [99999n, 900n, "last minor unit of tier-1: 899.991 -> 900"],
    [100000n, 500n, "first minor unit of tier-2: 0.5%"],
    [100001n, 500n, "500.005 -> 500"],
    [500000n, 2500n, "exactly the maximum"],
    [500001n, 2500n, "above the maximum"],
    [10n ** 18n, 2500n, "huge amounts stay at the maximum"],
  ])("%s EUR minor -> %s (%s)", (amount, expected) => expect(fee({}, amount)).toBe(expected));

  it("reaches tier boundaries with the tier that starts there", () => {
    const r = compiled();
    expect(computeFee(r, 99999n, REF).tierLabel).toBe("tier-1");
    expect(computeFee(r, 100000n, REF).tierLabel).toBe("tier-2");
  });

  // Fixed 0 + 12.5 bps on odd amounts gives every remainder; exact value in the name.
  it.each<[bigint, RoundingMode[], bigint[]]>([
    [400n, [...ROUNDING_MODES], [0n, 1n, 0n, 1n]], // 0.5
    [1200n, [...ROUNDING_MODES], [2n, 2n, 1n, 2n]], // 1.5
    [1000n, [...ROUNDING_MODES], [1n, 1n, 1n, 2n]], // 1.25
    [1400n, [...ROUNDING_MODES], [2n, 2n, 1n, 2n]], // 1.75
    [1600n, [...ROUNDING_MODES], [2n, 2n, 2n, 2n]], // 2 exactly
  ])("rounds %s x 12.5 bps by each mode", (amount, modes, expected) => {
    const got = modes.map((m) =>
      fee({ rounding: m, minMinor: null, maxMinor: null, tiers: [{ fromMinor: "0", toMinor: null, rateBps: "12.5" }] }, amount),
    );
    expect(got).toEqual(expected);
  });

  it.each([
    // currency (exponent), fixed, rate, amount, fee, explanation money
    ["JPY", "100", "0.01", 12345n, 223n, "223 JPY"], // 100 + 123.45 -> 223
    ["EUR", "30", "0.01", 12345n, 153n, "1.53 EUR"], // 30 + 123.45 -> 153
    ["BHD", "300", "0.01", 12345n, 423n, "0.423 BHD"], // 300 + 123.45 -> 423
    ["BHD", "0", "0.0005", 1001n, 1n, "0.001 BHD"], // 0.5005 -> 1
    ["JPY", "0", "0.0005", 1001n, 1n, "1 JPY"],
    ["BHD", "0", "0.0005", 1000n, 0n, "0.000 BHD"], // 0.5 -> 0 (half-even)
    ["JPY", "0", "0.0005", 3000n, 2n, "2 JPY"], // 1.5 -> 2 (half-even)
  ])("exponents: %s fixed %s + rate %s of %s = %s", (currency, fixed, rate, amount, expected, shown) => {
    const r = compiled({ currency, minMinor: null, maxMinor: null, tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: fixed, rate }] });
    const res = computeFee(r, amount, REF);
    expect(res.feeMinor).toBe(expected);
    expect(res.explanation.lines.at(-1)!.text).toBe(`fee ${shown}`);
  });

  it("caps a fee above the amount unless the rule allows it", () => {
    const base = { tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "2500", rateBps: "0" }], minMinor: null, maxMinor: null };
    expect(fee(base, 1000n)).toBe(1000n);
    expect(fee({ ...base, allowFeeAboveAmount: true }, 1000n)).toBe(2500n);
    const capped = computeFee(compiled(base), 1000n, REF);
    expect(capped.explanation.lines.map((l) => l.label)).toContain("cap");
  });

  it("explains itself line by line, in the issue's words", () => {
    const res = computeFee(compiled(), 10000n, REF);
    expect(res.explanation.summary).toBe("fee = min(max(0.30, 0.9% of 100.00), 25.00) = 0.90 EUR, schedule card-eu v3, rule eur-default tier-1, rounded half-even");
    expect(res.explanation.lines).toEqual([
      { label: "rule", text: "schedule card-eu v3 (rail instant), rule eur-default: EUR, every segment without its own rule" },
      { label: "tier", text: "tier-1: amounts from 0.00 EUR up to (not including) 1000.00 EUR; 100.00 EUR falls in it" },
      { label: "formula", text: "0.00 EUR fixed + 0.9% (90 bps) of 100.00 EUR = 0.9 EUR exactly" },
      { label: "rounding", text: "rounded half-even to whole minor units: 0.90 EUR" },
      { label: "minimum", text: "minimum 0.30 EUR: not reached" },
      { label: "maximum", text: "maximum 25.00 EUR: not reached" },
      { label: "fee", text: "fee 0.90 EUR" },
    ]);
    expect(res.exactFeeMinor).toBe("90");
    const low = computeFee(compiled(), 1000n, REF);
    expect(low.explanation.lines.find((l) => l.label === "minimum")!.text).toBe("below the minimum 0.30 EUR: raised to it");
    expect(low.exactFeeMinor).toBe("9");
  });
});

describe("fee properties", () => {
  const minor = (max: bigint) => fc.bigInt(0n, max).map(String);
  const tierSet = fc
    .uniqueArray(fc.bigInt(1n, 10n ** 9n), { maxLength: 4 })
    .map((bounds) => [...bounds].sort((a, b) => (a < b ? -1 : 1)))
    .chain((bounds) =>
      fc.tuple(
        ...[0n, ...bounds].map((from, i) =>
          fc.record({
            fromMinor: fc.constant(from.toString()),
            toMinor: fc.constant(i < bounds.length ? bounds[i]!.toString() : null),
            fixedMinor: minor(10_000n),
            rateBps: fc.integer({ min: 0, max: 10_000 }).map(String),
          }),
        ),
      ),
    );
  const ruleArb = fc.record({
    tiers: tierSet,
    min: fc.option(fc.bigInt(0n, 5_000n)),
    span: fc.option(fc.bigInt(0n, 100_000n)),
    rounding: fc.constantFrom<RoundingMode>(...ROUNDING_MODES),
    allowFeeAboveAmount: fc.boolean(),
    currency: fc.constantFrom("EUR", "JPY", "BHD"),
  }).map((r) =>
    compiled({
      currency: r.currency,
      tiers: r.tiers as FeeTierDefinition[],
      rounding: r.rounding,
      allowFeeAboveAmount: r.allowFeeAboveAmount,
      minMinor: r.min === null ? null : r.min.toString(),
      maxMinor: r.span === null ? null : ((r.min ?? 0n) + r.span).toString(),
    }),
  );
  const amount = fc.bigInt(1n, 2n * 10n ** 9n);

  it("is never negative, never above the amount unless allowed, and within [min, max] when the cap allows", () => {
    fc.assert(
      fc.property(ruleArb, amount, (r, a) => {
        const f = computeFee(r, a, REF).feeMinor;
        expect(f >= 0n).toBe(true);
        if (!r.allowFeeAboveAmount) expect(f <= a).toBe(true);
        if (r.maxMinor !== null) expect(f <= r.maxMinor).toBe(true);
        if (r.minMinor !== null && (r.allowFeeAboveAmount || r.minMinor <= a)) expect(f >= r.minMinor).toBe(true);
      }),
    );
  });

  it("is monotonic in the amount within a tier", () => {
    fc.assert(
      fc.property(ruleArb, amount, amount, (r, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const flo = computeFee(r, lo, REF);
        const fhi = computeFee(r, hi, REF);
        fc.pre(flo.tierLabel === fhi.tierLabel);
        expect(flo.feeMinor <= fhi.feeMinor).toBe(true);
      }),
    );
  });

  it("equals the rounded exact formula, clamped (independent bigint arithmetic)", () => {
    fc.assert(
      fc.property(ruleArb, amount, (r, a) => {
        const tier = r.tiers.find((t) => a >= t.fromMinor && (t.toMinor === null || a < t.toMinor))!;
        // fixed + a * n / d, rounded by the rule, recomputed here with integer division only.
        const n = tier.fixedMinor * tier.rate.d + a * tier.rate.n;
        const d = tier.rate.d;
        const q = n / d;
        const rem = n % d;
        const rounded =
          rem === 0n ? q
          : r.rounding === "down" ? q
          : r.rounding === "up" ? q + 1n
          : 2n * rem > d || (2n * rem === d && (r.rounding === "half-up" || q % 2n === 1n)) ? q + 1n
          : q;
        let expected = rounded;
        if (r.minMinor !== null && expected < r.minMinor) expected = r.minMinor;
        if (r.maxMinor !== null && expected > r.maxMinor) expected = r.maxMinor;
        if (!r.allowFeeAboveAmount && expected > a) expected = a;
        expect(computeFee(r, a, REF).feeMinor).toBe(expected);
      }),
    );
  });
});
