// The pure parts of outbox delivery: retry backoff with jitter, Retry-After, the body, secret
// encryption, and endpoint URL checks.
import { describe, expect, it } from "vitest";
import { deliveryBody, parseRetryAfter, retryDelayMs } from "../../server/outbox/dispatch";
import { decryptSecret, encryptSecret, generateSigningSecret, outboxSecretKey, SIGNING_SECRET_RE } from "../../server/outbox/secrets";
import { checkEndpointUrl, isHostAllowed } from "../../server/outbox/subscriptions";
import { endpointPolicyFromEnv } from "../../server/outbox/endpoint-guard";
import { parseEnv } from "../../server/env";

const policy = { backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

describe("retryDelayMs", () => {
  it.each([
    // attempt, random, expected: ceiling = min(max, base * 2^(attempt-1)); delay = ceiling/2 + random * ceiling/2
    [1, 0, 500],
    [1, 1, 1_000],
    [2, 0, 1_000],
    [2, 0.5, 1_500],
    [3, 1, 4_000],
    [6, 1, 32_000],
    [7, 1, 60_000],
    [7, 0, 30_000],
    [50, 1, 60_000],
  ])("attempt %i with random %f waits %i ms", (attempt, random, expected) => {
    expect(retryDelayMs(attempt, policy, random)).toBe(expected);
  });

  it("grows (its lower bound doubles) until the cap and never exceeds it", () => {
    for (let attempt = 1; attempt < 40; attempt++) {
      const low = retryDelayMs(attempt, policy, 0);
      const high = retryDelayMs(attempt, policy, 1);
      expect(low).toBeLessThanOrEqual(high);
      expect(high).toBeLessThanOrEqual(policy.backoffMaxMs);
      if (attempt > 1) expect(low).toBeGreaterThanOrEqual(retryDelayMs(attempt - 1, policy, 0));
    }
  });

  it("honours the receiver's Retry-After, but never beyond the cap", () => {
    expect(retryDelayMs(1, policy, 0, 10_000)).toBe(10_000);
    expect(retryDelayMs(1, policy, 0, 10 * 60_000)).toBe(60_000);
    expect(retryDelayMs(3, policy, 1, 10)).toBe(4_000);
  });
});

describe("parseRetryAfter", () => {
  const now = new Date("2026-11-21T12:00:00Z");
  it.each([
    [null, null],
    ["", null],
    ["30", 30_000],
    ["0", 0],
    ["Sat, 21 Nov 2026 12:00:10 GMT", 10_000],
    ["Sat, 21 Nov 2026 11:00:00 GMT", 0],
    ["soon", null],
    ["-5", null],
  ])("%s -> %s", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe("deliveryBody", () => {
  it("carries the event id, delivery id, topic, aggregate, creation time and payload", () => {
    const body = deliveryBody({
      eventId: "42",
      deliveryId: "0b7c6f1e-5a2e-4c1a-9a59-1f1d6f2f0c11",
      topic: "transfer.settled",
      aggregateId: "t-1",
      eventCreatedAt: new Date("2026-11-21T12:00:00.123Z"),
      payload: { amountMinor: "885", currency: "EUR" },
    });
    expect(JSON.parse(body)).toEqual({
      id: "42",
      deliveryId: "0b7c6f1e-5a2e-4c1a-9a59-1f1d6f2f0c11",
      topic: "transfer.settled",
      aggregateId: "t-1",
      createdAt: "2026-11-21T12:00:00.123Z",
      payload: { amountMinor: "885", currency: "EUR" },
    });
  });
});

describe("signing secrets", () => {
  const key = outboxSecretKey(parseEnv({ NODE_ENV: "test", OUTBOX_SECRET_KEY: "a".repeat(64) }));

  it("generates well-formed, distinct secrets with a short prefix", () => {
    const a = generateSigningSecret();
    const b = generateSigningSecret();
    expect(a.secret).toMatch(SIGNING_SECRET_RE);
    expect(a.secret).not.toBe(b.secret);
    expect(a.secret.startsWith(a.prefix)).toBe(true);
    expect(a.prefix).toHaveLength(10);
  });

  it("round-trips, and the stored form contains no plaintext", () => {
    const { secret } = generateSigningSecret();
    const stored = encryptSecret(secret, "sub-1", key);
    expect(stored).not.toContain(secret.slice(6));
    expect(stored.startsWith(`v1.${key.fingerprint}.`)).toBe(true);
    expect(decryptSecret(stored, "sub-1", key)).toBe(secret);
    // Fresh IV each time.
    expect(encryptSecret(secret, "sub-1", key)).not.toBe(stored);
  });

  it("refuses a ciphertext moved to another subscription, altered, or under another key", () => {
    const stored = encryptSecret("whsec_x", "sub-1", key);
    expect(() => decryptSecret(stored, "sub-2", key)).toThrow(/failed authentication/);
    const parts = stored.split(".");
    parts[4] = Buffer.from("tampered").toString("base64url");
    expect(() => decryptSecret(parts.join("."), "sub-1", key)).toThrow(/failed authentication/);
    const other = outboxSecretKey(parseEnv({ NODE_ENV: "test", OUTBOX_SECRET_KEY: "b".repeat(64) }));
    expect(() => decryptSecret(stored, "sub-1", other)).toThrow(new RegExp(`encrypted under key ${key.fingerprint}; the current key is ${other.fingerprint}`));
    expect(() => decryptSecret("plain", "sub-1", key)).toThrow(/not in a known format/);
  });

  it("takes the key from OUTBOX_SECRET_KEY (hex or base64), else derives it from NEXTAUTH_SECRET, else a development key", () => {
    const hex = outboxSecretKey(parseEnv({ NODE_ENV: "test", OUTBOX_SECRET_KEY: "ab".repeat(32) }));
    const b64 = outboxSecretKey(parseEnv({ NODE_ENV: "test", OUTBOX_SECRET_KEY: Buffer.from("ab".repeat(32), "hex").toString("base64") }));
    expect(hex.source).toBe("OUTBOX_SECRET_KEY");
    expect(b64.fingerprint).toBe(hex.fingerprint);
    const derived = outboxSecretKey(parseEnv({ NODE_ENV: "test", NEXTAUTH_SECRET: "s".repeat(40) }));
    expect(derived.source).toBe("NEXTAUTH_SECRET");
    expect(derived.key).toHaveLength(32);
    expect(outboxSecretKey(parseEnv({ NODE_ENV: "test", NEXTAUTH_SECRET: "t".repeat(40) })).fingerprint).not.toBe(derived.fingerprint);
    expect(outboxSecretKey(parseEnv({ NODE_ENV: "test" })).source).toBe("development");
    expect(() => parseEnv({ NODE_ENV: "test", OUTBOX_SECRET_KEY: "short" })).toThrow(/OUTBOX_SECRET_KEY must be 64 hex characters or base64 of 32 bytes/);
    expect(() => parseEnv({ NODE_ENV: "test", OUTBOX_BACKOFF_BASE_MS: "5000", OUTBOX_BACKOFF_MAX_MS: "1000" })).toThrow(/OUTBOX_BACKOFF_BASE_MS must not exceed OUTBOX_BACKOFF_MAX_MS/);
  });
});

describe("endpoint URLs", () => {
  it.each([
    ["http://127.0.0.1:8080/hooks", undefined, /points at 127.0.0.1 is a loopback address/],
    ["http://127.0.0.1:8080/hooks", "127.0.0.1|127.0.0.0/8", "http://127.0.0.1:8080/hooks"],
    ["https://hooks.payments.internal/outbox?x=1", undefined, "https://hooks.payments.internal/outbox?x=1"],
    ["ftp://example.com/x", undefined, /must use http or https/],
    ["/relative", undefined, /not an absolute URL/],
    ["https://user:pw@example.com/", undefined, /must not carry credentials/],
    ["https://example.com/#frag", undefined, /must not have a #fragment/],
    ["https://hooks.svc.internal/x", "*.svc.internal, 127.0.0.1", "https://hooks.svc.internal/x"],
    ["http://127.0.0.1:9/x", "*.svc.internal, 127.0.0.1|127.0.0.0/8", "http://127.0.0.1:9/x"],
    ["https://evil.example.com/x", "*.svc.internal,127.0.0.1", /OUTBOX_ALLOWED_HOSTS does not allow/],
    ["https://svc.internal.evil.com/x", "*.svc.internal", /OUTBOX_ALLOWED_HOSTS does not allow/],
  ])("%s with allowed hosts|networks %s -> %s", (url, allowed, expected) => {
    const [hosts, networks] = (allowed ?? "").split("|");
    const policy = endpointPolicyFromEnv(parseEnv({ NODE_ENV: "test", OUTBOX_ALLOWED_HOSTS: hosts, OUTBOX_ALLOWED_NETWORKS: networks }));
    if (typeof expected === "string") expect(checkEndpointUrl(url, policy)).toBe(expected);
    else expect(() => checkEndpointUrl(url, policy)).toThrow(expected);
  });

  it("matches allowed hosts exactly or by *.domain, case-insensitively", () => {
    expect(isHostAllowed("API.Svc.Internal", ["*.svc.internal"])).toBe(true);
    expect(isHostAllowed("svc.internal", ["*.svc.internal"])).toBe(false);
    expect(isHostAllowed("xsvc.internal", ["*.svc.internal"])).toBe(false);
    expect(isHostAllowed("127.0.0.1", ["127.0.0.1"])).toBe(true);
    expect(isHostAllowed("127.0.0.2", ["127.0.0.1", ""])).toBe(false);
  });
});
