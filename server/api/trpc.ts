/**
 * The tRPC foundation: context, error mapping, and the one procedure builder.
 *
 * Deny by default: the only way to make a procedure is `procedure(permission)`, which records the
 * permission in the procedure's meta and checks it before the resolver runs. `createRouter`
 * refuses (throws at start-up) any procedure whose meta lacks a permission, so an unguarded
 * procedure cannot be registered. test/int/permission-matrix.int.test.ts walks every procedure.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { DbHandles } from "../db/client";
import type { Actor } from "../auth/actor";
import type { Permission } from "../auth/permissions";
import { AppError, ERROR_CODE_HTTP, type ErrorCode } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";

export interface Context {
  db: DbHandles;
  actor: Actor | null;
  requestId: string;
  ip: string | null;
}

export interface Meta {
  /** The permission a caller needs; "authenticated" means any signed-in user or valid key. */
  permission: Permission | "authenticated";
}

export interface FieldIssue {
  path: string;
  message: string;
}

function zodIssues(e: ZodError): FieldIssue[] {
  return e.issues.map((i) => ({ path: i.path.map(String).join(".") || "(input)", message: i.message }));
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      const appCode: ErrorCode | null = cause instanceof AppError ? cause.code : error.code === "BAD_REQUEST" ? "BAD_INPUT" : null;
      const fieldErrors = cause instanceof ZodError ? zodIssues(cause) : null;
      let message = shape.message;
      if (fieldErrors) message = `invalid input: ${fieldErrors.map((f) => `${f.path}: ${f.message}`).join("; ")}`;
      if (error.code === "INTERNAL_SERVER_ERROR" && !(cause instanceof AppError)) message = "internal error";
      return {
        ...shape,
        message,
        data: {
          code: shape.data.code,
          httpStatus: shape.data.httpStatus,
          path: shape.data.path,
          appCode,
          fieldErrors,
          details: cause instanceof AppError ? (cause.details ?? null) : null,
          isRetryable: cause instanceof AppError ? cause.isRetryable : false,
        },
      };
    },
  });

/** Converts domain errors thrown below into TRPCErrors with the mapped HTTP code. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const err = result.error;
  if (err.code !== "INTERNAL_SERVER_ERROR") return result;
  const app = toAppError(err.cause);
  if (!app) return result;
  throw new TRPCError({ code: ERROR_CODE_HTTP[app.code], message: app.message, cause: app });
});

/** Builds a procedure guarded by `permission`. The only exported procedure builder. */
export function procedure(permission: Meta["permission"]) {
  return t.procedure
    .meta({ permission })
    .use(mapErrors)
    .use(async ({ ctx, next }) => {
      if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in or send a valid service key" });
      if (permission !== "authenticated" && !ctx.actor.permissions.has(permission)) {
        throw new TRPCError({ code: "FORBIDDEN", message: `permission ${permission} is required` });
      }
      return next({ ctx: { ...ctx, actor: ctx.actor } });
    });
}

type RouterRecord = Parameters<typeof t.router>[0];

/** Creates a router after checking that every procedure in it declares a permission. */
export function createRouter<T extends RouterRecord>(record: T) {
  const router = t.router(record);
  for (const [path, proc] of Object.entries(router._def.procedures as Record<string, { _def: { meta?: Meta } }>)) {
    if (!proc._def.meta?.permission) throw new Error(`tRPC procedure ${path} declares no permission; use procedure(permission)`);
  }
  return router;
}

export const createCallerFactory = t.createCallerFactory;
