// The sandbox's fault dice and rail configuration (server/sandbox/rail-config.ts): seeded rolls
// are reproducible and order-independent, retries roll again, probabilities 0 and 1 are exact,
// and configs are validated whole.
import { describe, expect, it } from "vitest";
import { defaultRailConfig, faultRoll, mergeRailConfig, rollBetween, rollHits } from "../../server/sandbox/rail-config";

describe("faultRoll", () => {
  it("is a pure function of seed and parts when seeded", () => {
    const a = Array.from({ length: 50 }, (_, i) => faultRoll("seed-1", `tr-${i}`, 1, "timeout"));
    const b = Array.from({ length: 50 }, (_, i) => faultRoll("seed-1", `tr-${49 - i}`, 1, "timeout")).reverse();
    expect(b).toEqual(a);
  });

  it("differs between seeds, keys, attempts and decisions", () => {
    const base = faultRoll("s", "tr-1", 1, "timeout");
    expect(faultRoll("t", "tr-1", 1, "timeout")).not.toBe(base);
    expect(faultRoll("s", "tr-2", 1, "timeout")).not.toBe(base);
    expect(faultRoll("s", "tr-1", 2, "timeout")).not.toBe(base);
    expect(faultRoll("s", "tr-1", 1, "error")).not.toBe(base);
  });

  it("does not let parts run into each other (\"a\",\"bc\" is not \"ab\",\"c\")", () => {
    expect(faultRoll("s", "a", "bc")).not.toBe(faultRoll("s", "ab", "c"));
  });

  it("stays in [0, 1) and is roughly uniform over many keys", () => {
    const n = 20_000;
    const buckets = new Array<number>(10).fill(0);
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const r = faultRoll("uniform", `k${i}`);
      min = Math.min(min, r);
      max = Math.max(max, r);
      buckets[Math.floor(r * 10)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Each decile expects 2,000; 1,700..2,300 is over 7 standard deviations wide.
    for (const b of buckets) {
      expect(b).toBeGreaterThan(1_700);
      expect(b).toBeLessThan(2_300);
    }
  });

  it("is random without a seed", () => {
    const rolls = new Set(Array.from({ length: 20 }, () => faultRoll(null, "same", 1, "timeout")));
    expect(rolls.size).toBeGreaterThan(15);
  });

  it("hits a 30% fault about 30% of the time across keys (seeded, so exact each run)", () => {
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (rollHits(0.3, faultRoll("rate", `tr-${i}`, 1, "error"))) hits++;
    expect(hits).toBeGreaterThan(2_800);
    expect(hits).toBeLessThan(3_200);
  });
});

describe("rollHits and rollBetween", () => {
  it.each([
    [0, 0, false],
    [0, 0.999999, false],
    [1, 0, true],
    [1, 0.999999, true],
    [0.5, 0.4999, true],
    [0.5, 0.5, false],
  ])("p=%s roll=%s -> %s", (p, roll, expected) => {
    expect(rollHits(p, roll)).toBe(expected);
  });

  it("covers [min, max] inclusive", () => {
    expect(rollBetween(100, 3000, 0)).toBe(100);
    expect(rollBetween(100, 3000, 0.9999999)).toBe(3000);
    expect(rollBetween(5, 5, 0.7)).toBe(5);
  });
});

describe("rail config", () => {
  const base = defaultRailConfig("instant", { cutoffIntervalSeconds: 60 });

  it("starts with no faults and settlement within 0.1-3 s", () => {
    expect(base).toMatchObject({ timeoutProbability: 0, errorProbability: 0, duplicateWebhookProbability: 0, settleDelayMsMin: 100, settleDelayMsMax: 3000, seed: null });
    expect(defaultRailConfig("batch", { cutoffIntervalSeconds: 60 }).ackDelayMs).toBeGreaterThan(0);
  });

  it("merges a partial update and keeps the rest", () => {
    const next = mergeRailConfig(base, { timeoutProbability: 0.25, seed: "abc" });
    expect(next).toEqual({ ...base, timeoutProbability: 0.25, seed: "abc" });
  });

  it.each([
    [{ timeoutProbability: 1.5 }],
    [{ errorProbability: -0.1 }],
    [{ hangMs: 1.5 }],
    [{ settleDelayMsMin: 5000 }],
    [{ cutoffIntervalSeconds: 0 }],
    [{ unknownFault: 1 }],
    [{ timeoutProbability: "0.5" }],
  ])("refuses %o", (patch) => {
    // zod names the offending field; a wrong patch never merges.
    expect(() => mergeRailConfig(base, patch)).toThrow(expect.objectContaining({ name: "ZodError", issues: [expect.objectContaining({ path: expect.any(Array) })] }));
  });
});
