// The matching engine (server/recon/matching.ts) against PostgreSQL: each rule at its tolerance
// edges (table-driven), break types for what stays unmatched, idempotent re-runs, breaks that close
// themselves when their counterpart arrives, and a fast-check property: no line or posting is ever
// in two matches and nothing matches across currencies or directions.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { executeLedgerCommand } from "../../server/ledger/write-path";
import { openAccount } from "../../server/ledger/testing";
import { importStatement } from "../../server/recon/import";
import { runReconciliation } from "../../server/recon/matching";
import { normalizeReference, normRefSql } from "../../server/recon/references";
import { createTestDb, type TestDb } from "../support/test-db";
import { OPERATOR, bankSource, bytes, statementXml, type EntrySpec } from "./recon-test-helpers";

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => db.drop());

const DAY = "2026-11-20";

function at(date: string): Date {
  return new Date(`${date}T12:00:00.000Z`);
}

function shift(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

interface World {
  src: Awaited<ReturnType<typeof bankSource>>;
  counter: { id: string };
}

async function world(currency = "EUR"): Promise<World> {
  const src = await bankSource(db, { currency });
  const counter = await openAccount(db, { code: `clearing:${randomUUID().slice(0, 8)}`, type: "liability", currency });
  return { src, counter };
}

/** A ledger item on the bank account: money in (debit the bank asset) or out, with a reference. */
async function post(w: World, amountMinor: bigint, opts: { reference?: string; date?: string; direction?: "credit" | "debit"; currency?: string } = {}): Promise<string> {
  const isIn = (opts.direction ?? "credit") === "credit";
  const currency = opts.currency ?? w.src.currency;
  const r = await executeLedgerCommand(
    db,
    SYSTEM_ACTOR,
    {
      type: "post_entry",
      entry: {
        description: "test item",
        effectiveAt: at(opts.date ?? DAY),
        metadata: opts.reference ? { reference: opts.reference } : {},
        postings: [
          { accountId: w.src.accountId, side: isIn ? "debit" : "credit", amountMinor, currency },
          { accountId: w.counter.id, side: isIn ? "credit" : "debit", amountMinor, currency },
        ],
      },
    },
    { idempotencyKey: `item:${randomUUID()}` },
  );
  const rows = await db.pool.query<{ id: string }>(`SELECT id::text FROM postings WHERE entry_id = $1 AND account_id = $2`, [r.entries[0]!.entryId, w.src.accountId]);
  return rows.rows[0]!.id;
}

async function importLines(w: World, entries: EntrySpec[], opts: { sequence?: number; date?: string } = {}) {
  const xml = statementXml([{ iban: w.src.iban!, sequence: opts.sequence ?? 1, statementId: `S-${randomUUID().slice(0, 6)}`, date: opts.date ?? DAY, entries }]);
  return importStatement(db, OPERATOR, { sourceId: w.src.id, fileName: "s.xml", content: bytes(xml) });
}

async function run(w: World, from = shift(DAY, -10), to = shift(DAY, 10)) {
  return runReconciliation(db, OPERATOR, { sourceId: w.src.id, periodFrom: from, periodTo: to, trigger: "manual" });
}

async function matches(w: World) {
  return (
    await db.pool.query<{ rule: string; kind: string; confidence: number; difference_minor: string; lines: string[]; items: string[] }>(
      `SELECT m.rule, m.kind, m.confidence, m.difference_minor::text,
              (SELECT array_agg(l.amount_minor::text ORDER BY l.amount_minor) FROM recon_match_lines ml JOIN recon_lines l ON l.id = ml.line_id WHERE ml.match_id = m.id) AS lines,
              (SELECT array_agg(p.amount_minor::text ORDER BY p.amount_minor) FROM recon_match_items mi JOIN postings p ON p.id = mi.posting_id WHERE mi.match_id = m.id) AS items
         FROM recon_matches m WHERE m.source_id = $1 ORDER BY m.id`,
      [w.src.id],
    )
  ).rows;
}

async function breaks(w: World) {
  return (await db.pool.query<{ type: string; status: string; amount_minor: string; has_line: boolean; has_posting: boolean }>(
    `SELECT type::text, status::text, amount_minor::text, line_id IS NOT NULL AS has_line, posting_id IS NOT NULL AS has_posting FROM recon_breaks WHERE source_id = $1 ORDER BY type::text, amount_minor`,
    [w.src.id],
  )).rows;
}

describe("rules at their edges", () => {
  it.each([
    ["same reference, normalized (case, spaces, dashes)", { amountMinor: 100_00n, endToEndId: "INV-0001" }, { amount: 100_00n, reference: "inv 0001" }, "reference"],
    ["reference in the servicer reference", { amountMinor: 100_00n, accountServicerReference: "BANKREF77" }, { amount: 100_00n, reference: "bankref77" }, "reference"],
    ["reference, value date 7 days later (window edge)", { amountMinor: 5_00n, endToEndId: "EDGE-7", valueDate: shift(DAY, 7) }, { amount: 5_00n, reference: "EDGE-7" }, "reference"],
    ["fee deducted at the absolute tolerance (5.00)", { amountMinor: 95_00n, endToEndId: "FEE-5" }, { amount: 100_00n, reference: "FEE-5" }, "reference_tolerance"],
    ["fee deducted at the relative tolerance (1% of 1,000.00)", { amountMinor: 990_00n, endToEndId: "FEE-1PCT" }, { amount: 1000_00n, reference: "FEE-1PCT" }, "reference_tolerance"],
    ["same amount and date, reference contained in the remittance", { amountMinor: 123_45n, remittanceInfo: "Payment ABCD1234 thanks" }, { amount: 123_45n, reference: "ABCD1234" }, "amount_date"],
  ] as const)("matches automatically: %s", async (_name, line, item, rule) => {
    const w = await world();
    await post(w, item.amount, { reference: item.reference });
    await importLines(w, [line]);
    const r = await run(w);
    expect(r.summary).toMatchObject({ autoMatches: 1, autoMatchedLines: 1, breaksOpened: 0, matchRateBps: 10_000 });
    expect((await matches(w)).map((m) => m.rule)).toEqual([rule]);
  });

  it.each([
    ["value date 8 days away (outside the 7-day window)", { amountMinor: 5_00n, endToEndId: "EDGE-8", valueDate: shift(DAY, 8) }, { amount: 5_00n, reference: "EDGE-8" }, ["missing_in_ledger", "missing_in_statement"]],
    ["fee of 5.01 on 100.00 (over both tolerances)", { amountMinor: 94_99n, endToEndId: "FEE-501" }, { amount: 100_00n, reference: "FEE-501" }, ["amount_mismatch"]],
    ["the line is better for us than the item (not a fee)", { amountMinor: 101_00n, endToEndId: "MORE-1" }, { amount: 100_00n, reference: "MORE-1" }, ["amount_mismatch"]],
    ["the same reference and amount in another currency", { amountMinor: 100_00n, endToEndId: "FXREF-2", currency: "USD" }, { amount: 100_00n, reference: "FXREF-2" }, ["currency_mismatch", "missing_in_statement"]],
    ["the same amount in the other direction", { amountMinor: 100_00n, endToEndId: "DIR-1", direction: "debit" as const }, { amount: 100_00n, reference: "DIR-1" }, ["missing_in_ledger", "missing_in_statement"]],
  ] as const)("does not match: %s", async (_name, line, item, types) => {
    const w = await world();
    await post(w, item.amount, { reference: item.reference });
    await importLines(w, [line]);
    const r = await run(w);
    expect(r.summary.autoMatches).toBe(0);
    expect((await breaks(w)).map((b) => b.type).sort()).toEqual([...types].sort());
  });

  it("several lines carrying one reference that add up to the item (split payment)", async () => {
    const w = await world();
    await post(w, 100_00n, { reference: "SPLIT-1" });
    await importLines(w, [{ amountMinor: 60_00n, endToEndId: "SPLIT-1" }, { amountMinor: 40_00n, endToEndId: "split 1" }]);
    await run(w);
    expect(await matches(w)).toEqual([{ rule: "many_lines_one_item", kind: "auto", confidence: 95, difference_minor: "0", lines: ["4000", "6000"], items: ["10000"] }]);
  });

  it("one batch line whose details name each item (batch payout)", async () => {
    const w = await world();
    await post(w, 30_00n, { reference: "BATCH-E1", direction: "debit" });
    await post(w, 70_00n, { reference: "BATCH-E2", direction: "debit" });
    const detail = (e2e: string, amountMinor: bigint) => ({ amountMinor, currency: "EUR", direction: "debit" as const, endToEndId: e2e, accountServicerReference: null, instructionId: null, transactionId: null, remittanceInfo: null, counterpartyName: null, counterpartyAccount: null });
    await importLines(w, [{ amountMinor: 100_00n, direction: "debit", details: [detail("BATCH-E1", 30_00n), detail("BATCH-E2", 70_00n)] }]);
    await run(w);
    expect(await matches(w)).toEqual([{ rule: "one_line_many_items", kind: "auto", confidence: 95, difference_minor: "0", lines: ["10000"], items: ["3000", "7000"] }]);
  });

  it("a day's net settlement without details is only suggested, and the line is a break meanwhile", async () => {
    const w = await world();
    await post(w, 10_00n, { direction: "debit" });
    await post(w, 15_00n, { direction: "debit" });
    await importLines(w, [{ amountMinor: 25_00n, direction: "debit", remittanceInfo: "net settlement" }]);
    const r = await run(w);
    expect(r.summary).toMatchObject({ autoMatches: 0, suggestions: 1 });
    const sug = (await db.pool.query(`SELECT rule, confidence, cardinality(line_ids) AS nl, cardinality(posting_ids) AS ni FROM recon_suggestions WHERE source_id = $1`, [w.src.id])).rows;
    expect(sug).toEqual([{ rule: "one_line_many_items", confidence: 70, nl: 1, ni: 2 }]);
    expect((await breaks(w)).map((b) => b.type)).toEqual(["missing_in_ledger", "missing_in_statement", "missing_in_statement"]);
  });

  it("same amount and date without anything else is a suggestion; two such items are ambiguous and suggest nothing", async () => {
    const w = await world();
    await post(w, 77_77n);
    await post(w, 88_88n);
    await post(w, 88_88n);
    await importLines(w, [{ amountMinor: 77_77n }, { amountMinor: 88_88n }]);
    const r = await run(w);
    expect(r.summary).toMatchObject({ autoMatches: 0, suggestions: 1 });
    const sug = (await db.pool.query(`SELECT rule, confidence FROM recon_suggestions WHERE source_id = $1`, [w.src.id])).rows;
    expect(sug).toEqual([{ rule: "amount_date", confidence: 80 }]);
  });
});

describe("breaks", () => {
  it("types what stays unmatched: currency mismatch, duplicate, missing in the ledger, missing in the statement (only where statements cover)", async () => {
    const w = await world();
    await post(w, 10_00n, { reference: "DUP-1" });
    await post(w, 20_00n, { reference: "GONE-1" });
    await post(w, 30_00n, { reference: "LATER-1", date: shift(DAY, 2) });
    await importLines(w, [
      { amountMinor: 10_00n, endToEndId: "DUP-1" },
      { amountMinor: 10_00n, endToEndId: "DUP-1" },
      { amountMinor: 5_00n, currency: "USD", endToEndId: "FX-1" },
      { amountMinor: 42_00n, endToEndId: "EXTRA-1" },
    ]);
    const r = await run(w);
    expect(r.summary.autoMatches).toBe(1);
    expect(await breaks(w)).toEqual([
      { type: "currency_mismatch", status: "open", amount_minor: "500", has_line: true, has_posting: false },
      { type: "duplicate", status: "open", amount_minor: "1000", has_line: true, has_posting: false },
      { type: "missing_in_ledger", status: "open", amount_minor: "4200", has_line: true, has_posting: false },
      { type: "missing_in_statement", status: "open", amount_minor: "2000", has_line: false, has_posting: true },
    ]);
    expect(r.summary.openBreaksByType).toEqual({ currency_mismatch: 1, duplicate: 1, missing_in_ledger: 1, missing_in_statement: 1 });
    expect(r.summary.unreconciledMinorByCurrency).toEqual({ EUR: "7200", USD: "500" });
    expect(r.summary.matchRateBps).toBe(2500);
  });

  it("re-running changes nothing; a break closes itself when its counterpart arrives", async () => {
    const w = await world();
    await importLines(w, [{ amountMinor: 55_00n, endToEndId: "SLOW-1" }]);
    const first = await run(w);
    expect(first.summary).toMatchObject({ breaksOpened: 1, autoMatches: 0 });
    const second = await run(w);
    expect(second.summary).toMatchObject({ breaksOpened: 0, autoMatches: 0, suggestions: 0, breaksResolved: 0 });
    expect(await breaks(w)).toHaveLength(1);
    await post(w, 55_00n, { reference: "slow-1" });
    const third = await run(w);
    expect(third.summary).toMatchObject({ autoMatches: 1, breaksResolved: 1, breaksOpened: 0 });
    expect((await breaks(w)).map((b) => b.status)).toEqual(["resolved"]);
    const events = (await db.pool.query(`SELECT kind FROM recon_break_events e JOIN recon_breaks b ON b.id = e.break_id WHERE b.source_id = $1 ORDER BY e.id`, [w.src.id])).rows;
    expect(events.map((e) => e.kind)).toEqual(["opened", "resolved"]);
    const runs = (await db.pool.query(`SELECT status, trigger FROM recon_runs WHERE source_id = $1 ORDER BY started_at`, [w.src.id])).rows;
    expect(runs).toEqual([
      { status: "completed", trigger: "manual" },
      { status: "completed", trigger: "manual" },
      { status: "completed", trigger: "manual" },
    ]);
  });

  it("the database refuses a line in two matches and a posting in two matches of one source", async () => {
    const w = await world();
    await post(w, 1_00n, { reference: "ONE-1" });
    await importLines(w, [{ amountMinor: 1_00n, endToEndId: "ONE-1" }]);
    await run(w);
    const m = (await db.pool.query(`SELECT m.id, ml.line_id, mi.posting_id FROM recon_matches m JOIN recon_match_lines ml ON ml.match_id = m.id JOIN recon_match_items mi ON mi.match_id = m.id WHERE m.source_id = $1`, [w.src.id])).rows[0]!;
    const other = (await db.pool.query(`INSERT INTO recon_matches (source_id, kind, rule, confidence, currency, difference_minor, actor_label, created_at) VALUES ($1, 'manual', 'manual', 100, 'EUR', 0, 'x', now()) RETURNING id`, [w.src.id])).rows[0]!;
    await expect(db.pool.query(`INSERT INTO recon_match_lines (line_id, match_id) VALUES ($1, $2)`, [m.line_id, other.id])).rejects.toThrow(/recon_match_members_line_id_key/);
    await expect(db.pool.query(`INSERT INTO recon_match_items (source_id, posting_id, match_id) VALUES ($1, $2, $3)`, [w.src.id, m.posting_id, other.id])).rejects.toThrow(/recon_match_members_source_id_posting_id_key/);
    // The automatic one-to-one match is one member row naming both; a row naming either again is refused too.
    const members = (await db.pool.query(`SELECT line_id, posting_id, source_id FROM recon_match_members WHERE match_id = $1`, [m.id])).rows;
    expect(members).toEqual([{ line_id: m.line_id, posting_id: m.posting_id, source_id: w.src.id }]);
    await expect(db.pool.query(`INSERT INTO recon_match_members (match_id, source_id, line_id, posting_id) VALUES ($1, NULL, $2, NULL)`, [other.id, m.line_id])).rejects.toThrow(/recon_match_members_line_id_key/);
    await expect(db.pool.query(`INSERT INTO recon_match_members (match_id, source_id, line_id, posting_id) VALUES ($1, NULL, NULL, $2)`, [other.id, m.posting_id])).rejects.toThrow(/recon_match_members_shape/);
  });
});

describe("matching properties", () => {
  it("normalizes references in SQL (ledger side) exactly as in TypeScript (statement side)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 24, unit: fc.constantFrom(..."aZ09 -_/.:#éüßÄ\t") }), { minLength: 1, maxLength: 20 }), async (vs) => {
        const rows = (await db.pool.query<{ k: string }>(`SELECT ${normRefSql("v")} AS k FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [vs])).rows;
        expect(rows.map((r) => r.k)).toEqual(vs.map(normalizeReference));
      }),
      { numRuns: 50 },
    );
  });

  it("never puts a line or a posting in two matches, never crosses currencies or directions, and exact rules add up (fast-check)", async () => {
    const refs = ["REF-1", "REF-2", "REF-3", null];
    const lineArb = fc.record({
      amountMinor: fc.constantFrom(10_00n, 20_00n, 30_00n, 9_90n, 19_80n),
      currency: fc.constantFrom("EUR", "USD"),
      direction: fc.constantFrom("credit" as const, "debit" as const),
      endToEndId: fc.constantFrom(...refs),
      dayOffset: fc.integer({ min: -2, max: 2 }),
    });
    const itemArb = fc.record({ amountMinor: fc.constantFrom(10_00n, 20_00n, 30_00n), direction: fc.constantFrom("credit" as const, "debit" as const), reference: fc.constantFrom(...refs), dayOffset: fc.integer({ min: -2, max: 2 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { maxLength: 8 }), fc.array(itemArb, { maxLength: 8 }), async (lines, items) => {
        const w = await world();
        for (const it of items) await post(w, it.amountMinor, { reference: it.reference ?? undefined, direction: it.direction, date: shift(DAY, it.dayOffset) });
        if (lines.length > 0) {
          await importLines(w, lines.map((l) => ({ amountMinor: l.amountMinor, currency: l.currency, direction: l.direction, endToEndId: l.endToEndId, valueDate: shift(DAY, l.dayOffset) })));
        }
        await run(w);
        await run(w);
        const rows = (
          await db.pool.query<{ match_id: string; rule: string; diff: string; lc: string[]; ld: string[]; ls: string; ic: string[]; id: string[]; is: string; dl: number; di: number }>(
            `SELECT m.id AS match_id, m.rule, m.difference_minor::text AS diff,
                    array_agg(DISTINCT l.currency::text) AS lc, array_agg(DISTINCT l.direction) AS ld,
                    (SELECT sum(l2.amount_minor) FROM recon_match_lines x JOIN recon_lines l2 ON l2.id = x.line_id WHERE x.match_id = m.id)::text AS ls,
                    array_agg(DISTINCT p.currency::text) AS ic, array_agg(DISTINCT CASE WHEN p.side = 'debit' THEN 'credit' ELSE 'debit' END) AS id,
                    (SELECT sum(p2.amount_minor) FROM recon_match_items y JOIN postings p2 ON p2.id = y.posting_id WHERE y.match_id = m.id)::text AS is,
                    (SELECT count(*) FROM recon_match_lines x WHERE x.match_id = m.id)::int AS dl, (SELECT count(*) FROM recon_match_items y WHERE y.match_id = m.id)::int AS di
               FROM recon_matches m JOIN recon_match_lines ml ON ml.match_id = m.id JOIN recon_lines l ON l.id = ml.line_id
               JOIN recon_match_items mi ON mi.match_id = m.id JOIN postings p ON p.id = mi.posting_id
              WHERE m.source_id = $1 GROUP BY m.id`,
            [w.src.id],
          )
        ).rows;
        for (const r of rows) {
          expect(r.lc).toHaveLength(1);
          expect(r.ic).toEqual(r.lc);
          expect(r.ld).toHaveLength(1);
          expect(r.id).toEqual(r.ld);
          expect(r.dl).toBeGreaterThan(0);
          expect(r.di).toBeGreaterThan(0);
          if (r.rule !== "reference_tolerance") expect(r.ls).toBe(r.is);
        }
        // Every line and posting at most once (also enforced by keys; counted independently here).
        const dupLines = await db.pool.query(`SELECT line_id FROM recon_match_lines ml JOIN recon_matches m ON m.id = ml.match_id WHERE m.source_id = $1 GROUP BY line_id HAVING count(*) > 1`, [w.src.id]);
        const dupItems = await db.pool.query(`SELECT posting_id FROM recon_match_items WHERE source_id = $1 GROUP BY posting_id HAVING count(*) > 1`, [w.src.id]);
        expect(dupLines.rowCount).toBe(0);
        expect(dupItems.rowCount).toBe(0);
        // Each unmatched line has exactly one open break; each matched line none.
        const lineStates = await db.pool.query<{ matched: boolean; open_breaks: string }>(
          `SELECT EXISTS (SELECT 1 FROM recon_match_lines m WHERE m.line_id = l.id) AS matched,
                  (SELECT count(*) FROM recon_breaks b WHERE b.line_id = l.id AND b.status <> 'resolved') AS open_breaks
             FROM recon_lines l WHERE l.source_id = $1`,
          [w.src.id],
        );
        for (const s of lineStates.rows) expect(Number(s.open_breaks)).toBe(s.matched ? 0 : 1);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
