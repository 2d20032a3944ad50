/**
 * Where a visitor may be sent after signing in: a page of the console and nothing else.
 *
 * A callback is resolved against the console's origin exactly as a browser resolves a Location
 * header (the WHATWG URL parser: tabs and newlines are removed, backslashes are slashes, dot
 * segments collapse), so "/\t/evil.example", which a browser reads as "//evil.example", is seen as
 * the other site it is. Only a result on the console's own origin is kept, and it is returned as a
 * path that resolves to that same origin again; anything else becomes "/".
 */

/** Stands in for the console when its origin is not configured: only relative paths can match it. */
const PLACEHOLDER_ORIGIN = "https://console.invalid";

function originOf(raw: string | null | undefined): string {
  if (!raw) return PLACEHOLDER_ORIGIN;
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" ? u.origin : PLACEHOLDER_ORIGIN;
  } catch {
    return PLACEHOLDER_ORIGIN;
  }
}

function isOnOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url, origin).origin === origin;
  } catch {
    return false;
  }
}

/**
 * The path (with query and fragment) of `raw` when it names a page on `consoleOrigin` (the
 * console's configured origin; absolute URLs are accepted only on it), else "/".
 */
export function safeCallbackPath(raw: string, consoleOrigin?: string | null): string {
  const origin = originOf(consoleOrigin);
  // Only a path ("/…") or an absolute URL on the console's origin is a callback; "transfers" or
  // "javascript:…" is not, whatever a browser would make of it.
  const trimmed = raw.trim();
  if (!trimmed.startsWith("/") && !/^https?:\/\//i.test(trimmed)) return "/";
  let parsed: URL;
  try {
    parsed = new URL(raw, origin);
  } catch {
    return "/";
  }
  if (parsed.origin !== origin) return "/";
  const path = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  // Dot segments can collapse into "//host" (e.g. "/x/..//evil.example"): the path itself must
  // resolve to the console again, and never be protocol-relative.
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\") || !isOnOrigin(path, origin)) return "/";
  return path;
}
