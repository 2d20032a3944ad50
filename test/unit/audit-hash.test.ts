import { describe, expect, it } from "vitest";
import { hashRecord, redact, GENESIS_HASH, type HashableRecord } from "../../server/audit/audit-log";
import { canonicalJson } from "../../server/core/canonical-json";

const base: HashableRecord = {
  lane: 3,
  laneSeq: "7",
  actorType: "user",
  actorId: "0b7f2f0e-1111-4222-8333-444455556666",
  actorLabel: "ops@example.com",
  action: "users.set_roles",
  targetType: "user",
  targetId: "u-1",
  reason: "joined the risk team",
  before: { roles: ["viewer"] },
  after: { roles: ["viewer", "approver"] },
  requestId: "req-1",
  createdAt: new Date("2026-11-21T08:00:00.123Z"),
  prevHash: GENESIS_HASH,
};

describe("canonicalJson", () => {
  it.each([
    [{ b: 1, a: 2 }, { a: 2, b: 1 }],
    [{ z: { y: 1, x: [{ q: 1, p: 2 }] }, a: null }, { a: null, z: { x: [{ p: 2, q: 1 }], y: 1 } }],
    [{ k: "v", u: undefined }, { k: "v" }],
  ])("gives the same text for %j and %j", (a, b) => {
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it("sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: [3, 1], a: { d: true, c: "x" } })).toBe('{"a":{"c":"x","d":true},"b":[3,1]}');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });
});

describe("redact", () => {
  it.each(["password", "passwordHash", "secret", "clientSecret", "token", "accessToken", "apiKey", "api_key", "Authorization", "totp", "recoveryCodes"])(
    "replaces the value under %s",
    (key) => {
      const out = redact({ [key]: "hunter2", nested: { [key]: "hunter2" }, list: [{ [key]: "hunter2" }] }) as Record<string, unknown>;
      expect(JSON.stringify(out)).not.toContain("hunter2");
      expect(out[key]).toBe("[redacted]");
    },
  );

  it("keeps ordinary fields and turns bigints and dates into strings", () => {
    expect(redact({ name: "fees", amountMinor: 12345678901234567890n, at: new Date("2026-01-02T03:04:05.000Z"), roles: ["admin"] })).toEqual({
      name: "fees",
      amountMinor: "12345678901234567890",
      at: "2026-01-02T03:04:05.000Z",
      roles: ["admin"],
    });
  });
});

describe("hashRecord", () => {
  it("is a stable SHA-256 hex digest", () => {
    expect(hashRecord(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecord({ ...base })).toBe(hashRecord(base));
    // Key order inside before/after does not matter: the content is canonical.
    expect(hashRecord({ ...base, after: { roles: ["viewer", "approver"] }, before: { roles: ["viewer"] } })).toBe(hashRecord(base));
  });

  const changes: [keyof HashableRecord, unknown][] = [
    ["lane", 4],
    ["laneSeq", "8"],
    ["actorType", "service"],
    ["actorId", null],
    ["actorLabel", "other@example.com"],
    ["action", "users.set_active"],
    ["targetType", "service_key"],
    ["targetId", "u-2"],
    ["reason", null],
    ["before", null],
    ["after", { roles: ["viewer"] }],
    ["requestId", "req-2"],
    ["createdAt", new Date("2026-11-21T08:00:00.124Z")],
    ["prevHash", "f".repeat(64)],
  ];
  it.each(changes)("changes when %s changes", (field, value) => {
    expect(hashRecord({ ...base, [field]: value } as HashableRecord)).not.toBe(hashRecord(base));
  });

  it("covers every field of HashableRecord", () => {
    expect(new Set(changes.map(([f]) => f))).toEqual(new Set(Object.keys(base)));
  });
});
