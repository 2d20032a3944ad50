// The ledger benchmark (issue 3). `npm run bench:ledger [-- --duration=10 --warmup=2 --clients=32]`
//
// Creates a fresh database (an embedded PostgreSQL with production durability, fsync on, in a
// temp folder; or a fresh database on DATABASE_URL's server when it is set), migrates it, and
// measures at N concurrent clients, each for a fixed time after a warm-up:
//   (a) raw PostgreSQL through pg: BEGIN; insert entry; insert two postings; update two balances; COMMIT
//   (b) transfer() through the service layer
//   (c) ledger.transfer through the HTTP tRPC API (a child process serving the fetch handler)
// each with uniformly spread accounts and with one hot account on every transfer, and
//   (d) batches of 1,000 transfers through the service layer, a few concurrent callers.
// Prints a table with PASS/MISS per target, writes bench-results/ledger-<timestamp>.json, runs
// verifyLedger, and stops everything it started.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import pg from "pg";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { generateServiceKeySecret, hashServiceKeySecret } from "../../server/auth/service-key-secret";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand, transfer } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import type { LedgerItem } from "../../server/ledger/types";
import { freshBenchDatabase } from "../lib/bench-database";
import { cpuDelta, cpuSnapshot } from "../lib/cpu-usage";
import { printTopStatements, STATEMENT_PROFILE_SETTINGS, startStatementProfile } from "../lib/statement-profile";

/** Processes whose CPU time is reported per operation, by a fragment of their command line. */
const CPU_ROLES: [string, string][] = [["scripts/bench/http-server.ts", "http-server"]];

interface Flags {
  duration: number;
  warmup: number;
  clients: number;
  accounts: number;
  batchSize: number;
  batchCallers: number;
  pool: number;
  httpPool: number;
  only: Set<string>;
  /** Write a V8 CPU profile of the HTTP server process into this folder. */
  profileHttp: string | null;
  /** Print each run's most expensive statements (pg_stat_statements) per operation. */
  profile: boolean;
}

function parseFlags(argv: string[]): Flags {
  const get = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const num = (name: string, dflt: number) => {
    const v = Number(get(name, String(dflt)));
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
  };
  return {
    duration: num("duration", 10),
    warmup: num("warmup", 2),
    clients: num("clients", 32),
    accounts: num("accounts", 64),
    batchSize: num("batch-size", 1000),
    batchCallers: num("batch-callers", 3),
    pool: num("pool", 16),
    httpPool: num("http-pool", 16),
    only: new Set(get("only", "a,b,c,d").split(",")),
    profileHttp: get("profile-http", "") || null,
    profile: get("profile", "0") === "1",
  };
}

interface Measure {
  name: string;
  ops: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  /** CPU milliseconds per counted operation, by process role (whole run including warm-up, Linux only). */
  cpuMsPerOp?: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `op` from `clients` concurrent loops; counts only operations started after the warm-up. */
async function measure(name: string, flags: Pick<Flags, "duration" | "warmup">, clients: number, op: (worker: number) => Promise<void>): Promise<Measure> {
  const t0 = performance.now();
  const measureFrom = t0 + flags.warmup * 1000;
  const end = measureFrom + flags.duration * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpuAtMeasureFrom: { snapshot: ReturnType<typeof cpuSnapshot> | null } = { snapshot: null };
  const warmupTimer = setTimeout(() => (cpuAtMeasureFrom.snapshot = cpuSnapshot(CPU_ROLES)), Math.max(0, measureFrom - performance.now()));
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await op(w);
          if (s >= measureFrom) latencies.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  clearTimeout(warmupTimer);
  const cpuEnd = await cpuSnapshot(CPU_ROLES);
  const cpuStart = await (cpuAtMeasureFrom.snapshot ?? Promise.resolve(null));
  latencies.sort((a, b) => a - b);
  const m: Measure = {
    name,
    ops: latencies.length,
    perSecond: latencies.length / flags.duration,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    errors,
    firstError,
  };
  if (cpuStart && cpuEnd && latencies.length > 0) {
    const delta = cpuDelta(cpuStart, cpuEnd);
    m.cpuMsPerOp = Object.fromEntries(Object.entries(delta).map(([role, s]) => [role, Number(((s * 1000) / latencies.length).toFixed(3))]));
  }
  console.log(`  ${name.padEnd(22)} ${m.perSecond.toFixed(0).padStart(7)}/s  p50 ${m.p50Ms.toFixed(1)} ms  p95 ${m.p95Ms.toFixed(1)} ms  p99 ${m.p99Ms.toFixed(1)} ms${errors ? `  errors ${errors} (${firstError})` : ""}`);
  if (m.cpuMsPerOp) {
    const parts = Object.entries(m.cpuMsPerOp).filter(([, ms]) => ms >= 0.005).sort((a, b) => b[1] - a[1]);
    console.log(`  ${"".padEnd(22)} CPU ms per op: ${parts.map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(", ")}`);
  }
  return m;
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const amount = () => BigInt(1 + Math.floor(Math.random() * 1000));

function pair<T>(xs: T[]): [T, T] {
  const i = Math.floor(Math.random() * xs.length);
  let j = Math.floor(Math.random() * (xs.length - 1));
  if (j >= i) j++;
  return [xs[i]!, xs[j]!];
}

async function setUpRawBaseline(pool: pg.Pool, accounts: number): Promise<string[]> {
  await pool.query(`
    CREATE TABLE bench_entries (id uuid PRIMARY KEY, description text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE bench_balances (account_id uuid PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);
    CREATE TABLE bench_postings (id bigserial PRIMARY KEY, entry_id uuid NOT NULL REFERENCES bench_entries(id),
      account_id uuid NOT NULL REFERENCES bench_balances(account_id), side text NOT NULL, amount bigint NOT NULL);
    CREATE INDEX ON bench_postings (account_id, id);`);
  const ids = Array.from({ length: accounts + 1 }, () => randomUUID());
  await pool.query(`INSERT INTO bench_balances (account_id) SELECT unnest($1::uuid[])`, [ids]);
  return ids;
}

/** The raw transaction shape: the same writes as a two-leg transfer, nothing else. */
async function rawTransfer(pool: pg.Pool, debit: string, credit: string, amountMinor: bigint): Promise<void> {
  const c = await pool.connect();
  try {
    const entryId = randomUUID();
    const a = amountMinor.toString();
    await c.query("BEGIN");
    await c.query({ name: "raw_e", text: `INSERT INTO bench_entries (id, description) VALUES ($1, '')`, values: [entryId] });
    await c.query({ name: "raw_p", text: `INSERT INTO bench_postings (entry_id, account_id, side, amount) VALUES ($1, $2, 'debit', $4), ($1, $3, 'credit', $4)`, values: [entryId, debit, credit, a] });
    // Updates in id order, as any careful writer would, so the baseline does not deadlock.
    const [first, second] = debit < credit ? [[debit, `-${a}`], [credit, a]] : [[credit, a], [debit, `-${a}`]];
    await c.query({ name: "raw_b", text: `UPDATE bench_balances SET balance = balance + $2 WHERE account_id = $1`, values: first });
    await c.query({ name: "raw_b", text: `UPDATE bench_balances SET balance = balance + $2 WHERE account_id = $1`, values: second });
    await c.query("COMMIT");
    c.release();
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    c.release();
    throw e;
  }
}

async function startHttpServer(url: string, poolMax: number, profileDir: string | null): Promise<{ child: ChildProcess; port: number }> {
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", path.resolve("scripts/bench/http-server.ts"), url, String(poolMax)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error("the HTTP server did not start within 60 s")), 60_000);
    rl.on("line", (line) => {
      const m = /^LISTENING (\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`the HTTP server exited with ${code}`)));
  });
  return { child, port };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const startedAt = new Date();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
  };
  process.on("SIGINT", () => void cleanup().finally(() => process.exit(130)));

  try {
    // --- A fresh database. ------------------------------------------------------------------
    const { url, note: dbNote } = await freshBenchDatabase("ledger", cleanups, flags.profile ? { settings: STATEMENT_PROFILE_SETTINGS } : {});
    console.log(`ledger benchmark: ${flags.clients} clients, ${flags.warmup} s warm-up + ${flags.duration} s per run`);
    console.log(`database: ${dbNote}`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    await applyMigrations(url);

    const handles: DbHandles = createDbHandles(url, { max: flags.pool, applicationName: "bench" });
    cleanups.push(async () => {
      await handles.prisma.$disconnect();
      await handles.pool.end();
    });

    // --- Accounts and a service key. ----------------------------------------------------------
    const source = await openAccount(handles, { code: "bench:bank", type: "asset" });
    const users = [];
    for (let i = 0; i < flags.accounts; i++) users.push(await openAccount(handles, { code: `bench:user:${i}`, type: "liability" }));
    const fees = await openAccount(handles, { code: "ops:fees:EUR", type: "revenue" });
    const userIds = [source.id, ...users.map((u) => u.id)];
    // A key with ledger:write needs a second person's approval (server/admin/service-keys.ts); on its
    // own private database the benchmark stands in for both and stores an active key directly.
    const { secret, prefix } = generateServiceKeySecret();
    await handles.pool.query(
      `INSERT INTO service_keys (id, name, prefix, secret_hash, scopes, activated_at) VALUES (gen_random_uuid(), 'bench', $1, $2, ARRAY['ledger:read', 'ledger:write'], now())`,
      [prefix, hashServiceKeySecret(secret)],
    );

    const results: Record<string, Measure> = {};
    const run = async (key: string, label: string, clients: number, op: (w: number) => Promise<void>) => {
      // Every run of (b), (c) and (d) starts from a quiet database: the earlier runs' dead rows
      // vacuumed and their WAL checkpointed, so no run pays for autovacuum or a checkpoint that the
      // one before it caused. The raw baseline runs first, on the fresh database, and is left as it
      // always was: ANALYZE would make the planner seq-scan its 65-row balance table, a fifth of
      // its speed, and the baseline must be raw PostgreSQL at its best.
      if (!key.startsWith("a_")) {
        await handles.pool.query("VACUUM (ANALYZE)");
        // CHECKPOINT needs superuser or pg_checkpoint; on a server where we lack it, runs go without.
        await handles.pool.query("CHECKPOINT").catch((e: Error) => console.log(`  (no checkpoint between runs: ${e.message})`));
      }
      if (flags.profile) await startStatementProfile(handles.pool);
      results[key] = await measure(label, flags, clients, op);
      // Statements of the warm-up count too; divided by the counted operations they overstate a little.
      if (flags.profile) await printTopStatements(handles.pool, results[key].ops, "operation");
    };

    // --- (a) raw baseline. --------------------------------------------------------------------
    if (flags.only.has("a")) {
      const raw = new pg.Pool({ connectionString: url, max: flags.pool, application_name: "bench-raw" });
      cleanups.push(async () => raw.end());
      const ids = await setUpRawBaseline(raw, flags.accounts);
      const hot = ids[ids.length - 1]!;
      const cold = ids.slice(0, -1);
      console.log("(a) raw PostgreSQL");
      await run("a_uniform", "a uniform", flags.clients, () => {
        const [d, c] = pair(cold);
        return rawTransfer(raw, d, c, amount());
      });
      await run("a_hot", "a hot", flags.clients, () => rawTransfer(raw, pick(cold), hot, amount()));
    }

    // --- (b) service layer. -------------------------------------------------------------------
    if (flags.only.has("b")) {
      console.log("(b) service layer transfer()");
      await run("b_uniform", "b uniform", flags.clients, () => {
        const [d, c] = pair(userIds);
        return transfer(handles, SYSTEM_ACTOR, { debitAccountId: d, creditAccountId: c, amountMinor: amount(), currency: "EUR", idempotencyKey: randomUUID() }).then(() => {});
      });
      await run("b_hot", "b hot", flags.clients, () =>
        transfer(handles, SYSTEM_ACTOR, { debitAccountId: pick(userIds), creditAccountId: fees.id, amountMinor: amount(), currency: "EUR", idempotencyKey: randomUUID() }).then(() => {}),
      );
    }

    // --- (c) HTTP tRPC API. -------------------------------------------------------------------
    if (flags.only.has("c")) {
      console.log("(c) HTTP tRPC ledger.transfer (child process, node:http + fetch handler)");
      const { child, port } = await startHttpServer(url, flags.httpPool, flags.profileHttp);
      cleanups.push(async () => {
        child.stdin?.end();
        child.kill("SIGTERM");
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      });
      // The load generator's own cost should stay small next to the server's: node:http with a
      // keep-alive agent (one connection per client) costs about half of what fetch does per call.
      const agent = new http.Agent({ keepAlive: true, maxSockets: flags.clients });
      cleanups.push(async () => agent.destroy());
      const call = (debit: string, credit: string) =>
        new Promise<void>((resolve, reject) => {
          // superjson wire format; amounts travel as strings, so no meta is needed.
          const body = JSON.stringify({ json: { debitAccountId: debit, creditAccountId: credit, amountMinor: amount().toString(), currency: "EUR", idempotencyKey: randomUUID() } });
          const req = http.request(
            { host: "127.0.0.1", port, path: "/api/trpc/ledger.transfer", method: "POST", agent,
              headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${secret}` } },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`))));
              res.on("error", reject);
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      // Warm the server process first (JIT, its pool's connections with their SCRAM handshakes,
      // prepared statements), as a deployed server would be; not measured.
      await measure("c warm-up (not counted)", { warmup: 0, duration: 2 }, flags.clients, () => call(...pair(userIds)));
      await run("c_uniform", "c uniform", flags.clients, () => {
        const [d, c] = pair(userIds);
        return call(d, c);
      });
      await run("c_hot", "c hot", flags.clients, () => call(pick(userIds), fees.id));
    }

    // --- (d) batches. -------------------------------------------------------------------------
    if (flags.only.has("d")) {
      console.log(`(d) batches of ${flags.batchSize} transfers, ${flags.batchCallers} concurrent callers`);
      await run("d_batch", "d batch", flags.batchCallers, async () => {
        const items: LedgerItem[] = Array.from({ length: flags.batchSize }, () => {
          const [d, c] = pair(userIds);
          return { type: "transfer", debitAccountId: d, creditAccountId: c, amountMinor: amount(), currency: "EUR" };
        });
        await executeLedgerCommand(handles, SYSTEM_ACTOR, { type: "batch", items }, { idempotencyKey: randomUUID() });
      });
    }

    // --- Report. ------------------------------------------------------------------------------
    const r = (k: string) => results[k]?.perSecond ?? NaN;
    const batch = results.d_batch;
    const postingsPerSecond = batch ? batch.perSecond * flags.batchSize * 2 : NaN;
    const targets = [
      { name: "(c)/(a) uniform >= 0.5", value: r("c_uniform") / r("a_uniform"), ok: r("c_uniform") / r("a_uniform") >= 0.5 },
      { name: "(b) hot >= 0.8 x (b) uniform", value: r("b_hot") / r("b_uniform"), ok: r("b_hot") / r("b_uniform") >= 0.8 },
      { name: "(c) hot >= 0.8 x (c) uniform", value: r("c_hot") / r("c_uniform"), ok: r("c_hot") / r("c_uniform") >= 0.8 },
      { name: "(c) uniform p99 <= 50 ms", value: results.c_uniform?.p99Ms ?? NaN, ok: (results.c_uniform?.p99Ms ?? Infinity) <= 50 },
      { name: "(c) hot p99 <= 50 ms", value: results.c_hot?.p99Ms ?? NaN, ok: (results.c_hot?.p99Ms ?? Infinity) <= 50 },
      { name: "batch >= 20,000 postings/s", value: postingsPerSecond, ok: postingsPerSecond >= 20_000 },
    ];
    console.log("");
    console.log("run          transfers/s    p50 ms    p95 ms    p99 ms   ratio to (a) same shape");
    for (const [k, m] of Object.entries(results)) {
      const base = k.endsWith("hot") ? r("a_hot") : r("a_uniform");
      const ratio = k.startsWith("d") ? "" : (m.perSecond / base).toFixed(2);
      const rate = k === "d_batch" ? `${m.perSecond.toFixed(1)} batches/s = ${postingsPerSecond.toFixed(0)} postings/s` : m.perSecond.toFixed(0);
      console.log(`${k.padEnd(12)} ${rate.padStart(11)} ${m.p50Ms.toFixed(1).padStart(9)} ${m.p95Ms.toFixed(1).padStart(9)} ${m.p99Ms.toFixed(1).padStart(9)}   ${ratio}${m.errors ? `  (${m.errors} errors)` : ""}`);
    }
    console.log("");
    for (const t of targets) console.log(`${t.ok ? "PASS" : "MISS"}  ${t.name.padEnd(32)} ${Number.isFinite(t.value) ? t.value.toFixed(2) : "n/a"}`);

    const report = await verifyLedger(handles);
    console.log(`verifyLedger: ${report.isOk ? "OK" : "FAILED"} (${report.accounts} accounts, ${report.entries} entries, ${report.postings} postings, ${report.discrepancies.length} discrepancies)`);

    await mkdir("bench-results", { recursive: true });
    const file = path.join("bench-results", `ledger-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(
      file,
      JSON.stringify(
        {
          startedAt,
          flags: { ...flags, only: [...flags.only] },
          database: dbNote,
          machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryBytes: os.totalmem(), loadAverage: os.loadavg(), node: process.version },
          results,
          postingsPerSecond,
          targets,
          verify: { isOk: report.isOk, accounts: report.accounts, entries: report.entries, postings: report.postings, discrepancies: report.discrepancies.length },
        },
        null,
        2,
      ),
    );
    console.log(`figures written to ${file}`);
    if (!report.isOk) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
