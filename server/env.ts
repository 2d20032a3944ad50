/**
 * The one place that reads process.env. Every variable is validated with zod when first read; a
 * missing or malformed variable stops the process with a message naming the variable and what is
 * wrong. Every variable is documented in .env.example.
 */
import { z } from "zod";

const booleanString = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1");

const postgresUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === "postgres:" || u.protocol === "postgresql:";
    } catch {
      return false;
    }
  }, "must be a postgres:// or postgresql:// URL");

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an absolute http(s) URL");

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    /** PostgreSQL connection string. Set by the embedded launcher when absent at `npm start`. */
    DATABASE_URL: postgresUrl.optional(),
    /** Maximum connections per process in the pool. */
    DB_POOL_MAX: intString(1, 500).default(20),
    /** How long to wait for a free pooled connection before failing with DB_UNAVAILABLE. */
    DB_POOL_ACQUIRE_TIMEOUT_MS: intString(100, 120_000).default(5_000),
    /** Statement timeout applied to every connection. */
    DB_STATEMENT_TIMEOUT_MS: intString(100, 600_000).default(30_000),
    /** Public base URL of the console, used by next-auth for callbacks. */
    NEXTAUTH_URL: httpUrl.optional(),
    /** Secret that signs session tokens. Required in production; at least 32 characters. */
    NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    /** Session lifetime. */
    SESSION_MAX_AGE_SECONDS: intString(60, 30 * 24 * 3600).default(8 * 3600),
    /** OpenID Connect provider for production sign-in; all three or none. */
    AUTH_OIDC_ISSUER: httpUrl.optional(),
    AUTH_OIDC_CLIENT_ID: z.string().min(1).optional(),
    AUTH_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    AUTH_OIDC_NAME: z.string().min(1).default("Single sign-on"),
    /** Enables email + password sign-in for seeded users. Never on implicitly in production. */
    AUTH_CREDENTIALS_ENABLED: booleanString.optional(),
    /** Demo mode: embedded database, demo world, demo sign-ins. Set by `npm start`. */
    DEMO_MODE: booleanString.default(false),
    /** Allowed Origin for browser mutations; defaults to NEXTAUTH_URL's origin. */
    APP_ORIGIN: httpUrl.optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Port for `npm start` and `npm run start:web`. */
    PORT: intString(1, 65535).default(3000),
    /** Folder for the embedded database and local state. */
    DATA_DIR: z.string().min(1).default(".data"),
    /** Port of the embedded PostgreSQL that `npm start` runs when DATABASE_URL is unset. */
    EMBEDDED_PG_PORT: intString(1, 65535).default(54329),
    /** Seed the demo world on start even with DATABASE_URL set. */
    SEED_DEMO: booleanString.default(false),
    /** How long ledger idempotency records are kept before the worker prunes them (at least 24 h). */
    IDEMPOTENCY_RETENTION_HOURS: intString(24, 24 * 365).default(72),
    /** Ledger group commit: concurrent single transfers and entries share one transaction. */
    LEDGER_GROUP_COMMIT: booleanString.default(true),
    /** How long the first command of a group waits for others to join it. */
    LEDGER_GROUP_COMMIT_WINDOW_MS: intString(0, 100).default(1),
    /** Most commands in one group transaction. */
    LEDGER_GROUP_COMMIT_MAX: intString(1, 1000).default(64),
    /** Port the worker serves /metrics and /health on (0 disables). */
    WORKER_METRICS_PORT: intString(0, 65535).default(9465),
  })
  .superRefine((env, ctx) => {
    const oidc = [env.AUTH_OIDC_ISSUER, env.AUTH_OIDC_CLIENT_ID, env.AUTH_OIDC_CLIENT_SECRET];
    const oidcSet = oidc.filter((v) => v !== undefined).length;
    if (oidcSet !== 0 && oidcSet !== 3) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_OIDC_ISSUER"],
        message: "AUTH_OIDC_ISSUER, AUTH_OIDC_CLIENT_ID and AUTH_OIDC_CLIENT_SECRET must be set together",
      });
    }
    if (env.NODE_ENV === "production" && !env.DEMO_MODE && !env.NEXTAUTH_SECRET) {
      ctx.addIssue({ code: "custom", path: ["NEXTAUTH_SECRET"], message: "is required in production" });
    }
  });

export type Env = z.infer<typeof envSchema>;

/** Every variable this module reads (documented one by one in .env.example). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Validates a raw environment; exported for tests. Throws ConfigError naming each bad variable. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  // Empty strings are treated as unset, as most shells and .env files intend.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ""));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "environment"} ${i.message}`));
  }
  return result.data;
}

let cached: Env | undefined;

/** The validated configuration of this process. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** Whether email + password sign-in is on: explicit setting first, else only in demo mode. */
export function isCredentialsSignInEnabled(e: Env = env()): boolean {
  return e.AUTH_CREDENTIALS_ENABLED ?? e.DEMO_MODE;
}

/** Test hook: forget the cached configuration so the next env() call re-reads process.env. */
export function resetEnvForTests(): void {
  cached = undefined;
}

/**
 * Writes variables into this process's environment for child processes and libraries that read
 * it themselves (Next.js, next-auth). Only launchers use it, before anything else reads env().
 */
export function setProcessEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
  cached = undefined;
}

/** Raw read for the launcher's child-process environment: the full inherited environment. */
export function processEnvSnapshot(): Record<string, string | undefined> {
  return { ...process.env };
}
