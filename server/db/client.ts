/**
 * Database handles for the process: one pg pool shared by Prisma (through @prisma/adapter-pg) and
 * by the few hot paths that speak SQL directly. The pool fails fast when exhausted
 * (DB_POOL_ACQUIRE_TIMEOUT_MS) rather than letting callers hang.
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client";
import { env } from "../env";

// node-postgres returns BIGINT (int8) and NUMERIC as strings by default, which is what we want:
// money never passes through a JS number. Code converts with BigInt() where it needs arithmetic.

export type Db = PrismaClient;

export interface DbHandles {
  pool: pg.Pool;
  prisma: PrismaClient;
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
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? e.DB_POOL_MAX,
    connectionTimeoutMillis: e.DB_POOL_ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: e.DB_STATEMENT_TIMEOUT_MS,
    application_name: opts.applicationName ?? "ledger-console",
    ...(opts.serverOptions ? { options: opts.serverOptions } : {}),
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
