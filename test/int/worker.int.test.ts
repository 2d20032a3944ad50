/**
 * The worker: its maintenance jobs do their work against a real database, and the pg-boss worker
 * starts, schedules every job once (even with two workers) and stops cleanly.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { getBalances } from "../../server/ledger/balances";
import { openAccount, fund } from "../../server/ledger/testing";
import { expireHoldsJob, pruneIdempotencyJob, verifyAuditJob, verifyLedgerJob, MAINTENANCE_JOBS } from "../../server/worker/jobs";
import { startWorker } from "../../server/worker/worker";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe("maintenance jobs", () => {
  it("expires holds past their deadline, once, and releases the amount", async () => {
    const bank = await openAccount(db, { type: "asset" });
    const wallet = await openAccount(db, { isNoOverdraft: true });
    const merchant = await openAccount(db);
    await fund(db, bank.id, wallet.id, 1_000n);
    const expiresAt = new Date(Date.now() + 60_000);
    await executeLedgerCommand(
      db,
      SYSTEM_ACTOR,
      { type: "place_hold", debitAccountId: wallet.id, creditAccountId: merchant.id, amountMinor: 400n, currency: "EUR", expiresAt },
      { idempotencyKey: `hold-${wallet.id}` },
    );
    expect((await getBalances(db, wallet.id)).availableMinor).toBe(600n);

    expect(await expireHoldsJob.run(db, new Date(expiresAt.getTime() - 1000))).toEqual({ expired: 0 });
    expect(await expireHoldsJob.run(db, new Date(expiresAt.getTime() + 1000))).toEqual({ expired: 1 });
    expect(await expireHoldsJob.run(db, new Date(expiresAt.getTime() + 2000))).toEqual({ expired: 0 });
    const b = await getBalances(db, wallet.id);
    expect([b.postedMinor, b.pendingMinor, b.availableMinor]).toEqual([1_000n, 0n, 1_000n]);
  });

  it("prunes idempotency records older than the retention period only", async () => {
    const before = (await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM idempotency_records`)).rows[0]!.n;
    expect(Number(before)).toBeGreaterThan(0);
    // Nothing is older than the retention period yet.
    expect(await pruneIdempotencyJob.run(db, new Date())).toEqual({ pruned: 0 });
    // Seen from far in the future, every record is past retention.
    const future = new Date(Date.now() + 400 * 24 * 3600 * 1000);
    expect(await pruneIdempotencyJob.run(db, future)).toEqual({ pruned: Number(before) });
    expect((await db.pool.query(`SELECT 1 FROM idempotency_records`)).rowCount).toBe(0);
  });

  it("reports an intact ledger and audit chain", async () => {
    expect(await verifyLedgerJob.run(db, new Date())).toMatchObject({ isOk: true, discrepancies: 0 });
    expect(await verifyAuditJob.run(db, new Date())).toMatchObject({ isIntact: true, firstBreak: null });
  });
});

describe("worker process", () => {
  it("two workers start, register one schedule per job, and stop cleanly", async () => {
    const a = await startWorker({ databaseUrl: db.url, db, metricsPort: 0 });
    const b = await startWorker({ databaseUrl: db.url, db, metricsPort: 0 });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const rows = await c.query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule ORDER BY name`);
    await c.end();
    expect(rows.rows.map((r) => r.name)).toEqual(MAINTENANCE_JOBS.map((j) => j.name).sort());
    await a.stop();
    await b.stop();
  });
});

describe("worker process (npm run start:worker)", () => {
  it("says why it did not start and exits 1 when its start fails (its metrics port is taken)", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const busyPort = (blocker.address() as net.AddressInfo).port;
    try {
      const root = path.resolve(import.meta.dirname, "../..");
      const out = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/worker.ts"], {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TZ: "UTC", DATABASE_URL: db.url, WORKER_METRICS_PORT: String(busyPort), LOG_LEVEL: "error" } as unknown as NodeJS.ProcessEnv,
        timeout: 120_000,
      }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code ?? null, stderr: e.stderr ?? "" }),
      );
      expect(out.code, out.stderr).toBe(1);
      expect(out.stderr).toMatch(/\[worker\] error: the worker did not start: .*EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, 150_000);
});
