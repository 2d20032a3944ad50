/**
 * The checks that a transfers run lost and duplicated nothing, shared by the crash test
 * (test/int/transfers-crash.int.test.ts) and the benchmark's `--kill-worker-every` runs:
 * - convergence: no transfer left created or reserved unless an operator must decide, everything
 *   not final flagged stuck, no stored webhook orphaned (unapplied and unleased);
 * - the partner executed each idempotency key at most once (its ground truth), and our books agree
 *   with it (nothing we failed or cancelled was executed; optionally, everything it settled is
 *   settled or returned here);
 * - each hold ended at most once and agrees with its transfer's state;
 * - the ledger's integrity check is clean.
 */
import type { DbHandles } from "../../server/db/client";
import { verifyLedger } from "../../server/ledger/verify";
import { stuckSql } from "../../server/transfers/queries";

export interface Convergence {
  /** Created or reserved with no attention reason: our side has not finished. */
  open: number;
  /** Not final and not flagged stuck. */
  unflagged: number;
  /** Stored webhooks neither applied nor leased by a live processor. */
  orphaned: number;
}

export async function readConvergence(db: Pick<DbHandles, "pool">): Promise<Convergence> {
  const res = await db.pool.query<{ open: string; unflagged: string; orphaned: string }>(
    `SELECT count(*) FILTER (WHERE t.state IN ('created', 'reserved') AND t.attention_reason IS NULL)::text AS open,
            count(*) FILTER (WHERE t.state NOT IN ('settled', 'failed', 'returned', 'cancelled') AND NOT ${stuckSql("now()")})::text AS unflagged,
            (SELECT count(*) FROM webhook_events w WHERE w.processed_at IS NULL AND NOT w.is_duplicate AND (w.locked_until IS NULL OR w.locked_until < now()))::text AS orphaned
       FROM transfers t`,
  );
  const r = res.rows[0]!;
  return { open: Number(r.open), unflagged: Number(r.unflagged), orphaned: Number(r.orphaned) };
}

/** Polls until converged or the deadline; returns the last reading. */
export async function awaitConvergence(db: Pick<DbHandles, "pool">, timeoutMs: number, pollMs = 1_000): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await readConvergence(db);
    if ((c.open === 0 && c.unflagged === 0 && c.orphaned === 0) || Date.now() >= deadline) return c;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface ExactlyOnceReport {
  transfers: number;
  states: Record<string, number>;
  /** Keys the partner executed more than once. */
  executedMoreThanOnce: { key: string; times: number }[];
  /** Transfers failed or cancelled here whose payment the partner executed (and did not fail). */
  failedHereExecutedThere: string[];
  /** Payments the partner settled whose transfer is neither settled nor returned here. */
  settledThereNotHere: string[];
  /** Holds whose status does not match their transfer's state ("<state>:<hold status>"). */
  holdMismatches: string[];
  /** Transfers failed or cancelled more than once (a hold released twice). */
  doubleReleases: number;
  ledgerDiscrepancies: number;
  ledgerFirstDiscrepancy: string | null;
}

/** Reads every check at once (the caller decides which must be empty). */
export async function checkExactlyOnce(db: Pick<DbHandles, "pool">): Promise<ExactlyOnceReport> {
  const executed = (
    await db.pool.query<{ idempotency_key: string; n: string; status: string }>(
      `SELECT idempotency_key, count(*)::text AS n, max(status) AS status FROM sandbox_payments GROUP BY idempotency_key`,
    )
  ).rows;
  const ours = new Map((await db.pool.query<{ idempotency_key: string; state: string }>(`SELECT idempotency_key, state FROM transfers`)).rows.map((r) => [r.idempotency_key, r.state]));
  const failedHereExecutedThere: string[] = [];
  const settledThereNotHere: string[] = [];
  for (const p of executed) {
    const state = ours.get(p.idempotency_key);
    if ((state === "failed" || state === "cancelled") && p.status !== "failed") failedHereExecutedThere.push(`${p.idempotency_key}: partner ${p.status}, ours ${state}`);
    if ((p.status === "settled" || p.status === "returned") && state !== "settled" && state !== "returned") settledThereNotHere.push(`${p.idempotency_key}: partner ${p.status}, ours ${state ?? "missing"}`);
  }
  const holdMismatches: string[] = [];
  const holds = (await db.pool.query<{ state: string; status: string }>(`SELECT t.state, h.status FROM transfers t JOIN holds h ON h.id = t.hold_id`)).rows;
  const expectedHold: Record<string, string> = { settled: "posted", returned: "posted", failed: "voided", cancelled: "voided" };
  for (const h of holds) if ((expectedHold[h.state] ?? "pending") !== h.status) holdMismatches.push(`${h.state}:${h.status}`);
  const doubleReleases = (await db.pool.query(`SELECT transfer_id FROM transfer_events WHERE to_state IN ('failed', 'cancelled') GROUP BY transfer_id HAVING count(*) > 1`)).rowCount ?? 0;
  const states = Object.fromEntries(
    (await db.pool.query<{ state: string; n: string }>(`SELECT state, count(*)::text AS n FROM transfers GROUP BY state ORDER BY state`)).rows.map((r) => [r.state, Number(r.n)]),
  );
  const ledger = await verifyLedger(db);
  return {
    transfers: ours.size,
    states,
    executedMoreThanOnce: executed.filter((r) => Number(r.n) > 1).map((r) => ({ key: r.idempotency_key, times: Number(r.n) })),
    failedHereExecutedThere,
    settledThereNotHere,
    holdMismatches,
    doubleReleases,
    ledgerDiscrepancies: ledger.discrepancies.length,
    ledgerFirstDiscrepancy: ledger.discrepancies[0]?.message ?? null,
  };
}
