/**
 * Vacuuming where the server does not: a loop inside the worker that VACUUMs (and ANALYZEs) the
 * product's tables that autovacuum leaves alone, because the server runs with `autovacuum = off`
 * or a table was created with `autovacuum_enabled = false`.
 *
 * Why: every transfer leaves about four dead row versions in `transfers`, and more in the job
 * queue, holds, webhook events and partner requests. Without vacuuming, the indexes the workers
 * scan (the backlog, the job fetch) fill with dead entries and the pipeline slows down for as long
 * as the load lasts: on a server with autovacuum off, 700 transfers/s offered settled 373-428/s in
 * the first 40 s and 275-319/s in the last 30 s of a 130 s run; with the tables vacuumed every
 * 15-20 s it held 401-483/s (docs/performance.md, "Its two causes, found and fixed"). Turning autovacuum on is the fix; this
 * loop keeps the product healthy until someone does, and says so in the log and in a metric.
 *
 * Invariants kept:
 * - With autovacuum on and no table opted out, a round reads two catalog views and does nothing else.
 * - Only tables this connection may vacuum: its role's own (the job queue's), or any product table
 *   on PostgreSQL 17 and later, where the runtime role holds MAINTAIN. On older servers the others
 *   are named in the log, once per change: only turning autovacuum on helps them.
 * - Only the product's schemas (public and the job queue's) are touched, and only tables with at
 *   least `minDeadRows` dead rows and at least `deadShare` of their live rows dead; at most
 *   `maxTablesPerRound` per round, the most dead first.
 * - One vacuuming worker at a time across processes (a session advisory lock; the others skip the
 *   round). A connection whose unlock failed is destroyed, never returned to the pool holding it.
 * - VACUUM (ANALYZE, TRUNCATE false) blocks no read or write of the table (without TRUNCATE false
 *   it would take a brief exclusive lock to cut empty pages off the end; the space is reused
 *   instead), and runs without the pool's statement timeout, which would cancel it on a large table.
 * - A failed round is logged and retried on the next one; the loop never dies. stop() waits for
 *   the running round.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type pg from "pg";
import { componentLogger } from "../observability/logger";

const log = componentLogger("vacuum-fallback");

/** pg_try_advisory_lock key of the vacuuming worker ('vacu' as a 32-bit integer). */
export const VACUUM_FALLBACK_LOCK_KEY = 0x76616375;

export interface VacuumFallbackConfig {
  /** Schemas whose tables may be vacuumed. */
  schemas: readonly string[];
  minDeadRows: number;
  /** Dead rows as a share of live rows a table must reach (0.1: 10 %). */
  deadShare: number;
  maxTablesPerRound: number;
}

export interface VacuumRound {
  /** The server's `autovacuum` setting. */
  isAutovacuumOn: boolean;
  /** Tables vacuumed this round, schema-qualified, with their dead rows before. */
  vacuumed: { table: string; deadRows: number }[];
  /** Tables that need vacuuming but that this connection's role may not vacuum (PostgreSQL before 17, not the owner). */
  notPermitted: string[];
  /** Another worker held the lock: nothing was done. */
  isSkipped: boolean;
}

interface Candidate {
  schema: string;
  name: string;
  dead: string;
}

/**
 * One round: finds the tables of `config.schemas` that autovacuum does not look after and that have
 * enough dead rows, and vacuums them. Uses one client of the pool for the whole round (VACUUM cannot
 * run inside a transaction, and the advisory lock belongs to the session).
 */
export async function runVacuumRound(pool: pg.Pool, config: VacuumFallbackConfig): Promise<VacuumRound> {
  const client = await pool.connect();
  let isBroken = false;
  try {
    const { rows } = await client.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`);
    const isAutovacuumOn = rows[0]!.on;
    const version = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
    // PostgreSQL 17 added the MAINTAIN privilege (the runtime role gets it, server/db/runtime-role.ts);
    // before it only the owner (or a member of its role) may vacuum a table.
    const mayVacuum = version >= 170_000 ? `(pg_has_role(c.relowner, 'USAGE') OR has_table_privilege(c.oid, 'MAINTAIN'))` : `pg_has_role(c.relowner, 'USAGE')`;
    const found = (
      await client.query<Candidate & { may: boolean }>(
        `SELECT s.schemaname AS schema, s.relname AS name, s.n_dead_tup::text AS dead, ${mayVacuum} AS may
           FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.schemaname = ANY($1::text[])
            AND (NOT $2::boolean OR EXISTS (
                  SELECT 1 FROM unnest(c.reloptions) o
                   WHERE split_part(o, '=', 1) = 'autovacuum_enabled'
                     AND lower(split_part(o, '=', 2)) IN ('f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0')))
            AND s.n_dead_tup >= $3 AND s.n_dead_tup >= $4::float8 * s.n_live_tup
          ORDER BY s.n_dead_tup DESC
          LIMIT $5`,
        [config.schemas, isAutovacuumOn, config.minDeadRows, config.deadShare, config.maxTablesPerRound],
      )
    ).rows;
    const notPermitted = found.filter((t) => !t.may).map((t) => `${t.schema}.${t.name}`);
    const candidates = found.filter((t) => t.may);
    if (candidates.length === 0) return { isAutovacuumOn, vacuumed: [], notPermitted, isSkipped: false };
    const { rows: lock } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1) AS ok`, [VACUUM_FALLBACK_LOCK_KEY]);
    if (!lock[0]!.ok) return { isAutovacuumOn, vacuumed: [], notPermitted, isSkipped: true };
    const vacuumed: VacuumRound["vacuumed"] = [];
    try {
      await client.query(`SET statement_timeout = 0`);
      for (const t of candidates) {
        const { rows: q } = await client.query<{ name: string }>(`SELECT format('%I.%I', $1::text, $2::text) AS name`, [t.schema, t.name]);
        await client.query(`VACUUM (ANALYZE, TRUNCATE false) ${q[0]!.name}`);
        vacuumed.push({ table: `${t.schema}.${t.name}`, deadRows: Number(t.dead) });
      }
    } finally {
      try {
        await client.query(`RESET statement_timeout`);
        await client.query(`SELECT pg_advisory_unlock($1)`, [VACUUM_FALLBACK_LOCK_KEY]);
      } catch {
        isBroken = true;
      }
    }
    return { isAutovacuumOn, vacuumed, notPermitted, isSkipped: false };
  } finally {
    // A session that may still hold the lock (or the timeout off) is closed, not pooled.
    client.release(isBroken);
  }
}

/** The server's `autovacuum` setting. */
export async function isAutovacuumOn(pool: pg.Pool): Promise<boolean> {
  return (await pool.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`)).rows[0]!.on;
}

export interface VacuumFallbackMetrics {
  autovacuumOn: Gauge;
  vacuums: Counter<"table">;
  rounds: Counter<"outcome">;
}

export function createVacuumFallbackMetrics(registry: Registry): VacuumFallbackMetrics {
  return {
    autovacuumOn: new Gauge({
      name: "db_autovacuum_on",
      help: "1 when the database server's autovacuum is on, 0 when off (the worker then vacuums the product's tables itself; alert on 0)",
      registers: [registry],
    }),
    vacuums: new Counter({ name: "db_fallback_vacuums_total", help: "Tables vacuumed by the worker because autovacuum does not look after them", labelNames: ["table"], registers: [registry] }),
    rounds: new Counter({
      name: "db_fallback_vacuum_rounds_total",
      help: "Rounds of the vacuum fallback by outcome: idle (nothing to do), vacuumed, skipped (another worker holds the lock), failed",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}

export interface VacuumFallbackHandle {
  stop(waitMs?: number): Promise<void>;
}

/** Runs a round every `intervalMs` until stopped (the first one at once). */
export function startVacuumFallback(pool: pg.Pool, config: VacuumFallbackConfig & { intervalMs: number }, metrics?: VacuumFallbackMetrics): VacuumFallbackHandle {
  let isStopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let wasOn: boolean | undefined;
  let lastNotPermitted = "";
  const round = async () => {
    try {
      // Before the first round the gauge is set on its own, so that an alert on it never reads
      // prom-client's default 0 while that round runs; later rounds set it from what they read.
      if (wasOn === undefined) metrics?.autovacuumOn.set((await isAutovacuumOn(pool)) ? 1 : 0);
      const r = await runVacuumRound(pool, config);
      metrics?.autovacuumOn.set(r.isAutovacuumOn ? 1 : 0);
      metrics?.rounds.inc({ outcome: r.isSkipped ? "skipped" : r.vacuumed.length > 0 ? "vacuumed" : "idle" });
      if (wasOn !== r.isAutovacuumOn) {
        if (!r.isAutovacuumOn) log.warn("the database server runs with autovacuum = off: the worker vacuums the product's busiest tables itself; turn autovacuum on (docs/runbooks/database-vacuum.md)");
        else if (wasOn === false) log.info("the database server's autovacuum is on again");
        wasOn = r.isAutovacuumOn;
      }
      const notPermitted = r.notPermitted.join(", ");
      if (notPermitted !== lastNotPermitted && notPermitted !== "") {
        log.warn({ tables: r.notPermitted }, "these tables need vacuuming and this role may not vacuum them (PostgreSQL before 17 grants that to the owner only): turn autovacuum on");
      }
      lastNotPermitted = notPermitted;
      for (const v of r.vacuumed) metrics?.vacuums.inc({ table: v.table });
      if (r.vacuumed.length > 0) log.info({ vacuumed: r.vacuumed }, "vacuumed tables autovacuum does not look after");
    } catch (e) {
      metrics?.rounds.inc({ outcome: "failed" });
      log.warn({ err: (e as Error).message }, "vacuum round failed; retrying on the next one");
    }
  };
  const schedule = () => {
    if (isStopped) return;
    running = round().finally(() => {
      running = undefined;
      if (!isStopped) timer = setTimeout(schedule, config.intervalMs);
    });
  };
  schedule();
  return {
    /** Waits for a running round up to `waitMs` (a long VACUUM is cut off when the pool closes). */
    async stop(waitMs = 10_000) {
      isStopped = true;
      clearTimeout(timer);
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((r) => (waited = setTimeout(r, waitMs)))]);
      clearTimeout(waited);
    },
  };
}
