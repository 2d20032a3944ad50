/**
 * No drift: the database our SQL migrations build must match prisma/schema.prisma exactly in every
 * model's table, column, type, nullability, enum, unique constraint, index and foreign key.
 *
 * The expected side is produced from schema.prisma alone (Prisma 6.19's offline differ, via
 * scripts/db-diff.mjs --from empty) and applied to a scratch database; the actual side is the
 * migrated test database. Hand-written rules (triggers, check constraints) exist only on the
 * actual side and are deliberately not compared.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";

const root = path.resolve(import.meta.dirname, "../..");

interface Snapshot {
  tables: string[];
  columns: string[];
  enums: string[];
  indexes: string[];
  foreignKeys: string[];
}

async function snapshot(url: string): Promise<Snapshot> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = async (sql: string) => (await c.query<{ v: string }>(sql)).rows.map((r) => r.v).sort();
    return {
      tables: await q(`SELECT table_name AS v FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`),
      columns: await q(`SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
          || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END AS v
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relname <> '_prisma_migrations'`),
      enums: await q(`SELECT t.typname || ': ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS v
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' GROUP BY t.typname`),
      // Index definitions without their names' schema prefix; includes unique constraints and PKs.
      indexes: await q(`SELECT replace(indexdef, 'public.', '') AS v FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`),
      foreignKeys: await q(`SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS v
        FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`),
    };
  } finally {
    await c.end();
  }
}

describe("migrations match schema.prisma", () => {
  let migrated: TestDb;
  let scratchUrl: string;
  let scratchName: string;

  beforeAll(async () => {
    migrated = await createTestDb({ poolMax: 1 });
    scratchName = `${migrated.name}_expected`;
    const admin = new pg.Client({ connectionString: migrated.adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${scratchName}"`);
    await admin.end();
    const u = new URL(migrated.adminUrl);
    u.pathname = `/${scratchName}`;
    scratchUrl = u.toString();

    const sql = execFileSync(process.execPath, [path.join(root, "scripts/db-diff.mjs"), "--from", "empty"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: migrated.adminUrl },
      encoding: "utf8",
    });
    const c = new pg.Client({ connectionString: scratchUrl });
    await c.connect();
    await c.query(sql);
    await c.end();
  });

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: migrated.adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${scratchName}" WITH (FORCE)`);
    await admin.end();
    await migrated.drop();
  });

  it("has the same tables, columns, enums, indexes and foreign keys", async () => {
    const expected = await snapshot(scratchUrl);
    const actual = await snapshot(migrated.url);
    expect(expected.tables.length).toBeGreaterThan(0);
    expect(actual.tables).toEqual(expected.tables);
    expect(actual.columns).toEqual(expected.columns);
    expect(actual.enums).toEqual(expected.enums);
    expect(actual.indexes).toEqual(expected.indexes);
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
  });
});
