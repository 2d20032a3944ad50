// `npm run db:migrate`: applies pending SQL migrations (server/db/migrate.ts) as the tables' owner,
// DATABASE_MIGRATION_URL, then grants DATABASE_URL's role (which owns no table) what the web and
// worker need (server/db/runtime-role.ts). Without DATABASE_MIGRATION_URL both are DATABASE_URL.
import { env } from "../server/env";
import { applyMigrations } from "../server/db/migrate";
import { grantRuntimeRole, roleOf } from "../server/db/runtime-role";

const say = (m: string) => process.stdout.write(`[migrate] ${m}\n`);
try {
  const e = env();
  const url = e.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required");
  const ownerUrl = e.DATABASE_MIGRATION_URL ?? url;
  const r = await applyMigrations(ownerUrl, { log: say });
  say(`${r.applied.length} applied, ${r.alreadyApplied} already applied`);
  if (e.DATABASE_MIGRATION_URL && roleOf(ownerUrl) !== roleOf(url)) {
    await grantRuntimeRole(ownerUrl, roleOf(url));
    say(`runtime role ${roleOf(url)} granted (it owns no table)`);
  }
} catch (err) {
  process.stderr.write(`[migrate] error: ${(err as Error).message}\n`);
  process.exit(1);
}
