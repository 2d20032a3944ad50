import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, ENV_VARIABLES, isCredentialsSignInEnabled, isProductionDeployment, parseEnv } from "../../server/env";

const base = { NODE_ENV: "development" };
/** A fresh Ed25519 private key (PKCS#8 PEM), as AUDIT_ANCHOR_SIGNING_KEY takes it. */
const anchorKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

describe("parseEnv", () => {
  it("accepts an empty environment with defaults", () => {
    const e = parseEnv(base);
    expect(e.PORT).toBe(3000);
    expect(e.DATA_DIR).toBe(".data");
    expect(e.DATABASE_URL).toBeUndefined();
  });

  it.each([
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ DATABASE_URL: "not a url" }, /DATABASE_URL must be a postgres/],
    [{ PORT: "abc" }, /PORT must be a whole number/],
    [{ PORT: "70000" }, /PORT must be at most 65535/],
    [{ DB_POOL_MAX: "0" }, /DB_POOL_MAX must be at least 1/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
    [{ NEXTAUTH_SECRET: "short" }, /NEXTAUTH_SECRET must be at least 32 characters/],
    [{ AUTH_OIDC_ISSUER: "https://id.example.com" }, /AUTH_OIDC_ISSUER, AUTH_OIDC_CLIENT_ID and AUTH_OIDC_CLIENT_SECRET must be set together/],
    [{ AUTH_CREDENTIALS_ENABLED: "yes" }, /AUTH_CREDENTIALS_ENABLED must be true or false/],
    [{ NODE_ENV: "production" }, /NEXTAUTH_SECRET is required in production/],
    [{ NEXTAUTH_URL: "localhost:3000" }, /NEXTAUTH_URL must be an absolute http\(s\) URL/],
    [{ AUDIT_ANCHOR_SIGNING_KEY: "not-a-key" }, /AUDIT_ANCHOR_SIGNING_KEY must be an Ed25519 private key/],
    [{ AUDIT_ANCHOR_PUBLIC_KEY: "bm90LWEta2V5" }, /AUDIT_ANCHOR_PUBLIC_KEY must be an Ed25519 public key/],
    [{ OUTBOX_SECRET_KEY: "ab".repeat(31) }, /OUTBOX_SECRET_KEY must be 64 hex characters or base64 of 32 bytes/],
    [{ TOTP_ENCRYPTION_KEY: Buffer.alloc(31).toString("base64") }, /TOTP_ENCRYPTION_KEY must be 64 hex characters or base64 of 32 bytes/],
    [{ SANDBOX_PORT: "0" }, /SANDBOX_PORT must be at least 1/],
    [{ OUTBOX_ALLOWED_NETWORKS: "10.0.0.0/33" }, /OUTBOX_ALLOWED_NETWORKS must be comma-separated networks in CIDR form/],
    [{ TRUSTED_PROXY_COUNT: "11" }, /TRUSTED_PROXY_COUNT must be at most 10/],
    [{ WEBHOOK_TARGET_URL: "http://a:1/x,ftp://b/x" }, /WEBHOOK_TARGET_URL must be 1 to 16 comma-separated absolute http\(s\) URLs/],
    [{ WEBHOOK_TARGET_URL: Array.from({ length: 17 }, (_, i) => `http://127.0.0.1:${3000 + i}/api/webhooks/sandbox`).join(",") }, /WEBHOOK_TARGET_URL must be 1 to 16/],
  ])("names the variable and the problem: %o", (vars, message) => {
    expect(() => parseEnv({ ...base, ...vars })).toThrow(ConfigError);
    expect(() => parseEnv({ ...base, ...vars })).toThrow(message);
  });

  it("reports every bad variable at once", () => {
    try {
      parseEnv({ ...base, PORT: "x", DB_POOL_MAX: "-1" });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues.join("\n")).toMatch(/PORT/);
      expect((e as ConfigError).issues.join("\n")).toMatch(/DB_POOL_MAX/);
    }
  });

  it("takes one webhook target URL or several, comma-separated", () => {
    expect(parseEnv({ ...base, WEBHOOK_TARGET_URL: "http://127.0.0.1:3000/api/webhooks/sandbox" }).WEBHOOK_TARGET_URL).toBe("http://127.0.0.1:3000/api/webhooks/sandbox");
    expect(parseEnv({ ...base, WEBHOOK_TARGET_URL: "http://127.0.0.1:3001/api/webhooks/sandbox, http://127.0.0.1:3002/api/webhooks/sandbox" }).WEBHOOK_TARGET_URL).toContain(",");
  });

  it("treats empty strings as unset", () => {
    expect(parseEnv({ ...base, DATABASE_URL: "", PORT: "" }).PORT).toBe(3000);
  });

  it("keeps credentials sign-in off in production unless explicitly enabled", () => {
    const prod = { NODE_ENV: "production", NEXTAUTH_SECRET: "x".repeat(40), OUTBOX_SECRET_KEY: "ab".repeat(32), OUTBOX_ALLOWED_HOSTS: "hooks.internal", TOTP_ENCRYPTION_KEY: "cd".repeat(32), AUDIT_ANCHOR_SIGNING_KEY: anchorKey };
    expect(isCredentialsSignInEnabled(parseEnv(prod))).toBe(false);
    expect(isCredentialsSignInEnabled(parseEnv({ ...prod, AUTH_CREDENTIALS_ENABLED: "true" }))).toBe(true);
    expect(isCredentialsSignInEnabled(parseEnv({ ...base, DEMO_MODE: "true" }))).toBe(true);
    expect(isCredentialsSignInEnabled(parseEnv({ ...base, DEMO_MODE: "true", AUTH_CREDENTIALS_ENABLED: "false" }))).toBe(false);
  });
});

describe("production refuses demo settings (issue 14, point 13)", () => {
  const hexKey = "ab".repeat(32);
  /** A complete production configuration: each case below breaks exactly one thing. */
  const production = {
    NODE_ENV: "production",
    DATABASE_URL: "postgres://console@db.internal:5432/console",
    NEXTAUTH_URL: "https://console.example",
    NEXTAUTH_SECRET: "p".repeat(40),
    OUTBOX_SECRET_KEY: hexKey,
    OUTBOX_ALLOWED_HOSTS: "*.svc.internal",
    TOTP_ENCRYPTION_KEY: "cd".repeat(32),
    AUDIT_ANCHOR_SIGNING_KEY: anchorKey,
  };

  it("accepts a complete production configuration", () => {
    expect(() => parseEnv(production)).not.toThrow();
  });

  it.each([
    ["demo mode", { DEMO_MODE: "true" }, /DEMO_MODE must not be true in production/],
    ["the demo traffic generator", { DEMO_TRAFFIC: "true" }, /DEMO_TRAFFIC must not be true in production/],
    ["demo seeding into DATABASE_URL", { SEED_DEMO: "true" }, /SEED_DEMO must not be true in production/],
    ["the public sandbox secret (signing)", { SANDBOX_WEBHOOK_SECRET: "sandbox-demo-webhook-secret-not-for-production" }, /SANDBOX_WEBHOOK_SECRET is the public demo secret/],
    ["the public sandbox secret (accepted)", { PARTNER_SANDBOX_WEBHOOK_SECRETS: "a-real-secret-of-32-characters-xx, sandbox-demo-webhook-secret-not-for-production" }, /PARTNER_SANDBOX_WEBHOOK_SECRETS includes the public demo secret/],
    ["password sign-in switched on implicitly", { DEMO_MODE: "true" }, /AUTH_CREDENTIALS_ENABLED must be set to true explicitly/],
    ["a derived outbox key", { OUTBOX_SECRET_KEY: "" }, /OUTBOX_SECRET_KEY is required in production/],
    ["a derived TOTP key", { TOTP_ENCRYPTION_KEY: "" }, /TOTP_ENCRYPTION_KEY is required in production/],
    ["outbound webhooks without an allow-list", { OUTBOX_ALLOWED_HOSTS: "" }, /OUTBOX_ALLOWED_HOSTS is required in production/],
    ["no session secret", { NEXTAUTH_SECRET: "" }, /NEXTAUTH_SECRET is required in production/],
    ["no audit anchor signing key", { AUDIT_ANCHOR_SIGNING_KEY: "" }, /AUDIT_ANCHOR_SIGNING_KEY is required in production: .*AUDIT_ANCHORS_OPTIONAL=true/],
    ["no audit anchor signing key, the opt-out set to false", { AUDIT_ANCHOR_SIGNING_KEY: "", AUDIT_ANCHORS_OPTIONAL: "false" }, /AUDIT_ANCHOR_SIGNING_KEY is required in production/],
    ["the demo launcher's mark on a remote database", { DEMO_LAUNCHER: "true", DEMO_MODE: "true" }, /DEMO_MODE must not be true in production/],
  ])("stops at start naming the setting: %s", (_label, vars, message) => {
    expect(() => parseEnv({ ...production, ...vars })).toThrow(ConfigError);
    expect(() => parseEnv({ ...production, ...vars })).toThrow(message);
  });

  it("runs without anchors only when AUDIT_ANCHORS_OPTIONAL=true says so explicitly", () => {
    const e = parseEnv({ ...production, AUDIT_ANCHOR_SIGNING_KEY: "", AUDIT_ANCHORS_OPTIONAL: "true" });
    expect([e.AUDIT_ANCHOR_SIGNING_KEY, e.AUDIT_ANCHORS_OPTIONAL]).toEqual([undefined, true]);
    expect(parseEnv(production).AUDIT_ANCHORS_OPTIONAL).toBe(false);
    // Outside production the key stays optional: development and tests publish no anchors.
    expect(parseEnv(base).AUDIT_ANCHOR_SIGNING_KEY).toBeUndefined();
  });

  it("password sign-in switched on explicitly is allowed", () => {
    expect(isCredentialsSignInEnabled(parseEnv({ ...production, AUTH_CREDENTIALS_ENABLED: "true" }))).toBe(true);
  });

  it("the local demo (npm start, the e2e server) runs a production build on a database on this machine", () => {
    const demo = { NODE_ENV: "production", DEMO_LAUNCHER: "true", DEMO_MODE: "true", DEMO_TRAFFIC: "true", SEED_DEMO: "true", NEXTAUTH_SECRET: "d".repeat(40) };
    for (const host of ["127.0.0.1:54329", "localhost:5432", "[::1]:5432"]) {
      const e = parseEnv({ ...demo, DATABASE_URL: `postgres://postgres@${host}/console` });
      expect(isProductionDeployment(e)).toBe(false);
    }
    expect(isProductionDeployment(parseEnv(production))).toBe(true);
    expect(isProductionDeployment(parseEnv({ ...production, NODE_ENV: "development" }))).toBe(false);
  });
});

describe(".env.example", () => {
  it("documents every variable the configuration reads, and no other", () => {
    const text = readFileSync(path.resolve(import.meta.dirname, "../../.env.example"), "utf8");
    const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual([...ENV_VARIABLES].sort());
  });
});
