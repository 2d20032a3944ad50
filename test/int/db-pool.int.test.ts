// An exhausted connection pool fails fast with a clear, typed, retryable error instead of hanging
// until the statement timeout, and the same write succeeds once a connection is free.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { openAccount } from "../../server/ledger/testing";
import { transfer } from "../../server/ledger/write-path";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { AppError } from "../../server/errors/app-error";
import { createDbHandles } from "../../server/db/client";

const ACQUIRE_TIMEOUT_MS = 300;
const STATEMENT_TIMEOUT_MS = 30_000;

let t: TestDb;
let pool: pg.Pool;

beforeAll(async () => {
  t = await createTestDb();
  pool = new pg.Pool({ connectionString: t.url, max: 2, connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS, statement_timeout: STATEMENT_TIMEOUT_MS });
  pool.on("error", () => {});
});

afterAll(async () => {
  await pool.end();
  await t.drop();
});

describe("connection pool exhaustion", () => {
  it("fails a ledger write fast with DB_UNAVAILABLE naming the exhausted pool, then succeeds when a connection frees up", async () => {
    const bank = await openAccount(t, { type: "asset" });
    const wallet = await openAccount(t, { type: "liability" });
    const input = { debitAccountId: bank.id, creditAccountId: wallet.id, amountMinor: 500n, currency: "EUR", idempotencyKey: "pool-1" };

    const held = [await pool.connect(), await pool.connect()];
    const started = performance.now();
    const err = await transfer({ pool }, SYSTEM_ACTOR, input).catch((e: unknown) => e);
    const elapsedMs = performance.now() - started;
    for (const c of held) c.release();

    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "DB_UNAVAILABLE", isRetryable: true, details: { reason: "pool_exhausted", poolMax: 2 } });
    expect((err as AppError).message).toMatch(/connection pool is exhausted: all 2 connections stayed busy for 300 ms/);
    expect(elapsedMs).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS - 20);
    expect(elapsedMs).toBeLessThan(3_000);

    // Nothing was written by the failed call; the retry with the same key applies it once.
    const retried = await transfer({ pool }, SYSTEM_ACTOR, input);
    expect(retried.isReplay).toBe(false);
    const again = await transfer({ pool }, SYSTEM_ACTOR, input);
    expect(again.isReplay).toBe(true);
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM journal_entries WHERE idempotency_key = 'pool-1'`);
    expect(rows[0].n).toBe(1);
  });
});

describe("product connections", () => {
  it("start with JIT off, keep a URL's own startup options, and let the URL turn JIT back on", async () => {
    const setting = async (url: string) => {
      const h = createDbHandles(url, { max: 1 });
      try {
        return (await h.pool.query<{ jit: string; app: string }>(`SELECT current_setting('jit') AS jit, current_setting('lock_timeout') AS app`)).rows[0]!;
      } finally {
        await h.pool.end();
      }
    };
    const withOptions = (options: string) => {
      const u = new URL(t.url);
      u.searchParams.set("options", options);
      return u.toString();
    };
    expect((await setting(t.url)).jit).toBe("off");
    expect(await setting(withOptions("-c lock_timeout=1234"))).toEqual({ jit: "off", app: "1234ms" });
    expect((await setting(withOptions("-c jit=on"))).jit).toBe("on");
  });
});
