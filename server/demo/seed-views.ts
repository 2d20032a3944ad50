/**
 * The demo operator's saved views of the breaks queue: one of their own (their open amount and
 * currency mismatches) and one shared with the team (EUR breaks of 100.00 and more, largest
 * first), so the Breaks page shows both kinds beside the presets.
 *
 * Idempotent, and respectful of what the operator did since: the views are saved only while the
 * demo operator has no saved view of the queue at all, through the same domain function as the
 * console (saveView, audited as the operator). A second run, or a restart after the operator
 * renamed or deleted one of them, changes nothing.
 */
import type { DbHandles } from "../db/client";
import { loadUserActor } from "../auth/load-actor";
import { saveView } from "../views/saved-views";

export const DEMO_SAVED_VIEWS: readonly { name: string; query: string; isShared: boolean }[] = [
  { name: "My open mismatches", query: "type=amount_mismatch&type=currency_mismatch&assignee=me", isShared: false },
  { name: "Large EUR breaks", query: "currency=EUR&min=100.00&sort=amount_desc", isShared: true },
];

export async function seedDemoSavedViews(db: DbHandles): Promise<string> {
  const user = await db.prisma.user.findUnique({ where: { email: "operator@demo.local" }, select: { id: true } });
  const operator = user ? await loadUserActor(db.prisma, user.id) : null;
  if (!operator || operator.kind !== "user") return "saved views: no demo operator";
  const has = await db.pool.query(`SELECT 1 FROM saved_views WHERE owner_id = $1 AND page = 'breaks' LIMIT 1`, [operator.userId]);
  if (has.rowCount) return "saved views: the demo operator has some already";
  for (const v of DEMO_SAVED_VIEWS) await saveView(db, operator, { page: "breaks", ...v });
  return `saved views: ${DEMO_SAVED_VIEWS.length} for the demo operator`;
}
