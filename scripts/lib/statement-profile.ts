/**
 * Statement profile of a benchmark phase through pg_stat_statements (with planning time), loaded
 * into the benchmark's own PostgreSQL by STATEMENT_PROFILE_SETTINGS. Reset before the phase, print
 * after it: the statements that cost the database the most, per unit of work.
 */
import type pg from "pg";

export const STATEMENT_PROFILE_SETTINGS = ["shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track_planning=on"] as const;

export async function startStatementProfile(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
  await pool.query(`SELECT pg_stat_statements_reset()`);
}

export async function printTopStatements(pool: pg.Pool, units: number, unit: string): Promise<void> {
  const rows = (
    await pool.query<{ query: string; calls: string; total: number; plan: number }>(
      `SELECT query, calls::text, total_exec_time::float8 AS total, total_plan_time::float8 AS plan
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time + total_plan_time DESC LIMIT 25`,
    )
  ).rows;
  const sum = (await pool.query<{ exec: number; plan: number; calls: string }>(
    `SELECT sum(total_exec_time)::float8 AS exec, sum(total_plan_time)::float8 AS plan, sum(calls)::text AS calls FROM pg_stat_statements`,
  )).rows[0]!;
  const sessions = (await pool.query<{ sessions: string; commits: string }>(`SELECT sum(sessions)::text AS sessions, sum(xact_commit)::text AS commits FROM pg_stat_database`)).rows[0]!;
  const per = (x: number) => (x / Math.max(1, units)).toFixed(2);
  console.log(`    per ${unit}: ${per(Number(sum.calls))} statements, execution ${per(sum.exec)} ms, planning ${per(sum.plan)} ms; since start: ${sessions.sessions} sessions, ${sessions.commits} commits`);
  // Round trips that carry no work of their own: transaction control and session settings.
  const control = (
    await pool.query<{ kind: string; calls: string }>(
      `SELECT upper(split_part(ltrim(query), ' ', 1)) AS kind, sum(calls)::text AS calls FROM pg_stat_statements
        WHERE query ~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SET|SAVEPOINT|RELEASE|START)\\M' GROUP BY 1 ORDER BY 1`,
    )
  ).rows;
  if (control.length > 0) console.log(`    of which transaction control and settings: ${control.map((c) => `${c.kind} ${per(Number(c.calls))}`).join(", ")}`);
  console.log(`    top statements by execution + planning time (µs per ${unit}: exec / plan):`);
  for (const r of rows) {
    const q = r.query.replace(/\s+/g, " ").slice(0, 100);
    const us = (ms: number) => ((ms * 1000) / Math.max(1, units)).toFixed(0).padStart(5);
    console.log(`      ${us(r.total)} / ${us(r.plan)}  ${(Number(r.calls) / Math.max(1, units)).toFixed(2).padStart(6)} calls  ${q}`);
  }
}
