/**
 * The reconciliation objectives read reconciliation's own records: the automatic match rate from
 * each source's last completed run of each day, break age from the breaks (resolved in time, late,
 * or still open past the threshold); the overview's unreconciled amount per currency.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../support/test-db";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { openAccount } from "../../server/ledger/testing";
import { createSource } from "../../server/recon/sources";
import { ensureDefaultSlos, getSloDefinition } from "../../server/slo/definitions";
import { evaluateSlo } from "../../server/slo/evaluate";
import { readLargestOpenBreaks, readReconSummary } from "../../server/slo/recon-indicators";

let db: TestDb;
let sourceId: string;
const now = new Date();
const ago = (h: number) => new Date(now.getTime() - h * 3_600_000);

beforeAll(async () => {
  db = await createTestDb();
  await ensureDefaultSlos(db);
  const account = await openAccount(db, { code: "bank:slo-recon:EUR", type: "asset" });
  sourceId = (await createSource(db, SYSTEM_ACTOR, { name: "SLO bank", kind: "bank_account", ledgerAccount: account.code, iban: "NL91ABNA0417164300" })).id;
});
afterAll(async () => {
  await db?.drop();
});

async function run(at: Date, lines: number, matchedLines: number, status = "completed") {
  await db.pool.query(
    `INSERT INTO recon_runs (source_id, period_from, period_to, trigger, rule_set_version, status, summary, actor_label, started_at, finished_at)
     VALUES ($1, $2::date, $2::date, 'schedule', 1, $3, $4::jsonb, 'test', $5, $5)`,
    [sourceId, at.toISOString().slice(0, 10), status, JSON.stringify({ lines, matchedLines }), at],
  );
}

async function brk(openedAt: Date, resolvedAt: Date | null, amountMinor: bigint, currency = "EUR") {
  await db.pool.query(
    `INSERT INTO recon_breaks (source_id, type, status, amount_minor, currency, occurred_on, opened_at, resolved_at, resolution)
     VALUES ($1, 'missing_in_ledger', $2, $3, $4, $5::date, $5, $6, $7)`,
    [sourceId, resolvedAt ? "resolved" : "open", amountMinor, currency, openedAt, resolvedAt, resolvedAt ? "matched by hand" : null],
  );
}

describe("reconciliation objectives", () => {
  it("match rate: each source's last completed run of each day", async () => {
    await run(ago(50), 100, 40); // an earlier run of that day: superseded
    await run(ago(49), 100, 90);
    await run(ago(2), 50, 50);
    await run(ago(1), 60, 10, "failed"); // not completed: not counted
    const status = await evaluateSlo(db.pool, await getSloDefinition(db, "recon-auto-match"), now);
    expect(status.isAvailable).toBe(true);
    // Two days (unless the first two runs fall on different UTC days, when the 40 of 100 counts too).
    const sameDay = ago(50).toISOString().slice(0, 10) === ago(49).toISOString().slice(0, 10);
    expect(status.counts).toEqual(sameDay ? { good: 140, valid: 150 } : { good: 180, valid: 250 });
  });

  it("break age: resolved within three days is good; resolved later or open past it is bad; younger open ones wait", async () => {
    await brk(ago(24 * 10), ago(24 * 9), 1_000n); // resolved in a day: good
    await brk(ago(24 * 10), ago(24 * 5), 2_000n); // resolved in five days: bad
    await brk(ago(24 * 4), null, 3_000n); // open four days: bad
    await brk(ago(5), null, 4_000n, "JPY"); // open five hours: not counted yet
    const status = await evaluateSlo(db.pool, await getSloDefinition(db, "recon-breaks-3d"), now);
    expect(status.counts).toEqual({ good: 1, valid: 3 });
    expect(await readReconSummary(db.pool)).toEqual({
      openBreaks: 2,
      unreconciled: [
        { currency: "EUR", amountMinor: 3_000n },
        { currency: "JPY", amountMinor: 4_000n },
      ],
    });
    expect((await readLargestOpenBreaks(db.pool, 1)).map((b) => b.amountMinor)).toEqual([4_000n]);
  });
});
