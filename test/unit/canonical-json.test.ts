// Canonical JSON (server/core/canonical-json.ts) and the idempotency request hash built on it
// (server/core/idempotency.ts): stored audit hashes and request hashes depend on this text byte for
// byte, so it is pinned here.
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../server/core/canonical-json";
import { canonicalize, hashRequest } from "../../server/core/idempotency";

const value = { b: [3, { z: null, y: undefined }], a: { d: true, c: "x\u00e9" }, e: undefined, f: 1.5 };

describe("canonical JSON", () => {
  it("sorts keys at every level and leaves undefined fields out", () => {
    expect(canonicalJson(value)).toBe('{"a":{"c":"xé","d":true},"b":[3,{"z":null}],"f":1.5}');
  });

  it("lets an encoder write the values plain JSON cannot carry, at every level", () => {
    expect(canonicalJson({ n: [1n] }, (v) => (typeof v === "bigint" ? `"${v}n"` : undefined))).toBe('{"n":["1n"]}');
  });

  it("tags bigints and dates in request hashes, so 1n and \"1\" differ", () => {
    expect(canonicalize({ amountMinor: 1250n, at: new Date("2026-11-20T10:00:00Z"), ...value })).toBe(
      '{"a":{"c":"xé","d":true},"amountMinor":{"$bigint":"1250"},"at":{"$date":"2026-11-20T10:00:00.000Z"},"b":[3,{"z":null}],"f":1.5}',
    );
    expect(hashRequest({ a: 1n })).not.toBe(hashRequest({ a: "1" }));
    expect(hashRequest({ a: 1n, b: undefined })).toBe(hashRequest({ a: 1n }));
  });
});
