/**
 * Signing secrets of outbox subscriptions: generated here, shown once, stored encrypted.
 *
 * Invariants kept:
 * - Signing needs the plaintext (HMAC), so a hash would not do; the secret is stored encrypted with
 *   AES-256-GCM under a key from the environment (OUTBOX_SECRET_KEY), never in plaintext, never in
 *   an audit record or a list.
 * - The stored form names the key it was encrypted under (a fingerprint, not the key), so a
 *   changed key is reported as such instead of as a corrupt secret.
 * - GCM authenticates the ciphertext together with the subscription id (additional data): a
 *   ciphertext copied onto another subscription does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { env, type Env } from "../env";
import { AppError } from "../errors/app-error";

const FORMAT = "v1";
/** `whsec_` + 32 random bytes, base64url. */
export const SIGNING_SECRET_RE = /^whsec_[A-Za-z0-9_-]{43}$/;
const DEVELOPMENT_KEY_SEED = "ledger-console development outbox key (not for production)";

export interface SecretKey {
  key: Buffer;
  /** First 8 hex characters of SHA-256(key): names the key without revealing it. */
  fingerprint: string;
  /** Where the key came from, for the worker's start-up log. */
  source: "OUTBOX_SECRET_KEY" | "NEXTAUTH_SECRET" | "development";
}

function withFingerprint(key: Buffer, source: SecretKey["source"]): SecretKey {
  return { key, fingerprint: createHash("sha256").update(key).digest("hex").slice(0, 8), source };
}

/**
 * The encryption key: OUTBOX_SECRET_KEY when set; otherwise derived from NEXTAUTH_SECRET (HKDF),
 * which production always has; otherwise (development and tests only) a fixed development key.
 */
export function outboxSecretKey(e: Env = env()): SecretKey {
  if (e.OUTBOX_SECRET_KEY) {
    const v = e.OUTBOX_SECRET_KEY;
    return withFingerprint(/^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64"), "OUTBOX_SECRET_KEY");
  }
  if (e.NEXTAUTH_SECRET) {
    return withFingerprint(Buffer.from(hkdfSync("sha256", e.NEXTAUTH_SECRET, "ledger-console", "outbox-subscription-secrets", 32)), "NEXTAUTH_SECRET");
  }
  return withFingerprint(createHash("sha256").update(DEVELOPMENT_KEY_SEED).digest(), "development");
}

/** A fresh signing secret and the prefix shown in lists. */
export function generateSigningSecret(): { secret: string; prefix: string } {
  const secret = `whsec_${randomBytes(32).toString("base64url")}`;
  return { secret, prefix: secret.slice(0, 10) };
}

/** `v1.<key fingerprint>.<iv>.<tag>.<ciphertext>` (base64url parts). */
export function encryptSecret(secret: string, subscriptionId: string, k: SecretKey = outboxSecretKey()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", k.key, iv);
  cipher.setAAD(Buffer.from(subscriptionId, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return [FORMAT, k.fingerprint, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

/**
 * The plaintext of a stored secret.
 * Errors: INTERNAL (unknown format; encrypted under another key, naming both fingerprints;
 * authentication failed, i.e. tampered or moved to another subscription).
 */
export function decryptSecret(stored: string, subscriptionId: string, k: SecretKey = outboxSecretKey()): string {
  const parts = stored.split(".");
  if (parts.length !== 5 || parts[0] !== FORMAT) throw new AppError("INTERNAL", `signing secret of subscription ${subscriptionId} is not in a known format`);
  const [, fingerprint, iv, tag, ciphertext] = parts as [string, string, string, string, string];
  if (fingerprint !== k.fingerprint) {
    throw new AppError("INTERNAL", `signing secret of subscription ${subscriptionId} was encrypted under key ${fingerprint}; the current key is ${k.fingerprint} (${k.source})`);
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", k.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(subscriptionId, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new AppError("INTERNAL", `signing secret of subscription ${subscriptionId} failed authentication (altered, or copied from another subscription)`);
  }
}
