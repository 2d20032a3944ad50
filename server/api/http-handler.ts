/**
 * The HTTP face of the tRPC API (/api/trpc), as a factory so tests can call it with plain Requests
 * and a test database.
 *
 * Invariants kept (checked in this order, before any procedure runs):
 * - The CSRF rule (server/api/csrf.ts): refused requests get 403/405/415.
 * - A Bearer secret that is unknown or revoked is refused with 401.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { DbHandles } from "../db/client";
import { appRouter } from "./root";
import type { Context } from "./trpc";
import { createRequestContext, requestIdOf, RequestRejectedError } from "./context";
import { checkRequestOrigin, configuredAppOrigin } from "./csrf";
import { isConnectionError } from "../errors/db-errors";

export const TRPC_ENDPOINT = "/api/trpc";

export interface TrpcHttpHandlerOptions {
  getDb: () => DbHandles;
  /** The console's origin for the CSRF check; default APP_ORIGIN, else NEXTAUTH_URL's origin. */
  appOrigin?: string | null;
}

function jsonError(status: number, code: string, message: string, requestId: string): Response {
  return new Response(JSON.stringify({ error: { code, message, requestId } }), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", "x-request-id": requestId },
  });
}

export function createTrpcHttpHandler(opts: TrpcHttpHandlerOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const requestId = requestIdOf(req);
    const appOrigin = opts.appOrigin !== undefined ? opts.appOrigin : configuredAppOrigin();
    const refusal = checkRequestOrigin(req, appOrigin);
    if (refusal) return jsonError(refusal.status, refusal.code, refusal.message, requestId);

    let ctx: Context;
    try {
      ctx = await createRequestContext(req, opts.getDb());
    } catch (e) {
      if (e instanceof RequestRejectedError) return jsonError(e.status, "UNAUTHORIZED", e.message, requestId);
      // Resolving the caller needs the database; during an outage say so, retryably.
      if (isConnectionError(e)) return jsonError(503, "SERVICE_UNAVAILABLE", "the database is unavailable; retry later", requestId);
      throw e;
    }
    // Keep the id we answered with equal to the one procedures log and audit.
    ctx.requestId = requestId;

    return fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req,
      router: appRouter,
      createContext: () => ctx,
      responseMeta() {
        return { headers: new Headers({ "cache-control": "no-store", "x-request-id": requestId }) };
      },
    });
  };
}
