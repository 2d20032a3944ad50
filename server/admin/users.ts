/**
 * People: console users and their roles.
 *
 * Invariants kept:
 * - Emails are stored lower-case and are unique; a duplicate is a CONFLICT naming the email.
 * - Every change (create, roles, active flag) is written together with its audit record in one
 *   transaction; a call that changes nothing writes nothing.
 * - An admin cannot remove their own admin role nor deactivate themselves, so the console always
 *   keeps at least the acting admin able to undo a mistake.
 * - Passwords are hashed with argon2id before they reach the database and never enter an audit
 *   record.
 */
import type { PrismaClient, Prisma } from "../db/generated/client";
import type { DbHandles } from "../db/client";
import { prismaRunner } from "../db/sql";
import { appendAudit, type AuditActor, type AuditInput } from "../audit/audit-log";
import { auditActorOf, SYSTEM_ACTOR, type Actor } from "../core/actor";
import { conflictingRolesOf, ROLES, type RoleName } from "../core/permissions";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../auth/password";
import { AppError } from "../errors/app-error";
import { checkReason } from "../core/reasons";

export const USER_LIST_MAX_LIMIT = 100;
export const USER_LIST_DEFAULT_LIMIT = 50;

export interface UserItem {
  id: string;
  email: string;
  name: string;
  roles: RoleName[];
  isActive: boolean;
  lastSignInAt: Date | null;
  createdAt: Date;
}

/** Who is acting and under which request: the audit trail's "who" and correlation id. */
export interface AdminCall {
  actor: Actor;
  requestId: string | null;
}

/** Records a change made by an admin call, as its actor under its request id, in the change's transaction. */
export async function auditAdminChange(tx: Prisma.TransactionClient, call: AdminCall, change: Omit<AuditInput, "actor" | "requestId">): Promise<void> {
  await appendAudit(prismaRunner(tx), { ...change, actor: auditActorOf(call.actor), requestId: call.requestId });
}

const USER_SELECT = {
  id: true,
  email: true,
  name: true,
  isActive: true,
  lastSignInAt: true,
  createdAt: true,
  roles: { select: { role: true } },
} as const satisfies Prisma.UserSelect;

type UserRow = Prisma.UserGetPayload<{ select: typeof USER_SELECT }>;

function sortRoles(roles: readonly RoleName[]): RoleName[] {
  return [...new Set(roles)].sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b));
}

function toItem(u: UserRow): UserItem {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    roles: sortRoles(u.roles.map((r) => r.role as RoleName)),
    isActive: u.isActive,
    lastSignInAt: u.lastSignInAt,
    createdAt: u.createdAt,
  };
}

function normaliseEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(e) || e.length > 320) throw new AppError("BAD_INPUT", `email ${JSON.stringify(email)} is not a valid address`, { details: { field: "email" } });
  return e;
}

function normaliseName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 200) throw new AppError("BAD_INPUT", "name must be 1 to 200 characters", { details: { field: "name" } });
  return n;
}

function checkRoles(roles: readonly string[]): RoleName[] {
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) throw new AppError("BAD_INPUT", `unknown role ${JSON.stringify(r)}; roles are ${ROLES.join(", ")}`, { details: { field: "roles", role: r } });
  }
  const conflict = conflictingRolesOf(roles);
  if (conflict) {
    throw new AppError("FORBIDDEN", `one person may not hold both ${conflict[0]} and ${conflict[1]} (separation of duties: an admin does not approve); see docs/separation-of-duties.md`, {
      details: { field: "roles", roles: [...conflict] },
    });
  }
  return sortRoles(roles as RoleName[]);
}

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw new AppError("BAD_INPUT", `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, { details: { field: "password" } });
  }
}

function isUniqueViolation(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (code === "P2002" || code === "23505") return true;
  }
  return false;
}

/** Users ordered by email, after `cursor` (an email), at most `limit` (≤ 100). */
export async function listUsers(db: DbHandles, input: { cursor?: string; limit?: number }): Promise<{ items: UserItem[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(Math.trunc(input.limit ?? USER_LIST_DEFAULT_LIMIT), 1), USER_LIST_MAX_LIMIT);
  const rows = await db.prisma.user.findMany({
    where: input.cursor ? { email: { gt: input.cursor } } : undefined,
    orderBy: { email: "asc" },
    take: limit + 1,
    select: USER_SELECT,
  });
  const page = rows.slice(0, limit);
  return { items: page.map(toItem), nextCursor: rows.length > limit ? page[page.length - 1]!.email : null };
}

export async function getUser(prisma: PrismaClient | Prisma.TransactionClient, userId: string): Promise<UserItem> {
  const u = await prisma.user.findUnique({ where: { id: userId }, select: USER_SELECT });
  if (!u) throw new AppError("NOT_FOUND", `user ${userId} does not exist`, { details: { userId } });
  return toItem(u);
}

/** Locks the user row for the rest of the transaction and returns it. */
async function lockUser(tx: Prisma.TransactionClient, userId: string): Promise<UserItem> {
  const locked = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text AS id FROM users WHERE id = $1::uuid FOR UPDATE`, userId);
  if (locked.length === 0) throw new AppError("NOT_FOUND", `user ${userId} does not exist`, { details: { userId } });
  return getUser(tx, userId);
}

function auditView(u: UserItem) {
  return { email: u.email, name: u.name, roles: u.roles, isActive: u.isActive };
}

/**
 * Creates a user. Errors, in order: BAD_INPUT (email, name, role, password), CONFLICT (email
 * taken).
 */
export async function createUser(
  db: DbHandles,
  call: AdminCall,
  input: { email: string; name: string; roles: readonly string[]; password?: string },
): Promise<UserItem> {
  return createUserAs(db.prisma, auditActorOf(call.actor), call.requestId, input, null);
}

async function createUserAs(
  prisma: PrismaClient,
  actor: AuditActor,
  requestId: string | null,
  input: { email: string; name: string; roles: readonly string[]; password?: string },
  reason: string | null,
  opts: { skipPasswordRules?: boolean } = {},
): Promise<UserItem> {
  const email = normaliseEmail(input.email);
  const name = normaliseName(input.name);
  const roles = checkRoles(input.roles);
  if (input.password !== undefined && !opts.skipPasswordRules) checkPassword(input.password);
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  const conflict = () => new AppError("CONFLICT", `a user with email ${email} already exists`, { details: { email } });
  try {
    return await prisma.$transaction(async (tx) => {
      if (await tx.user.findUnique({ where: { email }, select: { id: true } })) throw conflict();
      const created = await tx.user.create({
        data: { email, name, passwordHash, roles: { create: roles.map((role) => ({ role })) } },
        select: USER_SELECT,
      });
      const item = toItem(created);
      await appendAudit(prismaRunner(tx), {
        actor,
        action: "user.created",
        targetType: "user",
        targetId: item.id,
        reason,
        before: null,
        after: { ...auditView(item), signInWith: passwordHash !== null ? "password_or_sso" : "sso" },
        requestId,
      });
      return item;
    });
  } catch (e) {
    if (!(e instanceof AppError) && isUniqueViolation(e)) throw conflict();
    throw e;
  }
}

/**
 * Replaces a user's roles. Errors, in order: BAD_INPUT (role, reason), FORBIDDEN (a conflicting
 * pair of roles), NOT_FOUND, FORBIDDEN (granting yourself any role; an admin removing their own
 * admin role).
 */
export async function setUserRoles(
  db: DbHandles,
  call: AdminCall,
  input: { userId: string; roles: readonly string[]; reason: string },
): Promise<UserItem> {
  const roles = checkRoles(input.roles);
  return changeUser(db, call, input, {
    field: "roles",
    action: "user.roles_changed",
    refuse(before) {
      if (isSelf(call.actor, input.userId) && roles.some((r) => !before.roles.includes(r))) {
        // Nobody grants themselves a power: another admin must (four eyes on access).
        throw new AppError("FORBIDDEN", "you cannot grant yourself a role; ask another admin to do it", { details: { userId: input.userId } });
      }
      if (isSelf(call.actor, input.userId) && before.roles.includes("admin") && !roles.includes("admin")) {
        throw new AppError("FORBIDDEN", "you cannot remove your own admin role; ask another admin to do it", { details: { userId: input.userId } });
      }
    },
    isUnchanged: (before) => sameRoles(before.roles, roles),
    async write(tx, before) {
      await tx.userRole.deleteMany({ where: { userId: input.userId, role: { notIn: roles } } });
      const added = roles.filter((r) => !before.roles.includes(r));
      if (added.length > 0) await tx.userRole.createMany({ data: added.map((role) => ({ userId: input.userId, role })) });
      await tx.user.update({ where: { id: input.userId }, data: { updatedAt: new Date() } });
    },
  });
}

/**
 * Activates or deactivates a user; a deactivated user's next request has no actor. Errors, in
 * order: BAD_INPUT (reason), NOT_FOUND, FORBIDDEN (deactivating yourself).
 */
export async function setUserActive(
  db: DbHandles,
  call: AdminCall,
  input: { userId: string; isActive: boolean; reason: string },
): Promise<UserItem> {
  return changeUser(db, call, input, {
    field: "isActive",
    action: input.isActive ? "user.activated" : "user.deactivated",
    refuse() {
      if (isSelf(call.actor, input.userId) && !input.isActive) {
        throw new AppError("FORBIDDEN", "you cannot deactivate yourself; ask another admin to do it", { details: { userId: input.userId } });
      }
    },
    isUnchanged: (before) => before.isActive === input.isActive,
    async write(tx) {
      await tx.user.update({ where: { id: input.userId }, data: { isActive: input.isActive } });
    },
  });
}

/**
 * One audited change to a user's `field`, in one transaction: checks the reason, locks the user
 * (NOT_FOUND), lets `refuse` throw for a change the caller may not make, writes nothing when
 * `isUnchanged`, else `write`s, re-reads the user and records the field before and after.
 */
async function changeUser<K extends "roles" | "isActive">(
  db: DbHandles,
  call: AdminCall,
  input: { userId: string; reason: string },
  change: {
    field: K;
    action: string;
    refuse: (before: UserItem) => void;
    isUnchanged: (before: UserItem) => boolean;
    write: (tx: Prisma.TransactionClient, before: UserItem) => Promise<void>;
  },
): Promise<UserItem> {
  const reason = checkReason(input.reason);
  return db.prisma.$transaction(async (tx) => {
    const before = await lockUser(tx, input.userId);
    change.refuse(before);
    if (change.isUnchanged(before)) return before;
    await change.write(tx, before);
    const after = await getUser(tx, input.userId);
    const { field } = change;
    await auditAdminChange(tx, call, { action: change.action, targetType: "user", targetId: input.userId, reason, before: { [field]: before[field] }, after: { [field]: after[field] } });
    return after;
  });
}

/**
 * For the demo seed: creates the user when missing (audited as the system), and leaves an existing
 * one exactly as it is, so re-running the seed neither undoes an admin's changes nor adds audit
 * records.
 */
export async function upsertDemoUser(
  db: DbHandles,
  input: { email: string; name: string; roles: readonly RoleName[]; password: string | null },
): Promise<{ user: UserItem; isCreated: boolean }> {
  const prisma = db.prisma;
  const email = normaliseEmail(input.email);
  const existing = await prisma.user.findUnique({ where: { email }, select: USER_SELECT });
  if (existing) return { user: toItem(existing), isCreated: false };
  try {
    const user = await createUserAs(prisma, SYSTEM_ACTOR, null, { email, name: input.name, roles: input.roles, password: input.password ?? undefined }, "demo seed", {
      skipPasswordRules: true,
    });
    return { user, isCreated: true };
  } catch (e) {
    // Two seeders racing: the other one created it, which is the outcome we wanted.
    if (e instanceof AppError && e.code === "CONFLICT") {
      const again = await prisma.user.findUnique({ where: { email }, select: USER_SELECT });
      if (again) return { user: toItem(again), isCreated: false };
    }
    throw e;
  }
}

function isSelf(actor: Actor, userId: string): boolean {
  return actor.kind === "user" && actor.userId === userId;
}

function sameRoles(a: readonly RoleName[], b: readonly RoleName[]): boolean {
  return a.length === b.length && a.every((r) => b.includes(r));
}
