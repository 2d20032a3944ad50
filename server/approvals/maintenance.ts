/**
 * What the worker watches in approvals: proposals waiting, and approvers locked out of step-up
 * (each lock is an alert: someone typed wrong codes repeatedly).
 */
import type { DbHandles } from "../db/client";
import { MAX_STEP_UP_FAILURES } from "../auth/step-up";
import { AUTH_THROTTLE_TABLE, StepUpThrottle } from "../auth/throttle";

export interface ApprovalsHealth {
  openProposals: number;
  lockedApprovers: number;
}

export async function readApprovalsHealth(db: Pick<DbHandles, "pool">, now: Date): Promise<ApprovalsHealth> {
  const r = await db.pool.query<{ open: number; locked: number }>(
    `SELECT (SELECT count(*)::int FROM adjustment_proposals WHERE status = 'open' AND expires_at > $1) AS open,
            (SELECT count(*)::int FROM ${AUTH_THROTTLE_TABLE} WHERE key LIKE $2 AND points >= $3 AND (expire IS NULL OR expire > $4)) AS locked`,
    [now, `${StepUpThrottle.KEY_PREFIX}:totp:%`, MAX_STEP_UP_FAILURES, now.getTime()],
  );
  return { openProposals: r.rows[0]?.open ?? 0, lockedApprovers: r.rows[0]?.locked ?? 0 };
}
