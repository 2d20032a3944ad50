/**
 * Sign-in callbacks (issue 14, point 12): a callback is resolved against the console's origin the
 * way a browser resolves a Location header, and only a same-origin result is kept. Each row is a
 * path a browser would turn into a different site, or a legitimate one that must survive.
 */
import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "../../server/auth/session-paths";

const ORIGIN = "https://console.example";

describe("safeCallbackPath", () => {
  it.each([
    // Legitimate paths keep their query and fragment.
    ["/transfers?x=1", "/transfers?x=1"],
    ["/transfers/stuck#top", "/transfers/stuck#top"],
    ["/", "/"],
    ["/approvals?tab=mine&q=a%20b", "/approvals?tab=mine&q=a%20b"],
    // Same origin, absolute: reduced to the path.
    ["https://console.example/ledger/accounts?c=1", "/ledger/accounts?c=1"],
    // Protocol-relative and backslash forms.
    ["//evil.example/x", "/"],
    ["/\\evil.example", "/"],
    ["\\\\evil.example", "/"],
    ["\\/evil.example", "/"],
    // Whitespace a browser strips from a URL: tab, newline, carriage return inside the scheme-relative prefix.
    ["/\t/evil.example", "/"],
    ["/\n/evil.example", "/"],
    ["/\r\n/evil.example", "/"],
    ["\t//evil.example", "/"],
    [" //evil.example", "/"],
    ["/\t\\evil.example", "/"],
    // Dot segments that collapse into a protocol-relative path.
    ["/x/..//evil.example", "/"],
    ["/./\\evil.example", "/"],
    // Absolute URLs elsewhere, other schemes, user-info tricks.
    ["https://evil.example", "/"],
    ["http://console.example/x", "/"],
    ["https://console.example.evil.example/", "/"],
    ["https://console.example@evil.example/", "/"],
    ["https:evil.example", "/"],
    ["javascript:alert(1)", "/"],
    ["data:text/html,<script>alert(1)</script>", "/"],
    // Not a path at all.
    ["", "/"],
    ["transfers", "/"],
  ])("%j → %j", (input, out) => {
    expect(safeCallbackPath(input, ORIGIN)).toBe(out);
  });

  it("whatever it returns resolves to the console's origin and is not protocol-relative", () => {
    for (const input of ["/\t/a", "/%2F%2Fevil.example", "/%5Cevil.example", "/.%2F/evil", "/a?next=//evil.example"]) {
      const out = safeCallbackPath(input, ORIGIN);
      expect(new URL(out, ORIGIN).origin).toBe(ORIGIN);
      expect(out.startsWith("//") || out.startsWith("/\\")).toBe(false);
    }
  });

  it("without a configured origin, relative paths still may not leave the site", () => {
    expect(safeCallbackPath("/transfers?x=1")).toBe("/transfers?x=1");
    expect(safeCallbackPath("/\t/evil.example")).toBe("/");
    expect(safeCallbackPath("https://evil.example/")).toBe("/");
  });
});

describe("next-auth's redirect callback", () => {
  it("keeps next-auth's own redirects on the console", async () => {
    const { buildAuthOptions } = await import("../../server/auth/auth-options");
    const { parseEnv } = await import("../../server/env");
    const options = buildAuthOptions({ getDb: () => { throw new Error("no database in this test"); }, env: parseEnv({ NEXTAUTH_URL: ORIGIN, NEXTAUTH_SECRET: "x".repeat(32) }) });
    const redirect = options.callbacks!.redirect!;
    expect(await redirect({ url: "/\t/evil.example", baseUrl: ORIGIN })).toBe(`${ORIGIN}/`);
    expect(await redirect({ url: "https://evil.example/", baseUrl: ORIGIN })).toBe(`${ORIGIN}/`);
    expect(await redirect({ url: `${ORIGIN}/transfers?x=1`, baseUrl: ORIGIN })).toBe(`${ORIGIN}/transfers?x=1`);
    expect(await redirect({ url: "/approvals", baseUrl: ORIGIN })).toBe(`${ORIGIN}/approvals`);
  });
});
