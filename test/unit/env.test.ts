import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, ENV_VARIABLES, isCredentialsSignInEnabled, parseEnv } from "../../server/env";

const base = { NODE_ENV: "development" };

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

  it("treats empty strings as unset", () => {
    expect(parseEnv({ ...base, DATABASE_URL: "", PORT: "" }).PORT).toBe(3000);
  });

  it("keeps credentials sign-in off in production unless explicitly enabled", () => {
    const secret = "x".repeat(40);
    expect(isCredentialsSignInEnabled(parseEnv({ NODE_ENV: "production", NEXTAUTH_SECRET: secret }))).toBe(false);
    expect(isCredentialsSignInEnabled(parseEnv({ NODE_ENV: "production", NEXTAUTH_SECRET: secret, AUTH_CREDENTIALS_ENABLED: "true" }))).toBe(true);
    expect(isCredentialsSignInEnabled(parseEnv({ ...base, DEMO_MODE: "true" }))).toBe(true);
    expect(isCredentialsSignInEnabled(parseEnv({ ...base, DEMO_MODE: "true", AUTH_CREDENTIALS_ENABLED: "false" }))).toBe(false);
  });
});

describe(".env.example", () => {
  it("documents every variable the configuration reads, and no other", () => {
    const text = readFileSync(path.resolve(import.meta.dirname, "../../.env.example"), "utf8");
    const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual([...ENV_VARIABLES].sort());
  });
});
