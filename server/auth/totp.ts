/**
 * TOTP (RFC 6238) for approvers' step-up, and the protection of its secrets. Pure functions: no
 * database here (server/auth/step-up.ts keeps the state).
 *
 * Invariants kept:
 * - Codes are generated and checked by the `otpauth` library (HMAC-SHA1, 6 digits, 30-second
 *   steps: what every authenticator app speaks); nothing here hand-rolls HMAC or truncation.
 * - A code is accepted for the current step and one step either side (clock drift), and the step
 *   that matched is returned so the caller can refuse a step already used (replay).
 * - Secrets are encrypted at rest with AES-256-GCM under TOTP_ENCRYPTION_KEY; the user id is
 *   bound in as additional authenticated data, so a ciphertext copied to another user's row does
 *   not decrypt. A missing key in production is an error at the first use; demo mode and tests
 *   derive a key (never used in production).
 * - Recovery codes carry 64 random bits and are stored only as SHA-256 (a fast hash is right for
 *   high-entropy secrets); they are compared after normalising case and dashes.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import { env, isProductionDeployment, type Env } from "../env";
import { AppError } from "../errors/app-error";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = "SHA1";
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;
export const TOTP_ISSUER = "Ledger Ops Console";
export const RECOVERY_CODE_COUNT = 10;

const CIPHER_VERSION = "v1";

function totpOf(secretBase32: string, label = "approver"): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A new random secret (160 bits, the RFC 4226 recommendation), as base32. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI authenticator apps import (also what a QR code would carry). */
export function totpUri(secretBase32: string, accountLabel: string): string {
  return totpOf(secretBase32, accountLabel).toString();
}

/** The time step a moment falls in. */
export function totpStepAt(at: Date): number {
  return TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: at.getTime() });
}

/** The code for `at` (tests and the e2e approver compute codes the way an app would). */
export function generateTotpCode(secretBase32: string, at: Date): string {
  return totpOf(secretBase32).generate({ timestamp: at.getTime() });
}

/** Whether `code` has the shape of a TOTP code (six digits). */
export function isTotpCodeShape(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/**
 * The step `code` belongs to, if it matches within the window around `at`; null otherwise.
 * The caller refuses a step at or below the last one used (replay).
 */
export function matchTotpStep(secretBase32: string, code: string, at: Date): number | null {
  if (!isTotpCodeShape(code)) return null;
  const delta = totpOf(secretBase32).validate({ token: code, timestamp: at.getTime(), window: TOTP_WINDOW });
  return delta === null ? null : totpStepAt(at) + delta;
}

// --- Encryption at rest ------------------------------------------------------------------------

function decodeKey(raw: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
}

/**
 * The key that encrypts TOTP secrets: TOTP_ENCRYPTION_KEY, or in demo mode and tests one derived
 * from NEXTAUTH_SECRET (stable across demo restarts) or a fixed label. Production without a key
 * is refused here, at the first enrolment or verification, with a message naming the variable.
 */
export function totpEncryptionKey(e: Env = env()): Buffer {
  if (e.TOTP_ENCRYPTION_KEY) return decodeKey(e.TOTP_ENCRYPTION_KEY);
  if (isProductionDeployment(e)) {
    throw new AppError("INTERNAL", "TOTP_ENCRYPTION_KEY is not set: approvers cannot enrol or verify step-up codes until it is (see .env.example)");
  }
  const seed = e.NEXTAUTH_SECRET ?? "ledger-console-demo-and-test-only";
  return Buffer.from(hkdfSync("sha256", seed, "ledger-console", "totp-secret-encryption-v1", 32));
}

/** Encrypts a base32 secret for the row of `userId`: "v1.<iv>.<tag>.<ciphertext>" (base64url). */
export function encryptTotpSecret(secretBase32: string, userId: string, key: Buffer = totpEncryptionKey()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(userId, "utf8"));
  const ct = Buffer.concat([cipher.update(secretBase32, "utf8"), cipher.final()]);
  return [CIPHER_VERSION, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
}

/** Decrypts what encryptTotpSecret produced for the same user and key; INTERNAL if it does not. */
export function decryptTotpSecret(ciphertext: string, userId: string, key: Buffer = totpEncryptionKey()): string {
  const parts = ciphertext.split(".");
  if (parts.length !== 4 || parts[0] !== CIPHER_VERSION) throw new AppError("INTERNAL", "the stored TOTP secret has an unknown format");
  const [, iv, tag, ct] = parts as [string, string, string, string];
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(userId, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  } catch (e) {
    throw new AppError("INTERNAL", "the stored TOTP secret cannot be decrypted (was TOTP_ENCRYPTION_KEY changed?)", { cause: e });
  }
}

// --- Recovery codes ----------------------------------------------------------------------------

/** Fresh recovery codes, shown once: 16 hex digits in groups of four ("3f9a-0c1d-77b2-e410"). */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => randomBytes(8).toString("hex").match(/.{4}/g)!.join("-"));
}

/** The canonical form of a typed recovery code (case and dashes ignored), or null if it is not one. */
export function normalizeRecoveryCode(code: string): string | null {
  const bare = code.trim().toLowerCase().replace(/[\s-]/g, "");
  return /^[0-9a-f]{16}$/.test(bare) ? bare : null;
}

export function hashRecoveryCode(code: string): string {
  const bare = normalizeRecoveryCode(code);
  if (!bare) throw new AppError("BAD_INPUT", "not a recovery code");
  return createHash("sha256").update(`totp-recovery:${bare}`).digest("hex");
}
