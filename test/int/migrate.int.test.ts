/**
 * The migration runner: applies each migration once, in order, in a transaction; refuses to run
 * when an applied migration's file changed; and concurrent runners never apply twice.
 */
import { cp, mkdtemp, mkdir, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyMigrations, migrationStatus } from "../../server/db/migrate";

const adminUrl = () => inject("pgAdminUrl");
const created: string[] = [];

async function emptyDb(): Promise<string> {
  const name = `t_mig_${randomBytes(4).toString("hex")}`;
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  await c.query(`CREATE DATABASE "${name}"`);
  await c.end();
  created.push(name);
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "migs-"));
  await cp(path.resolve(import.meta.dirname, "../../prisma/migrations"), dir, { recursive: true });
  return dir;
}

describe("migration runner", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await copyMigrations();
  });
  afterAll(async () => {
    const c = new pg.Client({ connectionString: adminUrl() });
    await c.connect();
    for (const n of created) await c.query(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
    await c.end();
  });

  it("applies every migration once and records it like Prisma does", async () => {
    const url = await emptyDb();
    const first = await applyMigrations(url, { dir });
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await applyMigrations(url, { dir });
    expect(second.applied).toEqual([]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const rows = await c.query(`SELECT migration_name, checksum, applied_steps_count, finished_at FROM _prisma_migrations ORDER BY migration_name`);
    expect(rows.rows.map((r) => r.migration_name)).toEqual(first.applied);
    for (const r of rows.rows) {
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.applied_steps_count).toBe(1);
      expect(r.finished_at).not.toBeNull();
    }
    expect((await migrationStatus(c, dir)).isCurrent).toBe(true);
    await c.end();
  });

  it("never applies a migration twice when runners start at the same moment", async () => {
    const url = await emptyDb();
    const results = await Promise.all(Array.from({ length: 5 }, () => applyMigrations(url, { dir })));
    const appliedCounts = results.map((r) => r.applied.length);
    expect(appliedCounts.filter((n) => n > 0)).toHaveLength(1);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const dup = await c.query(`SELECT migration_name FROM _prisma_migrations GROUP BY migration_name HAVING count(*) > 1`);
    expect(dup.rowCount).toBe(0);
    await c.end();
  });

  it("refuses to run when an applied migration's file changed since", async () => {
    const url = await emptyDb();
    const local = await copyMigrations();
    const first = await applyMigrations(url, { dir: local });
    const name = first.applied[0]!;
    await appendFile(path.join(local, name, "migration.sql"), "\n-- edited after the fact\n");
    await expect(applyMigrations(url, { dir: local })).rejects.toThrow(new RegExp(`migration ${name} was changed after it was applied`));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const status = await migrationStatus(c, local);
    expect(status.changed).toEqual([name]);
    expect(status.isCurrent).toBe(false);
    await c.end();
  });

  it("rolls a failing migration back completely and records nothing", async () => {
    const url = await emptyDb();
    const local = await copyMigrations();
    const bad = path.join(local, "99999999999999_broken");
    await mkdir(bad);
    await writeFile(path.join(bad, "migration.sql"), `CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n`);
    await expect(applyMigrations(url, { dir: local })).rejects.toThrow(/migration 99999999999999_broken failed: .*no_such_table/);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    expect((await c.query(`SELECT to_regclass('public.half_done') AS t`)).rows[0].t).toBeNull();
    expect((await c.query(`SELECT 1 FROM _prisma_migrations WHERE migration_name = '99999999999999_broken'`)).rowCount).toBe(0);
    const status = await migrationStatus(c, local);
    expect(status.pending).toEqual(["99999999999999_broken"]);
    await c.end();
  });
});
