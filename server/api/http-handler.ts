/**
 * The HTTP face of the tRPC API (/api/trpc), as a factory so tests can call it with plain Requests
 * and a test database.
 *
 * Invariants kept (checked in this order, before any procedure runs):
 * - Only GET, HEAD and POST are served (405).
 * - Authentication is judged first: a Bearer secret that is unknown or revoked is refused with
 *   401, and so is a mutation (POST) with neither a session nor a key, whatever else is wrong with
 *   it, so a service that forgot its key is told exactly that.
 * - Then the CSRF rule (server/api/csrf.ts): refused requests get 403/415.
 * - A body larger than TRPC_MAX_BODY_BYTES is refused with 413 without being read past the limit
 *   (declared by Content-Length or found while reading a chunked body). A declared length within
 *   the limit is trusted without counting: Node's HTTP parser, behind the Next.js route and
 *   scripts/bench/http-server.ts, delivers exactly that many bytes. An in-process caller that builds
 *   its own Request must not declare a Content-Length shorter than its body (undici does not check).
 * - A batch of more than TRPC_MAX_BATCH_SIZE calls is refused with 400 (the console's client
 *   batches at most as many).
 * - Every refusal here has the same shape as an error from a procedure (errorResponse), so a
 *   client parses one error format.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { DbHandles } from "../db/client";
import { appRouter } from "./root";
import type { Context } from "./trpc";
import { createRequestContext, requestIdOf, RequestRejectedError } from "./context";
import { checkRequestOrigin, configuredAppOrigin } from "./csrf";
import { isConnectionError } from "../errors/db-errors";
import { AppError } from "../errors/app-error";
import { CORRELATION_HEADER, correlationIdOf, incomingContext, runInContext, SpanKind, TRACEPARENT_HEADER, withSpan } from "../observability/tracing";
import { BodyTooLargeError, readBoundedRequestBody } from "../core/http-body";

export const TRPC_ENDPOINT = "/api/trpc";
/** The largest request body: a 1 MiB evidence file in base64 or a 5,000-item ledger batch fits. */
export const TRPC_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The most calls in one batched request (components/trpc-provider.tsx sends at most this many). */
export const TRPC_MAX_BATCH_SIZE = 10;

/**
 * The request with its body read into memory, refusing (BodyTooLargeError) once it passes
 * `maxBytes`: a declared Content-Length over the limit is refused before reading anything.
 */
async function withBoundedBody(req: Request, maxBytes: number): Promise<Request> {
  if (!req.body) return req;
  // A declared length within the limit bounds the body already (the HTTP parser reads exactly that
  // many bytes as the body), so the request goes on as it came, without a copy.
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d{1,10}$/.test(declared) && Number(declared) <= maxBytes) return req;
  const body = await readBoundedRequestBody(req, maxBytes);
  return new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
}

export interface TrpcHttpHandlerOptions {
  getDb: () => DbHandles;
  /** The console's origin for the CSRF check; default APP_ORIGIN, else NEXTAUTH_URL's origin. */
  appOrigin?: string | null;
}

/**
 * A refusal before routing, in the shape tRPC gives every procedure error (superjson's
 * `{ json: ... }` envelope around `{ message, code, data }`), with the request id added.
 */
export function errorResponse(status: number, code: TRPC_ERROR_CODE_KEY, message: string, requestId: string, opts: { isRetryable?: boolean; appCode?: string | null } = {}): Response {
  const body = {
    error: {
      json: {
        message,
        code: TRPC_ERROR_CODES_BY_KEY[code],
        data: { code, httpStatus: status, path: null, appCode: opts.appCode ?? null, fieldErrors: null, details: null, isRetryable: opts.isRetryable ?? false, requestId },
      },
    },
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", "x-request-id": requestId },
  });
}

function retryAfterSecondsOf(cause: unknown): number | null {
  if (!(cause instanceof AppError) || !cause.isRetryable) return null;
  const d = cause.details ?? {};
  if (typeof d.retryAfterSeconds === "number") return Math.max(1, Math.ceil(d.retryAfterSeconds));
  if (typeof d.retryAfterMs === "number") return Math.max(1, Math.ceil(d.retryAfterMs / 1000));
  return null;
}

/**
 * The handler runs inside the caller's trace (its `traceparent`, else a new one) and a server span;
 * every answer names its correlation id (x-correlation-id), which a transfer created by the call
 * keeps as its own.
 */
export function createTrpcHttpHandler(opts: TrpcHttpHandlerOptions): (req: Request) => Promise<Response> {
  const handle = handleTrpc(opts);
  return (req) =>
    runInContext(incomingContext(req.headers.get(TRACEPARENT_HEADER)), () =>
      withSpan(`${req.method.toUpperCase()} ${TRPC_ENDPOINT}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method.toUpperCase(), "url.path": new URL(req.url).pathname } }, async (span) => {
        const res = await handle(req);
        span.setAttribute("http.response.status_code", res.status);
        const correlationId = correlationIdOf();
        if (correlationId) res.headers.set(CORRELATION_HEADER, correlationId);
        return res;
      }),
    );
}

function handleTrpc(opts: TrpcHttpHandlerOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const requestId = requestIdOf(req);
    const appOrigin = opts.appOrigin !== undefined ? opts.appOrigin : configuredAppOrigin();
    const refusal = checkRequestOrigin(req, appOrigin);
    if (refusal?.status === 405) return errorResponse(405, "METHOD_NOT_SUPPORTED", refusal.message, requestId);

    let ctx: Context;
    try {
      ctx = await createRequestContext(req, opts.getDb());
    } catch (e) {
      if (e instanceof RequestRejectedError) return errorResponse(e.status, "UNAUTHORIZED", e.message, requestId, { appCode: "UNAUTHENTICATED" });
      // Resolving the caller needs the database; during an outage say so, retryably.
      if (isConnectionError(e)) return errorResponse(503, "SERVICE_UNAVAILABLE", "the database is unavailable; retry later", requestId, { appCode: "DB_UNAVAILABLE", isRetryable: true });
      throw e;
    }
    if (req.method.toUpperCase() === "POST" && !ctx.actor) {
      return errorResponse(401, "UNAUTHORIZED", "sign in or send a valid service key (Authorization: Bearer <secret>)", requestId, { appCode: "UNAUTHENTICATED" });
    }
    if (refusal) return errorResponse(refusal.status, refusal.status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "FORBIDDEN", refusal.message, requestId);
    try {
      req = await withBoundedBody(req, TRPC_MAX_BODY_BYTES);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return errorResponse(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${TRPC_MAX_BODY_BYTES} bytes`, requestId);
      throw e;
    }
    // Keep the id we answered with equal to the one procedures log and audit.
    ctx.requestId = requestId;

    return fetchRequestHandler({
      endpoint: TRPC_ENDPOINT,
      req,
      router: appRouter,
      maxBatchSize: TRPC_MAX_BATCH_SIZE,
      createContext: () => ctx,
      responseMeta({ errors }) {
        const headers = new Headers({ "cache-control": "no-store", "x-request-id": requestId });
        // A refusal that says how long to wait (OVERLOADED, IDEMPOTENCY_IN_PROGRESS) carries it as
        // Retry-After, in seconds, as HTTP clients and proxies expect.
        const waits = errors.map((e) => retryAfterSecondsOf(e.cause)).filter((s): s is number => s !== null);
        if (waits.length > 0) headers.set("retry-after", String(Math.max(...waits)));
        return { headers };
      },
    });
  };
}
