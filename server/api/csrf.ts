/**
 * The CSRF rule for /api/trpc, checked before anything else runs:
 * - only GET (queries) and POST (mutations) are served;
 * - a POST must be application/json, which a browser cannot send cross-site without a CORS
 *   preflight that we never answer, so form posts and text/plain "simple requests" are refused;
 * - a POST without Bearer auth (a browser session) must also come from the console itself: Origin
 *   equal to the app origin, or, when a browser sends no Origin, Sec-Fetch-Site "same-origin".
 */
import { consoleOrigin } from "../env";
import { bearerSecretOf } from "./context";

/** The origin browser mutations must come from, or null when none is configured. */
export function configuredAppOrigin(): string | null {
  return consoleOrigin();
}

function isJson(req: Request): boolean {
  const ct = req.headers.get("content-type");
  if (!ct) return false;
  return ct.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** Why a request must be refused before routing, or null when it may proceed. */
export function checkRequestOrigin(req: Request, appOrigin: string | null): { status: number; code: string; message: string } | null {
  const method = req.method.toUpperCase();
  if (method === "GET" || method === "HEAD") return null;
  if (method !== "POST") return { status: 405, code: "METHOD_NOT_SUPPORTED", message: `${method} is not supported; use GET for queries and POST for mutations` };
  const isBearer = bearerSecretOf(req) !== null;
  if (!isJson(req)) {
    return { status: isBearer ? 415 : 403, code: isBearer ? "UNSUPPORTED_MEDIA_TYPE" : "FORBIDDEN", message: "POST requests must have Content-Type: application/json" };
  }
  if (isBearer) return null;
  const origin = req.headers.get("origin");
  if (origin !== null) {
    if (appOrigin !== null && origin === appOrigin) return null;
    return { status: 403, code: "FORBIDDEN", message: `cross-origin request refused: Origin ${origin} is not the console's origin` };
  }
  if (req.headers.get("sec-fetch-site") === "same-origin") return null;
  return { status: 403, code: "FORBIDDEN", message: "request refused: no Origin header and Sec-Fetch-Site is not same-origin" };
}

