import { describe, expect, it } from "vitest";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "../../server/auth/password";

describe("password hashing", () => {
  it("produces an argon2id PHC string with the configured cost, salted per call", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("correct horse");
  });

  it.each([
    ["the same password", "correct horse battery", true],
    ["a different password", "correct horse batterY", false],
    ["an empty password", "", false],
    ["a prefix", "correct horse", false],
  ])("verifies %s → %s", async (_label, attempt, ok) => {
    const h = await hashPassword("correct horse battery");
    expect(await verifyPassword(h, attempt)).toBe(ok);
  });

  it("treats a malformed hash as a mismatch rather than throwing", async () => {
    expect(await verifyPassword("not-a-hash", "x")).toBe(false);
    expect(await verifyPassword("", "x")).toBe(false);
  });

  it("the dummy check always refuses", async () => {
    expect(await verifyAgainstDummy("dummy-password-for-timing-only")).toBe(false);
  });
});
