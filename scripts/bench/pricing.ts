// The pricing benchmark (issue 12). `npm run bench:pricing [-- --duration=10 --warmup=2 --clients=32]`
//
// (a) quotes per second in-process: the pure pricing domain (fee rule selection and computation,
//     conversion through EUR on the real ECB history with a spread), one Node thread, no database.
//     Target: at least 100,000/s.
// (b) ledger.transfer through the HTTP tRPC API with a service key (the ledger benchmark's (c)
//     uniform run, same child process serving the fetch handler), measured in this run as the
//     reference rate.
// (c) pricing.quote through the same HTTP API with a service key: a cross-currency quote (fee,
//     conversion, spread) locked in fx_quotes. Target: at least 0.8 x (b).
// Set-up on a fresh database (embedded, or a new one on DATABASE_URL's server): the real ECB
// history imported with fx:import's code, plus one bench-only reference day dated today (the
// newest day's rates copied, since a quote prices "now" and the history ends in 2025); a fee
// schedule on the instant rail written directly (bench data; the approval flow is tested
// elsewhere); a default spread. Prints PASS/MISS per target and writes bench-results/pricing-*.json.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { generateServiceKeySecret, hashServiceKeySecret } from "../../server/auth/service-key-secret";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { parseEcbRatesCsv } from "../../server/pricing/ecb-csv";
import { exactRatio } from "../../server/pricing/exact";
import { compileFeeSchedule, computeFee, selectFeeRule } from "../../server/pricing/fees";
import { importReferenceRates } from "../../server/pricing/rates-store";
import { RateHistory, convertAmount } from "../../server/pricing/reference-rates";
import { setSpread } from "../../server/pricing/settings";
import { freshBenchDatabase } from "../lib/bench-database";

const RATES_FILE = path.resolve(import.meta.dirname, "../../../shared/fixtures/fx/eurofxref-hist.csv");
const DEFINITION = {
  rules: [
    { id: "eur", currency: "EUR", minMinor: "30", maxMinor: "2500", tiers: [{ fromMinor: "0", toMinor: "100000", rateBps: "90" }, { fromMinor: "100000", toMinor: null, rate: "0.005" }] },
    { id: "usd", currency: "USD", minMinor: "30", tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "25", rateBps: "50" }] },
  ],
};

interface Flags {
  duration: number;
  warmup: number;
  clients: number;
  pool: number;
  httpPool: number;
  only: Set<string>;
  ratesFile: string;
}

function parseFlags(argv: string[]): Flags {
  const get = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const num = (name: string, dflt: number) => {
    const v = Number(get(name, String(dflt)));
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
  };
  return {
    duration: num("duration", 10), warmup: num("warmup", 2), clients: num("clients", 32), pool: num("pool", 16), httpPool: num("http-pool", 16),
    only: new Set(get("only", "a,b,c").split(",")), ratesFile: get("rates", RATES_FILE),
  };
}

interface Measure {
  name: string;
  ops: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const amount = () => BigInt(100 + Math.floor(Math.random() * 1_000_000));

/** Runs `op` from `clients` concurrent loops for warm-up + duration; counts operations started after the warm-up. */
async function measure(name: string, flags: Pick<Flags, "duration" | "warmup">, clients: number, op: () => Promise<void>): Promise<Measure> {
  const measureFrom = performance.now() + flags.warmup * 1000;
  const end = measureFrom + flags.duration * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await op();
          if (s >= measureFrom) latencies.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const m = { name, ops: latencies.length, perSecond: latencies.length / flags.duration, p50Ms: pct(50), p99Ms: pct(99), errors, firstError };
  console.log(`  ${name}: ${m.perSecond.toFixed(0)}/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms${errors ? `, ${errors} errors (first: ${firstError})` : ""}`);
  return m;
}

/** (a): the pure domain in a tight loop (synchronous, so one "client"). */
function measureInProcess(flags: Flags, history: RateHistory, on: string): Measure {
  const schedule = compileFeeSchedule(DEFINITION);
  const pairs: [string, string][] = [["EUR", "USD"], ["EUR", "JPY"], ["USD", "JPY"], ["USD", "GBP"], ["EUR", "EUR"]];
  const spread = exactRatio(50n, 10_000n);
  const one = () => {
    const [from, to] = pick(pairs);
    const amountMinor = amount();
    const rule = selectFeeRule(schedule, { currency: from, segment: null, customerId: null }, "bench");
    computeFee(rule, amountMinor, null);
    if (from !== to) convertAmount(history, { amountMinor, from, to, on, spread });
  };
  const warmEnd = performance.now() + flags.warmup * 1000;
  while (performance.now() < warmEnd) one();
  let ops = 0;
  const t0 = performance.now();
  const end = t0 + flags.duration * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) one();
    ops += 100;
  }
  const seconds = (performance.now() - t0) / 1000;
  const m = { name: "a in-process quotes", ops, perSecond: ops / seconds, p50Ms: NaN, p99Ms: NaN, errors: 0 };
  console.log(`  ${m.name}: ${m.perSecond.toFixed(0)}/s`);
  return m;
}

async function startHttpServer(url: string, poolMax: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve("scripts/bench/http-server.ts"), url, String(poolMax)], { stdio: ["pipe", "pipe", "inherit"] });
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
  const results: Record<string, Measure> = {};
  let dbNote = "none";
  try {
    const csv = readFileSync(flags.ratesFile, "utf8");
    const file = parseEcbRatesCsv(csv);
    console.log(`pricing benchmark: ${flags.clients} HTTP clients, ${flags.warmup} s warm-up + ${flags.duration} s per run`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    if (flags.only.has("a")) {
      console.log("(a) in-process quotes (pure domain, real ECB history)");
      results.a = measureInProcess(flags, new RateHistory(file.days), file.days[0]!.date);
    }
    if (flags.only.has("b") || flags.only.has("c")) {
      const db = await freshBenchDatabase("pricing", cleanups);
      dbNote = db.note;
      console.log(`database: ${dbNote}`);
      await applyMigrations(db.url);
      const handles: DbHandles = createDbHandles(db.url, { max: flags.pool, applicationName: "bench" });
      cleanups.push(async () => {
        await handles.prisma.$disconnect();
        await handles.pool.end();
      });
      // Set-up: rates (the history plus a bench-only day dated today), a schedule, a spread.
      await importReferenceRates(handles, SYSTEM_ACTOR, { text: csv, fileName: path.basename(flags.ratesFile) });
      const [header, newest] = csv.split("\n");
      const today = new Date().toISOString().slice(0, 10);
      await importReferenceRates(handles, SYSTEM_ACTOR, { text: `${header}\n${newest!.replace(/^\d{4}-\d{2}-\d{2}/, today)}\n`, fileName: `bench-today-${today}.csv` });
      const scheduleId = randomUUID();
      await handles.pool.query(`INSERT INTO fee_schedules (id, code, name, rail, created_at) VALUES ($1, 'bench-instant', 'Bench instant', 'instant', now())`, [scheduleId]);
      await handles.pool.query(`INSERT INTO fee_schedule_versions (id, schedule_id, version, effective_from, definition, created_by, created_at) VALUES ($1, $2, 1, now() - interval '1 day', $3, 'bench', now())`, [randomUUID(), scheduleId, JSON.stringify(DEFINITION)]);
      await setSpread(handles, SYSTEM_ACTOR, { fromCurrency: "*", toCurrency: "*", segment: "", spreadBps: "50", reason: "bench" });
      const users: string[] = [];
      for (let i = 0; i < 64; i++) users.push((await openAccount(handles, { code: `bench:user:${i}`, type: "liability" })).id);
      // A key with ledger:write needs a second person's approval (server/admin/service-keys.ts); on its
      // own private database the benchmark stands in for both and stores an active key directly.
      const { secret, prefix } = generateServiceKeySecret();
      await handles.pool.query(
        `INSERT INTO service_keys (id, name, prefix, secret_hash, scopes, activated_at) VALUES (gen_random_uuid(), 'bench', $1, $2, ARRAY['ledger:read', 'ledger:write', 'pricing:read', 'pricing:quote'], now())`,
        [prefix, hashServiceKeySecret(secret)],
      );

      const { child, port } = await startHttpServer(db.url, flags.httpPool);
      cleanups.push(async () => {
        child.stdin?.end();
        child.kill("SIGTERM");
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      });
      const agent = new http.Agent({ keepAlive: true, maxSockets: flags.clients });
      cleanups.push(async () => agent.destroy());
      const post = (procedure: string, json: unknown) =>
        new Promise<void>((resolve, reject) => {
          const body = JSON.stringify({ json });
          const req = http.request(
            { host: "127.0.0.1", port, path: `/api/trpc/${procedure}`, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${secret}` } },
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
      const transferCall = () => {
        const d = pick(users);
        let c = pick(users);
        while (c === d) c = pick(users);
        return post("ledger.transfer", { debitAccountId: d, creditAccountId: c, amountMinor: amount().toString(), currency: "EUR", idempotencyKey: randomUUID() });
      };
      const quoteCall = () =>
        post("pricing.quote", { amountMinor: amount().toString(), currency: pick(["EUR", "USD"]), toCurrency: pick(["JPY", "GBP"]), rail: "instant", customerId: null, idempotencyKey: randomUUID() });
      // Warm the server process (JIT, connections, prepared statements); not measured.
      await measure("warm-up (not counted)", { warmup: 0, duration: Math.min(2, flags.duration) }, flags.clients, () => (Math.random() < 0.5 ? transferCall() : quoteCall()));
      const quiet = async () => {
        await handles.pool.query("VACUUM (ANALYZE)");
        await handles.pool.query("CHECKPOINT").catch(() => {});
      };
      if (flags.only.has("b")) {
        console.log("(b) HTTP tRPC ledger.transfer (reference)");
        await quiet();
        results.b = await measure("b HTTP ledger.transfer", flags, flags.clients, transferCall);
      }
      if (flags.only.has("c")) {
        console.log("(c) HTTP tRPC pricing.quote (cross-currency, locked)");
        await quiet();
        results.c = await measure("c HTTP pricing.quote", flags, flags.clients, quoteCall);
      }
    }
    const rate = (k: string) => results[k]?.perSecond ?? NaN;
    const targets = [
      { name: "(a) in-process quotes >= 100,000/s", value: rate("a"), ok: rate("a") >= 100_000 },
      { name: "(c) HTTP quotes >= 0.8 x (b) HTTP transfers", value: rate("c") / rate("b"), ok: rate("c") / rate("b") >= 0.8 },
    ];
    console.log("");
    for (const t of targets) console.log(`${t.ok ? "PASS" : "MISS"}  ${t.name.padEnd(44)} ${Number.isFinite(t.value) ? t.value.toFixed(2) : "n/a"}`);
    await mkdir("bench-results", { recursive: true });
    const out = path.join("bench-results", `pricing-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(
      out,
      JSON.stringify({ startedAt, flags: { ...flags, only: [...flags.only] }, database: dbNote, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage: os.loadavg(), node: process.version }, results, targets }, null, 2),
    );
    console.log(`figures written to ${out}`);
  } finally {
    await cleanup();
  }
}

await main();
