/**
 * Readiness (/api/ready): the database answers and every migration on disk is applied unchanged.
 *
 * The answer is for load balancers and anyone who can reach the port, so it never carries a raw
 * database error (those name hosts, users, databases and sometimes SQL): it says which check
 * failed in fixed words, and the error itself goes to the log with the request's context.
 */
import type pg from "pg";
import { migrationStatus, type MigrationStatus } from "./migrate";
import { componentLogger } from "../observability/logger";

const log = componentLogger("readiness");

export type ReadinessBody =
  | { status: "ready"; database: "ok"; migrations: "current" }
  | { status: "unavailable"; database: "unreachable"; error: string }
  | { status: "unavailable"; database: "error"; error: string }
  | { status: "unavailable"; database: "ok"; migrations: MigrationStatus };

export async function checkReadiness(pool: Pick<pg.Pool, "connect">, opts: { migrationsDir?: string } = {}): Promise<{ httpStatus: 200 | 503; body: ReadinessBody }> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    log.error({ err }, "readiness: cannot connect to the database");
    return { httpStatus: 503, body: { status: "unavailable", database: "unreachable", error: "the database cannot be reached; see the web process's log" } };
  }
  try {
    const status = await migrationStatus(client, opts.migrationsDir);
    if (!status.isCurrent) return { httpStatus: 503, body: { status: "unavailable", database: "ok", migrations: status } };
    return { httpStatus: 200, body: { status: "ready", database: "ok", migrations: "current" } };
  } catch (err) {
    log.error({ err }, "readiness: reading the migration state failed");
    return { httpStatus: 503, body: { status: "unavailable", database: "error", error: "the database answered with an error; see the web process's log" } };
  } finally {
    client.release();
  }
}
