/**
 * The shape of a service key's secret and how it is stored: `lk_` + 8 prefix characters + `_` +
 * 43 base64url characters (32 random bytes); only its SHA-256 is kept. Shared by the admin domain
 * (creating keys) and authentication (looking them up).
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { SERVICE_KEY_SCOPES, type Permission } from "../core/permissions";

const PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** `lk_` + 8 prefix characters + `_` + 43 base64url characters (32 bytes). */
export const SERVICE_KEY_SECRET_RE = /^lk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

export function isGrantableScope(s: string): s is Permission {
  return (SERVICE_KEY_SCOPES as readonly string[]).includes(s);
}

/** The SHA-256 (hex) under which a secret is stored and looked up. */
export function hashServiceKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A fresh secret and the prefix shown in lists ("lk_" + 8 characters). */
export function generateServiceKeySecret(): { secret: string; prefix: string } {
  let short = "";
  for (let i = 0; i < 8; i++) short += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const prefix = `lk_${short}`;
  return { secret: `${prefix}_${randomBytes(32).toString("base64url")}`, prefix };
}

/** The list prefix of a presented secret when it has the right shape (safe to log); else null. */
export function prefixOfSecret(secret: string): string | null {
  const m = SERVICE_KEY_SECRET_RE.exec(secret);
  return m ? `lk_${m[1]}` : null;
}
