/**
 * The demo world for `npm start` on an embedded database: demo users for each role. Later domains
 * (ledger, transfers) add their demo data here. Every step is idempotent, so a second start
 * reuses what the first one made.
 */
import type { DbHandles } from "../db/client";
import { upsertDemoUser } from "../admin/users";
import { DEMO_USERS } from "./demo-users";
import { seedDemoLedger } from "./seed-ledger";

export async function seedDemoWorld(db: DbHandles): Promise<string> {
  let created = 0;
  for (const u of DEMO_USERS) {
    const r = await upsertDemoUser(db, u);
    if (r.isCreated) created++;
  }
  return `demo users: ${created} created, ${DEMO_USERS.length - created} already present; ${await seedDemoLedger(db)}`;
}
