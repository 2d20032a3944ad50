/**
 * Loads the actor behind a session: the user row and its roles, read fresh on every request.
 *
 * Invariants kept:
 * - Roles are never taken from the session token; revoking a role or deactivating a user takes
 *   effect on the caller's next request.
 * - An inactive or unknown user resolves to no actor (deny by default).
 */
import type { PrismaClient } from "../db/generated/client";
import { userActor, type Actor } from "../core/actor";
import type { RoleName } from "../core/permissions";

export async function loadUserActor(prisma: PrismaClient, userId: string): Promise<Actor | null> {
  if (!isUuid(userId)) return null;
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, name: true, isActive: true, roles: { select: { role: true } } },
  });
  if (!user || !user.isActive) return null;
  const roles = user.roles.map((r) => r.role as RoleName).sort();
  return userActor({ id: user.id, email: user.email, name: user.name, roles });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(v: string): boolean {
  return UUID_RE.test(v);
}
