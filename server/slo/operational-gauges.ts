/**
 * What /api/metrics reads from the database at each scrape: transfers by active state and stuck,
 * the job queues, the webhook backlog, the last ledger and audit integrity checks, and each SLO's
 * state. One read-only transaction with a short statement timeout, so a slow database makes a
 * scrape fail fast instead of piling scrapes up.
 *
 * Every query reaches rows through an index: active states through (state, ...), the job queues
 * through pg-boss's own (name, state, ...) indexes, the webhook backlog through
 * (processed_at, received_at), SLO figures from the state the worker evaluated last (server/slo).
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { ACTIVE_STATES } from "../transfers/state-machine";
import { stuckSql } from "../transfers/queries";
import { BOSS_SCHEMA, QUEUES } from "../jobs/queues";
import { sampleBacklog, type BacklogSample } from "../transfers/admission";
import { readStoredSloStates } from "./evaluate";
import { alertRank } from "./math";
import { readMatchRateSeries, readReconSummary } from "./recon-indicators";

/** Statement timeout of a scrape's queries. */
export const SCRAPE_STATEMENT_TIMEOUT_MS = 5_000;

export interface IntegrityCheck {
  isOk: boolean;
  ageSeconds: number;
}

export interface SloGauge {
  key: string;
  sli: number;
  budgetRemaining: number;
  burnRates: Record<string, number>;
  /** 0 ok, 1 ticket, 2 page. */
  alertLevel: number;
}

export interface OperationalGauges {
  transfersActive: Record<string, number>;
  transfersStuck: Record<string, number>;
  queues: { queue: string; depth: number; oldestAgeSeconds: number }[];
  webhookLagSeconds: number;
  webhookPending: number;
  ledgerIntegrity: IntegrityCheck | null;
  auditChain: IntegrityCheck | null;
  slos: SloGauge[];
  /** Statement lines matched over lines in today's (UTC) reconciliation runs; null without lines. */
  reconMatchRate: number | null;
  reconOpenBreaks: number;
}


async function lastCheck(client: pg.PoolClient, queue: string, okField: string, now: Date): Promise<IntegrityCheck | null> {
  const res = await client.query<{ ok: string | null; completed_on: Date }>(
    `SELECT output->>'${okField}' AS ok, completed_on FROM ${BOSS_SCHEMA}.job
      WHERE name = $1 AND state = 'completed' ORDER BY completed_on DESC LIMIT 1`,
    [queue],
  );
  const row = res.rows[0];
  if (!row) return null;
  return { isOk: row.ok === "true", ageSeconds: Math.max(0, (now.getTime() - row.completed_on.getTime()) / 1000) };
}

/**
 * Every queue's depth and oldest age; transfer-advance's counts the transfers waiting for
 * submission (present even before the job engine's schema exists) with any jobs an earlier
 * version enqueued.
 */
function withSubmissionBacklog(rows: { name: string; depth: string; oldest: Date | null }[], submission: BacklogSample, now: Date): OperationalGauges["queues"] {
  const ageOf = (oldest: Date | null) => (oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0);
  const queues = rows.filter((q) => q.name !== QUEUES.transferAdvance).map((q) => ({ queue: q.name, depth: Number(q.depth), oldestAgeSeconds: ageOf(q.oldest) }));
  const jobs = rows.find((q) => q.name === QUEUES.transferAdvance);
  queues.push({
    queue: QUEUES.transferAdvance,
    depth: Number(jobs?.depth ?? 0) + submission.backlog,
    oldestAgeSeconds: Math.max(ageOf(jobs?.oldest ?? null), submission.oldestWaitMs / 1000),
  });
  return queues.sort((a, b) => a.queue.localeCompare(b.queue));
}

/** Reads every gauge in one read-only transaction. Errors: whatever the database reports. */
export async function readOperationalGauges(db: Pick<DbHandles, "pool">, now: Date): Promise<OperationalGauges> {
  const client = await db.pool.connect();
  try {
    await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${SCRAPE_STATEMENT_TIMEOUT_MS}`);
    const active = await client.query<{ state: string; n: string }>(
      `SELECT t.state::text AS state, count(*)::text AS n FROM transfers t WHERE t.state = ANY($1::transfer_state[]) GROUP BY t.state`,
      [ACTIVE_STATES],
    );
    const stuck = await client.query<{ state: string; n: string }>(`SELECT t.state::text AS state, count(*)::text AS n FROM transfers t WHERE ${stuckSql("$1")} GROUP BY t.state`, [now]);
    // Every queue, with 0 when nothing waits, so its series never vanish. The job engine's schema
    // exists once any process has started it (the worker, a webhook's wake-up); until then there
    // are no jobs, and its integrity checks have not run.
    const hasJobs = (await client.query<{ ok: boolean }>(`SELECT to_regclass('${BOSS_SCHEMA}.job') IS NOT NULL AS ok`)).rows[0]!.ok;
    const queues = hasJobs
      ? await client.query<{ name: string; depth: string; oldest: Date | null }>(
          `SELECT q.name, count(j.id)::text AS depth, min(j.created_on) AS oldest
             FROM ${BOSS_SCHEMA}.queue q
             LEFT JOIN ${BOSS_SCHEMA}.job j ON j.name = q.name AND j.state IN ('created', 'retry') AND j.start_after <= $1
            GROUP BY q.name ORDER BY q.name`,
          [now],
        )
      : { rows: [] };
    // Transfers wait for submission in the transfers table itself (server/transfers/submission-queue.ts):
    // they are the transfer-advance queue's depth, with any jobs an earlier version enqueued.
    const submission = await sampleBacklog(client, now);
    const webhooks = await client.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*)::text AS n, min(received_at) AS oldest FROM webhook_events WHERE processed_at IS NULL AND NOT is_duplicate`,
    );
    const ledgerIntegrity = hasJobs ? await lastCheck(client, "ledger-verify", "isOk", now) : null;
    const auditChain = hasJobs ? await lastCheck(client, "audit-verify", "isIntact", now) : null;
    // The worker evaluates every objective once a minute (job slo-evaluate); a scrape reads that.
    const slos = (await readStoredSloStates(client)).map((s) => ({ key: s.key, sli: s.sli ?? 1, budgetRemaining: s.budgetRemaining, burnRates: s.burnRates, alertLevel: alertRank(s.level) }));
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const match = (await readMatchRateSeries(client, today, now, 1440)).reduce((acc, p) => ({ good: acc.good + p.counts.good, valid: acc.valid + p.counts.valid }), { good: 0, valid: 0 });
    const recon = await readReconSummary(client);
    await client.query("COMMIT");
    const byState = (rows: { state: string; n: string }[], keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, Number(rows.find((r) => r.state === k)?.n ?? 0)]));
    const w = webhooks.rows[0]!;
    return {
      transfersActive: byState(active.rows, ACTIVE_STATES),
      transfersStuck: byState(stuck.rows, ACTIVE_STATES),
      queues: withSubmissionBacklog(queues.rows, submission, now),
      webhookLagSeconds: w.oldest ? Math.max(0, (now.getTime() - w.oldest.getTime()) / 1000) : 0,
      webhookPending: Number(w.n),
      ledgerIntegrity,
      auditChain,
      slos,
      reconMatchRate: match.valid === 0 ? null : match.good / match.valid,
      reconOpenBreaks: recon.openBreaks,
    };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
