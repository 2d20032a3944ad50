/**
 * The worker's vacuum fallback (server/db/vacuum-fallback.ts): it vacuums the product's tables that
 * autovacuum leaves alone (here: tables created with autovacuum_enabled = false, as the whole server
 * is when autovacuum = off), only above its thresholds, only in the product's schemas, one worker
 * at a time, and as the runtime role only where PostgreSQL lets that role (17+, MAINTAIN).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Registry } from "prom-client";
import { createTestDb, type TestDb } from "../support/test-db";
import { VACUUM_FALLBACK_LOCK_KEY, createVacuumFallbackMetrics, runVacuumRound, startVacuumFallback, type VacuumFallbackConfig } from "../../server/db/vacuum-fallback";

let t: TestDb;
let runtimePool: pg.Pool;
const config: VacuumFallbackConfig = { schemas: ["public"], minDeadRows: 2_000, deadShare: 0.1, maxTablesPerRound: 50 };

beforeAll(async () => {
  t = await createTestDb();
  runtimePool = new pg.Pool({ connectionString: t.runtimeUrl, max: 2 });
});
afterAll(async () => {
  await runtimePool?.end();
  await t?.drop();
});

/**
 * A table holding `dead` dead rows (and `live` live ones) once the statistics show them; by
 * default one autovacuum leaves alone (`options`).
 */
async function tableWithDeadRows(name: string, dead: number, live = 0, options = "WITH (autovacuum_enabled = false)"): Promise<void> {
  const c = await t.pool.connect();
  try {
    await c.query(`CREATE TABLE ${name} (id int) ${options}`);
    await c.query(`INSERT INTO ${name} SELECT g FROM generate_series(1, $1) g`, [dead + live]);
    await c.query(`DELETE FROM ${name} WHERE id <= $1`, [dead]);
    await c.query(`SELECT pg_stat_force_next_flush()`);
  } finally {
    c.release();
  }
  const [schema, rel] = name.includes(".") ? name.split(".") : ["public", name];
  for (let i = 0; ; i++) {
    const n = (await t.pool.query<{ n: string }>(`SELECT n_dead_tup::text AS n FROM pg_stat_all_tables WHERE schemaname = $1 AND relname = $2`, [schema, rel])).rows[0]?.n;
    if (Number(n) >= dead) return;
    if (i > 200) throw new Error(`the statistics never showed ${dead} dead rows in ${name} (saw ${n})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function lastVacuum(schema: string, rel: string): Promise<Date | null> {
  return (await t.pool.query<{ at: Date | null }>(`SELECT last_vacuum AS at FROM pg_stat_all_tables WHERE schemaname = $1 AND relname = $2`, [schema, rel])).rows[0]!.at;
}

describe("the vacuum fallback", () => {
  it("vacuums a product table autovacuum leaves alone, and not one under the thresholds or outside the product's schemas", async () => {
    await tableWithDeadRows("vf_bloated", 3_000);
    await tableWithDeadRows("vf_few", 100);
    await tableWithDeadRows("vf_mostly_live", 2_500, 50_000);
    await t.pool.query(`CREATE SCHEMA vf_other`);
    await tableWithDeadRows("vf_other.vf_bloated", 3_000);

    const round = await runVacuumRound(t.pool, config);
    const tables = round.vacuumed.map((v) => v.table);
    expect(tables).toContain("public.vf_bloated");
    expect(round.vacuumed.find((v) => v.table === "public.vf_bloated")!.deadRows).toBeGreaterThanOrEqual(3_000);
    expect(tables).not.toContain("public.vf_few");
    expect(tables).not.toContain("public.vf_mostly_live");
    expect(tables.some((x) => x.startsWith("vf_other."))).toBe(false);
    expect(round.isSkipped).toBe(false);
    expect(round.notPermitted).toEqual([]);
    expect(await lastVacuum("public", "vf_bloated")).not.toBeNull();
    expect(await lastVacuum("vf_other", "vf_bloated")).toBeNull();
  });

  it("leaves tables autovacuum looks after to autovacuum while the server's autovacuum is on", async () => {
    // On a server with autovacuum off (the machine's PostgreSQL 15, with DATABASE_URL set) every
    // bloated table is the fallback's, and this checks the other branch.
    await tableWithDeadRows("vf_looked_after", 3_000, 0, "");
    const round = await runVacuumRound(t.pool, config);
    expect(round.vacuumed.map((v) => v.table).includes("public.vf_looked_after")).toBe(!round.isAutovacuumOn);
  });

  it("reads a table's opt-out however it was written (off, 0, no, false)", async () => {
    for (const [i, value] of ["off", "0", "no", "FALSE"].entries()) await tableWithDeadRows(`vf_opt_out_${i}`, 2_500, 0, `WITH (autovacuum_enabled = ${value})`);
    const tables = (await runVacuumRound(t.pool, config)).vacuumed.map((v) => v.table);
    for (const i of [0, 1, 2, 3]) expect(tables).toContain(`public.vf_opt_out_${i}`);
  });

  it("runs in one worker at a time: a round finding the lock taken does nothing", async () => {
    await tableWithDeadRows("vf_locked", 3_000);
    const other = await t.pool.connect();
    try {
      await other.query(`SELECT pg_advisory_lock($1)`, [VACUUM_FALLBACK_LOCK_KEY]);
      const round = await runVacuumRound(t.pool, config);
      expect(round).toMatchObject({ isSkipped: true, vacuumed: [] });
      expect(await lastVacuum("public", "vf_locked")).toBeNull();
    } finally {
      await other.query(`SELECT pg_advisory_unlock($1)`, [VACUUM_FALLBACK_LOCK_KEY]);
      other.release();
    }
    expect((await runVacuumRound(t.pool, config)).vacuumed.map((v) => v.table)).toContain("public.vf_locked");
  });

  it("as the runtime role: vacuums product tables on PostgreSQL 17+ (MAINTAIN), names them as not permitted before", async () => {
    await tableWithDeadRows("vf_runtime", 3_000);
    const version = Number((await t.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
    // The test table was made after the runtime role's grants; migrations grant again after each run.
    if (version >= 170_000) await t.pool.query(`GRANT MAINTAIN ON vf_runtime TO "${new URL(t.runtimeUrl).username}"`);
    const round = await runVacuumRound(runtimePool, config);
    if (version >= 170_000) {
      expect(round.vacuumed.map((v) => v.table)).toContain("public.vf_runtime");
      expect(await lastVacuum("public", "vf_runtime")).not.toBeNull();
    } else {
      expect(round.notPermitted).toContain("public.vf_runtime");
      expect(round.vacuumed.map((v) => v.table)).not.toContain("public.vf_runtime");
    }
  });

  it("the runtime role holds MAINTAIN on the product's tables on PostgreSQL 17+, not on the append-only ones, and still no TRUNCATE", async () => {
    const version = Number((await t.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
    const role = new URL(t.runtimeUrl).username;
    const privs = async (table: string) =>
      (
        await t.pool.query<{ maintain: boolean; truncate: boolean }>(
          `SELECT ${version >= 170_000 ? "has_table_privilege($1, $2, 'MAINTAIN')" : "false"} AS maintain, has_table_privilege($1, $2, 'TRUNCATE') AS truncate`,
          [role, table],
        )
      ).rows[0]!;
    expect(await privs("transfers")).toEqual({ maintain: version >= 170_000, truncate: false });
    for (const table of ["audit_log", "journal_entries", "postings", "_prisma_migrations"]) expect(await privs(table)).toEqual({ maintain: false, truncate: false });
  });

  it("the loop sets the autovacuum gauge, counts what it vacuums and stops cleanly", async () => {
    await tableWithDeadRows("vf_loop", 3_000);
    const registry = new Registry();
    const handle = startVacuumFallback(t.pool, { ...config, intervalMs: 50 }, createVacuumFallbackMetrics(registry));
    try {
      for (let i = 0; ; i++) {
        const counted = (await registry.getSingleMetric("db_fallback_vacuums_total")!.get()).values.find((v) => v.labels.table === "public.vf_loop");
        if (counted?.value === 1) break;
        if (i > 200) throw new Error("the loop never vacuumed public.vf_loop");
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await handle.stop();
    }
    const isOn = (await t.pool.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`)).rows[0]!.on;
    expect((await registry.getSingleMetric("db_autovacuum_on")!.get()).values[0]!.value).toBe(isOn ? 1 : 0);
    const rounds = (await registry.getSingleMetric("db_fallback_vacuum_rounds_total")!.get()).values;
    expect(rounds.find((v) => v.labels.outcome === "vacuumed")?.value).toBeGreaterThanOrEqual(1);
    expect(rounds.find((v) => v.labels.outcome === "failed")).toBeUndefined();
  });
});
