/**
 * Rail policies: per partner rail, how submissions are retried and how long each non-terminal
 * state may last before the transfer counts as stuck. Stored in rail_policies, changed by admins
 * (audited), cached briefly by readers.
 */
import type { DbHandles } from "../db/client";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { prismaRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { fromRow, type RowOf } from "../core/rows";
import type { ActiveState } from "./state-machine";

export interface RailPolicy {
  partner: string;
  rail: string;
  maxSubmitAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  submitTimeoutMs: number;
  budgetSeconds: Record<ActiveState, number>;
  updatedAt: Date;
}

/** A rail_policies row: the policy's fields, with one budget column per active state. */
type RawPolicy = RowOf<Omit<RailPolicy, "budgetSeconds">> & Record<`budget_${ActiveState}_seconds`, number>;

function toPolicy(r: RawPolicy): RailPolicy {
  const { budget_created_seconds: created, budget_reserved_seconds: reserved, budget_submitted_seconds: submitted, budget_acknowledged_seconds: acknowledged, ...fields } = r;
  return { ...fromRow<Omit<RailPolicy, "budgetSeconds">>(fields), budgetSeconds: { created, reserved, submitted, acknowledged } };
}

const CACHE_MS = 5_000;
const cache = new WeakMap<object, { at: number; policies: RailPolicy[] }>();

/** Every rail policy (cached for a few seconds per pool). */
export async function listRailPolicies(db: Pick<DbHandles, "pool">, opts: { fresh?: boolean } = {}): Promise<RailPolicy[]> {
  const hit = cache.get(db.pool);
  if (hit && !opts.fresh && Date.now() - hit.at < CACHE_MS) return hit.policies;
  const res = await db.pool.query<RawPolicy>(`SELECT * FROM rail_policies ORDER BY partner, rail`);
  const policies = res.rows.map(toPolicy);
  cache.set(db.pool, { at: Date.now(), policies });
  return policies;
}

/** Errors: BAD_INPUT when the partner has no such rail. */
export async function getRailPolicy(db: Pick<DbHandles, "pool">, partner: string, rail: string): Promise<RailPolicy> {
  const p = (await listRailPolicies(db)).find((x) => x.partner === partner && x.rail === rail);
  if (!p) throw new AppError("BAD_INPUT", `partner ${partner} has no rail ${rail}`, { details: { partner, rail } });
  return p;
}

/** Exponential backoff with full jitter: a random delay in [base, min(max, base * 2^(attempt-1))]. */
export function backoffMs(policy: Pick<RailPolicy, "backoffBaseMs" | "backoffMaxMs">, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(policy.backoffBaseMs + random() * (ceiling - policy.backoffBaseMs));
}

export interface RailPolicyUpdate {
  maxSubmitAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  submitTimeoutMs: number;
  budgetSeconds: Record<ActiveState, number>;
}

/**
 * Changes a rail's policy, audited with before and after.
 * Errors: NOT_FOUND (no such rail); BAD_INPUT (values outside the database's sane ranges).
 */
export async function updateRailPolicy(db: DbHandles, actor: AuditActor, partner: string, rail: string, update: RailPolicyUpdate, reason: string, requestId: string | null): Promise<RailPolicy> {
  if (update.backoffMaxMs < update.backoffBaseMs) throw new AppError("BAD_INPUT", "backoffMaxMs must be at least backoffBaseMs");
  const result = await db.prisma.$transaction(async (tx) => {
    const before = (await tx.$queryRawUnsafe<RawPolicy[]>(`SELECT * FROM rail_policies WHERE partner = $1 AND rail = $2 FOR UPDATE`, partner, rail))[0];
    if (!before) throw new AppError("NOT_FOUND", `partner ${partner} has no rail ${rail}`);
    const rows = await tx.$queryRawUnsafe<RawPolicy[]>(
      `UPDATE rail_policies SET max_submit_attempts = $3, backoff_base_ms = $4, backoff_max_ms = $5, submit_timeout_ms = $6,
              budget_created_seconds = $7, budget_reserved_seconds = $8, budget_submitted_seconds = $9, budget_acknowledged_seconds = $10,
              updated_at = now()
        WHERE partner = $1 AND rail = $2 RETURNING *`,
      partner, rail, update.maxSubmitAttempts, update.backoffBaseMs, update.backoffMaxMs, update.submitTimeoutMs,
      update.budgetSeconds.created, update.budgetSeconds.reserved, update.budgetSeconds.submitted, update.budgetSeconds.acknowledged,
    ).catch((e: unknown) => {
      if ((e as { message?: string }).message?.includes("rail_policies_sane")) throw new AppError("BAD_INPUT", "rail policy values are out of range (see docs/api.md)");
      throw e;
    });
    const after = toPolicy(rows[0]!);
    await appendAudit(prismaRunner(tx), { actor, action: "rail_policy.update", targetType: "rail_policy", targetId: `${partner}/${rail}`, reason, before: toPolicy(before), after, requestId });
    return after;
  });
  cache.delete(db.pool);
  return result;
}
