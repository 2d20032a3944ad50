/**
 * People and service keys. Thin: validate, check the permission, call one function in
 * server/admin, return its result.
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { reason, uuid } from "../inputs";
import { ROLES, SERVICE_KEY_SCOPES } from "../../core/permissions";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../auth/password";
import { createUser, listUsers, setUserActive, setUserRoles, USER_LIST_MAX_LIMIT } from "../../admin/users";
import { listServiceKeys, revokeServiceKey } from "../../admin/service-keys";
import { createServiceKeyUnderFourEyes } from "../../approvals/service-key-activation";
import { adjustmentKinds } from "../../composition";
import { releaseThrottleLock } from "../../admin/sign-in-locks";

const roles = z.array(z.enum(ROLES)).max(ROLES.length * 2);

const usersRouter = createRouter({
  /** Users ordered by email; `cursor` is the last email of the previous page. */
  list: procedure("users:read")
    .input(z.strictObject({ cursor: z.string().max(320).optional(), limit: z.number().int().min(1).max(USER_LIST_MAX_LIMIT).optional() }))
    .query(({ ctx, input }) => listUsers(ctx.db, input)),

  create: procedure("users:manage")
    .input(
      z.strictObject({
        email: z.email().max(320),
        name: z.string().trim().min(1).max(200),
        roles,
        password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).optional(),
      }),
    )
    .mutation(({ ctx, input }) => createUser(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),

  setRoles: procedure("users:manage")
    .input(z.strictObject({ userId: uuid, roles, reason }))
    .mutation(({ ctx, input }) => setUserRoles(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),

  setActive: procedure("users:manage")
    .input(z.strictObject({ userId: uuid, isActive: z.boolean(), reason }))
    .mutation(({ ctx, input }) => setUserActive(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),

  /** Ends a sign-in or step-up throttle lock of an account (email) or client address early; audited. */
  releaseThrottleLock: procedure("users:manage")
    .input(z.strictObject({ scope: z.enum(["signin", "totp"]), subject: z.enum(["account", "address"]), value: z.string().trim().min(1).max(320), reason }))
    .mutation(({ ctx, input }) => releaseThrottleLock(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),
});

const serviceKeysRouter = createRouter({
  /** Newest first, at most 200; never includes secrets. */
  list: procedure("service_keys:read").query(({ ctx }) => listServiceKeys(ctx.db)),

  /** Returns the secret once; it cannot be read again. */
  create: procedure("service_keys:manage")
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(100),
        // Checked against SERVICE_KEY_SCOPES by the domain, whose error names the bad scope.
        scopes: z.array(z.string().max(100)).min(1, "choose at least one scope").max(50),
        reason: reason.optional(),
        /** Ledger account code prefixes the key may debit; empty or absent: any. */
        debitAccountPrefixes: z.array(z.string().max(200)).max(20).optional(),
        /** Currencies the key may debit; empty or absent: any. */
        debitCurrencies: z.array(z.string().max(8)).max(20).optional(),
      }),
    )
    // A key that can move money is created waiting and its activation proposed (four eyes).
    .mutation(({ ctx, input }) => createServiceKeyUnderFourEyes(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, input)),

  revoke: procedure("service_keys:manage")
    .input(z.strictObject({ id: uuid, reason }))
    .mutation(({ ctx, input }) => revokeServiceKey(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),
});

export const adminRouter = createRouter({
  users: usersRouter,
  serviceKeys: serviceKeysRouter,
  /** The scopes a service key may be granted. */
  scopes: procedure("service_keys:read").query(() => [...SERVICE_KEY_SCOPES]),
});
