/**
 * Outgoing HTTP requests on the hot path (the worker's partner calls, the sandbox bank's
 * webhooks): undici's `request` over one keep-alive connection pool per process. The global fetch
 * costs about three times the CPU per request (WHATWG streams, Request/Response objects,
 * AbortSignal.any); see docs/decisions.md, "Partners, webhooks and the sandbox".
 *
 * Invariants kept:
 * - Every request has a time limit covering the connection, the answer and reading its body. Once
 *   it has passed, the request fails with a DOMException named "TimeoutError", whatever undici
 *   reported meanwhile (as a fetch whose AbortSignal.timeout fired): it may have reached the server.
 * - Aborting the caller's signal ends the request with the signal's reason (a DOMException named
 *   "AbortError" for a plain abort()), as fetch does; an already aborted signal sends nothing.
 * - Network errors are undici's own, with their `code` (ECONNREFUSED, ENOTFOUND,
 *   UND_ERR_CONNECT_TIMEOUT, UND_ERR_SOCKET, ECONNRESET, ...) on the error itself rather than on a
 *   fetch TypeError's `cause`.
 * - Never more than `maxBodyBytes` of the answer are buffered: past the limit the body is
 *   destroyed and BodyTooLargeError thrown (server/core/http-body.ts).
 * - Redirects are not followed and bodies are not decompressed (nothing asks for compression): the
 *   caller sees the status and bytes the server sent.
 */
import { Agent, request } from "undici";
import { readBoundedBody } from "./http-body";

/**
 * One pool for the process: idle connections kept 4 s (less when the server announces a shorter
 * keep-alive), 10 s to connect, as fetch's. HTTP/1.1 only, as fetch in Node 24 speaks: undici 8
 * would otherwise offer HTTP/2 to an https partner, whose failure modes (GOAWAY, stream resets)
 * the classification of failed calls has not been tested against.
 */
const dispatcher = new Agent({ allowH2: false });

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** For the whole exchange: connecting, the answer and its body. */
  timeoutMs: number;
  /** The caller's; aborting it ends the request. */
  signal?: AbortSignal;
  /** Most bytes of the answer's body read; more is BodyTooLargeError. */
  maxBodyBytes: number;
  /** Names the body in BodyTooLargeError's message ("response body"). */
  what?: string;
}

export interface HttpAnswer {
  status: number;
  /** The body decoded as UTF-8. */
  text: string;
}

/**
 * Sends one request and reads its answer. Throws: the caller's abort reason (already aborted or
 * aborted in flight), a "TimeoutError" DOMException (time limit), BodyTooLargeError, or undici's
 * network error with its `code`.
 */
export async function sendHttpRequest(req: HttpRequest): Promise<HttpAnswer> {
  const { signal } = req;
  signal?.throwIfAborted();
  // One controller serves both the time limit and the caller's signal.
  const controller = new AbortController();
  let timeoutError: DOMException | null = null;
  const timer = setTimeout(() => {
    timeoutError = new DOMException(`no answer within ${req.timeoutMs} ms`, "TimeoutError");
    controller.abort(timeoutError);
  }, req.timeoutMs);
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await request(req.url, {
      method: req.method,
      ...(req.headers ? { headers: req.headers } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: controller.signal,
      dispatcher,
    });
    const bytes = await readBoundedBody(res.body, req.maxBodyBytes, req.what);
    return { status: res.statusCode, text: bytes.toString("utf8") };
  } catch (e) {
    throw timeoutError ?? e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
