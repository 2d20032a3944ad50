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
import { z, ZodError } from "zod";
import type { DbHandles } from "../db/client";
import type { Actor } from "../core/actor";
import type { Permission } from "../core/permissions";
import { AppError, ERROR_CODE_HTTP, type ErrorCode } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { findBadText } from "../core/text";
import { SpanKind, withSpan } from "../observability/tracing";
import { webMetrics } from "../observability/metrics";

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

/** A domain error that names its field (details.field) as a field error, like zod's. */
function appFieldIssues(e: AppError): FieldIssue[] | null {
  const field = e.details?.field;
  return typeof field === "string" ? [{ path: field, message: e.message }] : null;
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      const appCode: ErrorCode | null = cause instanceof AppError ? cause.code : error.code === "BAD_REQUEST" ? "BAD_INPUT" : null;
      const fieldErrors = cause instanceof ZodError ? zodIssues(cause) : cause instanceof AppError ? appFieldIssues(cause) : null;
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

/**
 * Refuses, before the input schema runs, any string (value or object key) in the input that
 * cannot be stored: NUL, an unpaired surrogate, a control character (server/core/text.ts).
 * PostgreSQL would otherwise fail deep inside a write, as a 500.
 */
const refuseBadText = t.middleware(async ({ getRawInput, next }) => {
  const bad = findBadText(await getRawInput());
  if (bad) {
    const cause = new AppError("BAD_INPUT", `${bad.path} ${bad.reason}`, { details: { field: bad.path } });
    throw new TRPCError({ code: "BAD_REQUEST", message: cause.message, cause });
  }
  return next();
});

/**
 * Observes every procedure call: a span `trpc <path>` (child of the request's trace) and the
 * latency histogram by procedure and outcome. Outermost, so it sees the final, mapped error.
 */
const observe = t.middleware(async ({ path, type, ctx, next }) => {
  const started = performance.now();
  return withSpan(`trpc ${path}`, { kind: SpanKind.INTERNAL, attributes: { "rpc.system": "trpc", "rpc.method": path, "rpc.type": type, "request.id": ctx.requestId } }, async (span) => {
    const result = await next();
    const outcome = result.ok ? "ok" : result.error.code;
    if (!result.ok) span.setAttributes({ "rpc.error.code": result.error.code, "error.type": result.error.code });
    webMetrics().procedureDuration.observe({ procedure: path, type, outcome }, (performance.now() - started) / 1000);
    return result;
  });
});

/** Builds a procedure guarded by `permission`. The only exported procedure builder. */
export function procedure(permission: Meta["permission"]) {
  return t.procedure
    .meta({ permission })
    .use(observe)
    .use(mapErrors)
    .use(async ({ ctx, next }) => {
      if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in or send a valid service key" });
      if (permission !== "authenticated" && !ctx.actor.permissions.has(permission)) {
        throw new TRPCError({ code: "FORBIDDEN", message: `permission ${permission} is required` });
      }
      return next({ ctx: { ...ctx, actor: ctx.actor } });
    })
    .use(refuseBadText);
}

type RouterRecord = Parameters<typeof t.router>[0];

/**
 * Creates a router after checking that every procedure in it declares a permission and that every
 * mutation refuses unknown fields (a misspelt field, such as expectedVersion for
 * expectedVersions, must not be dropped silently: it may have been the caller's guard).
 */
export function createRouter<T extends RouterRecord>(record: T) {
  const router = t.router(record);
  for (const [path, proc] of Object.entries(router._def.procedures as Record<string, { _def: { meta?: Meta; type?: string; inputs?: unknown[] } }>)) {
    if (!proc._def.meta?.permission) throw new Error(`tRPC procedure ${path} declares no permission; use procedure(permission)`);
    if (proc._def.type === "mutation") {
      if ((proc._def.inputs ?? []).length === 0) throw new Error(`tRPC mutation ${path} declares no input; use .input(NO_INPUT) so that fields sent to it are refused`);
      for (const input of proc._def.inputs ?? []) {
        const loose = findLooseObject(input);
        if (loose !== null) throw new Error(`tRPC mutation ${path} accepts unknown fields at ${loose || "(input)"}; use z.strictObject`);
      }
    }
  }
  return router;
}

/** The input of a mutation that takes none: nothing, or an empty object; any field is refused. */
export const NO_INPUT = z.strictObject({}).optional();

type ZodDef = { type?: string; catchall?: { _zod?: { def?: ZodDef } }; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown; out?: unknown; element?: unknown; options?: unknown[] };

/** The path of the first object schema in `schema` that accepts unknown keys, or null (zod 4). */
export function findLooseObject(schema: unknown, path = ""): string | null {
  const def = (schema as { _zod?: { def?: ZodDef } } | null)?._zod?.def;
  if (!def) return null;
  switch (def.type) {
    case "object": {
      if (def.catchall?._zod?.def?.type !== "never") return path;
      for (const [k, v] of Object.entries(def.shape ?? {})) {
        const found = findLooseObject(v, path ? `${path}.${k}` : k);
        if (found !== null) return found;
      }
      return null;
    }
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return findLooseObject(def.innerType, path);
    case "pipe":
      return findLooseObject(def.in, path) ?? findLooseObject(def.out, path);
    case "array":
      return findLooseObject(def.element, `${path}[]`);
    case "union":
      for (const o of def.options ?? []) {
        const found = findLooseObject(o, path);
        if (found !== null) return found;
      }
      return null;
    default:
      return null;
  }
}

export const createCallerFactory = t.createCallerFactory;
