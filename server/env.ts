/**
 * The one place that reads process.env. Every variable is validated with zod when first read; a
 * missing or malformed variable stops the process with a message naming the variable and what is
 * wrong. Every variable is documented in .env.example.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import ipaddr from "ipaddr.js";
import { z } from "zod";

function isEd25519Key(raw: string, kind: "private" | "public"): boolean {
  try {
    const text = raw.trim();
    const isPem = text.startsWith("-----BEGIN");
    const key =
      kind === "private"
        ? createPrivateKey(isPem ? text : { key: Buffer.from(text, "base64"), format: "der", type: "pkcs8" })
        : createPublicKey(isPem ? text : { key: Buffer.from(text, "base64"), format: "der", type: "spki" });
    return key.asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}

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

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

const httpUrl = z.string().refine(isHttpUrl, "must be an absolute http(s) URL");

/** Most URLs a comma-separated URL list may hold. */
export const MAX_URL_LIST = 16;

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** A TCP port to listen on or connect to. */
const port = intString(1, 65535);

/** An AES-256-GCM key: 64 hex characters or base64 of 32 bytes. */
const aes256Key = z
  .string()
  .refine((v) => /^[0-9a-fA-F]{64}$/.test(v) || (/^[A-Za-z0-9+/_-]{43}=?$/.test(v) && Buffer.from(v, "base64").length === 32), "must be 64 hex characters or base64 of 32 bytes");

/** An Ed25519 key: private as PKCS#8, public as SPKI, each PEM or base64 of its DER. */
const ed25519Key = (kind: "private" | "public") =>
  z.string().refine((v) => isEd25519Key(v, kind), kind === "private" ? "must be an Ed25519 private key (PKCS#8 PEM or base64 DER)" : "must be an Ed25519 public key (SPKI PEM or base64 DER)");

const envSchemaBase = z.object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    /**
     * PostgreSQL connection string of the web and worker processes: a role that owns no table
     * (server/db/runtime-role.ts). Set by the embedded launcher when absent at `npm start`.
     */
    DATABASE_URL: postgresUrl.optional(),
    /**
     * The same database as the tables' owner, for migrations (`npm run db:migrate`, `npm start`):
     * they run as it and grant DATABASE_URL's role what it needs. Unset: migrations run as
     * DATABASE_URL's role (a single-role setup, refused in production).
     */
    DATABASE_MIGRATION_URL: postgresUrl.optional(),
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
    /** Demo mode: embedded database, demo world, demo sign-ins. Set by `npm start`. Refused in production. */
    DEMO_MODE: booleanString.default(false),
    /**
     * Set by `npm start` and the e2e server on the processes they run as a local demo: Next.js
     * serves a build only with NODE_ENV=production, so this mark (together with a database on
     * this machine) is what keeps a demo from counting as a production deployment.
     */
    DEMO_LAUNCHER: booleanString.default(false),
    /**
     * Reverse proxies in front of the web process that append to X-Forwarded-For (a load balancer:
     * 1). The client address is the entry that many hops from the right; 0: no proxy, and the
     * client address is unknown (Next.js does not pass the socket's address on).
     */
    TRUSTED_PROXY_COUNT: intString(0, 10).default(0),
    /** Failed sign-ins (or step-up codes) of one account within AUTH_THROTTLE_LOCK_MINUTES that lock it for that long. */
    AUTH_THROTTLE_ACCOUNT_FAILURES: intString(1, 1000).default(10),
    /** Failed sign-ins (or step-up codes) from one client address within AUTH_THROTTLE_LOCK_MINUTES that lock it. */
    AUTH_THROTTLE_ADDRESS_FAILURES: intString(1, 100_000).default(100),
    /** The counting window and the lock's length, in minutes. */
    AUTH_THROTTLE_LOCK_MINUTES: intString(1, 1440).default(15),
    /** Days a security event (refused sign-in, key or webhook) is kept after its last repeat (1-3650). */
    SECURITY_EVENTS_RETENTION_DAYS: intString(1, 3650).default(90),
    /** Security events of one kind from one client address per minute and process before the rest are only counted. */
    SECURITY_EVENTS_MAX_PER_MINUTE: intString(1, 10_000).default(60),
    /** Allowed Origin for browser mutations; defaults to NEXTAUTH_URL's origin. */
    APP_ORIGIN: httpUrl.optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** json: one JSON object a line (production); pretty: readable coloured lines (`npm start` in a terminal sets it). */
    LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
    /**
     * OpenTelemetry traces (server/observability/tracing.ts), off by default. On when
     * OTEL_TRACES_EXPORTER is otlp or console, or an OTLP endpoint is set; OTEL_SDK_DISABLED=true or
     * OTEL_TRACES_EXPORTER=none keep it off. The OTLP exporter reads its own standard variables
     * (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, ...), as the specification says.
     */
    OTEL_SDK_DISABLED: booleanString.default(false),
    OTEL_TRACES_EXPORTER: z.enum(["otlp", "console", "none"]).optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
    /** service.name of this process's spans; default ledger-console-<web|worker>. */
    OTEL_SERVICE_NAME: z.string().min(1).max(200).optional(),
    /** Link from a transfer's page to its trace, with {traceId} in place of the trace id (e.g. https://tempo.example/explore?traceId={traceId}). */
    TRACE_URL_TEMPLATE: z.string().refine((v) => v.includes("{traceId}") && /^https?:\/\//.test(v), "must be an http(s) URL containing {traceId}").optional(),
    /** Bearer token Prometheus sends to /api/metrics (at least 16 characters); unset: /api/metrics answers 404. */
    METRICS_BEARER_TOKEN: z.string().min(16, "must be at least 16 characters").max(512).optional(),
    /** Port for `npm start` and `npm run start:web`. */
    PORT: port.default(3000),
    /** Folder for the embedded database and local state. */
    DATA_DIR: z.string().min(1).default(".data"),
    /** Port of the embedded PostgreSQL that `npm start` runs when DATABASE_URL is unset. */
    EMBEDDED_PG_PORT: port.default(54329),
    /** Seed the demo world on start even with DATABASE_URL set. */
    SEED_DEMO: booleanString.default(false),
    /** The worker runs the demo traffic generator (server/demo/traffic.ts); `npm start` sets it in demo mode. */
    DEMO_TRAFFIC: booleanString.default(false),
    /** How long ledger idempotency records are kept before the worker prunes them (at least 24 h). */
    IDEMPOTENCY_RETENTION_HOURS: intString(24, 24 * 365).default(72),
    /** Ledger group commit: concurrent single transfers and entries share one transaction. */
    LEDGER_GROUP_COMMIT: booleanString.default(true),
    /** How long the first command of a group waits for others to join it. */
    LEDGER_GROUP_COMMIT_WINDOW_MS: intString(0, 100).default(1),
    /** Most commands in one group transaction. */
    LEDGER_GROUP_COMMIT_MAX: intString(1, 1000).default(64),
    /** Group transactions of one pool in flight at once; arrivals beyond them wait and form the next groups. */
    LEDGER_GROUP_COMMIT_IN_FLIGHT: intString(1, 64).default(2),
    /** How long a valid service key's lookup is reused by the API (ms); 0 looks every call up. Revocation in the same process takes effect at once. */
    SERVICE_KEY_CACHE_MS: intString(0, 60_000).default(1000),
    /** Admission control for new transfers (server/transfers/admission.ts). */
    TRANSFER_ADMISSION_ENABLED: booleanString.default(true),
    /**
     * New transfers are refused (OVERLOADED) while more than this many wait for submission... About
     * two seconds of the pipeline's pace, so that admitted work keeps its latency under overload
     * (beyond capacity, admitted transfers waited this bound's worth of work: a p99 of 5-10 s at
     * 2,000; docs/performance.md), and well above what a worker restart leaves at normal traffic.
     */
    TRANSFER_ADMISSION_MAX_BACKLOG: intString(1, 10_000_000).default(1_000),
    /** ...or while the oldest of them has waited longer than this (ms); long enough for a worker restart. */
    TRANSFER_ADMISSION_MAX_WAIT_MS: intString(100, 3_600_000).default(30_000),
    /**
     * ...or while even the quickest of a sample's creates in this process waited longer than this
     * (ms) before its transaction began: creates queueing for a saturated database, a wait the
     * backlog cannot see.
     */
    TRANSFER_ADMISSION_MAX_CREATE_MS: intString(10, 600_000).default(500),
    /** How often each process samples the backlog (ms). */
    TRANSFER_ADMISSION_SAMPLE_MS: intString(10, 60_000).default(250),
    /**
     * How often the worker vacuums the product's tables that autovacuum does not look after (a
     * server with autovacuum = off; server/db/vacuum-fallback.ts); 0 turns it off.
     */
    DB_VACUUM_FALLBACK_INTERVAL_MS: intString(0, 3_600_000)
      .refine((v) => v === 0 || v >= 1_000, "must be 0 (off) or at least 1000")
      .default(15_000),
    /** Port the worker serves /metrics and /health on (0 disables). */
    WORKER_METRICS_PORT: intString(0, 65535).default(9465),
    /** Partner calls each worker process keeps in flight, in units of 32 (server/worker/submission-loop.ts). */
    WORKER_TRANSFER_CONCURRENCY: intString(1, 64).default(4),
    /** Partner sandbox (server/sandbox): the port its process listens on (127.0.0.1). */
    SANDBOX_PORT: port.default(4010),
    /** Where the sandbox adapter reaches the sandbox; default http://127.0.0.1:SANDBOX_PORT. */
    SANDBOX_URL: httpUrl.optional(),
    /** The secret the sandbox signs its webhooks with; unset: a fixed demo secret outside production. */
    SANDBOX_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").max(256).optional(),
    /** Secrets we accept on sandbox webhooks, comma-separated (two during a rotation); default SANDBOX_WEBHOOK_SECRET. */
    PARTNER_SANDBOX_WEBHOOK_SECRETS: z
      .string()
      .refine((v) => v.split(",").every((s) => s.trim().length >= 16) && v.split(",").length <= 4, "must be 1 to 4 comma-separated secrets of at least 16 characters")
      .optional(),
    /** How far a webhook signature's timestamp may be from our clock, either way. */
    WEBHOOK_TOLERANCE_SECONDS: intString(1, 3600).default(300),
    /**
     * Where the sandbox POSTs its webhooks; default http://127.0.0.1:PORT/api/webhooks/sandbox. Several
     * web processes: their URLs comma-separated, and the sandbox spreads deliveries over them in turn.
     */
    WEBHOOK_TARGET_URL: z
      .string()
      .refine((v) => {
        const urls = v.split(",");
        return urls.length <= MAX_URL_LIST && urls.every((u) => isHttpUrl(u.trim()));
      }, `must be 1 to ${MAX_URL_LIST} comma-separated absolute http(s) URLs`)
      .optional(),
    /** Client time limit of one sandbox call, per rail (a longer wait counts as outcome unknown). */
    SANDBOX_TIMEOUT_MS_INSTANT: intString(100, 120_000).default(2_000),
    SANDBOX_TIMEOUT_MS_BATCH: intString(100, 120_000).default(5_000),
    /** Seed for the sandbox's fault dice: set it and the same requests meet the same faults. */
    SANDBOX_FAULT_SEED: z.string().min(1).max(200).optional(),
    /** Default batch cut-off interval of a fresh sandbox (changeable at run time). */
    SANDBOX_BATCH_CUTOFF_SECONDS: intString(1, 86_400).default(60),
    /** Outbox relay (server/outbox): the worker delivers outbox events to subscribed endpoints. */
    OUTBOX_RELAY_ENABLED: booleanString.default(true),
    /** AES-256-GCM key for subscription signing secrets: 64 hex characters or base64 of 32 bytes. */
    OUTBOX_SECRET_KEY: aes256Key.optional(),
    /** Attempts per delivery before it is dead (the first try counts). */
    OUTBOX_MAX_ATTEMPTS: intString(1, 100).default(12),
    /** Backoff before the second attempt; doubles per attempt (with jitter) up to OUTBOX_BACKOFF_MAX_MS. */
    OUTBOX_BACKOFF_BASE_MS: intString(10, 3_600_000).default(1_000),
    OUTBOX_BACKOFF_MAX_MS: intString(100, 86_400_000).default(600_000),
    /** Time limit of one delivery request (connect, send, response headers and body). */
    OUTBOX_TIMEOUT_MS: intString(100, 120_000).default(10_000),
    /** Deliveries one worker has in flight at once (each to a different aggregate). */
    OUTBOX_CONCURRENCY: intString(1, 256).default(16),
    /** Outbox events fanned out into deliveries per relay round. */
    OUTBOX_FANOUT_BATCH: intString(1, 10_000).default(1_000),
    /** Finished deliveries and fanned-out events older than this are pruned. */
    OUTBOX_RETENTION_HOURS: intString(1, 24 * 365).default(168),
    /** Hosts subscription URLs may point at (comma-separated; "*.corp.internal" for a domain); unset: any host name (required in production). */
    OUTBOX_ALLOWED_HOSTS: z.string().max(2000).optional(),
    /**
     * Networks outbound webhooks may reach although they are not public (comma-separated CIDRs, e.g.
     * "10.20.0.0/16"); everything loopback, private, link-local or reserved is refused otherwise.
     */
    OUTBOX_ALLOWED_NETWORKS: z
      .string()
      .max(2000)
      .refine((v) => v.split(",").map((s) => s.trim()).filter(Boolean).every((s) => ipaddr.isValidCIDR(s)), "must be comma-separated networks in CIDR form (e.g. 10.20.0.0/16)")
      .optional(),
    /**
     * Ed25519 private key (PKCS#8 PEM, or base64 of its DER) that signs the audit chain anchors the
     * worker publishes (server/audit/anchors.ts). Keep it out of the database and its backups.
     */
    AUDIT_ANCHOR_SIGNING_KEY: ed25519Key("private").optional(),
    /**
     * The documented opt-out of anchoring in production: true lets a production deployment start
     * without AUDIT_ANCHOR_SIGNING_KEY (then no anchors are published and a rewritten audit chain
     * is caught only by `audit:verify` against the database itself). Say why wherever you set it.
     */
    AUDIT_ANCHORS_OPTIONAL: booleanString.default(false),
    /** Ed25519 public key (SPKI PEM or base64 DER) that `npm run audit:verify -- --anchors` trusts. */
    AUDIT_ANCHOR_PUBLIC_KEY: ed25519Key("public").optional(),
    /** File the worker appends each signed anchor to (one JSON line), besides the outbox event. */
    AUDIT_ANCHOR_FILE: z.string().min(1).max(1000).optional(),
    /** Approvals: hours until a proposed adjustment expires when the stored policy names none (1-720). */
    APPROVAL_DEFAULT_EXPIRY_HOURS: intString(1, 720).default(72),
    /** Pricing: a reference rate older than this many calendar days (before the requested date) is refused as stale. */
    PRICING_RATE_MAX_AGE_DAYS: intString(0, 3660).default(4),
    /** Pricing: how long a quote stays locked under its id, in seconds. */
    PRICING_QUOTE_TTL_SECONDS: intString(5, 86_400).default(60),
    /**
     * Pricing: how long a process reuses what it read of fee schedule versions, customer segments
     * and reference rates (ms, 0 = no cache). A new fee schedule version takes effect no sooner than
     * this (plus a second) after its approval, so a cached read never misses a version in force.
     */
    PRICING_CACHE_TTL_MS: intString(0, 60_000).default(5_000),
    /**
     * AES-256-GCM key for TOTP secrets at rest: 64 hex characters or base64 of 32 bytes. Required
     * in production before anyone enrols; in demo mode and tests a key is derived.
     */
    TOTP_ENCRYPTION_KEY: aes256Key.optional(),
});

const envSchema = envSchemaBase.superRefine((env, ctx) => {
    const oidc = [env.AUTH_OIDC_ISSUER, env.AUTH_OIDC_CLIENT_ID, env.AUTH_OIDC_CLIENT_SECRET];
    const oidcSet = oidc.filter((v) => v !== undefined).length;
    if (oidcSet !== 0 && oidcSet !== 3) {
      ctx.addIssue({
        code: "custom",
        path: ["AUTH_OIDC_ISSUER"],
        message: "AUTH_OIDC_ISSUER, AUTH_OIDC_CLIENT_ID and AUTH_OIDC_CLIENT_SECRET must be set together",
      });
    }
    if (isProductionDeployment(env)) {
      for (const issue of productionIssues(env)) ctx.addIssue({ code: "custom", path: [issue.variable], message: issue.message });
    }
    if (env.OUTBOX_BACKOFF_BASE_MS > env.OUTBOX_BACKOFF_MAX_MS) {
      ctx.addIssue({ code: "custom", path: ["OUTBOX_BACKOFF_BASE_MS"], message: "must not exceed OUTBOX_BACKOFF_MAX_MS" });
    }
  });

/** Public by design: it protects nothing but the local partner simulator in development and demos. */
export const DEMO_SANDBOX_WEBHOOK_SECRET = "sandbox-demo-webhook-secret-not-for-production";

function isLoopbackDatabase(url: string | undefined): boolean {
  if (!url) return true;
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * Whether this process is a production deployment: NODE_ENV=production, except the local demo run
 * by `npm start` or the e2e server (DEMO_LAUNCHER on a database on this machine). A copied demo
 * environment pointed at a real database is production, and its demo settings are refused.
 */
export function isProductionDeployment(e: Pick<Env, "NODE_ENV" | "DEMO_LAUNCHER" | "DATABASE_URL">): boolean {
  return e.NODE_ENV === "production" && !(e.DEMO_LAUNCHER && isLoopbackDatabase(e.DATABASE_URL));
}

/**
 * What a production deployment must not run with, each naming its variable: the demo (its
 * sign-ins, world and traffic), the public sandbox secret, password sign-in that nobody switched
 * on, keys derived from the session secret instead of configured, and an audit chain published
 * nowhere (no anchor signing key, unless AUDIT_ANCHORS_OPTIONAL says so).
 */
function productionIssues(e: z.infer<typeof envSchemaBase>): { variable: string; message: string }[] {
  const out: { variable: string; message: string }[] = [];
  const add = (variable: string, message: string) => out.push({ variable, message });
  if (!e.NEXTAUTH_SECRET) add("NEXTAUTH_SECRET", "is required in production");
  if (e.DEMO_MODE) add("DEMO_MODE", "must not be true in production: demo mode turns on demo sign-ins, the demo world and public demo secrets");
  if (e.DEMO_TRAFFIC) add("DEMO_TRAFFIC", "must not be true in production: the demo traffic generator creates transfers from demo wallets");
  if (e.SEED_DEMO) add("SEED_DEMO", "must not be true in production: the demo world (users with printed passwords, accounts, transfers) would be seeded into DATABASE_URL");
  if (e.SANDBOX_WEBHOOK_SECRET === DEMO_SANDBOX_WEBHOOK_SECRET) add("SANDBOX_WEBHOOK_SECRET", "is the public demo secret; set a secret of your own");
  if (e.PARTNER_SANDBOX_WEBHOOK_SECRETS?.split(",").some((s) => s.trim() === DEMO_SANDBOX_WEBHOOK_SECRET)) {
    add("PARTNER_SANDBOX_WEBHOOK_SECRETS", "includes the public demo secret; remove it");
  }
  if (isCredentialsSignInEnabled(e) && e.AUTH_CREDENTIALS_ENABLED !== true) {
    add("AUTH_CREDENTIALS_ENABLED", "must be set to true explicitly for password sign-in in production (it is on only because of DEMO_MODE)");
  }
  if (!e.OUTBOX_SECRET_KEY) add("OUTBOX_SECRET_KEY", "is required in production: without it webhook signing secrets are encrypted under a key derived from NEXTAUTH_SECRET");
  if (!e.OUTBOX_ALLOWED_HOSTS) add("OUTBOX_ALLOWED_HOSTS", "is required in production: outbound webhooks may go only to the hosts it lists");
  if (!e.TOTP_ENCRYPTION_KEY) add("TOTP_ENCRYPTION_KEY", "is required in production: without it approvers' TOTP secrets are encrypted under a derived key");
  if (!e.AUDIT_ANCHOR_SIGNING_KEY && !e.AUDIT_ANCHORS_OPTIONAL) {
    add("AUDIT_ANCHOR_SIGNING_KEY", "is required in production: without it no signed audit chain anchors are published, so a rewritten chain goes unnoticed (set AUDIT_ANCHORS_OPTIONAL=true to run without anchors knowingly)");
  }
  return out;
}

export type Env = z.infer<typeof envSchema>;

/** Every variable this module reads (documented one by one in .env.example). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchemaBase.shape);

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

/**
 * Called first by every server process (the web's instrumentation hook, the worker, the sandbox):
 * an invalid configuration, including demo settings in production, stops the process here with
 * one line naming each bad variable, before it serves anything. Skipped while `next build` runs.
 */
export function exitOnInvalidConfiguration(processName: string): void {
  if (process.env.NEXT_PHASE === "phase-production-build" || process.env.NEXT_RUNTIME === "edge") return;
  try {
    env();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`[${processName}] error: ${e.message}\n`);
    process.exit(1);
  }
}

/** Whether email + password sign-in is on: explicit setting first, else only in demo mode. */
export function isCredentialsSignInEnabled(e: Pick<Env, "AUTH_CREDENTIALS_ENABLED" | "DEMO_MODE"> = env()): boolean {
  return e.AUTH_CREDENTIALS_ENABLED ?? e.DEMO_MODE;
}

/**
 * The console's own origin (APP_ORIGIN, else NEXTAUTH_URL's origin), or null when neither is set:
 * the origin browser mutations must come from and sign-in callbacks must stay on.
 */
export function consoleOrigin(e: Env = env()): string | null {
  const raw = e.APP_ORIGIN ?? e.NEXTAUTH_URL;
  if (!raw) return null;
  try {
    return new URL(raw).origin;
  } catch {
    return null;
  }
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
