/**
 * The rule-by-rule difference between two fee schedule definitions, as a proposal's preview shows
 * it. A definition read back from jsonb has its keys in PostgreSQL's order, not the proposer's: the
 * same rule in another key order is no change (before, every rule showed as changed, and an
 * approver was told the policy in force had changed since the proposal).
 */
import { describe, expect, it } from "vitest";
import { diffScheduleDefinitions } from "../../server/pricing/schedules";
import type { FeeRuleDefinition } from "../../server/pricing/fees";

const rule = (id: string, fixedMinor: string) =>
  ({ id, currency: "EUR", tiers: [{ label: "tier-1", fromMinor: "0", toMinor: null, fixedMinor, rateBps: "30" }] }) as unknown as FeeRuleDefinition;

/** The same value with every object's keys in reverse order, as jsonb may hand it back. */
function reversedKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reversedKeys) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversedKeys(x)])) as T;
  return v;
}

describe("diffScheduleDefinitions", () => {
  it("finds no change between a definition and itself with its keys in another order", () => {
    const before = { rules: [rule("eur-default", "20"), rule("usd-default", "25")] };
    expect(diffScheduleDefinitions(before, reversedKeys(before))).toEqual([]);
  });

  it("lists a changed field once, in canonical text, whatever the key order", () => {
    const before = { rules: [rule("eur-default", "20"), rule("usd-default", "25")] };
    const after = reversedKeys({ rules: [rule("eur-default", "100"), rule("usd-default", "25")] });
    expect(diffScheduleDefinitions(before, after)).toEqual([
      {
        ruleId: "eur-default",
        change: "changed",
        fields: [
          {
            field: "tiers",
            before: '[{"fixedMinor":"20","fromMinor":"0","label":"tier-1","rateBps":"30","toMinor":null}]',
            after: '[{"fixedMinor":"100","fromMinor":"0","label":"tier-1","rateBps":"30","toMinor":null}]',
          },
        ],
      },
    ]);
  });

  it("names added and removed rules", () => {
    const changes = diffScheduleDefinitions({ rules: [rule("eur-default", "20")] }, { rules: [rule("usd-default", "25")] });
    expect(changes).toEqual([
      { ruleId: "usd-default", change: "added", fields: [] },
      { ruleId: "eur-default", change: "removed", fields: [] },
    ]);
  });
});
