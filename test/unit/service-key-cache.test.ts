/**
 * The service-key lookup cache: entries expire, a revocation empties it, and a lookup that began
 * before a revocation is never stored after it.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { cachedKey, forgetServiceKeys, keyCacheGeneration, rememberKey, type CachedKey } from "../../server/auth/service-key-cache";

const key: CachedKey = { id: "k1", name: "payouts", prefix: "sk_live_ab", scopes: ["ledger:read"], createdById: null, debitAccountPrefixes: [], debitCurrencies: [], lastUsedAt: null };

describe("service-key cache", () => {
  beforeEach(() => forgetServiceKeys());

  it("serves a remembered key until its time is up, then forgets it", () => {
    rememberKey("h1", key, keyCacheGeneration(), 1000, 10_000);
    expect(cachedKey("h1", 10_999)).toEqual(key);
    expect(cachedKey("h1", 11_000)).toBeNull();
    expect(cachedKey("h1", 10_500)).toBeNull();
  });

  it("stores nothing when the cache is off", () => {
    rememberKey("h1", key, keyCacheGeneration(), 0, 10_000);
    expect(cachedKey("h1", 10_000)).toBeNull();
  });

  it("a revocation empties the cache", () => {
    rememberKey("h1", key, keyCacheGeneration(), 1000, 10_000);
    rememberKey("h2", { ...key, id: "k2" }, keyCacheGeneration(), 1000, 10_000);
    forgetServiceKeys();
    expect(cachedKey("h1", 10_001)).toBeNull();
    expect(cachedKey("h2", 10_001)).toBeNull();
  });

  it("a lookup read before a revocation is not stored after it", () => {
    const readAt = keyCacheGeneration();
    forgetServiceKeys(); // the revocation commits while the lookup's answer is on its way
    rememberKey("h1", key, readAt, 1000, 10_000);
    expect(cachedKey("h1", 10_001)).toBeNull();
    rememberKey("h1", key, keyCacheGeneration(), 1000, 10_000);
    expect(cachedKey("h1", 10_001)).toEqual(key);
  });
});
