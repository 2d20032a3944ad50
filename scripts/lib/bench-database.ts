/**
 * A fresh database for a benchmark run: a new database on DATABASE_URL's server when it is set,
 * else an embedded PostgreSQL in a temp folder with production durability (fsync on). The caller
 * runs `cleanups` in reverse order when done.
 */
import { rm } from "node:fs/promises";
import pg from "pg";
import { findFreePort, startEmbeddedPostgres, tempDataDir } from "../../server/db/embedded";
import { env } from "../../server/env";

export async function freshBenchDatabase(
  label: string,
  cleanups: (() => Promise<void>)[],
  opts: { settings?: readonly string[] } = {},
): Promise<{ url: string; note: string }> {
  const external = env().DATABASE_URL;
  if (external) {
    const name = `bench_${label}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(external);
    u.pathname = `/${name}`;
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: external });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    });
    return { url: u.toString(), note: `fresh database ${name} on DATABASE_URL's server (its own durability settings)` };
  }
  const dataDir = tempDataDir(`bench-${label}`);
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), settings: opts.settings });
  cleanups.push(async () => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(async () => server.stop());
  return { url: server.adminUrl, note: "embedded PostgreSQL in a temp folder, durable settings (fsync on, synchronous_commit on, as in production)" };
}
