/**
 * Pages carry a Content-Security-Policy with a fresh script nonce (issue 14, point 14): no
 * 'unsafe-inline' for scripts in production, and the proxy hands the same nonce to the page
 * (x-nonce, and the policy on the request, where Next.js reads it for its own scripts).
 */
import { describe, expect, it } from "vitest";
import { NextRequest } from "next/server";
import { proxy } from "../../proxy";
import { newCspNonce, pageContentSecurityPolicy } from "../../server/platform/content-security-policy";

function directive(policy: string, name: string): string {
  return policy.split(";").map((d) => d.trim()).find((d) => d.startsWith(`${name} `)) ?? "";
}

describe("page Content-Security-Policy", () => {
  it("runs only scripts carrying the nonce in production", () => {
    const nonce = newCspNonce();
    const policy = pageContentSecurityPolicy(nonce, { isDevelopment: false });
    const scripts = directive(policy, "script-src");
    expect(scripts).toContain(`'nonce-${nonce}'`);
    expect(scripts).toContain("'strict-dynamic'");
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(scripts).not.toContain("'unsafe-eval'");
    expect(directive(policy, "object-src")).toBe("object-src 'none'");
    expect(directive(policy, "frame-ancestors")).toBe("frame-ancestors 'none'");
  });

  it("nonces are 128 random bits and never repeat", () => {
    const seen = new Set(Array.from({ length: 200 }, () => newCspNonce()));
    expect(seen.size).toBe(200);
    for (const n of seen) expect(Buffer.from(n, "base64")).toHaveLength(16);
  });

  it("the proxy gives each page response its own nonce and passes the same one to the page", () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = proxy(new NextRequest("http://console.test/transfers?x=1"));
      const policy = res.headers.get("content-security-policy") ?? "";
      const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
      // 16 random bytes, base64.
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(directive(policy, "script-src")).not.toContain("'unsafe-inline'");
      // NextResponse.next({ request: { headers } }) carries the request's new headers this way.
      expect(res.headers.get("x-middleware-request-x-nonce")).toBe(nonce);
      expect(res.headers.get("x-middleware-request-content-security-policy")).toBe(policy);
      expect(res.headers.get("x-middleware-request-x-console-path")).toBe("/transfers?x=1");
      nonces.add(nonce!);
    }
    expect(nonces.size).toBe(3);
  });
});
