// The audit record's canonical text split for the one-round-trip append (audit_append in SQL):
// prefix + lane fields + suffix must be exactly what hashRecord hashes, for awkward content too.
import { describe, expect, it } from "vitest";
import { canonicalParts, redact } from "../../server/audit/audit-log";
import { canonicalJson } from "../../server/core/canonical-json";

const cases = [
  { name: "plain", before: null, after: { roles: ["viewer"] }, reason: "r", requestId: "req-1", targetId: "t" },
  { name: "nested lane keys and unicode", before: { lane: 0, laneSeq: "0", z: "é—😀" }, after: [{ a: '"quoted",\n' }], reason: null, requestId: null, targetId: null },
  { name: "bigints and dates", before: redact({ amountMinor: 12n, at: new Date(0) }), after: null, reason: "", requestId: "", targetId: "" },
];

describe("canonicalParts", () => {
  it.each(cases)("rebuilds the full canonical JSON ($name)", (c) => {
    const rec = {
      actorType: "service",
      actorId: "k1",
      actorLabel: "payments",
      action: "ledger.transfer",
      targetType: "journal_entry",
      targetId: c.targetId,
      reason: c.reason,
      before: c.before,
      after: c.after,
      requestId: c.requestId,
      createdAt: new Date("2026-11-21T08:00:00.123Z"),
    };
    const { prefix, suffix } = canonicalParts(rec);
    const full = canonicalJson({ ...rec, createdAt: rec.createdAt.toISOString(), lane: 7, laneSeq: "42" });
    expect(`${prefix},"lane":7,"laneSeq":"42",${suffix}`).toBe(full);
  });
});
