/**
 * The console pages' Content-Security-Policy. Scripts run only when they carry this response's
 * nonce (or were loaded by one that did, 'strict-dynamic'): an injected inline script or a script
 * from anywhere else, same origin included, does not run. The proxy (proxy.ts) makes a fresh nonce
 * for every page request; Next.js puts it on its own scripts and the root layout on the theme
 * script. Styles keep 'unsafe-inline': React and the charts set style attributes, which a nonce
 * cannot cover, and a style cannot run code.
 *
 * API routes and static files are not pages; next.config.js gives them a policy that allows nothing
 * to load or frame them.
 */

/** A fresh nonce: 128 random bits, base64 (Web Crypto, available wherever the proxy runs). */
export function newCspNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The policy for a page rendered with `nonce`; development adds 'unsafe-eval' for fast refresh. */
export function pageContentSecurityPolicy(nonce: string, opts: { isDevelopment: boolean }): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${opts.isDevelopment ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

/** The request header through which the proxy hands the nonce to server components. */
export const NONCE_HEADER = "x-nonce";
