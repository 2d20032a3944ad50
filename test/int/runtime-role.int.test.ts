/**
 * The role the web and worker connect as (server/db/runtime-role.ts) owns no table: attacked with
 * raw SQL it can neither disable a trigger, alter or drop a table, truncate, nor rewrite the audit
 * log or the ledger; yet the application's own work runs under it (ledger writes with their audit
 * records, a transfer with its job, the integrity check).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createTestDb, type TestDb } from "../support/test-db";
import { createDbHandles, type DbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { fund, openAccount } from "../../server/ledger/testing";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { verifyLedger } from "../../server/ledger/verify";
import { createTransfer } from "../../server/transfers/create";
import { claimDueSubmissions } from "../../server/transfers/submission-queue";
import { stopSender } from "../../server/jobs/queues";
import { assertConnectsAsRuntimeRole, tablesOwnedByCurrentRole } from "../../server/db/runtime-role";

let t: TestDb;
let runtime: pg.Client;
let app: DbHandles;

beforeAll(async () => {
  t = await createTestDb();
  runtime = new pg.Client({ connectionString: t.runtimeUrl });
  await runtime.connect();
  app = createDbHandles(t.runtimeUrl, { max: 6, applicationName: "runtime-role-test" });
});
afterAll(async () => {
  await runtime?.end();
  await stopSender(app.pool);
  await app?.pool.end();
  await t?.drop();
});

describe("the runtime role", () => {
  it("owns no table; a production process connected as the owner refuses to start", async () => {
    expect(await tablesOwnedByCurrentRole(runtime)).toBe(0);
    await expect(assertConnectsAsRuntimeRole(runtime, "web")).resolves.toBeUndefined();
    expect(await tablesOwnedByCurrentRole(t.pool)).toBeGreaterThan(20);
    await expect(assertConnectsAsRuntimeRole(t.pool, "worker")).rejects.toThrow(/worker: DATABASE_URL connects as \w+, which owns \d+ of the product's tables/);
  });

  it.each([
    ["disable the audit log's triggers", `ALTER TABLE audit_log DISABLE TRIGGER ALL`, /must be owner of table audit_log/],
    ["disable the ledger's balance check", `ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_balanced`, /must be owner of table journal_entries/],
    ["rewrite an audit record", `UPDATE audit_log SET reason = 'nothing to see'`, /permission denied for table audit_log/],
    ["delete the audit log", `DELETE FROM audit_log`, /permission denied for table audit_log/],
    ["delete postings", `DELETE FROM postings`, /permission denied for table postings/],
    ["truncate the journal", `TRUNCATE journal_entries CASCADE`, /permission denied for table journal_entries/],
    ["drop a table", `DROP TABLE transfers`, /must be owner of table transfers/],
    ["add a column", `ALTER TABLE ledger_accounts ADD COLUMN note text`, /must be owner of table ledger_accounts/],
    ["create a table", `CREATE TABLE public.shadow_ledger (id int)`, /permission denied for schema public/],
    ["replace a rule-check function", `CREATE OR REPLACE FUNCTION ledger_lock_keys(lock_ids int4[], wait_ms int4) RETURNS void LANGUAGE sql AS 'SELECT'`, /must be owner of function ledger_lock_keys|permission denied for schema public/],
    ["forge the migration history", `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ('x', 'x', 'x', now())`, /permission denied for table _prisma_migrations/],
  ])("cannot %s", async (_label, sql, message) => {
    await expect(runtime.query(sql)).rejects.toThrow(message);
  });

  it("runs the application's own work", async () => {
    const bank = await openAccount(app, { code: "bank:EUR", type: "asset" });
    const wallet = await openAccount(app, { code: "customer:1:wallet", type: "liability", isNoOverdraft: true });
    await fund(app, bank.id, wallet.id, 10_000n);
    const r = await executeLedgerCommand(app, SYSTEM_ACTOR, { type: "transfer", debitAccountId: wallet.id, creditAccountId: bank.id, amountMinor: 100n, currency: "EUR" }, { idempotencyKey: randomUUID() });
    expect(r.entries).toHaveLength(1);
    const { transfer } = await createTransfer(
      app,
      SYSTEM_ACTOR,
      { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: 500n, currency: "EUR", rail: "instant", partner: "sandbox" },
      { idempotencyKey: randomUUID() },
    );
    expect(transfer.state).toBe("reserved");
    // The worker's claim (an update of transfers, a partner_requests insert) runs as the runtime role too.
    expect((await claimDueSubmissions(app, 10, new Date())).map((c) => c.t.id)).toEqual([transfer.id]);
    expect((await verifyLedger(app)).isOk).toBe(true);
    expect((await app.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action LIKE 'ledger.%'`)).rows[0].n).toBeGreaterThan(0);
  });
});
