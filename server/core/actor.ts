/**
 * Who is calling. Every request resolves to one actor (or none); permissions come from the actor
 * alone, never from the request body.
 */
import type { Permission, RoleName } from "./permissions";
import { permissionsForRoles } from "./permissions";

export type ActorType = "user" | "service" | "system";

/** An actor as the audit log records it. */
export interface AuditActor {
  type: ActorType;
  /** User id, service key id, or the name of the system component. */
  id: string | null;
  /** Human-readable: an email, a key name, "worker". */
  label: string;
}

/**
 * Where a service key's money may come from: ledger account code prefixes and currencies it may
 * debit; an empty list means no limit of that kind (server/core/debit-limits.ts applies them).
 */
export interface DebitLimits {
  accountCodePrefixes: readonly string[];
  currencies: readonly string[];
}

export const NO_DEBIT_LIMITS: DebitLimits = { accountCodePrefixes: [], currencies: [] };

export type Actor =
  | { kind: "user"; userId: string; email: string; name: string; roles: RoleName[]; permissions: Set<Permission> }
  | {
      kind: "service";
      keyId: string;
      name: string;
      permissions: Set<Permission>;
      /** The person who created the key: what the key proposes counts as theirs (four eyes). */
      createdById: string | null;
      /** Where the key's money may come from (server/core/debit-limits.ts). */
      debitLimits: DebitLimits;
    };

export function userActor(u: { id: string; email: string; name: string; roles: RoleName[] }): Actor {
  return { kind: "user", userId: u.id, email: u.email, name: u.name, roles: u.roles, permissions: permissionsForRoles(u.roles) };
}

export function serviceActor(k: { id: string; name: string; scopes: Permission[]; createdById?: string | null; debitLimits?: DebitLimits }): Actor {
  return { kind: "service", keyId: k.id, name: k.name, permissions: new Set(k.scopes), createdById: k.createdById ?? null, debitLimits: k.debitLimits ?? NO_DEBIT_LIMITS };
}

export function auditActorOf(actor: Actor): AuditActor {
  return actor.kind === "user"
    ? { type: "user", id: actor.userId, label: actor.email }
    : { type: "service", id: actor.keyId, label: `service:${actor.name}` };
}

/** The audit view of whoever acts: a request's actor, or an AuditActor passed through as is. */
export function toAuditActor(actor: Actor | AuditActor): AuditActor {
  return "kind" in actor ? auditActorOf(actor) : actor;
}

/** The system acting by itself; each component signs with its own label. */
export function systemActor(label: string): AuditActor {
  return { type: "system", id: null, label };
}

export const SYSTEM_ACTOR: AuditActor = systemActor("system");
/** The transfers domain: reserving, settling and releasing transfers' money. */
export const TRANSFERS_ACTOR: AuditActor = systemActor("transfers");
