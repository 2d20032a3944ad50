/**
 * Password hashing for credentials sign-in: argon2id with OWASP's minimum parameters
 * (19 MiB memory, 2 passes, 1 lane). Hashes are PHC strings, so parameters can be raised later
 * without invalidating stored hashes.
 *
 * Invariants kept:
 * - Passwords are never stored, logged or audited; only the PHC hash is kept.
 * - Checking an unknown user costs about as much as checking a known one (verify against a dummy
 *   hash), so response time does not reveal which emails exist.
 */
import { hash, verify } from "@node-rs/argon2";

// @node-rs/argon2 defaults to argon2id; the const enum cannot be referenced under isolatedModules.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** True when `password` matches `passwordHash`; false for a wrong password or a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the time of one verification without a user, so unknown emails answer as slowly. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("dummy-password-for-timing-only");
  await verifyPassword(await dummyHash, password);
  return false;
}
