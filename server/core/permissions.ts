/**
 * Permissions and the role table: deny by default. A role grants exactly the permissions listed
 * here; a service key holds an explicit subset of PERMISSIONS as its scopes. Every tRPC procedure
 * names one permission (server/api/trpc.ts); the permission-matrix test walks them all.
 */

export const PERMISSIONS = [
  "session:read",
  "audit:read",
  "users:read",
  "users:manage",
  "service_keys:read",
  "service_keys:manage",
  "ledger:read",
  "ledger:write",
  "accounts:manage",
  "transfers:read",
  "transfers:create",
  "transfers:operate",
  "adjustments:read",
  "adjustments:propose",
  "adjustments:approve",
  "approvals:policy",
  "outbox:read",
  "outbox:manage",
  "partners:manage",
  "pricing:read",
  "pricing:quote",
  "pricing:manage",
  "recon:read",
  "recon:operate",
  "recon:rules",
  "slo:read",
  "slo:manage",
  "incidents:manage",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["viewer", "operator", "approver", "admin"] as const;
export type RoleName = (typeof ROLES)[number];

const READ: Permission[] = ["session:read", "audit:read", "ledger:read", "transfers:read", "adjustments:read", "pricing:read", "recon:read", "slo:read"];

export const ROLE_PERMISSIONS: Record<RoleName, readonly Permission[]> = {
  viewer: READ,
  operator: [...READ, "transfers:operate", "adjustments:propose", "accounts:manage", "pricing:quote", "recon:operate", "incidents:manage"],
  approver: [...READ, "adjustments:approve"],
  admin: [...READ, "users:read", "users:manage", "service_keys:read", "service_keys:manage", "accounts:manage", "outbox:read", "outbox:manage", "approvals:policy", "partners:manage", "pricing:quote", "pricing:manage", "recon:rules", "slo:manage", "incidents:manage"],
};

/**
 * Permissions a service key may be granted. Console-only powers (people, keys, approvals, outbox
 * subscriptions: a key that could subscribe an endpoint could read every event) are excluded.
 */
export const SERVICE_KEY_SCOPES: readonly Permission[] = PERMISSIONS.filter(
  (p) =>
    !p.startsWith("users:") &&
    !p.startsWith("service_keys:") &&
    !p.startsWith("outbox:") &&
    p !== "adjustments:approve" &&
    p !== "approvals:policy" &&
    p !== "partners:manage" &&
    p !== "pricing:manage" &&
    p !== "recon:rules" &&
    p !== "slo:manage" &&
    p !== "incidents:manage",
);

/**
 * Role pairs one person may not hold together (separation of duties; docs/separation-of-duties.md).
 * Whoever administers people, roles, service keys and the approvals policy could otherwise create
 * the second pair of eyes they need, or approve what their own keys proposed: an admin does not
 * approve. Assigning a pair is refused, and an approval by someone holding one does not count.
 */
export const CONFLICTING_ROLES: readonly (readonly [RoleName, RoleName])[] = [["admin", "approver"]];

/** The first conflicting pair among `roles`, or null. */
export function conflictingRolesOf(roles: readonly string[]): readonly [RoleName, RoleName] | null {
  return CONFLICTING_ROLES.find(([a, b]) => roles.includes(a) && roles.includes(b)) ?? null;
}

/** Roles that grant adjustments:approve. */
export const APPROVER_ROLES: readonly RoleName[] = ROLES.filter((r) => ROLE_PERMISSIONS[r].includes("adjustments:approve"));

/**
 * Whether a person counts as an approver now: active, holding a role that grants
 * adjustments:approve, and no conflicting pair of roles. Checked for the approver approving and,
 * when a proposal is applied, for every earlier approval.
 */
export function isStandingApprover(person: { isActive: boolean; roles: readonly string[] }): boolean {
  return person.isActive && person.roles.some((r) => (APPROVER_ROLES as readonly string[]).includes(r)) && conflictingRolesOf(person.roles) === null;
}

/**
 * Scopes with which a key can move money or propose to: a key holding any of them works only after
 * a second person approves it (server/admin/service-keys.ts), because it can post the entries the
 * journal_entry and reversal approval kinds need two people for.
 */
export const MONEY_MOVING_SCOPES: readonly Permission[] = ["ledger:write", "transfers:create", "accounts:manage", "adjustments:propose"];

export function permissionsForRoles(roles: readonly RoleName[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) for (const p of ROLE_PERMISSIONS[r]) out.add(p);
  return out;
}

export function isPermission(v: string): v is Permission {
  return (PERMISSIONS as readonly string[]).includes(v);
}
