// Where matching spends its time, statement by statement (issue 11):
//   node --import tsx scripts/bench/recon-profile.ts [--lines=200000] [--data=/tmp/recon-profile] [--runs=1] [--explain=1000]
//
// Prepares once, in an embedded PostgreSQL kept in --data (durable settings, as bench:recon): a
// database holding the benchmark's N ledger movements and its imported N-line statement. Each run
// then matches on a fresh copy of it (CREATE DATABASE ... TEMPLATE) and prints every statement the
// run sent with its time, slowest first. --explain=<ms> also logs the plan (EXPLAIN ANALYZE,
// BUFFERS, through auto_explain) of every statement slower than that. Not a benchmark: its figures
// are for finding what to change; bench:recon is the measure.
import { createReadStream, readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles } from "../../server/db/client";
import { findFreePort, startEmbeddedPostgres } from "../../server/db/embedded";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import type { LedgerItem } from "../../server/ledger/types";
import { runReconciliation } from "../../server/recon/matching";
import { importStatement } from "../../server/recon/import";
import { createSource } from "../../server/recon/sources";
import { benchEntry, writeBenchStatement } from "../lib/camt053-generate";

const DATE = "2026-11-20";
const IBAN = "NL91ABNA0417164300";

function option(name: string, dflt: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
}

const lines = Number(option("lines", "200000"));
const runs = Number(option("runs", "1"));
const explainMs = Number(option("explain", "0"));
const dataDir = path.resolve(option("data", "/tmp/recon-profile"));
if (!Number.isInteger(lines) || lines <= 0 || !Number.isInteger(runs) || runs <= 0) throw new Error("--lines and --runs must be positive whole numbers");

const log = (s: string) => process.stdout.write(`${s}\n`);
const serverLog: string[] = [];
const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), settings: ["log_min_messages=log"], log: (l) => serverLog.push(l) });
const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
const base = `prof_${lines}`;
try {
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [base])).rowCount === 1;
  if (!exists) {
    log(`preparing ${base}: ${lines} ledger movements and the statement`);
    await admin.query(`DROP DATABASE IF EXISTS "${base}_wip"`);
    await admin.query(`CREATE DATABASE "${base}_wip"`);
    const url = server.urlFor(`${base}_wip`);
    await applyMigrations(url);
    const db = createDbHandles(url, { max: 6, applicationName: "recon-profile" });
    const bank = await openAccount(db, { code: "bank:bench:EUR", type: "asset" });
    const counter = await openAccount(db, { code: "clearing:bench:EUR", type: "liability" });
    const effectiveAt = new Date(`${DATE}T12:00:00Z`);
    let next = 0;
    const batches = Math.ceil(lines / 1000);
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        while (next < batches) {
          const b = next++;
          const items: LedgerItem[] = [];
          for (let n = b * 1000; n < Math.min(lines, (b + 1) * 1000); n++) {
            const e = benchEntry(n);
            const isIn = e.direction === "credit";
            items.push({ type: "transfer", debitAccountId: isIn ? bank.id : counter.id, creditAccountId: isIn ? counter.id : bank.id, amountMinor: e.amountMinor, currency: "EUR", effectiveAt, metadata: { reference: e.endToEndId } });
          }
          await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "batch", items }, { idempotencyKey: `bench:recon:${b}` });
        }
      }),
    );
    const source = await createSource(db, SYSTEM_ACTOR, { name: "Bench bank EUR", kind: "bank_account", ledgerAccount: bank.code, iban: IBAN });
    const tmp = path.join(dataDir, "statement.xml");
    await mkdir(dataDir, { recursive: true });
    await writeBenchStatement(tmp, lines, { iban: IBAN, date: DATE });
    const t = performance.now();
    await importStatement(db, SYSTEM_ACTOR, { sourceId: source.id, fileName: "statement.xml", content: createReadStream(tmp, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer> });
    log(`import: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    await rm(tmp, { force: true });
    await db.pool.query("VACUUM ANALYZE");
    await db.prisma.$disconnect().catch(() => {});
    await db.pool.end();
    await admin.query(`ALTER DATABASE "${base}_wip" RENAME TO "${base}"`);
  }

  for (let r = 0; r < runs; r++) {
    await admin.query(`DROP DATABASE IF EXISTS prof_trial`);
    await admin.query(`CREATE DATABASE prof_trial TEMPLATE "${base}"`);
    // A database prepared before a newer migration gets it here.
    await applyMigrations(server.urlFor("prof_trial"));
    if (explainMs > 0) {
      await admin.query(`ALTER DATABASE prof_trial SET session_preload_libraries = 'auto_explain'`);
      for (const s of [`auto_explain.log_min_duration = ${explainMs}`, "auto_explain.log_analyze = on", "auto_explain.log_buffers = on", "auto_explain.log_nested_statements = on"]) {
        await admin.query(`ALTER DATABASE prof_trial SET ${s}`);
      }
    }
    const db = createDbHandles(server.urlFor("prof_trial"), { max: 4, applicationName: "recon-profile" });
    await db.pool.query("VACUUM ANALYZE");
    const source = (await db.pool.query<{ id: string }>(`SELECT id FROM recon_sources`)).rows[0]!;
    const times: { ms: number; cpuMs: number; text: string }[] = [];
    // The server process's CPU time (user + system, /proc/<pid>/stat), less disturbed by a busy machine than wall time.
    const cpuMsOf = (pid: number) => {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
        return (Number(f[11]) + Number(f[12])) * 10;
      } catch {
        return Number.NaN;
      }
    };
    const Client = db.pool.options.Client as typeof pg.Client;
    const original = Client.prototype.query;
    Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string } | null)?.text ?? "");
      const pid = (this as unknown as { processID: number }).processID;
      const t0 = performance.now();
      const c0 = cpuMsOf(pid);
      const out = (original as (...a: unknown[]) => unknown).apply(this, args);
      if (out && typeof (out as Promise<unknown>).then === "function") {
        (out as Promise<unknown>).then(
          () => times.push({ ms: performance.now() - t0, cpuMs: cpuMsOf(pid) - c0, text }),
          () => {},
        );
      }
      return out;
    } as typeof original;
    serverLog.length = 0;
    const t = performance.now();
    const result = await runReconciliation(db, SYSTEM_ACTOR, { sourceId: source.id, periodFrom: DATE, periodTo: DATE, trigger: "manual" });
    const total = performance.now() - t;
    Client.prototype.query = original;
    log(`\nrun ${r + 1}: ${(total / 1000).toFixed(2)} s, ${result.summary.autoMatchedLines} of ${result.summary.lines} lines matched, ${result.summary.breaksOpened} breaks opened`);
    for (const x of [...times].sort((a, b) => b.ms - a.ms).slice(0, 25)) {
      log(`${(x.ms / 1000).toFixed(3).padStart(8)} s ${(x.cpuMs / 1000).toFixed(2).padStart(6)} cpu  ${x.text.replace(/\s+/g, " ").trim().slice(0, 150)}`);
    }
    log(`(${times.length} statements, ${(times.reduce((s, x) => s + x.ms, 0) / 1000).toFixed(2)} s in all, server CPU ${(times.reduce((s, x) => s + x.cpuMs, 0) / 1000).toFixed(2)} s)`);
    if (explainMs > 0) for (const l of serverLog) if (l.includes("duration:") || l.includes("->") || l.includes("Buffers") || l.includes("Query Text")) log(l);
    await db.prisma.$disconnect().catch(() => {});
    await db.pool.end();
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS prof_trial`).catch(() => {});
  await admin.end();
  await server.stop();
}
