/**
 * Runs before every page request: passes the requested path to server components in the
 * `x-console-path` request header, so the console layout can send a signed-out visitor to sign in
 * and bring them back to the page they asked for. It grants nothing: access is checked on the
 * server by each layout and page.
 */
import { NextResponse, type NextRequest } from "next/server";

export function proxy(request: NextRequest) {
  const headers = new Headers(request.headers);
  headers.set("x-console-path", request.nextUrl.pathname + request.nextUrl.search);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Pages only: API routes, static assets and images do not need it.
  matcher: ["/((?!api/|_next/|favicon.ico).*)"],
};
