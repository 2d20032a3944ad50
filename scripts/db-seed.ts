// `npm run db:seed`: seeds the demo world into DATABASE_URL. Idempotent: a second run changes nothing.
import { env, isProductionDeployment } from "../server/env";
import { db, closeDb } from "../server/db/client";
import { seedDemoWorld } from "../server/demo/seed";
import { stopSender } from "../server/jobs/queues";

try {
  if (!env().DATABASE_URL) throw new Error("DATABASE_URL is required");
  // The demo world has users with printed passwords: never in a production database.
  if (isProductionDeployment(env())) throw new Error("NODE_ENV=production: the demo world is never seeded into a production database");
  const report = await seedDemoWorld(db());
  process.stdout.write(`[seed] ${report}\n`);
  // The demo transfers enqueue their orchestration jobs; the job sender must stop for this
  // short-lived process to exit.
  await stopSender(db().pool);
  await closeDb();
} catch (err) {
  process.stderr.write(`[seed] error: ${(err as Error).message}\n`);
  await closeDb();
  process.exit(1);
}
