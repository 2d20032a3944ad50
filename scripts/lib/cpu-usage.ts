/**
 * CPU time used by the processes of a benchmark run, read from /proc (Linux only), grouped by
 * role: this process, each named child script, PostgreSQL backends, and everything else on the
 * machine. Take a snapshot before and after a phase and subtract.
 */
import { readdir, readFile } from "node:fs/promises";

const TICKS_PER_SECOND = 100;

/** CPU seconds so far of each live process, by pid, with the process's role. */
export type CpuSnapshot = Map<string, { role: string; seconds: number }>;

/**
 * Names a process by its command line; `roles` maps a command-line fragment to a role name, and
 * `backendRoles` names PostgreSQL backends by pid (a backend's command line does not say which
 * application it serves; pg_stat_activity does, see backendRolesByApplication).
 */
async function roleOf(pid: string, roles: readonly [string, string][], backendRoles: ReadonlyMap<string, string>): Promise<string> {
  if (pid === String(process.pid)) return "bench";
  const backendRole = backendRoles.get(pid);
  if (backendRole) return backendRole;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\u0000", " ");
  for (const [fragment, role] of roles) if (cmdline.includes(fragment)) return role;
  if (cmdline.startsWith("postgres") || cmdline.includes("/bin/postgres")) return "postgres";
  return "other";
}

/** CPU seconds (user + system) of every live process. Null where /proc is missing. */
export async function cpuSnapshot(roles: readonly [string, string][], backendRoles: ReadonlyMap<string, string> = new Map()): Promise<CpuSnapshot | null> {
  const pids = await readdir("/proc").catch(() => null);
  if (!pids) return null;
  const out: CpuSnapshot = new Map();
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
    if (!stat) continue;
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    out.set(pid, { role: await roleOf(pid, roles, backendRoles), seconds: ticks / TICKS_PER_SECOND });
  }
  return out;
}

/**
 * CPU seconds per role between two snapshots, process by process: a process started in between
 * counts from zero; one that ended in between is missed (its last interval is unknown).
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, { role, seconds }] of after) out[role] = (out[role] ?? 0) + Math.max(0, seconds - (before.get(pid)?.seconds ?? 0));
  return out;
}

/**
 * PostgreSQL backends to name apart, by pid: those whose application_name is a key of `roles`
 * get its value (for example the partner simulator's connections, "sandbox" → "postgres:sandbox").
 * Only the server's own processes on this machine are found this way; a remote server's pids mean
 * nothing here, and then nothing is named.
 */
export async function backendRolesByApplication(
  query: (sql: string, values: unknown[]) => Promise<{ rows: { pid: string; application_name: string }[] }>,
  roles: Readonly<Record<string, string>>,
): Promise<Map<string, string>> {
  const res = await query(`SELECT pid::text AS pid, application_name FROM pg_stat_activity WHERE application_name = ANY($1::text[])`, [Object.keys(roles)]);
  return new Map(res.rows.map((r) => [r.pid, roles[r.application_name]!]));
}
