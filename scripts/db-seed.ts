// `npm run db:seed`: seeds the demo world into DATABASE_URL. Idempotent: a second run changes nothing.
import { env } from "../server/env";
import { db, closeDb } from "../server/db/client";
import { seedDemoWorld } from "../server/demo/seed";

try {
  if (!env().DATABASE_URL) throw new Error("DATABASE_URL is required");
  const report = await seedDemoWorld(db());
  process.stdout.write(`[seed] ${report}\n`);
  await closeDb();
} catch (err) {
  process.stderr.write(`[seed] error: ${(err as Error).message}\n`);
  await closeDb();
  process.exit(1);
}
