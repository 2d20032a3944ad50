// The webhook signature scheme (server/core/signature.ts): every refusal reason, tolerance in
// both directions, rotation, and a known answer so the scheme cannot drift silently.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseSignatureHeader, signPayload, verifySignature } from "../../server/core/signature";

const SECRET = "whsec_test_0123456789abcdef";
const OLD_SECRET = "whsec_old_fedcba9876543210";
const BODY = '{"id":"evt_1","type":"payment.settled","data":{"amount_minor":"885"}}';
const AT = new Date("2026-11-21T12:00:00.000Z");
const T = Math.floor(AT.getTime() / 1000);
const mac = (secret: string, body: string, t: number) => createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");

describe("signPayload", () => {
  it("produces t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t.body)>", () => {
    expect(signPayload(SECRET, BODY, AT)).toBe(`t=${T},v1=${mac(SECRET, BODY, T)}`);
  });

  it("floors milliseconds to the second", () => {
    expect(signPayload(SECRET, BODY, new Date(AT.getTime() + 999))).toBe(signPayload(SECRET, BODY, AT));
  });
});

describe("verifySignature", () => {
  const valid = signPayload(SECRET, BODY, AT);
  const seconds = (s: number) => new Date(AT.getTime() + s * 1000);

  it.each<[string, string | null, string, readonly string[], Date, { ok: boolean; reason?: string }]>([
    ["a valid signature", valid, BODY, [SECRET], AT, { ok: true }],
    ["a valid signature 299 s old", valid, BODY, [SECRET], seconds(299), { ok: true }],
    ["exactly at the tolerance edge", valid, BODY, [SECRET], seconds(300), { ok: true }],
    ["a tampered body", valid, BODY.replace("885", "886"), [SECRET], AT, { ok: false, reason: "mismatch" }],
    ["a body with one extra space", valid, BODY + " ", [SECRET], AT, { ok: false, reason: "mismatch" }],
    ["the wrong secret", valid, BODY, ["whsec_wrong"], AT, { ok: false, reason: "mismatch" }],
    ["a stale timestamp (301 s old)", valid, BODY, [SECRET], seconds(301), { ok: false, reason: "stale" }],
    ["a timestamp from the future (301 s ahead)", valid, BODY, [SECRET], seconds(-301), { ok: false, reason: "stale" }],
    ["no header", null, BODY, [SECRET], AT, { ok: false, reason: "missing" }],
    ["an empty header", "  ", BODY, [SECRET], AT, { ok: false, reason: "missing" }],
    ["no configured secret", valid, BODY, [], AT, { ok: false, reason: "missing" }],
    ["only an empty configured secret", valid, BODY, [""], AT, { ok: false, reason: "missing" }],
    ["a header without t", `v1=${mac(SECRET, BODY, T)}`, BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["a header without v1", `t=${T}`, BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["a non-numeric t", `t=abc,v1=${mac(SECRET, BODY, T)}`, BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["two t values", `t=${T},t=${T},v1=${mac(SECRET, BODY, T)}`, BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["garbage", "not a signature", BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["an over-long header", `t=${T},` + Array.from({ length: 20 }, () => `v1=${"a".repeat(64)}`).join(","), BODY, [SECRET], AT, { ok: false, reason: "malformed" }],
    ["a non-hex v1", `t=${T},v1=${"z".repeat(64)}`, BODY, [SECRET], AT, { ok: false, reason: "mismatch" }],
    ["a truncated v1", `t=${T},v1=${mac(SECRET, BODY, T).slice(0, 62)}`, BODY, [SECRET], AT, { ok: false, reason: "mismatch" }],
    ["a v1 signed over another timestamp", `t=${T},v1=${mac(SECRET, BODY, T - 1)}`, BODY, [SECRET], AT, { ok: false, reason: "mismatch" }],
    ["an upper-case hex v1", `t=${T},v1=${mac(SECRET, BODY, T).toUpperCase()}`, BODY, [SECRET], AT, { ok: true }],
    ["unknown schemes beside v1", `t=${T},v0=abc,v1=${mac(SECRET, BODY, T)}`, BODY, [SECRET], AT, { ok: true }],
  ])("%s", (_name, header, body, secrets, now, expected) => {
    expect(verifySignature(header, body, secrets, now)).toEqual(expected);
  });

  it("checks staleness before the MAC, so a stale request with a valid MAC is still refused as stale", () => {
    expect(verifySignature(valid, BODY, [SECRET], seconds(3600))).toEqual({ ok: false, reason: "stale" });
  });

  it("honours a custom tolerance", () => {
    expect(verifySignature(valid, BODY, [SECRET], seconds(11), 10)).toEqual({ ok: false, reason: "stale" });
    expect(verifySignature(valid, BODY, [SECRET], seconds(10), 10)).toEqual({ ok: true });
  });

  describe("secret rotation", () => {
    it("accepts a signature made with either of the configured secrets", () => {
      expect(verifySignature(signPayload(OLD_SECRET, BODY, AT), BODY, [SECRET, OLD_SECRET], AT)).toEqual({ ok: true });
      expect(verifySignature(signPayload(SECRET, BODY, AT), BODY, [SECRET, OLD_SECRET], AT)).toEqual({ ok: true });
    });

    it("accepts a header carrying one v1 per secret when we know only one of them", () => {
      const header = `t=${T},v1=${mac(OLD_SECRET, BODY, T)},v1=${mac(SECRET, BODY, T)}`;
      expect(verifySignature(header, BODY, [SECRET], AT)).toEqual({ ok: true });
      expect(verifySignature(header, BODY, [OLD_SECRET], AT)).toEqual({ ok: true });
      expect(verifySignature(header, BODY, ["whsec_third"], AT)).toEqual({ ok: false, reason: "mismatch" });
    });

    it("refuses once the old secret is retired", () => {
      expect(verifySignature(signPayload(OLD_SECRET, BODY, AT), BODY, [SECRET], AT)).toEqual({ ok: false, reason: "mismatch" });
    });
  });
});

describe("parseSignatureHeader", () => {
  it("reads the timestamp and every v1 value, tolerating spaces", () => {
    expect(parseSignatureHeader("t=1, v1=ab ,v1=cd")).toEqual({ timestamp: "1", signatures: ["ab", "cd"] });
  });

  it.each(["", "t=", "=1", "t=1,v1=", "t=1,,v1=ab", "t=-1,v1=ab", "t=1.5,v1=ab"])("refuses %j", (header) => {
    expect(parseSignatureHeader(header)).toBeNull();
  });
});
