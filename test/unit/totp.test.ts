// TOTP and its secret protection: the RFC 6238 test vectors (HMAC-SHA1, truncated to the 6 digits
// authenticator apps show), the ±1 step window, replay steps, AES-256-GCM bound to the user,
// recovery codes.
import { describe, expect, it } from "vitest";
import {
  decryptTotpSecret,
  encryptTotpSecret,
  generateRecoveryCodes,
  generateTotpCode,
  generateTotpSecret,
  hashRecoveryCode,
  matchTotpStep,
  normalizeRecoveryCode,
  totpEncryptionKey,
  totpStepAt,
  totpUri,
} from "../../server/auth/totp";
import { parseEnv } from "../../server/env";

// RFC 6238 appendix B: the ASCII secret "12345678901234567890", SHA1; the RFC lists 8 digits,
// an app shows the last 6.
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

describe("TOTP codes", () => {
  it.each([
    [59, "287082"],
    [1111111109, "081804"],
    [1111111111, "050471"],
    [1234567890, "005924"],
    [2000000000, "279037"],
    [20000000000, "353130"],
  ])("at %i s the code is %s (RFC 6238)", (seconds, code) => {
    expect(generateTotpCode(RFC_SECRET, new Date(seconds * 1000))).toBe(code);
  });

  it("accepts the current step and one either side, returning the step that matched", () => {
    const at = new Date(1234567890_000);
    const step = totpStepAt(at);
    expect(matchTotpStep(RFC_SECRET, generateTotpCode(RFC_SECRET, at), at)).toBe(step);
    expect(matchTotpStep(RFC_SECRET, generateTotpCode(RFC_SECRET, new Date(at.getTime() - 30_000)), at)).toBe(step - 1);
    expect(matchTotpStep(RFC_SECRET, generateTotpCode(RFC_SECRET, new Date(at.getTime() + 30_000)), at)).toBe(step + 1);
    expect(matchTotpStep(RFC_SECRET, generateTotpCode(RFC_SECRET, new Date(at.getTime() - 90_000)), at)).toBeNull();
  });

  it.each(["", "12345", "1234567", "12a456", " 005924 x"])("refuses %j as not a code", (code) => {
    expect(matchTotpStep(RFC_SECRET, code, new Date(1234567890_000))).toBeNull();
  });

  it("generates 160-bit secrets and an otpauth URI an app can import", () => {
    const s = generateTotpSecret();
    expect(s).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).not.toBe(s);
    const uri = totpUri(s, "ada@demo.local");
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(new URL(uri).searchParams.get("secret")).toBe(s);
    expect(new URL(uri).searchParams.get("digits")).toBe("6");
  });
});

describe("secret encryption", () => {
  const key = Buffer.alloc(32, 7);
  it("round-trips for the same user and key; fails for another user, key or a tampered text", () => {
    const ct = encryptTotpSecret(RFC_SECRET, "user-a", key);
    expect(ct).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(ct).not.toContain(RFC_SECRET);
    expect(encryptTotpSecret(RFC_SECRET, "user-a", key)).not.toBe(ct);
    expect(decryptTotpSecret(ct, "user-a", key)).toBe(RFC_SECRET);
    expect(() => decryptTotpSecret(ct, "user-b", key)).toThrow(/cannot be decrypted/);
    expect(() => decryptTotpSecret(ct, "user-a", Buffer.alloc(32, 8))).toThrow(/cannot be decrypted/);
    const parts = ct.split(".");
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith("AA") ? "BB" : "AA");
    expect(() => decryptTotpSecret(parts.join("."), "user-a", key)).toThrow(/cannot be decrypted/);
    expect(() => decryptTotpSecret("v2.x.y.z", "user-a", key)).toThrow(/unknown format/);
  });

  it("uses TOTP_ENCRYPTION_KEY (hex or base64), derives one in demo mode and tests, and refuses production without one", () => {
    const hex = "ab".repeat(32);
    expect(totpEncryptionKey(parseEnv({ TOTP_ENCRYPTION_KEY: hex }))).toEqual(Buffer.from(hex, "hex"));
    const b64 = Buffer.alloc(32, 3).toString("base64");
    expect(totpEncryptionKey(parseEnv({ TOTP_ENCRYPTION_KEY: b64 }))).toEqual(Buffer.alloc(32, 3));
    expect(totpEncryptionKey(parseEnv({ NODE_ENV: "test" }))).toHaveLength(32);
    const secret = "s".repeat(40);
    const localDemo = { NODE_ENV: "production", DEMO_LAUNCHER: "true", DEMO_MODE: "true", DATABASE_URL: "postgres://postgres@127.0.0.1:54329/console", NEXTAUTH_SECRET: secret };
    expect(totpEncryptionKey(parseEnv(localDemo))).not.toEqual(totpEncryptionKey(parseEnv({ NODE_ENV: "test" })));
    // A production deployment without a key does not start at all (server/env.ts).
    expect(() => parseEnv({ NODE_ENV: "production", NEXTAUTH_SECRET: secret, OUTBOX_SECRET_KEY: hex, OUTBOX_ALLOWED_HOSTS: "hooks.internal" })).toThrow(/TOTP_ENCRYPTION_KEY is required in production/);
    expect(() => parseEnv({ TOTP_ENCRYPTION_KEY: "too-short" })).toThrow(/TOTP_ENCRYPTION_KEY must be 64 hex characters or base64 of 32 bytes/);
  });
});

describe("recovery codes", () => {
  it("are ten distinct 64-bit codes; typed with any case or dashes they hash the same", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    const c = codes[0]!;
    expect(hashRecoveryCode(c.toUpperCase())).toBe(hashRecoveryCode(c.replaceAll("-", "")));
    expect(hashRecoveryCode(c)).not.toBe(hashRecoveryCode(codes[1]!));
    expect(hashRecoveryCode(c)).not.toContain(c.replaceAll("-", ""));
  });

  it.each(["", "123456", "zzzz-zzzz-zzzz-zzzz", "0123-4567-89ab-cdef-0"])("refuses %j as a recovery code", (code) => {
    expect(normalizeRecoveryCode(code)).toBeNull();
  });
});
