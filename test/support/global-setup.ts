/**
 * Integration-test database: an embedded PostgreSQL by default, or the server in DATABASE_URL when
 * set. Migrations are applied once to a template database; each test file clones it
 * (test/support/test-db.ts), so files never see each other's rows.
 */
import type { TestProject } from "vitest/node";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { startEmbeddedPostgres, findFreePort, tempDataDir, type EmbeddedServer } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";
import { grantRuntimeRole } from "../../server/db/runtime-role";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplateDb: string;
    pgIsEmbedded: boolean;
    pgDataDir: string;
    /** A role that owns no table, granted the runtime privileges on the template (and so on every test database). */
    pgRuntimeRole: string;
    pgRuntimePassword: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  let server: EmbeddedServer | undefined;
  let adminUrl: string;
  let dataDir = "";
  const external = process.env.DATABASE_URL;
  if (external) {
    adminUrl = external;
  } else {
    dataDir = tempDataDir("int-pg");
    server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), isEphemeral: true });
    adminUrl = server.adminUrl;
  }
  const template = `t_tmpl_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${template}"`);
  await admin.end();
  await applyMigrations(withDatabase(adminUrl, template));
  // The runtime role (server/db/runtime-role.ts), per run: roles are shared by the whole server.
  const runtimeRole = `t_runtime_${randomBytes(4).toString("hex")}`;
  const runtimePassword = randomBytes(18).toString("base64url");
  await grantRuntimeRole(withDatabase(adminUrl, template), runtimeRole, { createWithPassword: runtimePassword });

  project.provide("pgAdminUrl", adminUrl);
  project.provide("pgTemplateDb", template);
  project.provide("pgIsEmbedded", !external);
  project.provide("pgDataDir", dataDir);
  project.provide("pgRuntimeRole", runtimeRole);
  project.provide("pgRuntimePassword", runtimePassword);

  return async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    const dbs = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`t\\_%`]);
    for (const { datname } of dbs.rows) {
      if (datname === template || datname.startsWith(`t_${template.slice(7)}`) || !external) {
        await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
      }
    }
    await c.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => {});
    await c.query(`DROP ROLE IF EXISTS "${runtimeRole}"`).catch(() => {});
    await c.end();
    await server?.stop();
  };
}
