/** The admission decision (server/transfers/admission.ts), pure and table-driven. */
import { describe, expect, it } from "vitest";
import { decideAdmission, type AdmissionSettings } from "../../server/transfers/admission";

const settings: AdmissionSettings = { isEnabled: true, maxBacklog: 100, maxWaitMs: 5_000, maxCreateMs: 500, sampleMs: 250 };
const at = new Date("2026-12-02T12:00:00Z");
const sample = (backlog: number, oldestWaitMs: number, createMs = 0) => ({ backlog, oldestWaitMs, createMs, sampledAt: at });

describe("decideAdmission", () => {
  it.each([
    ["open, under both bounds", true, 100, 5_000, true, null],
    ["open, one over the backlog bound", true, 101, 0, false, "backlog"],
    ["open, the oldest waited too long", true, 3, 5_001, false, "wait"],
    ["closed, back under the bound but not by 20%", false, 90, 0, false, "backlog"],
    ["closed, well under both", false, 79, 3_999, true, null],
    ["closed, backlog low but waits still long", false, 10, 4_500, false, "wait"],
    ["closed, exactly at 80% of the backlog bound", false, 80, 0, false, "backlog"],
    ["open, the quickest create waited the bound", true, 0, 0, true, null, 500],
    ["open, even the quickest create waited longer than the bound", true, 0, 0, false, "creates", 501],
    ["closed, creates quicker but not by 20%", false, 0, 0, false, "creates", 450],
    ["closed, creates well under the bound", false, 0, 0, true, null, 399],
    ["open, too few creates started in the interval to tell", true, 0, 0, true, null, 0],
  ] as const)("%s", (_label, wasOpen, backlog, wait, isOpen, closedBy, createMs = 0) => {
    const s = decideAdmission(sample(backlog, wait, createMs), settings, wasOpen);
    expect([s.isOpen, s.closedBy]).toEqual([isOpen, closedBy]);
    expect(s.reason === null).toBe(isOpen);
    if (closedBy === "creates") expect(s.reason).toMatch(new RegExp(`quickest waited ${createMs} ms \\(limit 500 ms\\)`));
  });

  it("says how long to wait, from 1 to 30 seconds", () => {
    expect(decideAdmission(sample(500, 0), settings, true).retryAfterSeconds).toBe(1);
    expect(decideAdmission(sample(500, 7_200), settings, true).retryAfterSeconds).toBe(8);
    expect(decideAdmission(sample(500, 600_000), settings, true).retryAfterSeconds).toBe(30);
    expect(decideAdmission(sample(0, 0, 2_400), settings, true).retryAfterSeconds).toBe(3);
  });

  it("never closes when disabled", () => {
    expect(decideAdmission(sample(1e6, 1e6, 1e6), { ...settings, isEnabled: false }, true).isOpen).toBe(true);
  });
});
