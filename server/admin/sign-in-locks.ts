/**
 * Releasing a sign-in or step-up throttle lock before it runs out (server/auth/throttle.ts): an
 * admin's decision for a person locked out by someone else's guessing, audited with its reason
 * (auth.throttle.release, before and after). Locks also end by themselves after
 * AUTH_THROTTLE_LOCK_MINUTES.
 */
import { isIP } from "node:net";
import type { DbHandles } from "../db/client";
import { auditActorOf } from "../core/actor";
import { authThrottle, type ThrottleScope, type ThrottleSubject } from "../auth/throttle";
import { AppError } from "../errors/app-error";
import { type AdminCall } from "./users";
import { checkReason } from "../core/reasons";

/**
 * Errors, in order: BAD_INPUT (reason; an account that is not an email, an address that is not an
 * IP address). Returns whether there was anything to release (the release is audited either way).
 */
export async function releaseThrottleLock(
  db: Pick<DbHandles, "pool">,
  call: AdminCall,
  input: { scope: ThrottleScope; subject: ThrottleSubject; value: string; reason: string },
): Promise<{ released: boolean }> {
  const reason = checkReason(input.reason);
  const value = input.value.trim();
  if (input.subject === "account" && !/^[^@\s]{1,200}@[^@\s]{1,200}$/.test(value)) {
    throw new AppError("BAD_INPUT", `account ${JSON.stringify(value.slice(0, 100))} is not an email address`, { details: { field: "value" } });
  }
  if (input.subject === "address" && isIP(value) === 0) {
    throw new AppError("BAD_INPUT", `address ${JSON.stringify(value.slice(0, 100))} is not an IP address`, { details: { field: "value" } });
  }
  const released = await authThrottle(db).release(input.scope, input.subject, value, auditActorOf(call.actor), reason, call.requestId ?? null);
  return { released };
}
