// Partner health from call counts (server/slo/partner-health.ts): the state thresholds and the
// merged history of bad intervals, with hand-computed expectations.
import { describe, expect, it } from "vitest";
import { classifyHealth, healthIntervals, NO_CALLS, ratesOf, type CallCounts } from "../../server/slo/partner-health";
import { liveIncidentPhase } from "../../server/demo/traffic";

const calls = (accepted: number, retryable = 0, unknown = 0, rejected = 0): CallCounts => ({ ...NO_CALLS, calls: accepted + retryable + unknown + rejected, accepted, retryable, unknown, rejected });

describe("classifyHealth", () => {
  it.each([
    ["no calls", calls(0), "idle"],
    ["all accepted", calls(100), "ok"],
    ["rejections are the bank's verdict, not a fault", calls(50, 0, 0, 50), "ok"],
    ["9% errors", calls(91, 9), "ok"],
    ["10% errors", calls(90, 10), "degraded"],
    ["5% timeouts", calls(95, 0, 5), "degraded"],
    ["half failing", calls(5, 3, 2), "outage"],
    ["everything failing but only 4 calls", calls(0, 4), "degraded"],
  ] as const)("%s: %s", (_n, c, state) => {
    expect(classifyHealth(c)).toBe(state);
  });

  it("rates over calls", () => {
    expect(ratesOf(calls(80, 10, 5, 5))).toMatchObject({ successRate: 0.8, errorRate: 0.1, timeoutRate: 0.05, rejectRate: 0.05 });
    expect(ratesOf(NO_CALLS).successRate).toBeNull();
  });
});

describe("healthIntervals", () => {
  const t0 = Date.UTC(2026, 11, 1, 10, 0);
  const at = (m: number) => new Date(t0 + m * 60_000);

  it("merges consecutive outage minutes judged over the trailing 5 minutes, and ends when the window recovers", () => {
    // Minutes 0-4 healthy, 5-9 down (all 503), 10-19 healthy again.
    const series = Array.from({ length: 20 }, (_, m) => ({ minute: at(m), counts: m >= 5 && m < 10 ? calls(0, 10) : calls(10) }));
    // Minute 5's window (1-5) has 10 of 50 failed: degraded; 6: 20 of 50 degraded; 7: 30/50 outage; ...
    // 10: 40/50 outage; 11: 30/50 outage; 12: 20/50 degraded; 13: 10/50 degraded; 14: 0 -> ok.
    expect(healthIntervals(series)).toEqual([
      { state: "degraded", from: at(5), to: at(7) },
      { state: "outage", from: at(7), to: at(12) },
      { state: "degraded", from: at(12), to: at(14) },
    ]);
  });

  it("is empty for a healthy or idle series", () => {
    expect(healthIntervals([{ minute: at(0), counts: calls(5) }, { minute: at(1), counts: NO_CALLS }])).toEqual([]);
  });
});

describe("the live traffic's recurring partner incident", () => {
  it.each([
    ["10:19:59", "normal"],
    ["10:20:00", "outage"],
    ["10:24:59", "outage"],
    ["10:25:00", "normal"],
    ["10:40:00", "slow"],
    ["10:49:59", "slow"],
    ["10:50:00", "normal"],
  ])("%s UTC is %s", (time, phase) => {
    expect(liveIncidentPhase(new Date(`2026-12-02T${time}Z`))).toBe(phase);
  });
});
