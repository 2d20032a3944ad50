// The transfers benchmark (issues 4 and 17). `npm run bench:transfers [-- --rate=330 --duration=20 --list-rows=1000000]`
//
// A fresh durable database (embedded PostgreSQL, fsync on; or a fresh database on DATABASE_URL's
// server), then:
//   (0) baseline: the ledger's two-leg transfer() through the service layer, 32 clients, in the
//       same run, for comparison;
//   (1) end to end: transfers offered at a fixed rate (open loop) for the duration; worker
//       processes drive them to the partner sandbox (its own process, instant rail, no faults, no
//       artificial delay), whose signed webhooks come back to the product's webhook handler and
//       settle them. Reports transfers per second from first create to last settle and the
//       create-to-settled latency p50/p95/p99 (from the transfer's own timestamps). The default
//       offered rate, 330/s, is 10 % above the 300/s target: measured from first create to last
//       settle, a run offered exactly 300/s can only show slightly less, so the figure would
//       measure the offer, not the capacity; offered more than it can take, the system shows what
//       it sustains (and its latency, and what admission control refused);
//   (2) the transfers list: 1,000,000 transfers (synthetic rows written by SQL for this read
//       benchmark, spread over states, rails, currencies, 30 days), then the first page of
//       listTransfers for several filters, 30 times each: p50/p95, against a primary-key read as
//       baseline.
// Where creates and webhooks are served: --webs=0 (the default, as before) creates through
// createTransfer and serves the webhook route in this process; --webs=M starts M web processes
// (scripts/bench/http-server.ts: the product's tRPC handler and webhook handler), sends creates to
// them over HTTP with a service key, spread over them, and has the sandbox spread its webhooks over
// them. --workers=N starts N worker processes.
// Other modes (each on a fresh database; (0) and (2) run only in the plain fixed-rate run):
//   --ramp                 the capacity curve: the offered rate steps up (--ramp-start, --ramp-step,
//                          --ramp-step-seconds, --ramp-max, --ramp-until) and each step's offered,
//                          admitted, refused and settled per second and p50/p95/p99 are printed and
//                          written as JSON and as an SVG chart next to it;
//   --scale-out=1,2,3      the same run with 1, then 2, then 3 workers, and a table of the results;
//   --kill-worker-every=5s SIGKILL a worker (restarted at once, as a supervisor would) at that
//                          interval during the load, then print the crash test's checks: nothing
//                          lost, each key executed at most once at the partner, books agree, holds
//                          agree, the ledger verifies (exit code 1 if any fails).
// Prints PASS/MISS per target and writes bench-results/transfers-<timestamp>.json.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { findFreePort } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";
import { runTransaction } from "../../server/db/transaction";
import { writeScheduleVersion } from "../../server/pricing/approval-kinds";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { generateServiceKeySecret, hashServiceKeySecret } from "../../server/auth/service-key-secret";
import { openAccount, fund } from "../../server/ledger/testing";
import { transfer } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import { listTransfers, type TransferFilters } from "../../server/transfers/queries";
import { stopSender } from "../../server/jobs/queues";
import { freshBenchDatabase } from "../lib/bench-database";
import { killHard, spawnSandbox, spawnWeb, spawnWorker, startWebhookEndpoint, stopWeb, type WebhookEndpoint, type WebProcess } from "../lib/transfer-world";
import { backendRolesByApplication, cpuDelta, cpuSnapshot } from "../lib/cpu-usage";
import { printTopStatements, STATEMENT_PROFILE_SETTINGS, startStatementProfile } from "../lib/statement-profile";
import { describeWriteVolume, writeSnapshot, writeVolume, type WriteVolume } from "../lib/write-volume";
import { aggregateSteps, isRampDone, percentile, rampRates, readCurve, type CurveReading, type StepFigures, type StepWindow, type TransferTimes } from "../lib/capacity-curve";
import { describeCurve, renderCapacityChart } from "../lib/capacity-chart";
import { benchTransferInput, httpTransport, inProcessTransport, OpenLoopGenerator, type CreateTransport } from "../lib/transfer-load";
import { awaitConvergence, checkExactlyOnce, type Convergence, type ExactlyOnceReport } from "../lib/transfer-checks";
import { fitPools, isPlainRun, parseTransfersBenchFlags, type PoolPlan, type TransfersBenchFlags } from "../lib/transfers-bench-flags";

const root = path.resolve(import.meta.dirname, "../..");
const resultsDir = path.join(root, "bench-results");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CPU_ROLES: [string, string][] = [["scripts/worker.ts", "worker"], ["scripts/sandbox.ts", "sandbox"], ["scripts/bench/http-server.ts", "web"]];
/**
 * The partner simulator's database work, named apart from the product's: its backends (pool
 * "sandbox") count as "postgres:sandbox". With the sandbox process this is what a real partner
 * would spend on its own machines, so the product's own cost per transfer is the rest.
 */
const BACKEND_ROLES = { sandbox: "postgres:sandbox" } as const;
const PARTNER_ROLES = new Set(["sandbox", "postgres:sandbox"]);
/** The worker's pool when nothing has to shrink it (server/env.ts DB_POOL_MAX's default). */
const DEFAULT_WORKER_POOL = 20;
const WALLETS = 200;

async function baseline(db: DbHandles, seconds: number): Promise<number> {
  const bank = await openAccount(db, { code: "baseline:bank", type: "asset" });
  const users: { id: string }[] = [];
  for (let i = 0; i < 64; i++) users.push(await openAccount(db, { code: `baseline:user:${i}`, type: "liability" }));
  let ops = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (Date.now() < until) {
        const u = users[Math.floor(Math.random() * users.length)]!;
        await transfer(db, SYSTEM_ACTOR, { debitAccountId: bank.id, creditAccountId: u.id, amountMinor: 100n, currency: "EUR", idempotencyKey: randomUUID() });
        ops++;
      }
    }),
  );
  return ops / seconds;
}

// --- The world: sandbox, web processes (or the in-process endpoint), workers. -----------------

interface World {
  url: string;
  db: DbHandles;
  walletIds: string[];
  transport: CreateTransport;
  workers: ChildProcess[];
  webs: WebProcess[];
  /** Replaces worker i by a fresh process. */
  respawnWorker(i: number): void;
  /** Stops the workers, the sandbox and the web processes; the database handles stay open. */
  stopProcesses(): Promise<void>;
  close(): Promise<void>;
}

/** A fee schedule on the instant rail, in force since a minute ago: 0.20 EUR + 0.30 %, at least 0.25, at most 5.00. */
async function writeBenchSchedule(db: DbHandles): Promise<void> {
  const now = new Date();
  const definition = { rules: [{ id: "eur", currency: "EUR", minMinor: "25", maxMinor: "500", tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "20", rateBps: "30" }] }] };
  await runTransaction(db.pool, (client) =>
    writeScheduleVersion(
      client,
      { scheduleCode: "bench-instant", name: "Bench instant", rail: "instant", basedOnVersion: 0, effectiveFrom: new Date(now.getTime() - 60_000).toISOString(), definition },
      { effectiveFrom: new Date(now.getTime() - 60_000), proposalId: null, createdBy: "bench", now },
    ),
  );
}

async function startWorld(url: string, flags: TransfersBenchFlags, workerCount: number, pools: PoolPlan): Promise<World> {
  const db = createDbHandles(url, { max: pools.benchPool, applicationName: "bench" });
  const stops: (() => Promise<void>)[] = [
    async () => {
      await stopSender(db.pool);
      await db.prisma.$disconnect();
      await db.pool.end();
    },
  ];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(`cleanup: ${(e as Error).message}`));
    stops.length = 0;
  };
  try {
    if (flags.priced) await writeBenchSchedule(db);
    const bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
    const walletIds: string[] = [];
    for (let i = 0; i < WALLETS; i++) {
      const w = await openAccount(db, { code: `customer:${i}:wallet`, type: "liability", isNoOverdraft: true });
      await fund(db, bank.id, w.id, 1_000_000_000n);
      walletIds.push(w.id);
    }
    let endpoint: WebhookEndpoint | null = null;
    let webs: WebProcess[] = [];
    let transport: CreateTransport;
    if (flags.webs === 0) {
      endpoint = await startWebhookEndpoint(db);
      stops.push(() => endpoint!.close());
      transport = inProcessTransport(db);
    } else {
      webs = await Promise.all(Array.from({ length: flags.webs }, () => spawnWeb(url, pools.webPool)));
      stops.push(async () => {
        await Promise.all(webs.map((w) => stopWeb(w)));
      });
      // A key with transfers:create needs a second person's approval (server/admin/service-keys.ts);
      // on its own private database the benchmark stands in for both and stores an active key
      // directly, as the ledger benchmark does. Unlimited: it may debit every wallet.
      const { secret, prefix } = generateServiceKeySecret();
      await db.pool.query(`INSERT INTO service_keys (id, name, prefix, secret_hash, scopes, activated_at) VALUES (gen_random_uuid(), 'bench-transfers', $1, $2, ARRAY['transfers:create'], now())`, [prefix, hashServiceKeySecret(secret)]);
      transport = httpTransport(webs.map((w) => w.url), secret);
    }
    stops.push(async () => transport.close());
    const sandboxPort = await findFreePort();
    const sandbox = await spawnSandbox(url, sandboxPort, endpoint ? endpoint.url : webs.map((w) => w.url));
    stops.push(() => killHard(sandbox));
    // Instant rail, no faults, no artificial settlement delay.
    const put = await fetch(`http://127.0.0.1:${sandboxPort}/admin/rails/instant/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ settleDelayMsMin: 0, settleDelayMsMax: 0 }),
    });
    if (!put.ok) throw new Error(`could not configure the sandbox: ${put.status} ${await put.text()}`);
    const workerEnv = { WORKER_TRANSFER_CONCURRENCY: String(flags.concurrency), DB_POOL_MAX: String(pools.workerPool) };
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const workers: ChildProcess[] = [];
    for (let i = 0; i < workerCount; i++) workers.push(spawnWorker(url, sandboxUrl, workerEnv));
    // Killed before the sandbox (stops run in reverse), so nothing calls a sandbox that is gone.
    stops.push(async () => {
      for (const w of workers) await killHard(w);
    });
    await sleep(3_000);
    return {
      url,
      db,
      walletIds,
      transport,
      workers,
      webs,
      respawnWorker(i) {
        workers[i] = spawnWorker(url, sandboxUrl, workerEnv);
      },
      async stopProcesses() {
        for (const w of workers) await killHard(w);
        await killHard(sandbox);
        await Promise.all(webs.map((w) => stopWeb(w)));
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** SIGKILLs the workers in turn every `everyMs` and restarts each at once; stop() returns the kill count. */
function startWorkerKiller(world: World, everyMs: number): { stop(): Promise<number> } {
  let kills = 0;
  let isStopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      current = (async () => {
        const i = kills % world.workers.length;
        await killHard(world.workers[i]!);
        kills++;
        world.respawnWorker(i);
      })().finally(() => {
        if (!isStopped) schedule();
      });
    }, everyMs);
  };
  schedule();
  return {
    async stop() {
      isStopped = true;
      clearTimeout(timer);
      await current;
      return kills;
    },
  };
}

// --- Reading what happened. ---------------------------------------------------------------------

async function countUnfinished(db: DbHandles): Promise<number> {
  return Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM transfers WHERE state NOT IN ('settled', 'failed', 'returned', 'cancelled')`)).rows[0]!.n);
}

/** Waits for every transfer to finish, at most `seconds`; returns how long it took (s) and how many did not. */
async function awaitFinished(db: DbHandles, seconds: number): Promise<{ seconds: number; unfinished: number }> {
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  let open = await countUnfinished(db);
  while (open > 0 && Date.now() < deadline) {
    await sleep(250);
    open = await countUnfinished(db);
  }
  return { seconds: (Date.now() - t0) / 1000, unfinished: open };
}

async function transferTimes(db: DbHandles): Promise<TransferTimes[]> {
  const rows = (
    await db.pool.query<{ id: string; created_ms: number; settled_ms: number | null }>(
      `SELECT t.id, (EXTRACT(EPOCH FROM t.created_at) * 1000)::float8 AS created_ms, (EXTRACT(EPOCH FROM e.created_at) * 1000)::float8 AS settled_ms
         FROM transfers t LEFT JOIN transfer_events e ON e.transfer_id = t.id AND e.to_state = 'settled'`,
    )
  ).rows;
  return rows.map((r) => ({ id: r.id, createdAtMs: r.created_ms, settledAtMs: r.settled_ms }));
}

async function stageTimes(db: DbHandles) {
  const stages = (
    await db.pool.query<{ stage: string; p50: number; p95: number }>(
      `WITH e AS (SELECT transfer_id, to_state, created_at, lag(created_at) OVER (PARTITION BY transfer_id ORDER BY id) AS prev FROM transfer_events)
       SELECT to_state AS stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM created_at - prev) * 1000)::float8 AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM created_at - prev) * 1000)::float8 AS p95
         FROM e WHERE prev IS NOT NULL GROUP BY to_state ORDER BY min(created_at - prev)`,
    )
  ).rows;
  const calls = (
    await db.pool.query<{ p50: number; p95: number; n: string }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)::float8 AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::float8 AS p95, count(*)::text AS n
         FROM partner_requests WHERE kind = 'submit'`,
    )
  ).rows[0]!;
  const webhooks = (
    await db.pool.query<{ p50: number; p95: number; n: string }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - received_at) * 1000)::float8 AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM processed_at - received_at) * 1000)::float8 AS p95, count(*)::text AS n
         FROM webhook_events WHERE NOT is_duplicate`,
    )
  ).rows[0]!;
  console.log(`    partner submit calls: ${calls.n}, p50 ${Math.round(calls.p50)} ms, p95 ${Math.round(calls.p95)} ms; webhooks: ${webhooks.n}, received-to-applied p50 ${Math.round(webhooks.p50)} ms, p95 ${Math.round(webhooks.p95)} ms`);
  await printLegs(db);
  return stages.map((x) => ({ stage: x.stage, p50Ms: Math.round(x.p50), p95Ms: Math.round(x.p95) }));
}

/** The legs of a settled transfer's way, in order, with the clock readings that bound each. */
const LEGS = [
  ["create", "created to reserved (the create's transaction)"],
  ["claim", "reserved to claimed (the wait for a worker)"],
  ["call", "claimed to submitted (the partner call and its record)"],
  ["partner", "partner accepted to partner settled (the partner's own time)"],
  ["delivery", "partner settled to webhook stored (its sender, then our receipt)"],
  ["apply", "webhook stored to settled (our application)"],
] as const;

/**
 * Where the time goes: each leg's median over all settled transfers, and its mean over the slowest
 * 1 % (those at or above the p99 of create-to-settled), so that a tail is traced to its leg. The
 * partner's legs use the sandbox's own clock readings (same database clock).
 */
async function printLegs(db: DbHandles): Promise<void> {
  const ms = (interval: string) => `(EXTRACT(EPOCH FROM ${interval}) * 1000)::float8`;
  const rows = (
    await db.pool.query<Record<(typeof LEGS)[number][0] | "total", number>>(
      `WITH t AS (
         SELECT t.id, t.idempotency_key, t.created_at,
                (SELECT e.created_at FROM transfer_events e WHERE e.transfer_id = t.id AND e.to_state = 'reserved' LIMIT 1) AS reserved_at,
                (SELECT e.created_at FROM transfer_events e WHERE e.transfer_id = t.id AND e.to_state = 'submitted' LIMIT 1) AS submitted_at,
                (SELECT e.created_at FROM transfer_events e WHERE e.transfer_id = t.id AND e.to_state = 'settled' LIMIT 1) AS settled_at,
                (SELECT max(r.started_at) FROM partner_requests r WHERE r.transfer_id = t.id AND r.kind = 'submit') AS claimed_at
           FROM transfers t WHERE t.state = 'settled')
       SELECT ${ms("t.reserved_at - t.created_at")} AS create, ${ms("t.claimed_at - t.reserved_at")} AS claim, ${ms("t.submitted_at - t.claimed_at")} AS call,
              ${ms("p.settled_at - p.created_at")} AS partner, ${ms("w.received_at - p.settled_at")} AS delivery, ${ms("t.settled_at - w.received_at")} AS apply,
              ${ms("t.settled_at - t.created_at")} AS total
         FROM t JOIN sandbox_payments p ON p.idempotency_key = t.idempotency_key
         JOIN webhook_events w ON w.idempotency_key = t.idempotency_key AND w.event_type = 'settled' AND NOT w.is_duplicate
        WHERE t.reserved_at IS NOT NULL AND t.claimed_at IS NOT NULL AND t.submitted_at IS NOT NULL AND t.settled_at IS NOT NULL AND p.settled_at IS NOT NULL`,
    )
  ).rows;
  if (rows.length === 0) return;
  const p99 = percentile(rows.map((r) => r.total).sort((a, b) => a - b), 99);
  const slow = rows.filter((r) => r.total >= p99);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`    where the time goes (ms; median of all ${rows.length} / mean of the slowest ${slow.length}, at or above p99 ${Math.round(p99)} ms):`);
  for (const [key, label] of LEGS) {
    console.log(`      ${label}: ${Math.round(percentile(rows.map((r) => r[key]).sort((a, b) => a - b), 50))} / ${Math.round(mean(slow.map((r) => r[key])))}`);
  }
}

// --- (1) at a fixed rate. -----------------------------------------------------------------------

interface FixedResult {
  requested: number;
  admitted: number;
  refused: number;
  retries: number;
  createErrors: number;
  firstError?: string;
  createSeconds: number;
  settled: number;
  notSettled: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Time spent reaching each state from the previous one (ms). */
  stages: { stage: string; p50Ms: number; p95Ms: number }[];
}

/** Offers the fixed rate; `onOfferEnd` runs when the last create has been sent (the killer stops there). */
async function fixedRate(world: World, flags: TransfersBenchFlags, gen: OpenLoopGenerator, onOfferEnd: () => Promise<void>): Promise<FixedResult> {
  const started = Date.now();
  await gen.offer(flags.rate, flags.duration);
  await onOfferEnd();
  await gen.drain();
  const createSeconds = (Date.now() - started) / 1000;
  await awaitFinished(world.db, flags.drainSeconds);
  const times = await transferTimes(world.db);
  const stages = await stageTimes(world.db);
  const settled = times.filter((t) => t.settledAtMs !== null);
  const latencies = settled.map((t) => t.settledAtMs! - t.createdAtMs).sort((a, b) => a - b);
  const first = Math.min(...times.map((t) => t.createdAtMs));
  const last = Math.max(...settled.map((t) => t.settledAtMs!));
  return {
    requested: Math.round(flags.rate * flags.duration),
    admitted: gen.admitted.length,
    refused: gen.tries.filter((t) => t.outcome === "refused").length,
    retries: gen.tries.filter((t) => t.isRetry).length,
    createErrors: gen.errors,
    firstError: gen.firstError,
    createSeconds,
    settled: settled.length,
    notSettled: times.length - settled.length,
    perSecond: settled.length / ((last - first) / 1000),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    stages,
  };
}

function printFixed(e2e: FixedResult, baselinePerSecond: number | null): void {
  const ofBaseline = baselinePerSecond ? ` (${(e2e.perSecond / baselinePerSecond).toFixed(2)} of the ledger baseline)` : "";
  const ms = (x: number) => (Number.isFinite(x) ? Math.round(x) : "n/a");
  console.log(
    `(1) end to end: ${e2e.settled}/${e2e.requested} settled, ${e2e.perSecond.toFixed(0)}/s${ofBaseline}, ` +
      `create-to-settled p50 ${ms(e2e.p50Ms)} ms, p95 ${ms(e2e.p95Ms)} ms, p99 ${ms(e2e.p99Ms)} ms, max ${ms(e2e.maxMs)} ms; ` +
      `refused ${e2e.refused} (OVERLOADED)${e2e.retries ? `, retried ${e2e.retries}` : ""}; create errors ${e2e.createErrors}${e2e.firstError ? ` (${e2e.firstError})` : ""}`,
  );
  console.log(`    time to reach each state: ${e2e.stages.map((x) => `${x.stage} p50 ${x.p50Ms} ms / p95 ${x.p95Ms} ms`).join("; ")}`);
}

// --- (1) as a ramp: the capacity curve. ---------------------------------------------------------

interface RampResult {
  steps: StepFigures[];
  /** Transfers settled in the whole run (the steps and the drain after them). */
  settledTotal: number;
  reading: CurveReading;
  /** After the last step: how long the pipeline took to finish what was admitted. */
  drainSeconds: number;
  unfinished: number;
  retriesAbandoned: number;
  firstError?: string;
}

const fmtRate = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
const fmtMs = (x: number | null) => (x === null ? "—" : String(Math.round(x)));

/** Runs the ramp; `onOfferEnd` runs after the last step (the killer stops there). */
async function ramp(world: World, flags: TransfersBenchFlags, gen: OpenLoopGenerator, onOfferEnd: () => Promise<void>): Promise<RampResult> {
  const plan = flags.ramp!;
  const windows: StepWindow[] = [];
  let peakSettled = 0;
  if (plan.warmupSeconds > 0) {
    await gen.offer(plan.startPerSecond, plan.warmupSeconds);
    console.log(`    warm-up: ${plan.warmupSeconds} s at ${plan.startPerSecond}/s (not counted)`);
  }
  console.log(`    step  offered/s  admitted/s  refused/s  settled/s (so far)  in flight`);
  for (const rate of rampRates(plan)) {
    const w = await gen.offer(rate, plan.stepSeconds);
    windows.push(w);
    const settledSoFar = Number(
      (await world.db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM transfer_events WHERE to_state = 'settled' AND created_at >= $1 AND created_at < $2`, [new Date(w.startMs), new Date(w.endMs)])).rows[0]!.n,
    );
    const own = gen.tries.filter((t) => t.sentAtMs >= w.startMs && t.sentAtMs < w.endMs);
    const per = (n: number) => fmtRate(n / plan.stepSeconds);
    peakSettled = Math.max(peakSettled, settledSoFar / plan.stepSeconds);
    console.log(
      `    ${String(windows.length).padStart(4)}  ${fmtRate(rate).padStart(9)}  ${per(own.filter((t) => t.outcome === "admitted").length).padStart(10)}  ${per(own.filter((t) => t.outcome === "refused").length).padStart(9)}  ${per(settledSoFar).padStart(18)}  ${String(gen.inFlightNow).padStart(9)}`,
    );
    if (isRampDone(plan, rate, peakSettled)) break;
  }
  await onOfferEnd();
  await gen.drain();
  const drained = await awaitFinished(world.db, flags.drainSeconds);
  const times = await transferTimes(world.db);
  const steps = aggregateSteps(windows, gen.tries, times);
  return {
    steps,
    settledTotal: times.filter((t) => t.settledAtMs !== null).length,
    reading: readCurve(steps),
    drainSeconds: drained.seconds,
    unfinished: drained.unfinished,
    retriesAbandoned: gen.retriesAbandoned,
    firstError: gen.firstError,
  };
}

function printRamp(r: RampResult): void {
  console.log(`(1) capacity curve (figures counted inside each step's window; latency of the transfers admitted in it):`);
  console.log(`    step  offered/s  sent/s  retried/s  admitted/s  refused/s  settled/s   p50 ms   p95 ms   p99 ms  unsettled  errors  shed`);
  for (const s of r.steps) {
    console.log(
      `    ${String(s.step).padStart(4)}  ${fmtRate(s.offeredPerSecond).padStart(9)}  ${fmtRate(s.sentPerSecond).padStart(6)}  ${fmtRate(s.retriesPerSecond).padStart(9)}  ${fmtRate(s.admittedPerSecond).padStart(10)}  ${fmtRate(s.refusedPerSecond).padStart(9)}  ${fmtRate(s.settledPerSecond).padStart(9)}  ${fmtMs(s.p50Ms).padStart(7)}  ${fmtMs(s.p95Ms).padStart(7)}  ${fmtMs(s.p99Ms).padStart(7)}  ${String(s.unsettled).padStart(9)}  ${String(s.errors).padStart(6)}  ${String(s.shed).padStart(4)}`,
    );
  }
  console.log(`    ${describeCurve(r.reading)}`);
  console.log(`    after the last step the pipeline finished what it had admitted in ${r.drainSeconds.toFixed(1)} s${r.unfinished ? ` (${r.unfinished} still unfinished at the --drain-seconds limit)` : ""}${r.retriesAbandoned ? `; ${r.retriesAbandoned} refused creates were waiting to retry when the ramp ended` : ""}${r.firstError ? `; first create error: ${r.firstError}` : ""}`);
}

// --- The kill checks. ---------------------------------------------------------------------------

interface KillChecks {
  kills: number;
  everyMs: number;
  convergence: Convergence;
  admitted: number;
  /** Admitted transfers (the generator got their id) missing from the books. */
  lost: number;
  /** Admitted transfers not settled once the pipeline converged. */
  notSettled: number;
  exactlyOnce: ExactlyOnceReport;
  isOk: boolean;
}

async function killChecks(world: World, gen: OpenLoopGenerator, kills: number, everyMs: number, drainSeconds: number): Promise<KillChecks> {
  const convergence = await awaitConvergence(world.db, drainSeconds * 1000);
  const ids = gen.admitted.map((a) => a.id);
  const found = new Map((await world.db.pool.query<{ id: string; state: string }>(`SELECT id, state FROM transfers WHERE id = ANY($1::uuid[])`, [ids])).rows.map((r) => [r.id, r.state]));
  const lost = ids.filter((id) => !found.has(id)).length;
  const notSettled = [...found.values()].filter((s) => s !== "settled").length;
  const exactlyOnce = await checkExactlyOnce(world.db);
  const isOk =
    convergence.open === 0 && convergence.unflagged === 0 && convergence.orphaned === 0 && lost === 0 && notSettled === 0 &&
    exactlyOnce.executedMoreThanOnce.length === 0 && exactlyOnce.failedHereExecutedThere.length === 0 && exactlyOnce.settledThereNotHere.length === 0 &&
    exactlyOnce.holdMismatches.length === 0 && exactlyOnce.doubleReleases === 0 && exactlyOnce.ledgerDiscrepancies === 0;
  return { kills, everyMs, convergence, admitted: ids.length, lost, notSettled, exactlyOnce, isOk };
}

function printKillChecks(k: KillChecks): void {
  const line = (ok: boolean, text: string) => console.log(`    ${ok ? "PASS" : "FAIL"}  ${text}`);
  const e = k.exactlyOnce;
  console.log(`(K) a worker SIGKILLed every ${k.everyMs / 1000} s during the load and restarted at once: ${k.kills} kills`);
  line(k.convergence.open === 0 && k.convergence.unflagged === 0 && k.convergence.orphaned === 0, `converged: ${k.convergence.open} left created/reserved, ${k.convergence.unflagged} unfinished and not flagged stuck, ${k.convergence.orphaned} stored webhooks orphaned`);
  line(k.lost === 0, `nothing lost: ${k.admitted} admitted, ${k.admitted - k.lost} of them in the books`);
  line(k.notSettled === 0, `every admitted transfer settled (${k.notSettled} not; states ${Object.entries(e.states).map(([s, n]) => `${s}=${n}`).join(" ")})`);
  line(e.executedMoreThanOnce.length === 0, `each key executed at most once at the partner (${e.executedMoreThanOnce.length} more than once${e.executedMoreThanOnce[0] ? `, e.g. ${e.executedMoreThanOnce[0].key} ×${e.executedMoreThanOnce[0].times}` : ""})`);
  line(e.failedHereExecutedThere.length === 0 && e.settledThereNotHere.length === 0, `books agree with the partner (${e.failedHereExecutedThere.length} failed here but executed there, ${e.settledThereNotHere.length} settled there but not here${(e.failedHereExecutedThere[0] ?? e.settledThereNotHere[0]) ? `, e.g. ${e.failedHereExecutedThere[0] ?? e.settledThereNotHere[0]}` : ""})`);
  line(e.holdMismatches.length === 0 && e.doubleReleases === 0, `each hold ended once and agrees with its transfer (${e.holdMismatches.length} disagree, ${e.doubleReleases} released twice)`);
  line(e.ledgerDiscrepancies === 0, `ledger verify clean (${e.ledgerDiscrepancies} discrepancies${e.ledgerFirstDiscrepancy ? `: ${e.ledgerFirstDiscrepancy}` : ""})`);
}

/** "PostgreSQL 15.20 at 127.0.0.1:5432, jit on by default": which server the figures are from. */
async function describeServer(url: string, isEmbedded: boolean): Promise<string> {
  // A plain client, without the product's startup options, so jit shows the server's own default
  // (the product's connections turn it off for themselves, server/db/client.ts).
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query<{ version: string; jit: string; available: boolean }>(`SELECT current_setting('server_version') AS version, current_setting('jit') AS jit, pg_jit_available() AS available`)).rows[0]!;
    const where = isEmbedded ? "embedded" : `at ${new URL(url).host}`;
    return `PostgreSQL ${r.version.split(" ")[0]} ${where}, ${r.available ? `jit ${r.jit} by default` : "built without JIT"}`;
  } finally {
    await c.end();
  }
}

// --- One run: a fresh database, its world, the load, what it showed. ------------------------------

interface RunResult {
  workers: number;
  webs: number;
  database: string;
  pools: PoolPlan;
  baselinePerSecond: number | null;
  fixed: FixedResult | null;
  ramp: RampResult | null;
  chartFile: string | null;
  kill: KillChecks | null;
  cpuMsPerSettled: Record<string, number> | null;
  writes: WriteVolume;
  ledgerOk: boolean;
  list: Awaited<ReturnType<typeof listBench>> | null;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/** What the current run must stop and remove (also on Ctrl-C). */
const activeCleanups: (() => Promise<void>)[] = [];

async function runCleanups(): Promise<void> {
  for (const c of activeCleanups.reverse()) await c().catch((e: unknown) => console.error(`cleanup: ${(e as Error).message}`));
  activeCleanups.length = 0;
}

async function runOnce(flags: TransfersBenchFlags, workerCount: number, pools: PoolPlan, fileBase: string): Promise<RunResult> {
  const cleanups = activeCleanups;
  try {
    const { url, note } = await freshBenchDatabase("transfers", cleanups, flags.profile ? { settings: STATEMENT_PROFILE_SETTINGS } : {});
    await applyMigrations(url);
    const server = await describeServer(url, note.startsWith("embedded"));
    console.log(`\n=== ${workerCount} worker process(es) × concurrency ${flags.concurrency}, ${flags.webs === 0 ? "creates and webhooks in the benchmark process" : `${flags.webs} web process(es)`}; database: ${note}; ${server}`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    let baselinePerSecond: number | null = null;
    if (isPlainRun(flags) && flags.baselineSeconds > 0) {
      const db = createDbHandles(url, { max: pools.benchPool, applicationName: "bench-baseline" });
      baselinePerSecond = await baseline(db, flags.baselineSeconds).finally(async () => {
        await db.prisma.$disconnect();
        await db.pool.end();
      });
      console.log(`(0) ledger transfer() baseline: ${baselinePerSecond.toFixed(0)}/s`);
    }
    const world = await startWorld(url, flags, workerCount, pools);
    cleanups.push(() => world.close());
    console.log(`    creates: ${world.transport.describe}; ${flags.retryRefused ? `a refused create is retried up to ${flags.retryRefused} time(s) after its Retry-After` : "a refused create is counted, not retried"}`);

    if (flags.profile) {
      await startStatementProfile(world.db.pool);
      // What the world costs with no traffic (polling loops), to tell it apart from per-transfer work.
      const idleBefore = await cpuSnapshot(CPU_ROLES);
      await sleep(5_000);
      const idleAfter = await cpuSnapshot(CPU_ROLES);
      if (idleBefore && idleAfter) {
        const idle = cpuDelta(idleBefore, idleAfter);
        console.log(`    idle CPU (% of one core): ${Object.entries(idle).sort((a, b) => b[1] - a[1]).map(([role, s]) => `${role} ${((s / 5) * 100).toFixed(1)}`).join(", ")}`);
      }
    }
    const gen = new OpenLoopGenerator(world.transport, (n) => benchTransferInput(n, world.walletIds), {
      maxInFlight: flags.maxInFlight,
      whenFull: flags.ramp ? "shed" : "wait",
      retryRefused: flags.retryRefused,
    });
    const killer = flags.killWorkerEveryMs > 0 ? startWorkerKiller(world, flags.killWorkerEveryMs) : null;
    // Stopped before the world closes even when the run fails, so it cannot start workers after.
    if (killer) cleanups.push(async () => void (await killer.stop()));
    const backendRoles = () => backendRolesByApplication((sql, values) => world.db.pool.query(sql, values), BACKEND_ROLES);
    const writesBefore = await writeSnapshot(world.db.pool);
    const cpuBefore = await cpuSnapshot(CPU_ROLES, await backendRoles());
    let kills = 0;
    const onOfferEnd = async () => {
      kills = killer ? await killer.stop() : 0;
    };
    const fixed = flags.ramp ? null : await fixedRate(world, flags, gen, onOfferEnd);
    const rampResult = flags.ramp ? await ramp(world, flags, gen, onOfferEnd) : null;
    const cpuAfter = await cpuSnapshot(CPU_ROLES, await backendRoles());
    const settledCount = fixed ? fixed.settled : (rampResult?.settledTotal ?? 0);
    const writes = await writeVolume(world.db.pool, writesBefore, await writeSnapshot(world.db.pool), settledCount);
    console.log(describeWriteVolume(writes, "settled transfer"));
    const cpu = cpuBefore && cpuAfter ? cpuDelta(cpuBefore, cpuAfter) : null;
    const cpuMsPerSettled = cpu ? Object.fromEntries(Object.entries(cpu).map(([role, s]) => [role, Number(((s * 1000) / Math.max(1, settledCount)).toFixed(2))])) : null;
    if (cpuMsPerSettled) {
      console.log(`    CPU per settled transfer (ms): ${Object.entries(cpuMsPerSettled).sort((a, b) => b[1] - a[1]).map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(", ")}`);
      const split = productPartnerSplit(cpuMsPerSettled);
      console.log(
        `    of which the simulated partner (sandbox process and its database backends) ${split.partnerMs.toFixed(2)} ms, the product and the rest ${split.productMs.toFixed(2)} ms: ` +
          `${os.cpus().length} cores carry about ${split.productCapacity.toFixed(0)}/s of the product alone, ${split.endToEndCapacity.toFixed(0)}/s with the simulator beside it`,
      );
    }
    if (flags.profile) await printTopStatements(world.db.pool, settledCount, "settled transfer");
    if (fixed) printFixed(fixed, baselinePerSecond);
    let chartFile: string | null = null;
    if (rampResult) {
      if (!fixed) await stageTimes(world.db);
      printRamp(rampResult);
      chartFile = path.join(resultsDir, `${fileBase}.svg`);
      const subtitle = `${server}; ${workerCount} worker(s) × concurrency ${flags.concurrency}; ${flags.webs === 0 ? "creates in-process" : `${flags.webs} web process(es)`}; ${flags.ramp!.stepSeconds} s steps${flags.killWorkerEveryMs ? `; a worker killed every ${flags.killWorkerEveryMs / 1000} s` : ""}; ${new Date().toISOString().slice(0, 16)}Z`;
      await mkdir(resultsDir, { recursive: true });
      await writeFile(chartFile, renderCapacityChart(rampResult.steps, rampResult.reading, { title: "Transfers: capacity curve (npm run bench:transfers -- --ramp)", subtitle }));
      console.log(`    chart written to ${path.relative(root, chartFile)}`);
    }
    const kill = killer ? await killChecks(world, gen, kills, flags.killWorkerEveryMs, flags.drainSeconds) : null;
    if (kill) printKillChecks(kill);
    // Stop the pipeline before verifying and before the list benchmark, which then has the
    // machine to itself as before.
    await world.stopProcesses();
    const ledger = await verifyLedger(world.db);
    const list = isPlainRun(flags) && flags.listRows > 0 ? await listBench(world.db, flags.listRows) : null;
    return {
      workers: workerCount,
      webs: flags.webs,
      database: `${note}; ${server}`,
      pools,
      baselinePerSecond,
      fixed,
      ramp: rampResult,
      chartFile: chartFile ? path.relative(root, chartFile) : null,
      kill,
      cpuMsPerSettled,
      writes,
      ledgerOk: ledger.isOk,
      list,
    };
  } finally {
    await runCleanups();
  }
}

/**
 * CPU per settled transfer split between the simulated partner and everything else (the product's
 * processes, its database backends, PostgreSQL's background work, the load generator), and what
 * this machine's cores would carry of each at full use: an upper bound, not a measurement.
 */
function productPartnerSplit(cpuMsPerSettled: Record<string, number>): { partnerMs: number; productMs: number; productCapacity: number; endToEndCapacity: number } {
  let partnerMs = 0;
  let productMs = 0;
  for (const [role, ms] of Object.entries(cpuMsPerSettled)) {
    if (PARTNER_ROLES.has(role)) partnerMs += ms;
    else productMs += ms;
  }
  const coreMs = os.cpus().length * 1000;
  return { partnerMs, productMs, productCapacity: coreMs / Math.max(productMs, 1e-9), endToEndCapacity: coreMs / Math.max(productMs + partnerMs, 1e-9) };
}

// --- (2) the list. ------------------------------------------------------------------------------

async function listBench(db: DbHandles, rows: number) {
  const acct = await openAccount(db, { code: "list:source", type: "liability" });
  const t0 = Date.now();
  // Synthetic rows for a read benchmark: states, rails, currencies and ages spread like a busy
  // month. Written with one INSERT … SELECT per chunk (the write path is measured in part 1).
  const chunk = 100_000;
  for (let off = 0; off < rows; off += chunk) {
    await db.pool.query(
      `INSERT INTO transfers (id, idempotency_key, request_hash, source_account_id, counterparty_name, counterparty_account, amount_minor, currency,
         rail, partner, reference, state, state_changed_at, created_at, created_by, attempts)
       SELECT gen_random_uuid(), 'list:' || g, 'x', $1, 'Payee ' || (g % 1000), 'NL91ABNA0417164300', 100 + (g * 7919) % 10000000, 'EUR',
         CASE WHEN g % 5 = 0 THEN 'batch' ELSE 'instant' END, 'sandbox', 'INV-' || g,
         (CASE WHEN g % 100 < 90 THEN 'settled' WHEN g % 100 < 94 THEN 'failed' WHEN g % 100 < 96 THEN 'returned' WHEN g % 100 < 97 THEN 'cancelled'
               WHEN g % 100 < 98 THEN 'acknowledged' WHEN g % 100 < 99 THEN 'submitted' ELSE 'reserved' END)::transfer_state,
         now() - ((g % 2592000) || ' seconds')::interval, now() - ((g % 2592000) || ' seconds')::interval, 'bench', 1
       FROM generate_series($2::bigint, $3::bigint) AS g`,
      [acct.id, off + 1, Math.min(rows, off + chunk)],
    );
  }
  await db.pool.query(`ANALYZE transfers`);
  const loadSeconds = (Date.now() - t0) / 1000;
  const some = (await db.pool.query<{ id: string }>(`SELECT id FROM transfers ORDER BY created_at DESC LIMIT 1 OFFSET 5000`)).rows[0]!.id;
  const cases: [string, TransferFilters, Parameters<typeof listTransfers>[2]][] = [
    ["no filter, newest first", {}, {}],
    ["state=failed", { states: ["failed"] }, {}],
    ["state=submitted,acknowledged + rail=instant", { states: ["submitted", "acknowledged"], rail: "instant" }, {}],
    ["stuck only", { isStuck: true }, {}],
    ["amount 50.00–100.00 EUR", { currency: "EUR", amountMinMinor: 5000n, amountMaxMinor: 10000n }, {}],
    ["created in the last 24 h, amount desc", { createdFrom: new Date(Date.now() - 86_400_000) }, { sort: "amount_desc" }],
    ["text search: reference prefix", { q: "INV-12345" }, {}],
    ["text search: transfer id", { q: some }, {}],
  ];
  const measure = async (fn: () => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) await fn();
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = process.hrtime.bigint();
      await fn();
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { p50Ms: percentile(times, 50), p95Ms: percentile(times, 95) };
  };
  const pk = await measure(() => db.pool.query(`SELECT * FROM transfers WHERE id = $1`, [some]));
  const results = [];
  for (const [name, filters, page] of cases) {
    const m = await measure(() => listTransfers(db, filters, { limit: 50, ...page }));
    results.push({ name, ...m });
  }
  return { rows, loadSeconds, primaryKey: pk, results };
}

// --- main. --------------------------------------------------------------------------------------

async function serverConnectionLimits(): Promise<{ maxConnections: number; reserved: number }> {
  // Asked of a throwaway database like the runs' (embedded: its own settings, max_connections 300).
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const { url } = await freshBenchDatabase("transfers-probe", cleanups);
    const db = createDbHandles(url, { max: 1, applicationName: "bench-probe" });
    try {
      const r = (await db.pool.query<{ max: string; reserved: string }>(`SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS reserved`)).rows[0]!;
      return { maxConnections: Number(r.max), reserved: Number(r.reserved) };
    } finally {
      await db.pool.end();
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

async function main(): Promise<void> {
  let flags: TransfersBenchFlags;
  try {
    flags = parseTransfersBenchFlags(process.argv.slice(2));
  } catch (e) {
    console.error(`bench:transfers: ${(e as Error).message}`);
    process.exit(2);
  }
  process.on("SIGINT", () => void runCleanups().finally(() => process.exit(130)));
  const workerCounts = flags.scaleOut.length > 0 ? flags.scaleOut : [flags.workers];
  const mode = flags.ramp
    ? `ramp from ${flags.ramp.startPerSecond}/s (after a ${flags.ramp.warmupSeconds} s warm-up) by ${flags.ramp.stepPerSecond}/s every ${flags.ramp.stepSeconds} s, up to ${flags.ramp.maxPerSecond}/s${flags.ramp.untilMultiple ? ` or ${flags.ramp.untilMultiple}× the best settled rate` : ""}`
    : `${flags.rate}/s for ${flags.duration} s`;
  console.log(`transfers benchmark: ${mode}; workers ${workerCounts.join(", then ")}; ${flags.webs} web process(es)${flags.killWorkerEveryMs ? `; a worker killed every ${flags.killWorkerEveryMs / 1000} s` : ""}`);
  const limits = await serverConnectionLimits();
  const pools = fitPools({ ...limits, benchPool: flags.webs === 0 ? 24 : 8, webs: flags.webs, webPool: flags.webPool, workers: Math.max(...workerCounts), workerPool: DEFAULT_WORKER_POOL });
  if (pools.note) console.log(`note: ${pools.note}`);

  const startedAt = stamp();
  const kind = flags.scaleOut.length > 0 ? "transfers-scale-out" : flags.ramp ? "transfers-ramp" : "transfers";
  const runs: RunResult[] = [];
  for (const w of workerCounts) {
    runs.push(await runOnce(flags, w, pools, `${kind}-${startedAt}${workerCounts.length > 1 ? `-w${w}` : ""}`));
  }

  const verdicts: [string, boolean][] = [];
  const single = runs.length === 1 ? runs[0]! : null;
  if (single?.fixed && isPlainRun(flags)) {
    const e2e = single.fixed;
    const list = single.list;
    if (list) {
      console.log(`(2) list over ${list.rows.toLocaleString("en")} transfers (loaded in ${list.loadSeconds.toFixed(0)} s); primary-key read p95 ${list.primaryKey.p95Ms.toFixed(2)} ms`);
      for (const r of list.results) console.log(`    ${r.name.padEnd(48)} p50 ${r.p50Ms.toFixed(1).padStart(7)} ms  p95 ${r.p95Ms.toFixed(1).padStart(7)} ms  ${r.p95Ms < 200 ? "PASS" : "MISS"} (< 200 ms)`);
    }
    const worstList = list ? Math.max(...list.results.map((r) => r.p95Ms)) : NaN;
    verdicts.push(
      [`end-to-end ≥ 300/s`, e2e.perSecond >= 300],
      [`p99 create-to-settled ≤ 2000 ms`, e2e.p99Ms <= 2000],
      [`list first page p95 < 200 ms (worst filter)`, !list || worstList < 200],
      [`every admitted transfer settled, no create errors`, e2e.notSettled === 0 && e2e.createErrors === 0],
    );
  }
  if (flags.scaleOut.length > 0) {
    const rateOf = (r: RunResult) => (r.fixed ? r.fixed.perSecond : (r.ramp?.reading.capacityPerSecond ?? NaN));
    const p99Of = (r: RunResult) => (r.fixed ? r.fixed.p99Ms : (r.ramp?.reading.p99MsAtKnee ?? r.ramp?.reading.p99MsMax ?? NaN));
    const one = rateOf(runs[0]!);
    console.log(`\nscale-out (${flags.ramp ? "capacity: the best settled rate of a ramp step; p99 up to the knee" : `settled per second at ${flags.rate}/s offered; p99 create-to-settled`}):`);
    console.log(`  workers  webs  settled/s  × first   p99 ms  refused  CPU ms per settled transfer`);
    for (const r of runs) {
      const refused = r.fixed ? r.fixed.refused : (r.ramp?.steps.reduce((n, s) => n + s.refused, 0) ?? 0);
      const cpu = r.cpuMsPerSettled ? Object.entries(r.cpuMsPerSettled).sort((a, b) => b[1] - a[1]).map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(", ") : "n/a";
      console.log(`  ${String(r.workers).padStart(7)}  ${String(r.webs).padStart(4)}  ${rateOf(r).toFixed(0).padStart(9)}  ${(rateOf(r) / one).toFixed(2).padStart(7)}  ${fmtMs(Number.isFinite(p99Of(r)) ? p99Of(r) : null).padStart(7)}  ${String(refused).padStart(7)}  ${cpu}`);
    }
  }
  for (const r of runs) {
    if (r.kill) verdicts.push([`${r.workers} worker(s), ${r.kill.kills} SIGKILLs: nothing lost or duplicated, books agree, ledger clean`, r.kill.isOk]);
    verdicts.push([`ledger integrity${runs.length > 1 ? ` (${r.workers} worker(s))` : ""}`, r.ledgerOk]);
  }
  console.log("targets:");
  for (const [name, ok] of verdicts) console.log(`  ${ok ? "PASS" : "MISS"}  ${name}`);

  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${kind}-${startedAt}.json`);
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, load: os.loadavg(), node: process.version };
  const body =
    kind === "transfers" && single
      ? { flags, machine, database: single.database, pools, baselinePerSecond: single.baselinePerSecond, e2e: single.fixed, cpuMsPerSettled: single.cpuMsPerSettled, writes: single.writes, kill: single.kill, list: single.list, ledgerOk: single.ledgerOk, verdicts }
      : { flags, machine, pools, runs, verdicts };
  await writeFile(file, JSON.stringify(body, null, 2));
  console.log(`written ${path.relative(root, file)}`);
  if (runs.some((r) => !r.ledgerOk || (r.kill && !r.kill.isOk))) process.exitCode = 1;
}

await main();
process.exit(process.exitCode ?? 0);
