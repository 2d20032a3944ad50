/**
 * The running demo's daily files (job recon-demo-files, importDemoDailyFiles): transfers settle
 * through the real sandbox on a simulated day; the next day's run fetches that day's camt.053
 * statement and both rails' settlement files from the sandbox, imports each into its demo source
 * and reconciles it (every line matched to its transfer); a second run the same day imports
 * nothing and opens nothing; the following day's statement continues the chain (its opening is
 * the previous closing, no statement_gap or balance_mismatch break), also where the demo seed's
 * week of history (transfers the sandbox never saw) ends and the sandbox's own statements begin.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetEnvForTests } from "../../server/env";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { ensureDemoReconSources, seedDemoReconciliation } from "../../server/demo/seed-recon";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { stopSender } from "../../server/jobs/queues";
import { sandboxIban } from "../../server/sandbox/statements";
import { reconDemoFilesJob } from "../../server/worker/jobs";
import { createTestDb, type TestDb } from "../support/test-db";
import { count, dayOfDate, middayInDays, startSandboxWorld, type SandboxWorld } from "./recon-test-helpers";

let db: TestDb;
let world: SandboxWorld;
const savedEnv = { DEMO_TRAFFIC: process.env.DEMO_TRAFFIC, SANDBOX_URL: process.env.SANDBOX_URL };

beforeAll(async () => {
  db = await createTestDb();
  world = await startSandboxWorld(db);
  // The demo's settings: demo mode on, the sandbox where the worker fetches its files.
  process.env.DEMO_TRAFFIC = "true";
  process.env.SANDBOX_URL = world.sandbox.url;
  resetEnvForTests();
});
afterAll(async () => {
  await world?.close();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetEnvForTests();
  if (db) await stopSender(db.pool);
  await db?.drop();
});

const at = (date: Date, hours: number) => new Date(date.getTime() + hours * 3_600_000);

async function snapshot() {
  return {
    imports: await count(db, "recon_imports"),
    lines: await count(db, "recon_lines"),
    runs: await count(db, "recon_runs"),
    matches: await count(db, "recon_matches"),
    breaks: await count(db, "recon_breaks"),
  };
}

/** Each demo source's lines of `day` and how many of them are matched. */
async function linesOf(day: string) {
  const rows = (
    await db.pool.query<{ name: string; lines: string; matched: string }>(
      `SELECT s.name, count(l.id) AS lines, count(m.line_id) AS matched
         FROM recon_sources s LEFT JOIN recon_lines l ON l.source_id = s.id AND l.booking_date = $1::date LEFT JOIN recon_match_lines m ON m.line_id = l.id
        GROUP BY s.name ORDER BY s.name`,
      [day],
    )
  ).rows;
  return Object.fromEntries(rows.map((r) => [r.name, { lines: Number(r.lines), matched: Number(r.matched) }]));
}

describe("job recon-demo-files", () => {
  it("imports the day's statement and settlement files, once, and the next day continues the chain", { timeout: 120_000 }, async () => {
    await world.submit([{ amountMinor: 1n, rail: "instant" }]); // opens the partner settlement account
    const { banks, rails } = await ensureDemoReconSources(db, ["EUR"]);
    expect([...banks.keys(), ...rails.keys()]).toEqual(["EUR", "instant", "batch"]);
    expect(banks.get("EUR")!.iban).toBe(sandboxIban("EUR"));

    const day1 = middayInDays(1);
    const first = await world.submit([
      { amountMinor: 120_00n, rail: "instant" },
      { amountMinor: 45_50n, rail: "instant" },
      { amountMinor: 300_00n, rail: "batch" },
      { amountMinor: 7_25n, rail: "batch" },
    ]);
    await world.settleAt(day1, first);
    // The 0.01 transfer that opened the account settled too (instant), on day 1.

    // Early next morning: yesterday's three files.
    expect(await reconDemoFilesJob.run(db, at(day1, 13))).toEqual({ imported: 3 });
    const d1 = dayOfDate(day1);
    expect(await linesOf(d1)).toEqual({
      "Sandbox bank EUR": { lines: 5, matched: 5 },
      "Sandbox batch settlement EUR": { lines: 2, matched: 2 },
      "Sandbox instant settlement EUR": { lines: 3, matched: 3 },
    });
    const rules = (await db.pool.query<{ rule: string; confidence: number; n: string }>(`SELECT rule, confidence, count(*) AS n FROM recon_matches GROUP BY 1, 2`)).rows;
    expect(rules).toEqual([{ rule: "reference", confidence: 100, n: "10" }]);
    expect(await count(db, "recon_breaks", "status <> 'resolved'")).toBe(0);
    const runs = (await db.pool.query<{ trigger: string; status: string; actor_label: string }>(`SELECT trigger, status, actor_label FROM recon_runs`)).rows;
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.trigger === "import" && r.status === "completed" && r.actor_label === "recon-demo-files")).toBe(true);

    // The same day again: nothing new, nothing imported twice.
    const before = await snapshot();
    expect(await reconDemoFilesJob.run(db, at(day1, 20))).toEqual({ imported: 0 });
    expect(await snapshot()).toEqual(before);

    // Day 2: more payments; the day after, day 2's files. The statement chain continues.
    const day2 = middayInDays(2);
    const second = await world.submit([
      { amountMinor: 80_00n, rail: "instant" },
      { amountMinor: 19_99n, rail: "batch" },
    ]);
    await world.settleAt(day2, second);
    expect(await reconDemoFilesJob.run(db, at(day2, 13))).toEqual({ imported: 3 });
    const d2 = dayOfDate(day2);
    expect(await linesOf(d2)).toEqual({
      "Sandbox bank EUR": { lines: 2, matched: 2 },
      "Sandbox batch settlement EUR": { lines: 1, matched: 1 },
      "Sandbox instant settlement EUR": { lines: 1, matched: 1 },
    });
    const chain = (
      await db.pool.query<{ statement_ref: string; opening: string; closing: string }>(
        `SELECT st.statement_ref, st.opening_minor::text AS opening, st.closing_minor::text AS closing FROM recon_statements st
          WHERE st.source_id = $1 ORDER BY st.sequence_no`,
        [banks.get("EUR")!.id],
      )
    ).rows;
    expect(chain).toEqual([
      { statement_ref: `SBX-EUR-${d1}`, opening: "0", closing: String(-(1n + 120_00n + 45_50n + 300_00n + 7_25n)) },
      { statement_ref: `SBX-EUR-${d2}`, opening: String(-(1n + 120_00n + 45_50n + 300_00n + 7_25n)), closing: String(-(1n + 120_00n + 45_50n + 300_00n + 7_25n + 80_00n + 19_99n)) },
    ]);
    expect(await count(db, "recon_breaks", "type IN ('statement_gap', 'balance_mismatch')")).toBe(0);
    expect(await count(db, "recon_breaks", "status <> 'resolved'")).toBe(0);
  });

  it("does nothing outside demo mode", async () => {
    process.env.DEMO_TRAFFIC = "false";
    resetEnvForTests();
    try {
      const before = await snapshot();
      expect(await reconDemoFilesJob.run(db, middayInDays(5))).toEqual({ skipped: "not in demo mode" });
      expect(await snapshot()).toEqual(before);
    } finally {
      process.env.DEMO_TRAFFIC = "true";
      resetEnvForTests();
    }
  });
});

describe("after the demo seed's week of history", () => {
  let db2: TestDb;
  let world2: SandboxWorld;
  beforeAll(async () => {
    db2 = await createTestDb();
    world2 = await startSandboxWorld(db2);
    process.env.SANDBOX_URL = world2.sandbox.url;
    resetEnvForTests();
  });
  afterAll(async () => {
    await world2?.close();
    process.env.SANDBOX_URL = world.sandbox.url;
    resetEnvForTests();
    if (db2) await stopSender(db2.pool);
    await db2?.drop();
  });

  it("the first day of the sandbox's own statements continues the seeded chain", { timeout: 120_000 }, async () => {
    // The seeded history: transfers the partner settled two days ago, booked by replaying its
    // answers (as the demo seed does), so the sandbox's books do not have them.
    const history = fakePartner();
    const twoDaysAgo = middayInDays(-2);
    for (const [i, amountMinor] of [250_00n, 99_95n, 1_234_56n].entries()) {
      const key = `seeded-history-${i}`;
      const { transfer } = await createTransfer(
        db2,
        SYSTEM_ACTOR,
        { sourceAccountId: world2.walletId, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor, currency: "EUR", rail: i === 0 ? "batch" : "instant", partner: "sandbox", reference: `seeded ${i}` },
        { idempotencyKey: key },
      );
      await advanceTransfer(db2, transfer.id, { adapterFor: () => history });
      expect(await applyPartnerEvent(db2, partnerEvent(key, "settled", 1), { webhookEventId: null, now: twoDaysAgo })).toMatchObject({ effect: "applied" });
    }
    // The demo starts on day 1: the seed imports the week up to day 0 (with its faults, its gap and its jump).
    const day1 = middayInDays(1);
    expect(await seedDemoReconciliation(db2, { now: day1 })).toMatch(/reconciliation: \d+ files imported/);
    const bank = (await db2.pool.query<{ id: string }>(`SELECT id FROM recon_sources WHERE name = 'Sandbox bank EUR'`)).rows[0]!;
    const seededClosing = (await db2.pool.query<{ closing: string }>(`SELECT closing_minor::text AS closing FROM recon_statements WHERE source_id = $1 ORDER BY sequence_no DESC LIMIT 1`, [bank.id])).rows[0]!.closing;
    const seededBreaks = await count(db2, "recon_breaks", "type IN ('statement_gap', 'balance_mismatch')");

    // Day 1 runs on the sandbox; on day 2 the worker imports day 1's files from it.
    const live = await world2.submit([
      { amountMinor: 60_00n, rail: "instant" },
      { amountMinor: 15_00n, rail: "batch" },
    ]);
    await world2.settleAt(day1, live);
    expect(await reconDemoFilesJob.run(db2, at(day1, 13))).toEqual({ imported: 3 });
    const first = (await db2.pool.query<{ statement_ref: string; opening: string; closing: string }>(`SELECT statement_ref, opening_minor::text AS opening, closing_minor::text AS closing FROM recon_statements WHERE source_id = $1 ORDER BY sequence_no DESC LIMIT 1`, [bank.id])).rows[0]!;
    expect(first).toEqual({ statement_ref: `SBX-EUR-${dayOfDate(day1)}`, opening: seededClosing, closing: String(BigInt(seededClosing) - 75_00n) });
    expect(await count(db2, "recon_breaks", "type IN ('statement_gap', 'balance_mismatch')")).toBe(seededBreaks);
    expect(await linesOfDb(db2, dayOfDate(day1))).toEqual({ lines: 4, matched: 4 });
  });
});

async function linesOfDb(d: TestDb, day: string) {
  const r = (await d.pool.query<{ lines: string; matched: string }>(`SELECT count(l.id) AS lines, count(m.line_id) AS matched FROM recon_lines l LEFT JOIN recon_match_lines m ON m.line_id = l.id WHERE l.booking_date = $1::date`, [day])).rows[0]!;
  return { lines: Number(r.lines), matched: Number(r.matched) };
}
