/**
 * The demo world for `npm start` on an embedded database: demo users for each role, the demo
 * ledger, its pricing (rates, spreads, segments, a fee schedule per rail), a week of demo transfers
 * (priced; cancelled ones by the demo operator), what later domains add, and the demo operator's
 * saved views of the breaks queue. Every step is idempotent, so a second start reuses what the first one made.
 */
import type { DbHandles } from "../db/client";
import { upsertDemoUser } from "../admin/users";
import { DEMO_USERS } from "./demo-users";
import { seedDemoLedger } from "./seed-ledger";
import { seedDemoTransfers } from "./seed-transfers";
import { seedDemoApprovals } from "./seed-approvals";
import { seedDemoPricing } from "./seed-pricing";
import { seedDemoReconciliation } from "./seed-recon";
import { seedDemoSloIncident } from "./seed-slo";
import { seedDemoSavedViews } from "./seed-views";
import { userActor, type Actor } from "../core/actor";
import type { AuditActor } from "../audit/audit-log";

export async function seedDemoWorld(db: DbHandles): Promise<string> {
  let created = 0;
  let operator: AuditActor | undefined;
  let operatorActor: Actor | undefined;
  for (const u of DEMO_USERS) {
    const r = await upsertDemoUser(db, u);
    if (r.isCreated) created++;
    if (u.email === "operator@demo.local") {
      operator = { type: "user", id: r.user.id, label: r.user.email };
      operatorActor = userActor({ id: r.user.id, email: r.user.email, name: r.user.name, roles: ["operator"] });
    }
  }
  const ledger = await seedDemoLedger(db);
  // Before the transfers: the history is priced by the schedules in force when it happened.
  const pricing = await seedDemoPricing(db);
  const transfers = await seedDemoTransfers(db, { operator });
  const approvals = await seedDemoApprovals(db);
  const reconciliation = await seedDemoReconciliation(db);
  const incident = await seedDemoSloIncident(db, { operator: operatorActor });
  const savedViews = await seedDemoSavedViews(db);
  return `demo users: ${created} created, ${DEMO_USERS.length - created} already present; ${ledger}; ${pricing}; ${transfers}; ${approvals}; ${reconciliation}; ${incident}; ${savedViews}`;
}
