// Matching rule sets (server/recon/rules.ts): the schema refuses what cannot work, and the rules
// the migration activates as version 1 are exactly DEFAULT_RULES.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_AUTO_APPLY_THRESHOLD, DEFAULT_RULES, parseRules, widestWindowDays } from "../../server/recon/rules";

describe("rule sets", () => {
  it("version 1 in the migration is DEFAULT_RULES with the default threshold", () => {
    const sql = readFileSync(path.resolve(import.meta.dirname, "../../prisma/migrations/20261202100000_recon/migration.sql"), "utf8");
    const m = /VALUES \(1, 'active', '(\[.*?\])'::jsonb,\s*(\d+), true/s.exec(sql);
    expect(m).not.toBeNull();
    expect(parseRules(JSON.parse(m![1]!))).toEqual(DEFAULT_RULES);
    expect(Number(m![2])).toBe(DEFAULT_AUTO_APPLY_THRESHOLD);
  });

  it.each([
    [[], /rules: Too small|at least/i],
    [[{ kind: "reference", enabled: true, dateWindowDays: 7 }, { kind: "reference", enabled: true, dateWindowDays: 3 }], /each rule kind may appear once/],
    [[{ kind: "reference", enabled: true, dateWindowDays: 32 }], /0.dateWindowDays/],
    [[{ kind: "reference_tolerance", enabled: true, dateWindowDays: 1, toleranceMinor: "1.5", toleranceBps: 10 }], /toleranceMinor: a whole number of minor units/],
    [[{ kind: "fuzzy", enabled: true }], /0.kind/],
    [[{ kind: "reference", enabled: true, dateWindowDays: 1, extra: 1 }], /0/],
  ])("refuses %j", (rules, message) => {
    expect(() => parseRules(rules)).toThrow(message);
  });

  it("reads ledger items as far around a period as the widest enabled window", () => {
    expect(widestWindowDays(DEFAULT_RULES)).toBe(7);
    expect(widestWindowDays(DEFAULT_RULES.map((r) => (r.kind === "reference" || r.kind === "many_lines_one_item" || r.kind === "reference_tolerance" ? { ...r, enabled: false } : r)))).toBe(3);
  });
});
