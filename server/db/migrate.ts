/**
 * Applies the SQL migrations under prisma/migrations in name order, each once, each inside its own
 * transaction, recording them in Prisma's `_prisma_migrations` table with the same checksum Prisma
 * uses (SHA-256 of migration.sql), so `prisma migrate status` from a machine that has the engine
 * agrees with us.
 *
 * Invariants kept:
 * - A session-level advisory lock (Prisma's own key) serialises concurrent runners, so two starts
 *   never apply a migration twice.
 * - An applied migration whose file changed since is refused (checksum mismatch): history is never
 *   silently rewritten.
 * - A failed migration rolls back completely and leaves no record.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";

/** The advisory lock key Prisma Migrate uses, so our runner and Prisma's exclude each other. */
const MIGRATION_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = path.join(process.cwd(), "prisma", "migrations");

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  // The folder is read at run time from the working directory; keep the bundler from tracing it.
  const entries = await readdir(/*turbopackIgnore: true*/ dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(/*turbopackIgnore: true*/ path.join(dir, name, "migration.sql"), "utf8");
    files.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return files;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
}

async function readApplied(client: pg.ClientBase): Promise<AppliedRow[]> {
  const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const res = await client.query<AppliedRow>(
    `SELECT migration_name, checksum FROM "_prisma_migrations"
     WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return res.rows;
}

function checkHistory(files: MigrationFile[], applied: AppliedRow[]): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of applied) {
    const file = byName.get(row.migration_name);
    // A migration applied by a newer release is tolerated (rolling deploys); a changed one is not.
    if (file && file.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.migration_name} was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${file.checksum.slice(0, 12)}… on disk); restore the original file and add a new migration instead`,
      );
    }
  }
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** Applies pending migrations. Safe to call concurrently from several processes. */
export async function applyMigrations(connectionString: string, opts: { dir?: string; log?: (msg: string) => void } = {}): Promise<MigrateResult> {
  const files = await readMigrations(opts.dir);
  const client = new pg.Client({ connectionString, application_name: "migrate" });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const applied = await readApplied(client);
      checkHistory(files, applied);
      const done = new Set(applied.map((r) => r.migration_name));
      const result: MigrateResult = { applied: [], alreadyApplied: done.size };
      for (const file of files) {
        if (done.has(file.name)) continue;
        const id = randomUUID();
        await client.query("BEGIN");
        try {
          await client.query(file.sql);
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
             VALUES ($1, $2, now(), $3, now(), 1)`,
            [id, file.checksum, file.name],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw new MigrationError(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
        }
        opts.log?.(`applied migration ${file.name}`);
        result.applied.push(file.name);
      }
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

export interface MigrationStatus {
  isCurrent: boolean;
  pending: string[];
  changed: string[];
}

/** Reports whether every local migration is applied unchanged (used by /api/ready). */
export async function migrationStatus(client: pg.ClientBase, dir?: string): Promise<MigrationStatus> {
  const files = await readMigrations(dir);
  const applied = await readApplied(client);
  const byName = new Map(applied.map((r) => [r.migration_name, r.checksum]));
  const pending = files.filter((f) => !byName.has(f.name)).map((f) => f.name);
  const changed = files.filter((f) => byName.has(f.name) && byName.get(f.name) !== f.checksum).map((f) => f.name);
  return { isCurrent: pending.length === 0 && changed.length === 0, pending, changed };
}
