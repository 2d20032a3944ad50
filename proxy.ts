/**
 * Runs before every page request:
 * - gives the page a Content-Security-Policy with a fresh nonce (server/platform/
 *   content-security-policy.ts). Next.js reads the policy from the request to put the nonce on its
 *   own scripts; server components read it from `x-nonce` (the root layout's theme script);
 * - passes the requested path to server components in `x-console-path`, so the console layout can
 *   send a signed-out visitor to sign in and bring them back to the page they asked for.
 * It grants nothing: access is checked on the server by each layout and page.
 */
import { NextResponse, type NextRequest } from "next/server";
import { env } from "./server/env";
import { NONCE_HEADER, newCspNonce, pageContentSecurityPolicy } from "./server/platform/content-security-policy";

export function proxy(request: NextRequest) {
  const nonce = newCspNonce();
  const policy = pageContentSecurityPolicy(nonce, { isDevelopment: env().NODE_ENV === "development" });
  const headers = new Headers(request.headers);
  headers.set("x-console-path", request.nextUrl.pathname + request.nextUrl.search);
  headers.set(NONCE_HEADER, nonce);
  headers.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const config = {
  // Pages only: API routes, static assets and images are not pages (next.config.js covers them).
  matcher: ["/((?!api/|_next/|favicon.ico).*)"],
};
