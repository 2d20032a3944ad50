// The reconciliation benchmark (issue 11). `npm run bench:recon [-- --lines=1000000 --callers=3]`
//
// On a fresh database (embedded PostgreSQL with production durability, or a fresh database on
// DATABASE_URL's server): N ledger movements on one bank account (through the ledger's write path,
// batches of 1,000; setup, timed apart), then a camt.053 statement of the same N lines
// (scripts/lib/camt053-generate.ts) imported by a separate process (so its peak memory is its
// own), then matching (runReconciliation), each timed on its own. In the same run, the physical
// baseline: PostgreSQL COPY of the same lines into a plain table, then one hash join on the
// reference against the ledger items; our times are printed as ratios to it. Targets: import and
// matching within 20 s each, the importing process under 512 MB. Writes
// bench-results/recon-<timestamp>.json and stops everything it started.
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { from as copyFrom } from "pg-copy-streams";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import type { LedgerItem } from "../../server/ledger/types";
import { runReconciliation } from "../../server/recon/matching";
import { createSource } from "../../server/recon/sources";
import { benchEntry, writeBenchStatement } from "../lib/camt053-generate";
import { freshBenchDatabase } from "../lib/bench-database";

const root = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const DATE = "2026-11-20";
const IBAN = "NL91ABNA0417164300";

function flag(name: string, dflt: number): number {
  const v = Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

async function main(): Promise<number> {
  const lines = flag("lines", 1_000_000);
  const callers = flag("callers", 3);
  const batchSize = flag("batch", 1000);
  const cleanups: (() => Promise<void>)[] = [];
  const log = (s: string) => process.stdout.write(`${s}\n`);
  const tmp = path.join(os.tmpdir(), `bench-recon-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  try {
    const { url, note } = await freshBenchDatabase("recon", cleanups);
    log(`database: ${note}`);
    await applyMigrations(url);
    const db = createDbHandles(url, { max: callers + 4, applicationName: "bench-recon" });
    cleanups.push(async () => {
      await db.prisma.$disconnect().catch(() => {});
      await db.pool.end();
    });
    const bank = await openAccount(db, { code: "bank:bench:EUR", type: "asset" });
    const counter = await openAccount(db, { code: "clearing:bench:EUR", type: "liability" });

    // Setup: the ledger side, through the write path.
    let t = performance.now();
    const batches = Math.ceil(lines / batchSize);
    let nextBatch = 0;
    const effectiveAt = new Date(`${DATE}T12:00:00Z`);
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (nextBatch < batches) {
          const b = nextBatch++;
          const items: LedgerItem[] = [];
          for (let n = b * batchSize; n < Math.min(lines, (b + 1) * batchSize); n++) {
            const e = benchEntry(n);
            const isIn = e.direction === "credit";
            items.push({ type: "transfer", debitAccountId: isIn ? bank.id : counter.id, creditAccountId: isIn ? counter.id : bank.id, amountMinor: e.amountMinor, currency: "EUR", effectiveAt, metadata: { reference: e.endToEndId } });
          }
          await executeLedgerCommand(db, SYSTEM_ACTOR, { type: "batch", items }, { idempotencyKey: `bench:recon:${b}` });
        }
      }),
    );
    const setupMs = performance.now() - t;
    log(`setup: ${lines} ledger movements in ${(setupMs / 1000).toFixed(1)} s (not part of the measured steps)`);
    await db.pool.query("VACUUM ANALYZE postings");
    await db.pool.query("VACUUM ANALYZE journal_entries");

    t = performance.now();
    const file = await writeBenchStatement(path.join(tmp, "statement.xml"), lines, { iban: IBAN, date: DATE });
    log(`statement: ${lines} lines, ${(file.bytes / 1e6).toFixed(1)} MB written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const source = await createSource(db, SYSTEM_ACTOR, { name: "Bench bank EUR", kind: "bank_account", ledgerAccount: bank.code, iban: IBAN });

    // Measured: import, in its own process.
    t = performance.now();
    // The heap is capped at 256 MB (the memory bound for a 100 MB statement): garbage is collected as under pressure, and the import must fit.
    const child = await run(process.execPath, ["--max-old-space-size=256", "--import", "tsx", path.join(root, "scripts/bench/recon-import.ts"), url, source.id, file.path], { cwd: root, maxBuffer: 1 << 20, env: { ...process.env, LOG_LEVEL: "error" } });
    const imp = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as { ms: number; status: string; lines: number; maxRssBytes: number };
    const importWallMs = performance.now() - t;
    if (imp.status !== "imported" || imp.lines !== lines) throw new Error(`import: ${JSON.stringify(imp)}`);
    log(`import: ${imp.lines} lines in ${(imp.ms / 1000).toFixed(2)} s (process wall time ${(importWallMs / 1000).toFixed(2)} s), peak RSS ${(imp.maxRssBytes / 1048576).toFixed(0)} MiB`);

    // Measured: matching.
    t = performance.now();
    const r = await runReconciliation(db, SYSTEM_ACTOR, { sourceId: source.id, periodFrom: DATE, periodTo: DATE, trigger: "manual" });
    const matchMs = performance.now() - t;
    log(`matching: ${r.summary.autoMatchedLines} of ${r.summary.lines} lines matched automatically in ${(matchMs / 1000).toFixed(2)} s (breaks opened: ${r.summary.breaksOpened})`);

    // Baseline: COPY of the same lines into a plain table, then one hash join on the reference.
    await db.pool.query(`CREATE TABLE base_lines (ref text, amount bigint, direction text, booking_date date)`);
    await db.pool.query(
      `CREATE TABLE base_items AS SELECT e.metadata->>'reference' AS ref, p.amount_minor AS amount FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE p.account_id = $1`,
      [bank.id],
    );
    await db.pool.query(`ANALYZE base_items`);
    const csvPath = path.join(tmp, "lines.tsv");
    const out = createWriteStream(csvPath);
    let buf = "";
    for (let n = 0; n < lines; n++) {
      const e = benchEntry(n);
      buf += `${e.endToEndId}\t${e.amountMinor}\t${e.direction}\t${DATE}\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await once(out, "drain");
        buf = "";
      }
    }
    out.end(buf);
    await once(out, "finish");
    const client = await db.pool.connect();
    let copyMs: number;
    try {
      const { createReadStream } = await import("node:fs");
      const { pipeline } = await import("node:stream/promises");
      t = performance.now();
      await pipeline(createReadStream(csvPath), client.query(copyFrom(`COPY base_lines FROM STDIN`)));
      copyMs = performance.now() - t;
    } finally {
      client.release();
    }
    await db.pool.query(`ANALYZE base_lines`);
    t = performance.now();
    const joined = (await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM base_lines l JOIN base_items i ON i.ref = l.ref AND i.amount = l.amount`)).rows[0]!.n;
    const joinMs = performance.now() - t;
    log(`baseline: COPY ${lines} lines in ${(copyMs / 1000).toFixed(2)} s; hash join on the reference (${joined} pairs) in ${(joinMs / 1000).toFixed(2)} s`);

    const targets = [
      { name: "import within 20 s", ok: imp.ms <= 20_000, value: `${(imp.ms / 1000).toFixed(2)} s` },
      { name: "matching within 20 s", ok: matchMs <= 20_000, value: `${(matchMs / 1000).toFixed(2)} s` },
      { name: "importing process under 512 MB", ok: imp.maxRssBytes < 512 * 1048576, value: `${(imp.maxRssBytes / 1048576).toFixed(0)} MiB` },
      { name: "every line matched automatically", ok: r.summary.autoMatchedLines === lines, value: `${r.summary.autoMatchedLines}` },
    ];
    log("");
    log(`ratio to the baseline: import / COPY = ${(imp.ms / copyMs).toFixed(1)}x, matching / hash join = ${(matchMs / joinMs).toFixed(1)}x`);
    for (const x of targets) log(`${x.ok ? "PASS" : "MISS"}  ${x.name.padEnd(36)} ${x.value}`);
    await mkdir(path.join(root, "bench-results"), { recursive: true });
    const resultFile = path.join(root, "bench-results", `recon-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    await writeFile(
      resultFile,
      JSON.stringify({ lines, callers, batchSize, statementBytes: file.bytes, setupMs, importMs: imp.ms, importWallMs, importMaxRssBytes: imp.maxRssBytes, matchMs, summary: r.summary, baseline: { copyMs, joinMs, joined }, ratios: { import: imp.ms / copyMs, matching: matchMs / joinMs }, targets, database: note, cpus: os.cpus().length }, null, 2),
    );
    log(`results: ${path.relative(root, resultFile)}`);
    return targets.every((x) => x.ok) ? 0 : 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => process.stderr.write(`cleanup: ${(e as Error).message}\n`));
  }
}

process.exitCode = await main();
