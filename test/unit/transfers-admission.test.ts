/** The admission decision (server/transfers/admission.ts), pure and table-driven. */
import { describe, expect, it } from "vitest";
import { decideAdmission, type AdmissionSettings } from "../../server/transfers/admission";

const settings: AdmissionSettings = { isEnabled: true, maxBacklog: 100, maxWaitMs: 5_000, sampleMs: 250 };
const at = new Date("2026-12-02T12:00:00Z");
const sample = (backlog: number, oldestWaitMs: number) => ({ backlog, oldestWaitMs, sampledAt: at });

describe("decideAdmission", () => {
  it.each([
    ["open, under both bounds", true, 100, 5_000, true, null],
    ["open, one over the backlog bound", true, 101, 0, false, "backlog"],
    ["open, the oldest waited too long", true, 3, 5_001, false, "wait"],
    ["closed, back under the bound but not by 20%", false, 90, 0, false, "backlog"],
    ["closed, well under both", false, 79, 3_999, true, null],
    ["closed, backlog low but waits still long", false, 10, 4_500, false, "wait"],
  ] as const)("%s", (_label, wasOpen, backlog, wait, isOpen, closedBy) => {
    const s = decideAdmission(sample(backlog, wait), settings, wasOpen);
    expect([s.isOpen, s.closedBy]).toEqual([isOpen, closedBy]);
    expect(s.reason === null).toBe(isOpen);
  });

  it("says how long to wait, from 1 to 30 seconds", () => {
    expect(decideAdmission(sample(500, 0), settings, true).retryAfterSeconds).toBe(1);
    expect(decideAdmission(sample(500, 7_200), settings, true).retryAfterSeconds).toBe(8);
    expect(decideAdmission(sample(500, 600_000), settings, true).retryAfterSeconds).toBe(30);
  });

  it("never closes when disabled", () => {
    expect(decideAdmission(sample(1e6, 1e6), { ...settings, isEnabled: false }, true).isOpen).toBe(true);
  });
});
