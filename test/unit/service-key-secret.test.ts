import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { generateServiceKeySecret, hashServiceKeySecret, prefixOfSecret, SERVICE_KEY_SECRET_RE } from "../../server/auth/service-key-secret";
import { bearerSecretOf, requestIdOf } from "../../server/api/context";
import { checkRequestOrigin } from "../../server/api/csrf";

describe("service key secrets", () => {
  it("have the lk_<8>_<43 base64url> shape, 32 random bytes, and a matching prefix", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { secret, prefix } = generateServiceKeySecret();
      expect(secret).toMatch(SERVICE_KEY_SECRET_RE);
      expect(prefix).toMatch(/^lk_[a-z0-9]{8}$/);
      expect(secret.startsWith(`${prefix}_`)).toBe(true);
      expect(Buffer.from(secret.slice(prefix.length + 1), "base64url")).toHaveLength(32);
      expect(prefixOfSecret(secret)).toBe(prefix);
      seen.add(secret);
    }
    expect(seen.size).toBe(200);
  });

  it("are stored as their SHA-256 hex", () => {
    const s = "lk_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    expect(hashServiceKeySecret(s)).toBe(createHash("sha256").update(s).digest("hex"));
    expect(hashServiceKeySecret(s)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(["", "lk_short_x", "lk_ABCDEFGH_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "xx_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])(
    "prefixOfSecret(%j) is null for a malformed secret",
    (s) => {
      expect(prefixOfSecret(s)).toBeNull();
    },
  );
});

describe("request parsing", () => {
  const req = (headers: Record<string, string>, method = "GET") => new Request("http://c.test/api/trpc/x", { method, headers });

  it.each([
    [{}, null],
    [{ authorization: "Bearer abc" }, "abc"],
    [{ authorization: "bearer   abc  " }, "abc"],
    [{ authorization: "Bearer" }, ""],
    [{ authorization: "Basic Zm9vOmJhcg==" }, null],
  ])("bearerSecretOf(%j) → %j", (headers, expected) => {
    expect(bearerSecretOf(req(headers))).toBe(expected);
  });

  it.each([
    ["abc-123", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["has space", false],
    ["-leading-dash", false],
    ["<script>", false],
  ])("x-request-id %j kept: %s", (id, kept) => {
    const got = requestIdOf(req({ "x-request-id": id }));
    expect(got === id).toBe(kept);
    if (!kept) expect(got).toMatch(/^[0-9a-f-]{36}$/);
  });

  const O = "https://console.example";
  it.each([
    ["GET anything", "GET", {}, null],
    ["same-origin JSON", "POST", { "content-type": "application/json", origin: O }, null],
    ["no Origin, Sec-Fetch-Site same-origin", "POST", { "content-type": "application/json", "sec-fetch-site": "same-origin" }, null],
    ["no Origin, same-site", "POST", { "content-type": "application/json", "sec-fetch-site": "same-site" }, 403],
    ["other origin", "POST", { "content-type": "application/json", origin: "https://console.example.evil" }, 403],
    ["form post", "POST", { "content-type": "application/x-www-form-urlencoded", origin: O }, 403],
    ["Bearer JSON from anywhere", "POST", { "content-type": "application/json", authorization: "Bearer x", origin: "https://x.example" }, null],
    ["Bearer text/plain", "POST", { "content-type": "text/plain", authorization: "Bearer x" }, 415],
    ["PUT", "PUT", { "content-type": "application/json", origin: O }, 405],
  ] as const)("checkRequestOrigin: %s", (_l, method, headers, status) => {
    expect(checkRequestOrigin(req(headers, method), O)?.status ?? null).toBe(status);
  });

  it("with no configured origin only Sec-Fetch-Site same-origin passes", () => {
    expect(checkRequestOrigin(req({ "content-type": "application/json", origin: O }, "POST"), null)?.status).toBe(403);
    expect(checkRequestOrigin(req({ "content-type": "application/json", "sec-fetch-site": "same-origin" }, "POST"), null)).toBeNull();
  });
});
