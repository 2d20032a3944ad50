/**
 * Deny by default, proved for every procedure the app has now and any added later: each one is
 * called through createCaller as no one, as each single role, as a service key without the needed
 * scope and as a service key holding it (when it is grantable to keys at all). The expected answer
 * comes from ROLE_PERMISSIONS and SERVICE_KEY_SCOPES only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTRPC, TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { createTestDb, type TestDb } from "../support/test-db";
import { appRouter, createCaller } from "../../server/api/root";
import { createRouter, procedure, type Context, type Meta } from "../../server/api/trpc";
import { userActor, serviceActor, type Actor } from "../../server/core/actor";
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS, SERVICE_KEY_SCOPES, type Permission } from "../../server/core/permissions";
import { isGrantableScope } from "../../server/auth/service-key-secret";

interface ProcDef {
  _def: { type: "query" | "mutation" | "subscription"; meta?: Meta };
}

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, ProcDef>).sort(([a], [b]) => a.localeCompare(b));

/** What the permission rule says; `null` for "must not be refused". */
function expectedRefusal(actor: Actor | null, permission: Meta["permission"]): "UNAUTHORIZED" | "FORBIDDEN" | null {
  if (!actor) return "UNAUTHORIZED";
  if (permission === "authenticated") return null;
  if (actor.kind === "user") return actor.roles.some((r) => ROLE_PERMISSIONS[r].includes(permission)) ? null : "FORBIDDEN";
  return actor.permissions.has(permission) ? null : "FORBIDDEN";
}

/** A service key's actor as service-key-auth builds it: only grantable scopes count. */
function keyActor(scopes: readonly Permission[]): Actor {
  return serviceActor({ id: randomUUID(), name: "matrix", scopes: scopes.filter(isGrantableScope) });
}

function actorsFor(permission: Meta["permission"]): { label: string; actor: Actor | null }[] {
  const out: { label: string; actor: Actor | null }[] = [{ label: "no actor", actor: null }];
  for (const role of ROLES) {
    out.push({ label: `role ${role}`, actor: userActor({ id: randomUUID(), email: `${role}@matrix.test`, name: role, roles: [role] }) });
  }
  const others = SERVICE_KEY_SCOPES.filter((s) => s !== permission);
  out.push({ label: "service key without the scope", actor: keyActor(others) });
  if (permission !== "authenticated") out.push({ label: `service key with exactly ${permission}`, actor: keyActor([permission]) });
  return out;
}

// Garbage input: fails any object or array schema, so nothing is written, yet permission checks
// (which run before input parsing) still decide.
const GARBAGE = "garbage-input-from-the-permission-matrix";

async function callProcedure(ctx: Context, path: string): Promise<unknown> {
  const caller = createCaller(ctx) as unknown as Record<string, unknown>;
  const fn = path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (input: unknown) => Promise<unknown>;
  return fn(GARBAGE);
}

let t: TestDb;

beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t?.drop();
});

describe("permission matrix", () => {
  it("covers a non-trivial router (admin and session at least)", () => {
    const paths = procedures.map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(["session.whoami", "admin.users.list", "admin.users.create", "admin.serviceKeys.revoke", "admin.scopes"]));
  });

  it.each(procedures.map(([path, proc]) => [path, proc] as const))("%s declares a permission", (_path, proc) => {
    const p = proc._def.meta?.permission;
    expect(p === "authenticated" || (PERMISSIONS as readonly string[]).includes(p ?? "")).toBe(true);
  });

  const cases = procedures
    .filter(([, proc]) => proc._def.type !== "subscription")
    .flatMap(([path, proc]) => actorsFor(proc._def.meta!.permission).map((a) => ({ path, permission: proc._def.meta!.permission, ...a })));

  it.each(cases)("$path as $label", async ({ path, permission, actor }) => {
    const expected = expectedRefusal(actor, permission);
    let code: string | null = null;
    try {
      await callProcedure({ db: t, actor, requestId: randomUUID(), ip: null }, path);
    } catch (e) {
      code = e instanceof TRPCError ? e.code : "NON_TRPC_ERROR";
    }
    if (expected) {
      expect(code).toBe(expected);
    } else {
      expect(code === "UNAUTHORIZED" || code === "FORBIDDEN" ? code : "not refused").toBe("not refused");
    }
  });

  it("garbage input is refused with BAD_REQUEST naming the fields, for an admin", async () => {
    const admin = userActor({ id: randomUUID(), email: "a@matrix.test", name: "a", roles: ["admin"] });
    const caller = createCaller({ db: t, actor: admin, requestId: randomUUID(), ip: null });
    const err = await caller.admin.users.setRoles({ userId: "not-a-uuid", roles: ["king"] } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("BAD_REQUEST");
  });
});

describe("key limits and the separation of duties (issue 14)", () => {
  it("covers the procedures added for issue 14", () => {
    const paths = procedures.map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(["audit.requestVerification", "admin.users.releaseThrottleLock", "ledger.accounts.unfreeze"]));
  });

  it("money-moving scopes are exactly the ones a key needs a second person for, and all grantable", async () => {
    const { MONEY_MOVING_SCOPES } = await import("../../server/core/permissions");
    expect([...MONEY_MOVING_SCOPES].sort()).toEqual(["accounts:manage", "adjustments:propose", "ledger:write", "transfers:create"]);
    for (const s of MONEY_MOVING_SCOPES) expect(isGrantableScope(s)).toBe(true);
  });

  it("a key holding transfers:create but limited to other accounts is refused (FORBIDDEN), after the permission check", async () => {
    const limited = serviceActor({ id: randomUUID(), name: "limited", scopes: ["transfers:create"], debitLimits: { accountCodePrefixes: ["customer:elsewhere:"], currencies: [] } });
    const account = await t.pool.query<{ id: string }>(
      `INSERT INTO ledger_accounts (id, code, name, currency, normal_side, type) VALUES (gen_random_uuid(), 'customer:matrix:wallet', 'w', 'EUR', 'credit', 'liability') RETURNING id::text AS id`,
    );
    const err = await createCaller({ db: t, actor: limited, requestId: randomUUID(), ip: null })
      .transfers.create({ sourceAccountId: account.rows[0]!.id, counterpartyName: "J", counterpartyAccount: "DE89370400440532013000", amountMinor: "1", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("FORBIDDEN");
    expect((err as TRPCError).message).toMatch(/may not debit account customer:matrix:wallet/);
  });

  it("people holding admin never pass an approver-only check, even with the approver role", async () => {
    const both = userActor({ id: randomUUID(), email: "both@matrix.test", name: "both", roles: ["admin", "approver"] });
    const err = await createCaller({ db: t, actor: both, requestId: randomUUID(), ip: null })
      .approvals.approve({ proposalId: randomUUID() })
      .catch((e: unknown) => e);
    expect((err as TRPCError).code).toBe("FORBIDDEN");
  });
});

describe("createRouter", () => {
  it("throws for a procedure without a permission", () => {
    const other = initTRPC.context<Context>().meta<Meta>().create();
    const unguarded = other.procedure.query(() => "open");
    expect(() => createRouter({ open: unguarded } as never)).toThrow(/open declares no permission/);
    expect(() => createRouter({ nested: createRouter({ fine: procedure("session:read").query(() => 1) }), open: unguarded } as never)).toThrow(/declares no permission/);
  });

  it("accepts guarded procedures", () => {
    expect(() => createRouter({ fine: procedure("session:read").query(() => 1) })).not.toThrow();
  });
});
