import type { NextRequest } from "next/server";
import NextAuth from "next-auth";
import { getAuthOptions } from "../../../../server/auth/auth-options";

export const dynamic = "force-dynamic";

type RouteContext = { params: Promise<{ nextauth: string[] }> };
type RouteHandler = (req: NextRequest, context: RouteContext) => Promise<Response>;

let nextAuthHandler: RouteHandler | undefined;

// Built on the first request rather than at import, so `next build` runs without the secret and
// the options see the environment the launcher set.
function handler(req: NextRequest, context: RouteContext): Promise<Response> {
  nextAuthHandler ??= NextAuth(getAuthOptions()) as unknown as RouteHandler;
  return nextAuthHandler(req, context);
}

export { handler as GET, handler as POST };
