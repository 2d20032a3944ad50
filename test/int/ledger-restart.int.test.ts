// PostgreSQL stops and starts again in the middle of a load of transfers. Callers retry with the
// same idempotency key on retryable errors. While the server is down they see only typed,
// retryable DB_UNAVAILABLE errors; throughput recovers within seconds; every acknowledged write is
// stored, none twice; the integrity check passes. Uses its OWN embedded PostgreSQL (temp data
// folder, own port), never the shared test server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rm } from "node:fs/promises";
import { findFreePort, startEmbeddedPostgres, tempDataDir, type EmbeddedServer } from "../../server/db/embedded";
import { applyMigrations } from "../../server/db/migrate";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { openAccount } from "../../server/ledger/testing";
import { transfer } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { AppError } from "../../server/errors/app-error";

const CALLERS = 6;
const BEFORE_STOP_MS = 2_000;
const DOWN_MS = 2_000;
const AFTER_START_MS = 4_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dataDir: string;
let port: number;
let server: EmbeddedServer | null = null;
let handles: DbHandles;

beforeAll(async () => {
  dataDir = tempDataDir("ledger-restart");
  port = await findFreePort();
  // Durable settings, as in production: acknowledged commits must survive the restart.
  server = await startEmbeddedPostgres({ dataDir, port });
  await applyMigrations(server.adminUrl);
  handles = createDbHandles(server.adminUrl, { max: 8, applicationName: "restart-test" });
}, 120_000);

afterAll(async () => {
  await handles?.prisma.$disconnect().catch(() => {});
  await handles?.pool.end().catch(() => {});
  await server?.stop().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe("ledger across a PostgreSQL restart", () => {
  it("keeps every acknowledged write exactly once and surfaces only retryable typed errors", async () => {
    const bank = await openAccount(handles, { code: "restart:bank", type: "asset" });
    const wallets = [];
    for (let i = 0; i < 4; i++) wallets.push(await openAccount(handles, { code: `restart:wallet:${i}`, type: "liability" }));
    const fees = await openAccount(handles, { code: "restart:fees", type: "revenue" });
    const targets = [...wallets, fees];

    const acked: { key: string; at: number; isReplay: boolean }[] = [];
    const errorsWhileDown: unknown[] = [];
    const otherErrors: unknown[] = [];
    let isStopping = false;
    let isDown = false;
    let shouldRun = true;

    const caller = async (w: number) => {
      for (let n = 0; shouldRun; n++) {
        const key = `restart-${w}-${n}`;
        const input = { debitAccountId: bank.id, creditAccountId: targets[n % targets.length]!.id, amountMinor: BigInt(1 + n), currency: "EUR", idempotencyKey: key };
        // Retry the same request under the same key until it is acknowledged.
        for (;;) {
          try {
            const r = await transfer(handles, SYSTEM_ACTOR, input);
            acked.push({ key, at: performance.now(), isReplay: r.isReplay });
            break;
          } catch (e) {
            if (isStopping || isDown) errorsWhileDown.push(e);
            else otherErrors.push(e);
            if (!(e instanceof AppError && e.isRetryable)) return;
            await sleep(50);
          }
        }
      }
    };

    const t0 = performance.now();
    const running = Promise.all(Array.from({ length: CALLERS }, (_, w) => caller(w)));
    await sleep(BEFORE_STOP_MS);
    const ackedBeforeStop = acked.length;
    const rateBefore = ackedBeforeStop / (BEFORE_STOP_MS / 1000);

    isStopping = true;
    await server!.stop();
    isDown = true;
    const ackedWhileDownStart = acked.length;
    await sleep(DOWN_MS);
    const ackedWhileDown = acked.length - ackedWhileDownStart;
    server = await startEmbeddedPostgres({ dataDir, port });
    const restartedAt = performance.now();
    // Errors from connections that died with the old server may still arrive just after the start.
    await sleep(500);
    isDown = false;
    isStopping = false;
    await sleep(AFTER_START_MS - 500);
    shouldRun = false;
    await running;

    // While down: only DB_UNAVAILABLE, typed and retryable, never a raw driver error.
    expect(errorsWhileDown.length).toBeGreaterThan(0);
    for (const e of errorsWhileDown) {
      expect(e, String((e as Error)?.message)).toBeInstanceOf(AppError);
      expect(e).toMatchObject({ code: "DB_UNAVAILABLE", isRetryable: true });
    }
    expect(otherErrors.map((e) => String((e as Error)?.message))).toEqual([]);
    expect(ackedWhileDown).toBe(0);

    // Throughput recovers within seconds.
    const firstAfter = acked.find((a) => a.at > restartedAt);
    expect(firstAfter?.at, "no write was acknowledged after the restart").toBeGreaterThan(restartedAt);
    expect(firstAfter!.at - restartedAt).toBeLessThan(3_000);
    const lastSecond = acked.filter((a) => a.at > restartedAt + AFTER_START_MS - 2_000 && a.at <= restartedAt + AFTER_START_MS - 1_000).length;
    expect(lastSecond).toBeGreaterThan(0.3 * rateBefore);
    expect(rateBefore).toBeGreaterThan(0);
    void t0;

    // Every acknowledged write is stored, exactly once.
    const keys = acked.map((a) => a.key);
    expect(new Set(keys).size).toBe(keys.length);
    const { rows } = await handles.pool.query<{ idempotency_key: string; n: number }>(
      `SELECT idempotency_key, count(*)::int AS n FROM journal_entries WHERE idempotency_key LIKE 'restart-%' GROUP BY idempotency_key`,
    );
    const stored = new Map(rows.map((r) => [r.idempotency_key, r.n]));
    const missing = keys.filter((k) => stored.get(k) !== 1);
    expect(missing).toEqual([]);
    expect(stored.size).toBe(keys.length);
    const postings = await handles.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE e.idempotency_key LIKE 'restart-%'`,
    );
    expect(postings.rows[0]!.n).toBe(2 * keys.length);

    const report = await verifyLedger(handles);
    expect(report.discrepancies).toEqual([]);
    expect(report.isOk).toBe(true);
  }, 120_000);
});
