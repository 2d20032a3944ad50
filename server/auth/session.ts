/**
 * Page access for server components: who is signed in, and a guard that sends everyone else to
 * the sign-in page or to /forbidden. Roles come from the database on every call, never from the
 * session cookie.
 */
import { cache } from "react";
import { getServerSession } from "next-auth";
// eslint-disable-next-line no-restricted-imports -- page access is the one transport seam in server/auth: it must redirect.
import { redirect } from "next/navigation";
import { db } from "../db/client";
import type { Actor } from "./actor";
import type { Permission } from "./permissions";
import { getAuthOptions } from "./auth-options";
import { loadUserActor } from "./load-actor";
import { safeCallbackPath } from "./session-paths";

export { safeCallbackPath };

/**
 * The signed-in, active user, or null. Memoised per request (React `cache`): the console layout and
 * the page both ask, and the user and roles are read from the database once.
 */
export const getPageActor = cache(async (): Promise<Actor | null> => {
  const session = await getServerSession(getAuthOptions());
  const userId = (session?.user as { id?: unknown } | undefined)?.id;
  if (typeof userId !== "string" || userId.length === 0) return null;
  return loadUserActor(db().prisma, userId);
});

/**
 * The signed-in user, who must hold `permission` when one is given. Signed out: redirects to
 * /signin with `callbackPath` (default "/") as the place to come back to. Lacking the permission:
 * redirects to /forbidden.
 */
export async function requirePageActor(permission?: Permission, callbackPath = "/"): Promise<Actor> {
  const actor = await getPageActor();
  if (!actor) redirect(`/signin?callbackUrl=${encodeURIComponent(safeCallbackPath(callbackPath))}`);
  if (permission && !actor.permissions.has(permission)) redirect(`/forbidden?permission=${encodeURIComponent(permission)}`);
  return actor;
}
