// `npm run db:migrate`: applies pending SQL migrations to DATABASE_URL (see server/db/migrate.ts).
import { env } from "../server/env";
import { applyMigrations } from "../server/db/migrate";

try {
  const url = env().DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required");
  const r = await applyMigrations(url, { log: (m) => process.stdout.write(`[migrate] ${m}\n`) });
  process.stdout.write(`[migrate] ${r.applied.length} applied, ${r.alreadyApplied} already applied\n`);
} catch (err) {
  process.stderr.write(`[migrate] error: ${(err as Error).message}\n`);
  process.exit(1);
}
