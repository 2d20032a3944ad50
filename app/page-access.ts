/**
 * Page access for server components: who is signed in, and a guard that sends everyone else to
 * the sign-in page or to /forbidden. Roles come from the database on every call, never from the
 * session cookie. It lives with the pages (not in server/auth) because it is transport: it reads
 * Next's session and redirects.
 */
import { cache } from "react";
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { db } from "../server/db/client";
import type { Actor } from "../server/core/actor";
import type { Permission } from "../server/core/permissions";
import { getAuthOptions } from "../server/auth/auth-options";
import { loadUserActor } from "../server/auth/load-actor";
import { consoleOrigin } from "../server/env";
import { safeCallbackPath } from "../server/auth/session-paths";

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
  if (!actor) redirect(`/signin?callbackUrl=${encodeURIComponent(safeCallbackPath(callbackPath, consoleOrigin()))}`);
  if (permission && !actor.permissions.has(permission)) redirect(`/forbidden?permission=${encodeURIComponent(permission)}`);
  return actor;
}
