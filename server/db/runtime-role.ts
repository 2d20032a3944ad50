/**
 * The database role the web and worker processes connect as: it owns no product table, so
 * whatever runs as it cannot disable a trigger, alter a table, truncate, or rewrite the audit log
 * — the money rules enforced by the database hold against the application itself. Migrations run
 * as the owner role (the tables' owner), which then grants the runtime role what it needs here.
 *
 * Invariants kept:
 * - The runtime role gets SELECT, INSERT, UPDATE, DELETE on the product's tables and the use of
 *   their sequences (and MAINTAIN, for VACUUM, on PostgreSQL 17+, except on the append-only tables
 *   and the migration history), never TRUNCATE, REFERENCES or TRIGGER, and no UPDATE or DELETE at
 *   all on the append-only tables (audit log, journal entries, postings) nor any write on the
 *   migration history. Their triggers refuse such writes too; this is the second lock.
 * - The job queue's own schema (pgboss) belongs to the runtime role: pg-boss creates and drops its
 *   partitions at run time. It holds jobs, never money.
 * - Granting is idempotent and runs after every migration, so a table added later is covered.
 */
import pg from "pg";

/** The tables no runtime write may change or delete (their triggers refuse it as well). */
export const APPEND_ONLY_TABLES = ["audit_log", "journal_entries", "postings"] as const;

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface RuntimeRoleOptions {
  /** Create the role (LOGIN) when missing and set this password (local databases only). */
  createWithPassword?: string;
}

/** The role name of a connection string (its user). */
export function roleOf(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  if (!user) throw new Error("the connection string names no user");
  return user;
}

/**
 * Grants `role` the runtime privileges on the database of `ownerUrl` (connected as the tables'
 * owner), creating the role first when asked. Errors: the role does not exist (and was not to be
 * created), the owner lacks the rights.
 */
export async function grantRuntimeRole(ownerUrl: string, role: string, opts: RuntimeRoleOptions = {}): Promise<void> {
  if (!ROLE_NAME.test(role)) throw new Error(`runtime role ${JSON.stringify(role)} must be a plain lower-case identifier`);
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    await c.query("BEGIN");
    // Roles are per cluster: a concurrent start must not race on creating it.
    await c.query("SELECT pg_advisory_xact_lock(hashtext('ledger runtime role'))");
    const exists = (await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role])).rowCount! > 0;
    const password = opts.createWithPassword;
    if (password !== undefined) {
      const literal = c.escapeLiteral(password);
      await c.query(
        exists
          ? `ALTER ROLE "${role}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal}`
          : `CREATE ROLE "${role}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal}`,
      );
    } else if (!exists) {
      throw new Error(`the runtime role ${role} does not exist; create it (LOGIN, no other attribute) before migrating`);
    }
    const owns = (await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1`, [role])).rows[0]!.n;
    if (owns !== "0") throw new Error(`the runtime role ${role} owns ${owns} product tables: it must be a role of its own, not the owner`);
    const db = (await c.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]!.db;
    // CREATE on the database lets pg-boss install its own schema (it asks for it even when the
    // schema exists); schemas it creates are its own and nothing in public is touched by that.
    await c.query(`GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "${db.replace(/"/g, '""')}" TO "${role}"`);
    await c.query(`GRANT USAGE ON SCHEMA public TO "${role}"`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`);
    await c.query(`REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM "${role}"`);
    await c.query(`REVOKE UPDATE, DELETE ON ${APPEND_ONLY_TABLES.join(", ")} FROM "${role}"`);
    await c.query(`REVOKE INSERT, UPDATE, DELETE ON _prisma_migrations FROM "${role}"`);
    // PostgreSQL 17+: MAINTAIN lets the worker VACUUM and ANALYZE where the server's autovacuum is
    // off (server/db/vacuum-fallback.ts). It changes no row, trigger or option; what else it allows
    // (CLUSTER, REINDEX, LOCK TABLE in any mode) rewrites or locks, which UPDATE's LOCK TABLE already
    // allowed on the tables the runtime role updates. Not on the append-only tables and the
    // migration history: insert-only, they gather no dead rows, and an exclusive lock there could
    // stall the ledger.
    const version = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
    if (version >= 170_000) {
      await c.query(`GRANT MAINTAIN ON ALL TABLES IN SCHEMA public TO "${role}"`);
      await c.query(`REVOKE MAINTAIN ON ${APPEND_ONLY_TABLES.join(", ")}, _prisma_migrations FROM "${role}"`);
    }
    await c.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
    await c.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "${role}"`);
    // The job queue's schema is the runtime role's own (pg-boss manages its partitions at run time).
    await c.query(`CREATE SCHEMA IF NOT EXISTS pgboss AUTHORIZATION "${role}"`);
    await c.query(`ALTER SCHEMA pgboss OWNER TO "${role}"`);
    const queueObjects = await c.query<{ kind: string; name: string }>(
      `SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind, c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'pgboss' AND c.relkind IN ('r', 'p', 'S', 'v') AND pg_get_userbyid(c.relowner) <> $1`,
      [role],
    );
    for (const o of queueObjects.rows) await c.query(`ALTER ${o.kind} pgboss."${o.name.replace(/"/g, '""')}" OWNER TO "${role}"`);
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    await c.end();
  }
}

/** The same database, connected as another role. */
export function urlAs(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** How many product tables the connection's own role owns (a runtime connection must own none). */
export async function tablesOwnedByCurrentRole(client: pg.Pool | pg.ClientBase): Promise<number> {
  const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user`);
  return Number(r.rows[0]!.n);
}

/**
 * Stops a production process that connects as the tables' owner: the database's own rules
 * (triggers, append-only tables) would then hold only as long as the code never turns them off.
 * Errors: names the role, how many tables it owns, and what to do.
 */
export async function assertConnectsAsRuntimeRole(client: pg.Pool | pg.ClientBase, processName: string): Promise<void> {
  const owned = await tablesOwnedByCurrentRole(client);
  if (owned === 0) return;
  const role = (await client.query<{ role: string }>(`SELECT current_user AS role`)).rows[0]!.role;
  throw new Error(
    `${processName}: DATABASE_URL connects as ${role}, which owns ${owned} of the product's tables; in production the web and worker connect as a role that owns none (migrations run as the owner through DATABASE_MIGRATION_URL and grant it): see docs/runbooks/database-roles.md`,
  );
}
