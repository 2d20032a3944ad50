// The SLO rollup's constants agree with their SQL twins in the migration, the customer-failure
// rule, and the checks on an objective's fields (table-driven, in the documented order).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CUSTOMER_FAILURE_REASONS, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, isCustomerFailure } from "../../server/slo/rollup";
import { checkSloFields, DEFAULT_SLOS, INDICATOR_KINDS, type SloFields } from "../../server/slo/definitions";

const migration = readFileSync(path.resolve(import.meta.dirname, "../../prisma/migrations/20261202410000_slo/migration.sql"), "utf8");

describe("rollup constants match the migration", () => {
  it("latency bounds", () => {
    const sql = /width_bucket\(greatest\(ms, 1\) - 1, ARRAY\[([\d,]+)\]::bigint\[\]\)/.exec(migration)?.[1];
    expect(sql?.split(",").map(Number)).toEqual(LATENCY_BOUNDS_MS);
    expect(migration).toContain(`cardinality("latency_counts") = ${LATENCY_BUCKETS}`);
    // The trigger fills one count per bucket.
    const trigger = migration.slice(migration.indexOf("CREATE FUNCTION transfer_events_slo_rollup"), migration.indexOf("CREATE TRIGGER transfer_events_slo_rollup"));
    expect(trigger.match(/s\.bucket = \d+/g)?.map((m) => Number(m.slice(11)))).toEqual(Array.from({ length: LATENCY_BUCKETS }, (_, i) => i));
  });

  it("customer failure reasons", () => {
    const fn = migration.slice(migration.indexOf("CREATE FUNCTION slo_is_customer_failure"), migration.indexOf("CREATE FUNCTION slo_latency_bucket"));
    const listed = /IN \(([^)]*)\)/.exec(fn)?.[1]?.split(",").map((s) => s.trim().replace(/'/g, ""));
    expect(listed).toEqual([...CUSTOMER_FAILURE_REASONS]);
    expect(fn).toContain("cause = 'reserve_refused'");
  });

  it("indicator kinds", () => {
    const listed = /"indicator" IN\s*\(([^)]*)\)/.exec(migration)?.[1]?.split(",").map((s) => s.trim().replace(/'/g, ""));
    expect(listed).toEqual([...INDICATOR_KINDS]);
  });
});

describe("customer failures", () => {
  it.each([
    ["reserve_refused", null, true],
    ["webhook.failed", { partnerReason: "beneficiary_account_closed" }, true],
    ["webhook.failed", { partnerReason: "beneficiary_name_mismatch" }, true],
    ["webhook.failed", { partnerReason: "bank_internal_error" }, false],
    ["webhook.failed", null, false],
    ["partner.rejected", { partnerReason: "beneficiary_account_closed" }, false],
    ["retries_exhausted", null, false],
    ["partner.not_found", null, false],
    ["operator.mark_failed", null, false],
  ])("%s %j: %s", (cause, detail, expected) => {
    expect(isCustomerFailure(cause, detail)).toBe(expected);
  });
});

describe("an objective's fields", () => {
  const success = DEFAULT_SLOS.find((d) => d.key === "transfer-success")!;
  const latency = DEFAULT_SLOS.find((d) => d.indicator === "settlement_latency")!;
  const stuck = DEFAULT_SLOS.find((d) => d.indicator === "stuck_transfers")!;
  const f = (base: SloFields, patch: Partial<SloFields>): SloFields => ({ ...base, ...patch });

  it("accepts every default", () => {
    for (const d of DEFAULT_SLOS) expect(() => checkSloFields(d.indicator, d)).not.toThrow();
  });

  it.each([
    ["an empty name", "transfer_success", f(success, { name: "  " }), "name"],
    ["a target of 1", "transfer_success", f(success, { target: 1 }), "target"],
    ["a target of 0", "transfer_success", f(success, { target: 0 }), "target"],
    ["a target as a percentage", "transfer_success", f(success, { target: 99.5 }), "target"],
    ["seven decimals", "transfer_success", f(success, { target: 0.9999995 }), "target"],
    ["a window of 0 days", "transfer_success", f(success, { windowDays: 0 }), "windowDays"],
    ["a window of 91 days", "transfer_success", f(success, { windowDays: 91 }), "windowDays"],
    ["a threshold the indicator does not use", "transfer_success", f(success, { thresholdMs: 1000 }), "thresholdMs"],
    ["a latency threshold between bounds", "settlement_latency", f(latency, { thresholdMs: 45_000 }), "thresholdMs"],
    ["no latency threshold", "settlement_latency", f(latency, { thresholdMs: null }), "thresholdMs"],
    ["a negative count", "stuck_transfers", f(stuck, { thresholdCount: -1 }), "thresholdCount"],
    ["an empty rail", "transfer_success", f(success, { rail: " " }), "rail"],
  ] as const)("refuses %s, naming %s", (_name, indicator, fields, field) => {
    expect(() => checkSloFields(indicator, fields)).toThrow(expect.objectContaining({ code: "BAD_INPUT", details: { field } }));
  });

  it("checks the name before the target (the documented order)", () => {
    expect(() => checkSloFields("transfer_success", f(success, { name: "", target: 2 }))).toThrow(expect.objectContaining({ details: { field: "name" } }));
  });
});
