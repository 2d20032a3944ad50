/**
 * The transfers benchmark's flags (`npm run bench:transfers -- --name=value …`), parsed and checked
 * (pure; test/unit/bench-transfers-flags.test.ts). A wrong or unknown flag is refused with a message
 * naming it, before anything starts.
 */
import type { RampPlan } from "./capacity-curve";

export interface TransfersBenchFlags {
  /** Offered creates per second of a fixed-rate run. */
  rate: number;
  duration: number;
  baselineSeconds: number;
  listRows: number;
  workers: number;
  concurrency: number;
  /** 1: pg_stat_statements' top statements and CPU per process for part (1). */
  profile: number;
  /** 1: the instant rail has a fee schedule in force, so every transfer is priced and settles with its fee (issue 12). */
  priced: number;
  /** Web processes serving transfers.create and the webhook route; 0: both in the benchmark process. */
  webs: number;
  /** Connections of each web process's pool. */
  webPool: number;
  maxInFlight: number;
  /** Retries of a refused (OVERLOADED) create; 0: counted, not retried. */
  retryRefused: number;
  /** The capacity curve instead of one fixed rate. */
  ramp: RampPlan | null;
  /** Worker counts to run one after the other with the same flags (empty: just --workers). */
  scaleOut: number[];
  /** SIGKILL a worker this often during the load, then print the exactly-once checks (0: never). */
  killWorkerEveryMs: number;
  /** Longest wait, after the load, for every transfer to finish. */
  drainSeconds: number;
}

/** Most web or worker processes in one run (the sandbox takes at most 16 webhook targets). */
export const MAX_PROCESSES = 16;

const NUMBER_FLAGS = [
  "rate", "duration", "baseline-seconds", "list-rows", "workers", "concurrency", "profile", "priced", "webs", "web-pool", "max-in-flight", "retry-refused",
  "ramp-start", "ramp-step", "ramp-step-seconds", "ramp-warmup", "ramp-max", "ramp-until", "drain-seconds",
] as const;
const OTHER_FLAGS = ["ramp", "scale-out", "kill-worker-every"] as const;

/** "5s", "500ms", "2m" or a bare number of seconds, in ms. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--${flag} must be a duration like 5s, 500ms or 2m, got ${JSON.stringify(text)}`);
  const v = Number(m[1]);
  return Math.round(m[2] === "ms" ? v : m[2] === "m" ? v * 60_000 : v * 1000);
}

export function parseTransfersBenchFlags(argv: readonly string[]): TransfersBenchFlags {
  const given = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}: flags look like --name=value`);
    const name = m[1]!;
    if (!(NUMBER_FLAGS as readonly string[]).includes(name) && !(OTHER_FLAGS as readonly string[]).includes(name)) {
      throw new Error(`unknown flag --${name}; known: ${[...NUMBER_FLAGS, ...OTHER_FLAGS].map((f) => `--${f}`).join(" ")}`);
    }
    if (given.has(name)) throw new Error(`--${name} is given twice`);
    given.set(name, m[2] ?? "");
  }
  const num = (name: (typeof NUMBER_FLAGS)[number], dflt: number, { min = 0, max = Number.MAX_SAFE_INTEGER, isInteger = false } = {}) => {
    const raw = given.get(name);
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v) || v < min || v > max || (isInteger && !Number.isInteger(v))) {
      throw new Error(`--${name} must be ${isInteger ? "a whole number" : "a number"} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  const rampRaw = given.get("ramp");
  if (rampRaw !== undefined && !["", "1", "true", "0", "false"].includes(rampRaw)) throw new Error(`--ramp takes no value (or 1/0), got ${JSON.stringify(rampRaw)}`);
  const isRamp = rampRaw !== undefined && rampRaw !== "0" && rampRaw !== "false";
  for (const name of ["ramp-start", "ramp-step", "ramp-step-seconds", "ramp-warmup", "ramp-max", "ramp-until"] as const) {
    if (given.has(name) && !isRamp) throw new Error(`--${name} needs --ramp`);
  }
  const ramp: RampPlan | null = isRamp
    ? {
        startPerSecond: num("ramp-start", 100, { min: 1, max: 100_000 }),
        stepPerSecond: num("ramp-step", 100, { min: 1, max: 100_000 }),
        stepSeconds: num("ramp-step-seconds", 10, { min: 1, max: 600 }),
        warmupSeconds: num("ramp-warmup", 5, { max: 600 }),
        maxPerSecond: num("ramp-max", 3_000, { min: 1, max: 100_000 }),
        untilMultiple: num("ramp-until", 3, { min: 0, max: 100 }),
      }
    : null;
  if (ramp && ramp.maxPerSecond < ramp.startPerSecond) throw new Error(`--ramp-max (${ramp.maxPerSecond}) must be at least --ramp-start (${ramp.startPerSecond})`);

  const scaleOutRaw = given.get("scale-out");
  let scaleOut: number[] = [];
  if (scaleOutRaw !== undefined) {
    const parts = scaleOutRaw.split(",").map((p) => p.trim());
    if (parts.length > 8 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > MAX_PROCESSES)) {
      throw new Error(`--scale-out must list 1 to 8 worker counts from 1 to ${MAX_PROCESSES}, like --scale-out=1,2,3; got ${JSON.stringify(scaleOutRaw)}`);
    }
    scaleOut = parts.map(Number);
  }
  const killRaw = given.get("kill-worker-every");
  const killWorkerEveryMs = killRaw === undefined ? 0 : parseDurationMs(killRaw, "kill-worker-every");
  if (killRaw !== undefined && killWorkerEveryMs < 500) throw new Error(`--kill-worker-every must be at least 500ms, got ${JSON.stringify(killRaw)}`);

  return {
    rate: num("rate", 330, { min: 1, max: 100_000 }),
    duration: num("duration", 20, { min: 1, max: 3_600 }),
    baselineSeconds: num("baseline-seconds", 8, { max: 600 }),
    listRows: num("list-rows", 1_000_000, { max: 100_000_000, isInteger: true }),
    workers: num("workers", 1, { min: 1, max: MAX_PROCESSES, isInteger: true }),
    concurrency: num("concurrency", 4, { min: 1, max: 64, isInteger: true }),
    profile: num("profile", 0, { max: 1, isInteger: true }),
    priced: num("priced", 0, { max: 1, isInteger: true }),
    webs: num("webs", 0, { max: MAX_PROCESSES, isInteger: true }),
    webPool: num("web-pool", 16, { min: 1, max: 200, isInteger: true }),
    maxInFlight: num("max-in-flight", ramp ? 1_000 : 48, { min: 1, max: 10_000, isInteger: true }),
    retryRefused: num("retry-refused", 0, { max: 100, isInteger: true }),
    ramp,
    scaleOut,
    killWorkerEveryMs,
    drainSeconds: num("drain-seconds", killWorkerEveryMs > 0 ? 240 : 120, { min: 1, max: 3_600 }),
  };
}

/** Parts (0), the ledger baseline, and (2), the list benchmark, run only in a single fixed-rate run. */
export function isPlainRun(flags: TransfersBenchFlags): boolean {
  return flags.ramp === null && flags.scaleOut.length === 0;
}

/** Connections a worker process opens besides its pool (pg-boss's own pool, its default size). */
export const WORKER_BOSS_CONNECTIONS = 10;
/** Connections of the sandbox process's pool (scripts/sandbox.ts). */
export const SANDBOX_CONNECTIONS = 10;
/** Left free on the server for everything else (psql, other sessions, the checks). */
export const CONNECTION_MARGIN = 10;

export interface PoolPlan {
  benchPool: number;
  webPool: number;
  /** Each worker's DB_POOL_MAX. */
  workerPool: number;
  /** Set when a pool was made smaller than asked so that the run fits the server. */
  note: string | null;
}

/**
 * Pool sizes that fit the server's connection limit with the most processes of the run (so every
 * run of a scale-out has the same pools): when the asked pools do not fit, the web and worker pools
 * shrink by one factor (each to at least 4); a run that cannot fit even then is refused with the
 * numbers.
 */
export function fitPools(opts: { maxConnections: number; reserved: number; benchPool: number; webs: number; webPool: number; workers: number; workerPool: number }): PoolPlan {
  const budget = opts.maxConnections - opts.reserved - CONNECTION_MARGIN;
  const fixed = opts.benchPool + SANDBOX_CONNECTIONS + opts.workers * WORKER_BOSS_CONNECTIONS;
  const asked = opts.webs * opts.webPool + opts.workers * opts.workerPool;
  const need = `bench ${opts.benchPool} + sandbox ${SANDBOX_CONNECTIONS} + ${opts.webs} web × ${opts.webPool} + ${opts.workers} worker × (${opts.workerPool} + ${WORKER_BOSS_CONNECTIONS} pg-boss)`;
  if (fixed + asked <= budget) return { benchPool: opts.benchPool, webPool: opts.webPool, workerPool: opts.workerPool, note: null };
  const share = Math.max(0, budget - fixed) / asked;
  const webPool = Math.floor(opts.webPool * share);
  const workerPool = Math.floor(opts.workerPool * share);
  if ((opts.webs > 0 && webPool < 4) || workerPool < 4) {
    throw new Error(`the run needs more connections than the server allows: ${need} > max_connections ${opts.maxConnections} − ${opts.reserved} reserved − ${CONNECTION_MARGIN} spare; lower --webs, --web-pool or the worker count`);
  }
  return {
    benchPool: opts.benchPool,
    webPool: opts.webs > 0 ? webPool : opts.webPool,
    workerPool,
    note: `pools lowered to fit max_connections ${opts.maxConnections} (asked: ${need}): ${opts.webs > 0 ? `web ${webPool}, ` : ""}worker ${workerPool}`,
  };
}
