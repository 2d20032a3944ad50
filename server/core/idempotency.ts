/**
 * Idempotency keys and request hashes, shared by every domain that takes a key (ledger, transfers,
 * approvals).
 *
 * Invariants kept:
 * - A key belongs to its caller. A key sent by a person or a service key is stored under that
 *   caller's scope (`usr:<user id>/<key>`, `svc:<key id>/<key>`), so two callers never share,
 *   replay or block each other's keys, whatever they send.
 * - The system's own keys (`transfer:<id>:settle`, `adjustment:<id>`, ...) are stored as they are
 *   and can never start with a caller's scope, so no caller can write one: a caller's key always
 *   has a scope in front of it.
 * - A request hash is a SHA-256 of a canonical JSON form (sorted keys, bigints and dates tagged),
 *   so the same request always hashes the same, whatever the order of its fields.
 */
import { createHash } from "node:crypto";
import { AppError } from "../errors/app-error";
import { canonicalJson } from "./canonical-json";

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/** Who a key belongs to: a request's caller (Actor) or an internal actor (AuditActor). */
export type KeyOwner = { kind: "user"; userId: string } | { kind: "service"; keyId: string } | { type: string };

/** Printable ASCII without spaces: a key travels in HTTP headers to partners as it is stored. */
const KEY_FORMAT = new RegExp(`^[\\x21-\\x7e]{1,${MAX_IDEMPOTENCY_KEY_LENGTH}}$`);
/** A stored key adds at most this much to the caller's key ("svc:" + a UUID + "/"). */
export const MAX_STORED_KEY_LENGTH = MAX_IDEMPOTENCY_KEY_LENGTH + 41;
const CALLER_SCOPE = /^(usr|svc):[^/]*\//;

/**
 * Refuses a key that is not 1 to 200 printable ASCII characters without spaces.
 * Errors: BAD_INPUT naming the rule.
 */
export function assertIdempotencyKey(key: unknown): string {
  if (typeof key !== "string" || !KEY_FORMAT.test(key)) {
    throw new AppError("BAD_INPUT", `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces`, {
      details: { field: "idempotencyKey" },
    });
  }
  return key;
}

/** Whether `s` holds a UTF-16 surrogate that is not part of a pair (not encodable as UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  // With the u flag a paired surrogate is one astral code point; only a lone one is in Cs.
  return /\p{Cs}/u.test(s);
}

/** The scope a request's caller stores its keys under, or null for the system's own actors. */
export function callerScope(owner: KeyOwner): string | null {
  if ("kind" in owner) return owner.kind === "user" ? `usr:${owner.userId}` : `svc:${owner.keyId}`;
  return null;
}

/**
 * The key as stored: a caller's key under the caller's scope, a system key as it is.
 * Errors: BAD_INPUT for a malformed key; INTERNAL when system code passes a key in a caller's
 * scope (a bug: only this function makes those).
 */
export function storedIdempotencyKey(owner: KeyOwner, key: string): string {
  assertIdempotencyKey(key);
  const scope = callerScope(owner);
  if (scope !== null) return `${scope}/${key}`;
  if (CALLER_SCOPE.test(key)) throw new AppError("INTERNAL", `system idempotency key ${key} is in a caller's scope`);
  return key;
}

/** Whether a stored key is a caller's (as opposed to one of the system's own). */
export function isCallerKey(storedKey: string): boolean {
  return CALLER_SCOPE.test(storedKey);
}

/** Canonical JSON with bigints and dates tagged, so `1n` and `"1"` hash differently. */
export function canonicalize(value: unknown): string {
  return canonicalJson(value, tagExactValue);
}

function tagExactValue(v: unknown): string | undefined {
  if (typeof v === "bigint") return `{"$bigint":"${v.toString()}"}`;
  if (v instanceof Date) return `{"$date":"${v.toISOString()}"}`;
  return undefined;
}

export function hashRequest(value: unknown): string {
  return createHash("sha256").update(canonicalize(value)).digest("hex");
}

/** The error for a key reused with a different request. */
export function idempotencyConflict(key: string, what = "request", details: Record<string, unknown> = {}): AppError {
  return new AppError("IDEMPOTENCY_CONFLICT", `idempotency key ${key} was already used for a different ${what}`, { details: { idempotencyKey: key, ...details } });
}

/** Refuses, as a bug, a system key that sits in a caller's scope. Errors: BAD_INPUT, INTERNAL. */
export function assertSystemIdempotencyKey(key: string): string {
  return storedIdempotencyKey({ type: "system" }, key);
}
