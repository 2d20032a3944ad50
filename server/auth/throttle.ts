/**
 * Throttling of guesses at sign-in and step-up, per account and per client address, on
 * PostgreSQL (rate-limiter-flexible's Postgres store, table auth_throttle), so every web process
 * sees the same counts.
 *
 * Invariants kept:
 * - Checked BEFORE any password hash or code is computed: a locked account or address costs one
 *   indexed read, never an argon2 verification, so guessing cannot be sped up by parallel requests
 *   and cannot burn the server's CPU.
 * - Counted per account (the lower-cased email, whether or not such a user exists, so a lock says
 *   nothing about who has an account) and per client address (TRUSTED_PROXY_COUNT decides what the
 *   address is; an unknown address is not counted as one shared address).
 * - AUTH_THROTTLE_ACCOUNT_FAILURES failures of one account, or AUTH_THROTTLE_ADDRESS_FAILURES from
 *   one address, within AUTH_THROTTLE_LOCK_MINUTES lock it for AUTH_THROTTLE_LOCK_MINUTES. The
 *   moment of the lock and an admin's release are audited (auth.throttle.lock / .release) and
 *   written as security events; a success clears the account's count.
 * - A person's step-up codes are counted here too (StepUpThrottle, keys auth:person:totp:<user
 *   id>): MAX_STEP_UP_FAILURES in a row lock until an admin releases them.
 */
import type pg from "pg";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { env, type Env } from "../env";
import { SYSTEM_ACTOR } from "../core/actor";

export type ThrottleScope = "signin" | "totp";
export type ThrottleSubject = "account" | "address";

export const AUTH_THROTTLE_TABLE = "auth_throttle";

export interface ThrottleLimits {
  accountFailures: number;
  addressFailures: number;
  lockMinutes: number;
}

export function throttleLimitsFromEnv(e: Env = env()): ThrottleLimits {
  return { accountFailures: e.AUTH_THROTTLE_ACCOUNT_FAILURES, addressFailures: e.AUTH_THROTTLE_ADDRESS_FAILURES, lockMinutes: e.AUTH_THROTTLE_LOCK_MINUTES };
}

export interface ThrottleRefusal {
  subject: ThrottleSubject;
  retryAfterSeconds: number;
}

export class AuthThrottle {
  private readonly limiters: Record<ThrottleSubject, RateLimiterPostgres>;

  constructor(
    private readonly pool: pg.Pool,
    readonly limits: ThrottleLimits,
  ) {
    const make = (subject: ThrottleSubject, failures: number) =>
      new RateLimiterPostgres({
        storeClient: pool,
        storeType: "pool",
        tableName: AUTH_THROTTLE_TABLE,
        tableCreated: true,
        keyPrefix: `auth:${subject}`,
        // The failure that reaches the limit is the one that locks: points = allowed failures - 1.
        points: Math.max(failures - 1, 0),
        duration: limits.lockMinutes * 60,
        blockDuration: limits.lockMinutes * 60,
      });
    this.limiters = { account: make("account", limits.accountFailures), address: make("address", limits.addressFailures) };
  }

  private keys(scope: ThrottleScope, account: string | null, ip: string | null): [ThrottleSubject, string][] {
    const out: [ThrottleSubject, string][] = [];
    if (account) out.push(["account", `${scope}:${account.toLowerCase()}`]);
    if (ip) out.push(["address", `${scope}:${ip}`]);
    return out;
  }

  /** Null when the attempt may proceed; else which lock stops it and for how long. One read per key. */
  async check(scope: ThrottleScope, account: string | null, ip: string | null): Promise<ThrottleRefusal | null> {
    for (const [subject, key] of this.keys(scope, account, ip)) {
      const limiter = this.limiters[subject];
      const res = await limiter.get(key);
      if (res && res.consumedPoints > limiter.points) return { subject, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
    }
    return null;
  }

  /**
   * Counts a failure against the account and the address. Returns the locks this failure set (the
   * failure that reached a limit), each audited by the system in the same call.
   */
  async recordFailure(scope: ThrottleScope, account: string | null, ip: string | null, opts: { requestId?: string | null } = {}): Promise<ThrottleSubject[]> {
    const locked: ThrottleSubject[] = [];
    for (const [subject, key] of this.keys(scope, account, ip)) {
      const limiter = this.limiters[subject];
      try {
        await limiter.consume(key);
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e;
        if (e.consumedPoints === limiter.points + 1) {
          locked.push(subject);
          await appendAudit(pgRunner(this.pool), {
            actor: SYSTEM_ACTOR,
            action: "auth.throttle.lock",
            targetType: subject === "account" ? "sign_in_account" : "client_address",
            targetId: key,
            after: { scope, subject, failures: e.consumedPoints, lockedUntil: new Date(Date.now() + e.msBeforeNext).toISOString() },
            requestId: opts.requestId ?? null,
          });
        }
      }
    }
    return locked;
  }

  /** A success clears the account's count (the address keeps its own). */
  async recordSuccess(scope: ThrottleScope, account: string): Promise<void> {
    await this.limiters.account.delete(`${scope}:${account.toLowerCase()}`);
  }

  /**
   * Releases a lock (an admin's decision, audited with its reason). Returns whether there was a
   * count or lock to release.
   */
  async release(scope: ThrottleScope, subject: ThrottleSubject, value: string, by: AuditActor, reason: string, requestId: string | null): Promise<boolean> {
    const key = `${scope}:${subject === "account" ? value.toLowerCase() : value}`;
    const before = await this.limiters[subject].get(key);
    const released = await this.limiters[subject].delete(key);
    await appendAudit(pgRunner(this.pool), {
      actor: by,
      action: "auth.throttle.release",
      targetType: subject === "account" ? "sign_in_account" : "client_address",
      targetId: key,
      reason,
      before: { failures: before?.consumedPoints ?? 0, isLocked: (before?.consumedPoints ?? 0) > this.limiters[subject].points },
      after: { failures: 0, isLocked: false },
      requestId,
    });
    return released;
  }
}

/**
 * A person's step-up (TOTP) failures, in the same store and through the same library:
 * `maxFailures` wrong or replayed codes in a row lock that person's approvals until an admin
 * releases them. The count never expires by itself (duration 0): an approver locked out is a
 * security event someone must look at, unlike a sign-in lock, which lifts after
 * AUTH_THROTTLE_LOCK_MINUTES. A good code clears the count.
 *
 * Every call takes the connection to work on: server/auth/step-up.ts passes its transaction's
 * client, so a count changes in the same transaction as the factor row it locked (one person's
 * attempts are counted one after another, and a release commits with its audit record), and no
 * second connection is needed while the row is locked.
 */
export class StepUpThrottle {
  static readonly KEY_PREFIX = "auth:person";

  constructor(readonly maxFailures: number) {}

  private limiter(store: pg.Pool | pg.ClientBase): RateLimiterPostgres {
    return new RateLimiterPostgres({
      storeClient: store,
      storeType: "client",
      tableName: AUTH_THROTTLE_TABLE,
      tableCreated: true,
      // Expired rows are deleted by the sign-in throttle's own limiter; these rows never expire.
      clearExpiredByTimeout: false,
      keyPrefix: StepUpThrottle.KEY_PREFIX,
      // The failure that reaches the limit is the one that locks.
      points: Math.max(this.maxFailures - 1, 0),
      duration: 0,
    });
  }

  private key(userId: string): string {
    return `totp:${userId}`;
  }

  /** Wrong or replayed codes since the last good one (or the last release). */
  async failuresOf(store: pg.Pool | pg.ClientBase, userId: string): Promise<number> {
    return (await this.limiter(store).get(this.key(userId)))?.consumedPoints ?? 0;
  }

  isLocking(failures: number): boolean {
    return failures >= this.maxFailures;
  }

  /** Counts one refused code; returns the count after it. */
  async recordFailure(store: pg.Pool | pg.ClientBase, userId: string): Promise<number> {
    try {
      return (await this.limiter(store).consume(this.key(userId))).consumedPoints;
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return e.consumedPoints;
    }
  }

  /** A good code, an admin's release or a reset: the count starts again from zero. */
  async clear(store: pg.Pool | pg.ClientBase, userId: string): Promise<void> {
    await this.limiter(store).delete(this.key(userId));
  }

  /** The people locked out now, with their counts (at most `limit`). */
  async locked(store: pg.Pool | pg.ClientBase, limit: number): Promise<{ userId: string; failures: number }[]> {
    const res = await store.query<{ key: string; points: number }>(
      `SELECT key, points FROM ${AUTH_THROTTLE_TABLE} WHERE key LIKE $1 AND points >= $2 AND (expire IS NULL OR expire > $3) ORDER BY key LIMIT $4`,
      [`${StepUpThrottle.KEY_PREFIX}:totp:%`, this.maxFailures, Date.now(), limit],
    );
    return res.rows.map((r) => ({ userId: r.key.slice(`${StepUpThrottle.KEY_PREFIX}:totp:`.length), failures: r.points }));
  }
}

const byPool = new WeakMap<pg.Pool, AuthThrottle>();

/** The throttle of a database (one per pool, limits from the configuration). */
export function authThrottle(db: Pick<DbHandles, "pool">): AuthThrottle {
  let t = byPool.get(db.pool);
  if (!t) byPool.set(db.pool, (t = new AuthThrottle(db.pool, throttleLimitsFromEnv())));
  return t;
}

