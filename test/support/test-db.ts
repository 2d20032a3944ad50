/**
 * A private, migrated database for one test file, cloned from the template the global setup
 * migrated. Use inside describe/beforeAll; dropped in afterAll.
 */
import { inject } from "vitest";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { urlAs } from "../../server/db/runtime-role";

export interface TestDb extends DbHandles {
  url: string;
  /** The same database as the runtime role, which owns no table (server/db/runtime-role.ts). */
  runtimeUrl: string;
  name: string;
  adminUrl: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTestDb(opts: { poolMax?: number } = {}): Promise<TestDb> {
  const adminUrl = inject("pgAdminUrl");
  const template = inject("pgTemplateDb");
  const name = `t_${template.slice(7)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    // A clone keeps the template's table privileges, not its database-level ones.
    await admin.query(`GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "${name}" TO "${inject("pgRuntimeRole")}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const handles = createDbHandles(url, { max: opts.poolMax ?? 10, applicationName: "test" });
  return {
    ...handles,
    url,
    runtimeUrl: urlAs(url, inject("pgRuntimeRole"), inject("pgRuntimePassword")),
    name,
    adminUrl,
    async drop() {
      await handles.prisma.$disconnect().catch(() => {});
      await handles.pool.end().catch(() => {});
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
}
