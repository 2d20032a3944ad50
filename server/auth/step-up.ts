/**
 * Step-up authentication for approvers: TOTP enrolment, verification, the step-up window, and
 * lock-out after repeated failures. The TOTP maths and secret encryption are in ./totp.ts.
 *
 * Invariants kept:
 * - Only users (never service keys) enrol or step up; every function here takes the user's own
 *   actor, except the admin functions (unlock, reset), which are audited with their reason.
 * - A code is accepted at most once: the matched time step must be later than the last step used
 *   (a replayed or older code is refused), and a recovery code is marked used in the same
 *   transaction that accepts it.
 * - Every refused code is counted per person through rate-limiter-flexible's Postgres store
 *   (StepUpThrottle in ./throttle.ts, the library and table sign-in uses), in the transaction
 *   that holds the person's factor row, so one person's attempts are counted one after another;
 *   that transaction commits although the request fails, and each refusal is a security event. MAX_STEP_UP_FAILURES consecutive
 *   failures lock step-up for the user: approvals stop until an admin unlocks (the count never
 *   expires by itself). The lock and the unlock are audited; the lock is logged at error level and
 *   counted by the worker's step_up_locked_users gauge, so it alerts.
 * - A good code opens a step-up window of STEP_UP_WINDOW_SECONDS: approvals within it need no
 *   further code (a batch of approvals with one code). The window never outlives a lock.
 * - Secrets never leave this module except once, at enrolment start, to the user enrolling.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditInput } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { auditActorOf, type Actor } from "../core/actor";
import { authThrottle, StepUpThrottle } from "./throttle";
import {
  decryptTotpSecret,
  encryptTotpSecret,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  isTotpCodeShape,
  matchTotpStep,
  normalizeRecoveryCode,
  totpUri,
} from "./totp";

export const STEP_UP_WINDOW_SECONDS = 300;
export const MAX_STEP_UP_FAILURES = 5;

/** The per-person count of wrong codes (rate-limiter-flexible, table auth_throttle). */
const personThrottle = new StepUpThrottle(MAX_STEP_UP_FAILURES);

/**
 * The logger is loaded on first use: server/observability/logger.ts reads the configuration when
 * it loads, and this module is part of the web app's route graph, which `next build` evaluates
 * without a production configuration.
 */
async function log() {
  return (await import("../observability/logger")).componentLogger("step-up");
}

type UserActor = Extract<Actor, { kind: "user" }>;

export interface StepUpStatus {
  isEnrolled: boolean;
  /** An enrolment was started and waits for its first code. */
  hasPendingEnrolment: boolean;
  isLocked: boolean;
  failedAttempts: number;
  /** Approvals need no code until this time; null when no window is open. */
  stepUpUntil: Date | null;
  recoveryCodesLeft: number;
}

interface FactorRow {
  user_id: string;
  secret_ciphertext: string | null;
  confirmed_at: Date | null;
  last_used_step: string;
  step_up_until: Date | null;
}

function requireUser(actor: Actor): UserActor {
  if (actor.kind !== "user") throw new AppError("FORBIDDEN", "only people step up; a service key cannot enrol an authenticator or approve");
  return actor;
}

async function lockFactor(client: pg.PoolClient, userId: string): Promise<FactorRow | undefined> {
  const res = await client.query<FactorRow>(
    `SELECT user_id, secret_ciphertext, confirmed_at, last_used_step::text, step_up_until
       FROM totp_factors WHERE user_id = $1 FOR UPDATE`,
    [userId],
  );
  return res.rows[0];
}

function lockedError(userId: string): AppError {
  return new AppError("STEP_UP_LOCKED", "approvals are locked for you after too many wrong codes; ask an admin to unlock them", { details: { userId } });
}

/** The step-up state of the signed-in user. Errors: FORBIDDEN (not a user). */
export async function getStepUpStatus(db: Pick<DbHandles, "pool">, actor: Actor, now: Date = new Date()): Promise<StepUpStatus> {
  const user = requireUser(actor);
  const res = await db.pool.query<FactorRow & { codes_left: string }>(
    `SELECT f.user_id, f.secret_ciphertext, f.confirmed_at, f.last_used_step::text, f.step_up_until,
            (SELECT count(*) FROM totp_recovery_codes c WHERE c.user_id = f.user_id AND c.used_at IS NULL)::text AS codes_left
       FROM totp_factors f WHERE f.user_id = $1`,
    [user.userId],
  );
  const f = res.rows[0];
  if (!f) return { isEnrolled: false, hasPendingEnrolment: false, isLocked: false, failedAttempts: 0, stepUpUntil: null, recoveryCodesLeft: 0 };
  const failedAttempts = await personThrottle.failuresOf(db.pool, user.userId);
  const locked = personThrottle.isLocking(failedAttempts);
  const isOpen = f.step_up_until !== null && f.step_up_until > now && !locked;
  return {
    isEnrolled: f.confirmed_at !== null,
    hasPendingEnrolment: f.confirmed_at === null && f.secret_ciphertext !== null,
    isLocked: locked,
    failedAttempts,
    stepUpUntil: isOpen ? f.step_up_until : null,
    recoveryCodesLeft: Number(f.codes_left),
  };
}

/** Records an event of `userId`'s authenticator, done by `actor`, in the caller's transaction. */
async function auditFactorEvent(
  client: pg.PoolClient,
  actor: Actor,
  userId: string,
  event: Pick<AuditInput, "action" | "reason" | "before" | "after">,
  requestId: string | null,
  now: Date,
): Promise<void> {
  await appendAudit(pgRunner(client), { ...event, actor: auditActorOf(actor), targetType: "user", targetId: userId, requestId, at: now });
}

/**
 * Starts (or restarts) enrolment: a new secret, returned once with its otpauth:// URI, stored
 * encrypted and pending until confirmed with a code.
 * Errors, in order: FORBIDDEN (not a user), STEP_UP_LOCKED, CONFLICT (already enrolled: an admin
 * resets a lost authenticator).
 */
export async function startTotpEnrolment(db: Pick<DbHandles, "pool">, actor: Actor, opts: { requestId?: string | null; now?: Date } = {}): Promise<{ secret: string; uri: string }> {
  const user = requireUser(actor);
  const now = opts.now ?? new Date();
  const secret = generateTotpSecret();
  const ciphertext = encryptTotpSecret(secret, user.userId);
  await runTransaction(db.pool, async (client) => {
    await client.query(
      `INSERT INTO totp_factors (user_id, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (user_id) DO NOTHING`,
      [user.userId, now],
    );
    const f = (await lockFactor(client, user.userId))!;
    if (await isLocked(client, user.userId)) throw lockedError(user.userId);
    if (f.confirmed_at) throw new AppError("CONFLICT", "you already have an authenticator; ask an admin to reset it if it is lost");
    await client.query(`UPDATE totp_factors SET secret_ciphertext = $2, updated_at = $3 WHERE user_id = $1`, [user.userId, ciphertext, now]);
    await auditFactorEvent(client, actor, user.userId, { action: "auth.totp.enrolment_start" }, opts.requestId ?? null, now);
  });
  return { secret, uri: totpUri(secret, user.email) };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: AppError };

/** Whether the person's step-up is locked (MAX_STEP_UP_FAILURES wrong codes in a row). */
async function isLocked(store: pg.Pool | pg.PoolClient, userId: string): Promise<boolean> {
  return personThrottle.isLocking(await personThrottle.failuresOf(store, userId));
}

/**
 * Counts a refused code (StepUpThrottle) in the transaction that holds the person's factor row,
 * and writes the security event; locks step-up at the limit (audited, the open window closed).
 * Returns the error the caller throws after the transaction commits.
 */
async function recordFailure(
  client: pg.PoolClient,
  actor: UserActor,
  reason: "wrong_code" | "replayed" | "not_a_code",
  now: Date,
  requestId: string | null,
): Promise<AppError> {
  const failed = await personThrottle.recordFailure(client, actor.userId);
  const isLocking = personThrottle.isLocking(failed);
  if (isLocking) await client.query(`UPDATE totp_factors SET step_up_until = NULL, updated_at = $2 WHERE user_id = $1`, [actor.userId, now]);
  await client.query(`INSERT INTO security_events (kind, detail, created_at) VALUES ($1, $2::jsonb, $3)`, [
    "step_up_failed",
    JSON.stringify({ userId: actor.userId, email: actor.email, reason, failedAttempts: failed }),
    now,
  ]);
  if (isLocking) {
    await client.query(`INSERT INTO security_events (kind, detail, created_at) VALUES ($1, $2::jsonb, $3)`, [
      "step_up_locked",
      JSON.stringify({ userId: actor.userId, email: actor.email, failedAttempts: failed }),
      now,
    ]);
    const lock = { action: "auth.step_up.lock", reason: `${failed} wrong or replayed codes in a row`, before: { isLocked: false, failedAttempts: failed - 1 }, after: { isLocked: true, failedAttempts: failed } };
    await auditFactorEvent(client, actor, actor.userId, lock, requestId, now);
    return lockedError(actor.userId);
  }
  const message =
    reason === "replayed"
      ? "that code was already used; wait for the next code from your authenticator"
      : reason === "not_a_code"
        ? "enter the 6-digit code from your authenticator or one of your recovery codes"
        : "that code is not valid; check your authenticator's time and enter the current code";
  return new AppError("STEP_UP_INVALID", message, { details: { reason, failedAttempts: failed, attemptsLeft: MAX_STEP_UP_FAILURES - failed } });
}

async function alertIfLocked(error: AppError, actor: UserActor): Promise<void> {
  const logger = await log();
  if (error.code === "STEP_UP_LOCKED") {
    logger.error({ userId: actor.userId, email: actor.email, failedAttempts: MAX_STEP_UP_FAILURES }, "approver step-up locked after repeated wrong codes");
  } else {
    logger.warn({ userId: actor.userId, reason: error.details?.reason }, "step-up code refused");
  }
}

/** Runs `fn` on the user's locked factor; a failure it returns is committed, then thrown. */
/**
 * Runs `fn` on the user's locked factor. With the client address known, a code from an address
 * that guessed too often is refused before anything is checked (RATE_LIMITED), and a refused code
 * counts against the address as well as the person (server/auth/throttle.ts).
 */
async function withFactor<T>(
  db: Pick<DbHandles, "pool">,
  user: UserActor,
  fn: (client: pg.PoolClient, f: FactorRow | undefined) => Promise<Outcome<T>>,
  ip: string | null = null,
): Promise<T> {
  const throttle = ip ? authThrottle(db) : null;
  const refusal = throttle ? await throttle.check("totp", null, ip) : null;
  if (refusal) {
    throw new AppError("RATE_LIMITED", `too many wrong codes from this address; try again in ${refusal.retryAfterSeconds} s`, { details: { retryAfterSeconds: refusal.retryAfterSeconds } });
  }
  const outcome = await runTransaction(db.pool, async (client) => fn(client, await lockFactor(client, user.userId)));
  if (outcome.ok) return outcome.value;
  await throttle?.recordFailure("totp", null, ip);
  await alertIfLocked(outcome.error, user);
  throw outcome.error;
}

/**
 * Confirms a pending enrolment with the first code from the authenticator. Returns the recovery
 * codes, once; they replace any earlier ones. Opens a step-up window.
 * Errors, in order: FORBIDDEN (not a user), CONFLICT (no enrolment pending), STEP_UP_LOCKED,
 * STEP_UP_INVALID (wrong or malformed code; counted, the last allowed failure answers STEP_UP_LOCKED).
 */
export async function confirmTotpEnrolment(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { code: string },
  opts: { requestId?: string | null; now?: Date; ip?: string | null } = {},
): Promise<{ recoveryCodes: string[]; stepUpUntil: Date }> {
  const user = requireUser(actor);
  const now = opts.now ?? new Date();
  const code = String(input.code ?? "").trim();
  return withFactor(db, user, async (client, f) => {
    if (!f || f.confirmed_at || !f.secret_ciphertext) throw new AppError("CONFLICT", "no authenticator enrolment is pending; start one first");
    if (await isLocked(client, user.userId)) throw lockedError(user.userId);
    const step = matchTotpStep(decryptTotpSecret(f.secret_ciphertext, user.userId), code, now);
    if (step === null) return { ok: false, error: await recordFailure(client, user, isTotpCodeShape(code) ? "wrong_code" : "not_a_code", now, opts.requestId ?? null) };
    const codes = generateRecoveryCodes();
    const until = new Date(now.getTime() + STEP_UP_WINDOW_SECONDS * 1000);
    await client.query(
      `UPDATE totp_factors SET confirmed_at = $2, last_used_step = $3, step_up_until = $4, updated_at = $2 WHERE user_id = $1`,
      [user.userId, now, step, until],
    );
    await personThrottle.clear(client, user.userId);
    await client.query(`DELETE FROM totp_recovery_codes WHERE user_id = $1`, [user.userId]);
    await client.query(
      `INSERT INTO totp_recovery_codes (user_id, code_hash, created_at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h`,
      [user.userId, codes.map(hashRecoveryCode), now],
    );
    await auditFactorEvent(client, actor, user.userId, { action: "auth.totp.enrol", after: { isEnrolled: true, codesIssued: codes.length } }, opts.requestId ?? null, now);
    return { ok: true, value: { recoveryCodes: codes, stepUpUntil: until } };
  }, opts.ip ?? null);
}

/**
 * Checks a code (a current TOTP code, or an unused recovery code) and opens the step-up window.
 * Errors, in order: FORBIDDEN (not a user), RATE_LIMITED (too many wrong codes from the client
 * address), STEP_UP_REQUIRED (no authenticator enrolled), STEP_UP_LOCKED, STEP_UP_INVALID (wrong,
 * replayed or malformed code; counted against the person and the address).
 */
export async function verifyStepUp(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { code: string },
  opts: { requestId?: string | null; now?: Date; ip?: string | null } = {},
): Promise<{ stepUpUntil: Date; usedRecoveryCode: boolean }> {
  const user = requireUser(actor);
  const now = opts.now ?? new Date();
  const code = String(input.code ?? "").trim();
  return withFactor(db, user, async (client, f) => {
    if (!f || !f.confirmed_at || !f.secret_ciphertext) {
      throw new AppError("STEP_UP_REQUIRED", "approving needs an authenticator: set one up under Settings → Security first", { details: { reason: "not_enrolled" } });
    }
    if (await isLocked(client, user.userId)) throw lockedError(user.userId);
    const until = new Date(now.getTime() + STEP_UP_WINDOW_SECONDS * 1000);
    let usedRecoveryCode = false;
    let newStep: number | null = null;
    if (isTotpCodeShape(code)) {
      const step = matchTotpStep(decryptTotpSecret(f.secret_ciphertext, user.userId), code, now);
      if (step === null) return { ok: false, error: await recordFailure(client, user, "wrong_code", now, opts.requestId ?? null) };
      if (BigInt(step) <= BigInt(f.last_used_step)) return { ok: false, error: await recordFailure(client, user, "replayed", now, opts.requestId ?? null) };
      newStep = step;
    } else if (normalizeRecoveryCode(code)) {
      const used = await client.query(
        `UPDATE totp_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
        [user.userId, hashRecoveryCode(code), now],
      );
      if (used.rowCount === 0) return { ok: false, error: await recordFailure(client, user, "wrong_code", now, opts.requestId ?? null) };
      usedRecoveryCode = true;
      await auditFactorEvent(client, actor, user.userId, { action: "auth.totp.recovery_code_use" }, opts.requestId ?? null, now);
    } else {
      return { ok: false, error: await recordFailure(client, user, "not_a_code", now, opts.requestId ?? null) };
    }
    await client.query(
      `UPDATE totp_factors SET last_used_step = COALESCE($2::bigint, last_used_step), step_up_until = $3, updated_at = $4 WHERE user_id = $1`,
      [user.userId, newStep, until, now],
    );
    await personThrottle.clear(client, user.userId);
    return { ok: true, value: { stepUpUntil: until, usedRecoveryCode } };
  }, opts.ip ?? null);
}

/**
 * What an approval needs: with a code, verifyStepUp; without one, an open step-up window.
 * Errors, in order: FORBIDDEN (not a user), STEP_UP_REQUIRED (not enrolled, or no code and no
 * open window), STEP_UP_LOCKED, STEP_UP_INVALID.
 */
export async function requireStepUp(db: Pick<DbHandles, "pool">, actor: Actor, input: { code?: string | null }, opts: { requestId?: string | null; now?: Date; ip?: string | null } = {}): Promise<void> {
  const user = requireUser(actor);
  const now = opts.now ?? new Date();
  if (input.code !== undefined && input.code !== null && input.code.trim() !== "") {
    await verifyStepUp(db, actor, { code: input.code }, opts);
    return;
  }
  const res = await db.pool.query<Pick<FactorRow, "confirmed_at" | "step_up_until">>(`SELECT confirmed_at, step_up_until FROM totp_factors WHERE user_id = $1`, [user.userId]);
  const f = res.rows[0];
  if (!f || !f.confirmed_at) {
    throw new AppError("STEP_UP_REQUIRED", "approving needs an authenticator: set one up under Settings → Security first", { details: { reason: "not_enrolled" } });
  }
  if (await isLocked(db.pool, user.userId)) throw lockedError(user.userId);
  if (!f.step_up_until || f.step_up_until <= now) {
    throw new AppError("STEP_UP_REQUIRED", "enter the current code from your authenticator to approve", { details: { reason: "code_needed" } });
  }
}

export interface LockedApprover {
  userId: string;
  email: string | null;
  name: string | null;
  lockedAt: Date;
  failedAttempts: number;
}

/**
 * Users whose step-up is locked, most recent lock first (at most 200). The lock's time is that of
 * its audit record (auth.step_up.lock).
 */
export async function listLockedApprovers(db: Pick<DbHandles, "pool">): Promise<LockedApprover[]> {
  const locked = await personThrottle.locked(db.pool, 200);
  if (locked.length === 0) return [];
  const res = await db.pool.query<{ user_id: string; email: string | null; name: string | null; locked_at: Date | null }>(
    `SELECT l.user_id, u.email, u.name,
            (SELECT max(a.created_at) FROM audit_log a WHERE a.action = 'auth.step_up.lock' AND a.target_type = 'user' AND a.target_id = l.user_id) AS locked_at
       FROM unnest($1::text[]) AS l(user_id) LEFT JOIN users u ON u.id::text = l.user_id`,
    [locked.map((l) => l.userId)],
  );
  const failures = new Map(locked.map((l) => [l.userId, l.failures]));
  return res.rows
    .map((r) => ({ userId: r.user_id, email: r.email, name: r.name, lockedAt: r.locked_at ?? new Date(0), failedAttempts: failures.get(r.user_id) ?? 0 }))
    .sort((a, b) => b.lockedAt.getTime() - a.lockedAt.getTime());
}

/**
 * An admin lifts a user's step-up lock (and zeroes the failure count), or resets a lost
 * authenticator (the user enrols again; recovery codes are removed). Audited with the reason.
 * Errors, in order: BAD_INPUT (reason), FORBIDDEN (acting on oneself), NOT_FOUND (no factor).
 */
export async function adminChangeStepUp(
  db: Pick<DbHandles, "pool">,
  actor: Actor,
  input: { userId: string; action: "unlock" | "reset"; reason: string },
  opts: { requestId?: string | null; now?: Date } = {},
): Promise<{ userId: string; isLocked: boolean; isEnrolled: boolean }> {
  const now = opts.now ?? new Date();
  const reason = String(input.reason ?? "").trim();
  if (reason.length === 0 || reason.length > 500) throw new AppError("BAD_INPUT", "give a reason of 1-500 characters; it goes into the audit record");
  if (actor.kind === "user" && actor.userId === input.userId) throw new AppError("FORBIDDEN", "an admin cannot unlock or reset their own authenticator; ask another admin");
  return runTransaction(db.pool, async (client) => {
    const f = await lockFactor(client, input.userId);
    if (!f) throw new AppError("NOT_FOUND", `user ${input.userId} has no authenticator`, { details: { userId: input.userId } });
    const failedAttempts = await personThrottle.failuresOf(client, input.userId);
    const before = { isLocked: personThrottle.isLocking(failedAttempts), failedAttempts, isEnrolled: f.confirmed_at !== null };
    if (input.action === "unlock") {
      await client.query(`UPDATE totp_factors SET updated_at = $2 WHERE user_id = $1`, [input.userId, now]);
    } else {
      await client.query(`UPDATE totp_factors SET secret_ciphertext = NULL, confirmed_at = NULL, step_up_until = NULL, updated_at = $2 WHERE user_id = $1`, [input.userId, now]);
      await client.query(`DELETE FROM totp_recovery_codes WHERE user_id = $1`, [input.userId]);
    }
    const after = input.action === "unlock" ? { ...before, isLocked: false, failedAttempts: 0 } : { isLocked: false, failedAttempts: 0, isEnrolled: false };
    await auditFactorEvent(client, actor, input.userId, { action: input.action === "unlock" ? "auth.step_up.unlock" : "auth.totp.reset", reason, before, after }, opts.requestId ?? null, now);
    // In the same transaction as the audit record: the release and its record commit together.
    await personThrottle.clear(client, input.userId);
    return { userId: input.userId, isLocked: false, isEnrolled: after.isEnrolled };
  });
}
