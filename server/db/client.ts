/**
 * Database handles for the process: one pg pool shared by Prisma (through @prisma/adapter-pg) and
 * by the few hot paths that speak SQL directly. The pool fails fast when exhausted
 * (DB_POOL_ACQUIRE_TIMEOUT_MS) rather than letting callers hang.
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client";
import { env } from "../env";
import { TracedPgClient } from "../observability/traced-pg-client";

// node-postgres returns BIGINT (int8) and NUMERIC as strings by default, which is what we want:
// money never passes through a JS number. Code converts with BigInt() where it needs arithmetic.

export type Db = PrismaClient;

export interface DbHandles {
  pool: pg.Pool;
  prisma: PrismaClient;
}

/**
 * Server settings every connection of the product starts with. JIT compilation is off: this is an
 * OLTP workload of short statements, and the key-only plans of the hot write path (BEGIN_KEYED in
 * transaction.ts, the rule triggers' SET enable_seqscan = off) inflate plan costs past
 * jit_above_cost, so a server with JIT on (most distributions' and managed PostgreSQL) compiled
 * every write: measured at less than half the throughput (docs/performance.md).
 */
export const PRODUCT_SERVER_OPTIONS = "-c jit=off";

/**
 * The connection string without its startup options (`?options=...`), and those options: the
 * driver lets a URL's options replace the pool's, so they are merged by hand.
 */
function splitServerOptions(connectionString: string): { url: string; options: string | null } {
  try {
    const u = new URL(connectionString);
    const options = u.searchParams.get("options");
    if (options === null) return { url: connectionString, options: null };
    u.searchParams.delete("options");
    return { url: u.toString(), options };
  } catch {
    return { url: connectionString, options: null };
  }
}

export function createDbHandles(
  connectionString: string,
  opts: {
    max?: number;
    applicationName?: string;
    /** Server settings for every connection of the pool, as `-c name=value` startup options. */
    serverOptions?: string;
  } = {},
): DbHandles {
  const e = env();
  const split = splitServerOptions(connectionString);
  const pool = new pg.Pool({
    connectionString: split.url,
    max: opts.max ?? e.DB_POOL_MAX,
    connectionTimeoutMillis: e.DB_POOL_ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: e.DB_STATEMENT_TIMEOUT_MS,
    application_name: opts.applicationName ?? "ledger-console",
    // Database spans when tracing is on (server/observability/traced-pg-client.ts).
    Client: TracedPgClient,
    // The URL's own options are kept; ours come first so that the URL's may override them.
    options: [PRODUCT_SERVER_OPTIONS, split.options, opts.serverOptions].filter(Boolean).join(" "),
  });
  // An idle client that loses its server (restart, network) emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout simply opens a new connection.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return { pool, prisma };
}

const globalForDb = globalThis as unknown as { __dbHandles?: DbHandles };

/** The process-wide handles, created on first use from DATABASE_URL. */
export function db(): DbHandles {
  if (!globalForDb.__dbHandles) {
    const url = env().DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    globalForDb.__dbHandles = createDbHandles(url);
  }
  return globalForDb.__dbHandles;
}

export function prisma(): PrismaClient {
  return db().prisma;
}

export async function closeDb(): Promise<void> {
  const h = globalForDb.__dbHandles;
  globalForDb.__dbHandles = undefined;
  if (h) {
    await h.prisma.$disconnect().catch(() => {});
    await h.pool.end().catch(() => {});
  }
}
