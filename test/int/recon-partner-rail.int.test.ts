/**
 * A partner-rail source end to end: transfers settle through the real sandbox (its batch rail's
 * cut-off, signed webhooks to our route), the sandbox writes the rail's settlement file with its
 * own file faults (a withheld line, an injected one), and the file is imported into the rail's
 * source through the built-in sandbox_settlement mapping. Each line is matched to its transfer's
 * settlement posting by the reference rule at confidence 100; the withheld payment becomes a
 * missing_in_statement break on its transfer, the injected line a missing_in_ledger break; the
 * other rail's transfers are not the source's business.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopSender } from "../../server/jobs/queues";
import { partnerAccountCode } from "../../server/transfers/accounts";
import { importAndReconcile } from "../../server/recon/runs";
import { createSource } from "../../server/recon/sources";
import { createTestDb, type TestDb } from "../support/test-db";
import { keyStats, setFaults } from "./sandbox-test-helpers";
import { ADMIN, count, dayOfDate, middayInDays, startSandboxWorld, type SandboxWorld } from "./recon-test-helpers";

let db: TestDb;
let world: SandboxWorld;

beforeAll(async () => {
  db = await createTestDb();
  world = await startSandboxWorld(db);
});
afterAll(async () => {
  await world?.close();
  if (db) await stopSender(db.pool);
  await db?.drop();
});

describe("partner rail source", () => {
  it("matches the sandbox's settlement file to the rail's transfers; a withheld and an injected line become breaks", { timeout: 120_000 }, async () => {
    const day = middayInDays(1);
    const onTime = await world.submit([
      { amountMinor: 410_00n, rail: "batch" },
      { amountMinor: 12_34n, rail: "batch" },
      { amountMinor: 5_000_00n, rail: "batch" },
    ]);
    const otherRail = await world.submit([{ amountMinor: 77_00n, rail: "instant" }]);
    await world.settleAt(day, [...onTime, ...otherRail]);
    // The next cut-off the same day: the bank leaves its one payment out of the file and adds a line of its own.
    await setFaults(world.sandbox, "batch", { missingLineProbability: 1, extraLineProbability: 1 });
    const withheld = await world.submit([{ amountMinor: 66_60n, rail: "batch" }]);
    await world.settleAt(new Date(day.getTime() + 2 * 3_600_000), withheld);
    expect(await keyStats(world.sandbox, withheld[0]!.idempotencyKey)).toMatchObject({ payment: { is_line_withheld: true } });

    const source = await createSource(db, ADMIN, { name: "Sandbox batch rail EUR", kind: "partner_rail", ledgerAccount: partnerAccountCode("sandbox", "EUR"), partner: "sandbox", rail: "batch", csvMapping: { builtIn: "sandbox_settlement" } });
    const res = await fetch(`${world.sandbox.url}/v1/settlement-files/batch/${dayOfDate(day)}`);
    expect(res.status).toBe(200);
    const csv = await res.text();
    expect(csv.trim().split("\n")).toHaveLength(1 + 3 + 1);
    const out = await importAndReconcile(db, ADMIN, { sourceId: source.id, fileName: `sandbox-batch-${dayOfDate(day)}.csv`, content: new TextEncoder().encode(csv) });
    expect(out).toMatchObject({ status: "imported", format: "csv:sandbox_settlement@1", lineCount: 4, periodFrom: dayOfDate(day), periodTo: dayOfDate(day) });
    expect(out.run?.summary).toMatchObject({ lines: 4, matchedLines: 3, autoMatches: 3, suggestions: 0, openBreaksByType: { missing_in_ledger: 1, missing_in_statement: 1 } });

    // Each on-time transfer: its line (its key as end-to-end id, debit: the money left our account
    // at the partner) in one automatic match with its settlement posting, by reference, at 100.
    const matched = (
      await db.pool.query<{ key: string; end_to_end_id: string; amount: string; direction: string; rule: string; confidence: number; kind: string }>(
        `SELECT t.idempotency_key AS key, l.end_to_end_id, l.amount_minor::text AS amount, l.direction, m.rule, m.confidence, m.kind
           FROM recon_match_lines ml JOIN recon_lines l ON l.id = ml.line_id JOIN recon_matches m ON m.id = ml.match_id
           JOIN recon_match_items mi ON mi.match_id = m.id JOIN postings p ON p.id = mi.posting_id JOIN transfers t ON t.settlement_entry_id = p.entry_id
          WHERE m.source_id = $1 ORDER BY l.amount_minor`,
        [source.id],
      )
    ).rows;
    expect(matched).toEqual(
      [...onTime]
        .sort((a, b) => (a.amountMinor < b.amountMinor ? -1 : 1))
        .map((t) => ({ key: t.idempotencyKey, end_to_end_id: t.idempotencyKey, amount: t.amountMinor.toString(), direction: "debit", rule: "reference", confidence: 100, kind: "auto" })),
    );

    const breaks = (
      await db.pool.query<{ type: string; amount: string; direction: string; transfer_id: string | null; has_line: boolean; has_posting: boolean }>(
        `SELECT type::text, amount_minor::text AS amount, direction, transfer_id::text, line_id IS NOT NULL AS has_line, posting_id IS NOT NULL AS has_posting
           FROM recon_breaks WHERE source_id = $1 AND status = 'open' ORDER BY type`,
        [source.id],
      )
    ).rows;
    const injected = csv.trim().split("\n").find((l) => l.includes("unidentified item"))!.split(",");
    expect(breaks).toEqual([
      { type: "missing_in_ledger", amount: injected[3], direction: "debit", transfer_id: null, has_line: true, has_posting: false },
      { type: "missing_in_statement", amount: "6660", direction: "debit", transfer_id: withheld[0]!.id, has_line: false, has_posting: true },
    ]);
    // The instant rail's transfer settled on the same account and day, and is no break of this source.
    expect(await count(db, "recon_breaks", "source_id = $1 AND transfer_id = $2", [source.id, otherRail[0]!.id])).toBe(0);
  });
});
