/**
 * The one webhook signature scheme, used for partner webhooks coming in and for our own outbox
 * deliveries going out.
 *
 * Header: `x-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Several
 * `v1=` values may be present (one per secret while a secret is being rotated).
 *
 * Invariants kept:
 * - The MAC covers the timestamp and the raw body bytes exactly as received: verify before parsing.
 * - A timestamp outside the tolerance window, in either direction, is refused ("stale"), so a
 *   captured request cannot be replayed later and a clock far ahead is not trusted either.
 * - Comparison is constant-time (crypto.timingSafeEqual on equal-length buffers); a candidate of
 *   the wrong length or with non-hex characters is simply not a match.
 * - Every configured secret is tried against every v1 value, so either side may rotate first.
 * - Limits: the header is at most MAX_SIGNATURE_HEADER_LENGTH characters with at most
 *   MAX_SIGNATURES v1 values; anything larger is "malformed".
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const MAX_SIGNATURE_HEADER_LENGTH = 1024;
export const MAX_SIGNATURES = 8;

export type SignatureFailure = "missing" | "malformed" | "stale" | "mismatch";
export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

function hmacHex(secret: string, timestamp: string, rawBody: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${rawBody}`, "utf8").digest("hex");
}

/** The `x-signature` header value for `rawBody` signed with `secret` at time `at`. */
export function signPayload(secret: string, rawBody: string, at: Date): string {
  const t = String(Math.floor(at.getTime() / 1000));
  return `t=${t},v1=${hmacHex(secret, t, rawBody)}`;
}

/** Parses `t=...,v1=...[,v1=...]`; null when the shape is wrong. Unknown keys (v0, v2) are ignored. */
export function parseSignatureHeader(header: string): { timestamp: string; signatures: string[] } | null {
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) return null;
  let timestamp: string | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (timestamp !== null || !/^\d{1,12}$/.test(value)) return null;
      timestamp = value;
    } else if (key === "v1") {
      if (value.length === 0) return null;
      signatures.push(value);
    }
  }
  if (timestamp === null || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return null;
  return { timestamp, signatures };
}

/**
 * Checks a signature header against the raw body and the accepted secrets. Reasons, in check
 * order: "missing" (no header, or no secret configured to check it with), "malformed", "stale"
 * (|now - t| > toleranceSeconds), "mismatch" (no v1 value matches any secret).
 */
export function verifySignature(
  header: string | null,
  rawBody: string,
  secrets: readonly string[],
  now: Date,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): SignatureCheck {
  if (header === null || header.trim().length === 0) return { ok: false, reason: "missing" };
  const parsed = parseSignatureHeader(header.trim());
  if (!parsed) return { ok: false, reason: "malformed" };
  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(parsed.timestamp);
  if (Math.abs(ageSeconds) > toleranceSeconds) return { ok: false, reason: "stale" };
  const usable = secrets.filter((s) => s.length > 0);
  if (usable.length === 0) return { ok: false, reason: "missing" };
  let isMatch = false;
  for (const secret of usable) {
    const expected = Buffer.from(hmacHex(secret, parsed.timestamp, rawBody), "hex");
    for (const candidate of parsed.signatures) {
      if (!/^[0-9a-f]+$/i.test(candidate)) continue;
      const given = Buffer.from(candidate, "hex");
      // Loop over everything rather than returning early, so timing does not reveal which matched.
      if (given.length === expected.length && timingSafeEqual(given, expected)) isMatch = true;
    }
  }
  return isMatch ? { ok: true } : { ok: false, reason: "mismatch" };
}
