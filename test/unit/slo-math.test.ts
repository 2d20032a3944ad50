// The SLO arithmetic (server/slo/math.ts) against expectations computed by hand: budgets, burn
// rates per window, the multi-window alert state, percentiles from histogram rollups, late
// events, empty windows and windows holding only excluded failures.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ALERT_RULES,
  ALERT_WINDOWS_MINUTES,
  badEventsLeft,
  budgetRemaining,
  burnDown,
  burnRate,
  burnThreshold,
  countAtOrBelow,
  evaluateAlerts,
  quantileFromHistogram,
  sliOf,
  sumTrailingWindows,
  type Counts,
} from "../../server/slo/math";

const DAYS_28 = 28 * 24 * 60;
const c = (good: number, valid: number): Counts => ({ good, valid });

describe("budget and burn rate", () => {
  it.each([
    // target, good, valid, sli, budget remaining, burn rate, bad events left
    // 99.5%: budget 0.5% of 1000 = 5 bad events; 10 bad spent twice the budget.
    [0.995, 990, 1000, 0.99, -1, 2, -5],
    // 99%: budget 10 bad events; 5 spent half.
    [0.99, 995, 1000, 0.995, 0.5, 0.5, 5],
    // 99.9% of 2000: budget 2; none spent.
    [0.999, 2000, 2000, 1, 1, 0, 2],
    // 90%: budget 10 of 100; exactly spent.
    [0.9, 90, 100, 0.9, 0, 1, 0],
  ])("target %s with %s good of %s", (target, good, valid, sli, remaining, burn, left) => {
    expect(sliOf(c(good, valid))).toBeCloseTo(sli, 12);
    expect(budgetRemaining(c(good, valid), target)).toBeCloseTo(remaining, 12);
    expect(burnRate(c(good, valid), target)).toBeCloseTo(burn, 12);
    expect(badEventsLeft(c(good, valid), target)).toBeCloseTo(left, 9);
  });

  it("an empty window has no SLI, spends nothing and burns at 0", () => {
    expect(sliOf(c(0, 0))).toBeNull();
    expect(budgetRemaining(c(0, 0), 0.995)).toBe(1);
    expect(burnRate(c(0, 0), 0.995)).toBe(0);
  });

  it("a window with only excluded failures (closed accounts, insufficient funds) is an empty window", () => {
    // Excluded events never become valid: 40 customer-caused failures leave 0 valid events.
    const onlyExcluded = c(0, 0);
    expect(sliOf(onlyExcluded)).toBeNull();
    expect(budgetRemaining(onlyExcluded, 0.995)).toBe(1);
    expect(evaluateAlerts(new Map([[60, onlyExcluded], [5, onlyExcluded]]), 0.995, DAYS_28).level).toBe("ok");
  });

  it("refuses targets outside (0, 1)", () => {
    expect(() => budgetRemaining(c(1, 1), 1)).toThrow(RangeError);
    expect(() => burnRate(c(1, 1), 0)).toThrow(RangeError);
  });
});

describe("multi-window, multi-burn-rate alerts", () => {
  it("thresholds for a 28-day window: 13.44 (1 h), 5.6 (6 h), 2.8 (1 d), 0.933 (3 d)", () => {
    expect(ALERT_RULES.map((r) => burnThreshold(r, DAYS_28))).toEqual([13.44, 5.6, 2.8, 0.1 * DAYS_28 / 4320].map((x) => expect.closeTo(x, 9)));
    expect(ALERT_WINDOWS_MINUTES).toEqual([5, 30, 60, 120, 360, 1440, 4320]);
  });

  const windows = (m: Record<number, Counts>) => new Map(Object.entries(m).map(([k, v]) => [Number(k), v]));

  it("pages when the last hour and the last 5 minutes both burn above 13.44", () => {
    // 99.9% target, budget 0.1%: 2% bad is burn 20, 1.5% bad is burn 15.
    const e = evaluateAlerts(windows({ 60: c(980, 1000), 5: c(197, 200), 360: c(5980, 6000), 30: c(995, 1000) }), 0.999, DAYS_28);
    expect(e.level).toBe("page");
    expect(e.rules[0]).toMatchObject({ isFiring: true, longBurn: expect.closeTo(20, 9), shortBurn: expect.closeTo(15, 9) });
  });

  it("does not page once the short window has recovered (1% bad in the last 5 minutes: burn 10 < 13.44)", () => {
    const e = evaluateAlerts(windows({ 60: c(980, 1000), 5: c(198, 200) }), 0.999, DAYS_28);
    expect(e.rules[0]!.isFiring).toBe(false);
    expect(e.level).toBe("ok");
  });

  it("tickets on a slow burn: 0.3% bad over a day and 2 hours (burn 3 >= 2.8), below every page threshold", () => {
    const slow = c(99_700, 100_000);
    const e = evaluateAlerts(windows({ 5: slow, 30: slow, 60: slow, 120: slow, 360: slow, 1440: slow, 4320: slow }), 0.999, DAYS_28);
    expect(e.level).toBe("ticket");
    expect(e.rules.filter((r) => r.isFiring).map((r) => r.rule.longMinutes)).toEqual([1440, 4320]);
  });

  it("is ok with empty windows", () => {
    expect(evaluateAlerts(new Map(), 0.995, DAYS_28).level).toBe("ok");
  });
});

describe("percentiles from histogram rollups", () => {
  // Bounds 100, 200, 400 ms; 10 at or below 100, 30 in (100, 200], 50 in (200, 400], 10 above.
  const bounds = [100, 200, 400];
  const counts = [10, 30, 50, 10];

  it.each([
    [0.1, 100], // rank 10: the top of the first bucket
    [0.25, 150], // rank 25: 15 of 30 into (100, 200]
    [0.5, 240], // rank 50: 10 of 50 into (200, 400]
    [0.9, 400], // rank 90: the top of (200, 400]
    [0.95, 400], // rank 95: in the overflow bucket, answered by the last bound
  ])("p%s = %s", (q, expected) => {
    expect(quantileFromHistogram(bounds, counts, q)).toBeCloseTo(expected, 9);
  });

  it("an empty histogram has no percentile", () => {
    expect(quantileFromHistogram(bounds, [0, 0, 0, 0], 0.5)).toBeNull();
  });

  it("counts exactly at a bound (the latency SLO's threshold)", () => {
    expect(countAtOrBelow(bounds, counts, 200)).toBe(40);
    expect(() => countAtOrBelow(bounds, counts, 250)).toThrow(RangeError);
  });

  it("percentiles are monotone in q and stay within the bounds (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 4, maxLength: 4 }), fc.double({ min: 0.01, max: 0.98, noNaN: true }), (cs, q) => {
        const a = quantileFromHistogram(bounds, cs, q);
        const b = quantileFromHistogram(bounds, cs, q + 0.01);
        if (cs.every((x) => x === 0)) return a === null && b === null;
        return a !== null && b !== null && a <= b + 1e-9 && a >= 0 && b <= 400;
      }),
    );
  });
});

describe("trailing windows over minute buckets (late events)", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const minute = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);

  it("sums each window from the minutes it contains, now excluded", () => {
    const w = sumTrailingWindows(
      [
        { minute: minute(1), counts: c(9, 10) },
        { minute: minute(10), counts: c(5, 5) },
        { minute: minute(90), counts: c(0, 4) },
        { minute: minute(0), counts: c(0, 100) }, // the current minute is not in any trailing window yet
      ],
      now,
      [5, 60, 120],
    );
    expect(w.get(5)).toEqual(c(9, 10));
    expect(w.get(60)).toEqual(c(14, 15));
    expect(w.get(120)).toEqual(c(14, 19));
  });

  it("a webhook a day late changes the day-old minute of its transfer, not the last hour", () => {
    // A transfer created a day ago settles now: its outcome is counted in its creation minute.
    const before = [{ minute: minute(60 * 24 - 3), counts: c(0, 0) }, { minute: minute(2), counts: c(3, 3) }];
    const after = [{ minute: minute(60 * 24 - 3), counts: c(1, 1) }, { minute: minute(2), counts: c(3, 3) }];
    const w0 = sumTrailingWindows(before, now, [60, 1440]);
    const w1 = sumTrailingWindows(after, now, [60, 1440]);
    expect(w1.get(60)).toEqual(w0.get(60));
    expect(w1.get(1440)).toEqual(c(4, 4));
  });
});

describe("budget burn-down", () => {
  it("follows the bad events against the budget of the events so far", () => {
    const t = (h: number) => new Date(Date.UTC(2026, 11, 1, h));
    // 99%: after 1000 good, 1000 valid: 1; after 10 bad of 2000: budget 20, half spent; after 30 more bad of 3000: 40 of 30 -> -1/3.
    const points = burnDown([{ at: t(0), counts: c(1000, 1000) }, { at: t(1), counts: c(990, 1000) }, { at: t(2), counts: c(970, 1000) }], 0.99);
    expect(points.map((p) => p.budgetRemaining)).toEqual([1, expect.closeTo(0.5, 9), expect.closeTo(-1 / 3, 9)]);
  });
});
