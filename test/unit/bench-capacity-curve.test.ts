// The pure part of the transfers benchmark's capacity curve (scripts/lib/capacity-curve.ts): the
// ramp's steps and when it stops, the percentile, the figures of each step, and the reading of the
// curve (capacity, knee, overload).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { aggregateSteps, isRampDone, percentile, rampRates, readCurve, type CreateTry, type RampPlan, type StepFigures, type TransferTimes } from "../../scripts/lib/capacity-curve";

describe("percentile (nearest rank)", () => {
  const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  it.each([
    [[], 50, NaN],
    [[7], 1, 7],
    [[7], 99, 7],
    [oneTo(100), 50, 50],
    [oneTo(100), 95, 95],
    [oneTo(100), 99, 99],
    [oneTo(100), 100, 100],
    [oneTo(10), 50, 5],
    [oneTo(10), 95, 10],
    [oneTo(10), 99, 10],
    [oneTo(1000), 99, 990],
    [[1, 1, 1, 1000], 75, 1],
    [[1, 1, 1, 1000], 76, 1000],
  ])("%j p%d = %d", (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it("refuses a percentile outside (0, 100]", () => {
    expect(() => percentile([1], 0)).toThrow(/percentile must be in \(0, 100\]/);
    expect(() => percentile([1], 101)).toThrow(/percentile must be in/);
  });

  it("is the smallest observed value with at least p% of the values at or below it", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (values, p) => {
        const sorted = [...values].sort((a, b) => a - b);
        const v = percentile(sorted, p);
        expect(sorted).toContain(v);
        expect(sorted.filter((x) => x <= v).length).toBeGreaterThanOrEqual((p / 100) * sorted.length);
        expect(sorted.filter((x) => x < v).length).toBeLessThan((p / 100) * sorted.length);
      }),
    );
  });
});

describe("ramp plan", () => {
  const plan: RampPlan = { startPerSecond: 100, stepPerSecond: 100, stepSeconds: 10, warmupSeconds: 0, maxPerSecond: 1000, untilMultiple: 3 };

  it("steps from start by step up to max", () => {
    expect(rampRates({ ...plan, maxPerSecond: 350 })).toEqual([100, 200, 300]);
    expect(rampRates({ ...plan, startPerSecond: 50, stepPerSecond: 25, maxPerSecond: 100 })).toEqual([50, 75, 100]);
    expect(rampRates({ ...plan, stepPerSecond: 0.1, startPerSecond: 0.1, maxPerSecond: 0.3 })).toEqual([0.1, 0.2, 0.3]);
  });

  it("refuses a plan that cannot step", () => {
    expect(() => rampRates({ ...plan, stepPerSecond: 0 })).toThrow(/step > 0/);
    expect(() => rampRates({ ...plan, maxPerSecond: 50 })).toThrow(/max >= start/);
  });

  it("ends at max, or once a step offered untilMultiple × the best settled rate", () => {
    expect(isRampDone(plan, 900, 500)).toBe(false);
    expect(isRampDone(plan, 1000, 500)).toBe(true); // the next step would pass max
    expect(isRampDone(plan, 900, 300)).toBe(true); // 900 >= 3 × 300
    expect(isRampDone(plan, 800, 300)).toBe(false);
    expect(isRampDone({ ...plan, untilMultiple: 0 }, 900, 10)).toBe(false);
    expect(isRampDone(plan, 100, 0)).toBe(false); // nothing settled yet says nothing about capacity
  });
});

describe("aggregateSteps", () => {
  // Two 2-second steps: [0, 2000) at 10/s, [2000, 4000) at 20/s.
  const windows = [
    { offeredPerSecond: 10, startMs: 0, endMs: 2000 },
    { offeredPerSecond: 20, startMs: 2000, endMs: 4000 },
  ];
  const admitted = (sentAtMs: number, id: string): CreateTry => ({ sentAtMs, isRetry: false, outcome: "admitted", transferId: id });
  const tries: CreateTry[] = [
    admitted(0, "a"),
    admitted(500, "b"),
    admitted(1999, "c"),
    { sentAtMs: 1000, isRetry: false, outcome: "refused" },
    { sentAtMs: 1500, isRetry: false, outcome: "error" },
    { sentAtMs: 1600, isRetry: false, outcome: "shed" },
    admitted(2000, "d"),
    { sentAtMs: 2500, isRetry: true, outcome: "admitted", transferId: "e" },
    { sentAtMs: 3000, isRetry: false, outcome: "refused" },
    { sentAtMs: 3100, isRetry: false, outcome: "refused" },
    { sentAtMs: 4000, isRetry: false, outcome: "admitted", transferId: "late" }, // after the last window: in no step
  ];
  const transfers: TransferTimes[] = [
    { id: "a", createdAtMs: 10, settledAtMs: 110 },
    { id: "b", createdAtMs: 510, settledAtMs: 810 },
    { id: "c", createdAtMs: 1999, settledAtMs: 2999 }, // admitted in step 1, settles in step 2
    { id: "d", createdAtMs: 2010, settledAtMs: null },
    { id: "e", createdAtMs: 2510, settledAtMs: 3510 },
    { id: "late", createdAtMs: 4010, settledAtMs: 4100 },
    { id: "other", createdAtMs: 0, settledAtMs: 1000 }, // not this generator's, still settled in step 1
  ];

  it("counts requests by when they were sent, settlements by when they happened", () => {
    const [s1, s2] = aggregateSteps(windows, tries, transfers);
    expect(s1).toEqual({
      step: 1, offeredPerSecond: 10, seconds: 2,
      sentPerSecond: 2.5, retriesPerSecond: 0, admittedPerSecond: 1.5, refusedPerSecond: 0.5, settledPerSecond: 1.5,
      admitted: 3, refused: 1, errors: 1, shed: 1, unsettled: 0,
      p50Ms: 300, p95Ms: 1000, p99Ms: 1000,
    });
    expect(s2).toEqual({
      step: 2, offeredPerSecond: 20, seconds: 2,
      sentPerSecond: 1.5, retriesPerSecond: 0.5, admittedPerSecond: 1, refusedPerSecond: 1, settledPerSecond: 1,
      admitted: 2, refused: 2, errors: 0, shed: 0, unsettled: 1,
      p50Ms: 1000, p95Ms: 1000, p99Ms: 1000,
    });
  });

  it("gives no latency for a step that admitted nothing", () => {
    const [s] = aggregateSteps([windows[0]!], [{ sentAtMs: 1, isRetry: false, outcome: "refused" }], []);
    expect(s).toMatchObject({ admitted: 0, refused: 1, p50Ms: null, p95Ms: null, p99Ms: null, settledPerSecond: 0 });
  });
});

describe("readCurve", () => {
  const step = (n: number, offered: number, settled: number, p99Ms: number | null = 500): StepFigures => ({
    step: n, offeredPerSecond: offered, seconds: 10, sentPerSecond: offered, retriesPerSecond: 0, admittedPerSecond: offered, refusedPerSecond: 0, // everything admitted: keeping up is judged by what settles
    settledPerSecond: settled, admitted: 0, refused: 0, errors: 0, shed: 0, unsettled: 0, p50Ms: p99Ms, p95Ms: p99Ms, p99Ms,
  });

  it("reads capacity, the knee and the overload share", () => {
    const r = readCurve([step(1, 100, 99, 300), step(2, 200, 197, 400), step(3, 300, 280, 900), step(4, 400, 300, 1200), step(5, 500, 290, 1100)]);
    expect(r).toEqual({
      capacityPerSecond: 300, capacityStep: 4, kneeOfferedPerSecond: 200, isSaturated: true,
      overloadSettledShare: { min: 280 / 300, max: 1 }, p99MsMax: 1200, p99MsAtKnee: 400,
    });
  });

  it("says when the ramp never reached the capacity", () => {
    const r = readCurve([step(1, 100, 100), step(2, 200, 196)]);
    expect(r).toMatchObject({ isSaturated: false, kneeOfferedPerSecond: null, overloadSettledShare: null, capacityPerSecond: 200 - 4 });
  });

  it("has no knee when the first step was already past the capacity", () => {
    const r = readCurve([step(1, 500, 250), step(2, 600, 240)]);
    expect(r).toMatchObject({ isSaturated: true, kneeOfferedPerSecond: null, p99MsAtKnee: null, capacityPerSecond: 250, overloadSettledShare: { min: 0.96, max: 1 } });
  });

  it("copes with no steps and with steps without latencies", () => {
    expect(readCurve([])).toMatchObject({ capacityPerSecond: 0, capacityStep: null, isSaturated: false, p99MsMax: null });
    expect(readCurve([step(1, 100, 0, null)])).toMatchObject({ capacityPerSecond: 0, isSaturated: true, overloadSettledShare: null, p99MsMax: null });
  });
});
