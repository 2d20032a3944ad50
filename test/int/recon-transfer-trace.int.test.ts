/**
 * The correlation id reaches the reconciliation match (issue 13, point 8). A transfer created under
 * a known trace settles; the statement line that pays it is imported before the settlement (a
 * break) and matched after it. The run records, in the transfer's own trace, a `recon.match` span
 * naming the match (linked to the run's span); a transfer without a stored trace gets its match
 * span in the run's trace. At display time the transfer lists its match with the statement line,
 * and the break the line opened names the transfer with its correlation id.
 */
import { randomUUID } from "node:crypto";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { stopSender } from "../../server/jobs/queues";
import { fund, openAccount } from "../../server/ledger/testing";
import { getBreak, listBreaks } from "../../server/recon/breaks";
import { importAndReconcile } from "../../server/recon/runs";
import { runTracedReconciliation } from "../../server/recon/run-trace";
import { createSource } from "../../server/recon/sources";
import { listMatchesOfTransfer } from "../../server/recon/transfer-links";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { incomingContext, runInContext, startTracingForTests } from "../../server/observability/tracing";
import { createTestDb, type TestDb } from "../support/test-db";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { ADMIN, OPERATOR, bytes, statementXml } from "./recon-test-helpers";

const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let db: TestDb;

beforeAll(async () => {
  stopTracing = await startTracingForTests(exporter);
  db = await createTestDb();
});
afterAll(async () => {
  await stopSender(db.pool);
  await db.drop();
  await stopTracing();
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALL_SPAN_ID = "00f067aa0ba902b7";

const named = (name: string) => exporter.getFinishedSpans().filter((s: ReadableSpan) => s.name === name);

describe("a transfer's correlation id reaches its reconciliation match", () => {
  it("traces each transfer match in the transfer's trace, and the transfer and break pages show the link", { timeout: 60_000 }, async () => {
    const partner = fakePartner();
    const tag = randomUUID().slice(0, 6);
    const bank = await openAccount(db, { code: `bank:t:${tag}`, type: "asset" });
    const wallet = await openAccount(db, { code: `customer:${tag}:wallet`, type: "liability", isNoOverdraft: true });
    await fund(db, bank.id, wallet.id, 1_000_00n);
    const create = (amountMinor: bigint, key: string) =>
      createTransfer(db, SYSTEM_ACTOR, { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor, currency: "EUR", rail: "instant", partner: "sandbox", reference: `inv-${key}` }, { idempotencyKey: key });
    // A: created inside an API call's trace. B: created outside any trace (no correlation id stored).
    const a = (await runInContext(incomingContext(`00-${TRACE_ID}-${CALL_SPAN_ID}-01`), () => create(25_00n, `tra-${tag}`))).transfer;
    const b = (await create(31_00n, `trb-${tag}`)).transfer;
    expect((await db.pool.query(`SELECT id, trace_parent FROM transfers WHERE id = ANY($1::uuid[]) ORDER BY amount_minor`, [[a.id, b.id]])).rows.map((r) => r.trace_parent?.slice(3, 35) ?? null)).toEqual([TRACE_ID, null]);

    const iban = `DE${Math.floor(10 + Math.random() * 89)}${String(Date.now()).slice(-9)}000000000`;
    const src = await createSource(db, ADMIN, { name: `Partner stmt ${tag}`, kind: "bank_account", ledgerAccount: "partner:sandbox:settlement:EUR", iban });
    const today = new Date().toISOString().slice(0, 10);
    // The statement arrives before the settlements: both lines open breaks, no transfer is matched.
    const first = await importAndReconcile(db, OPERATOR, {
      sourceId: src.id,
      fileName: "p.xml",
      content: bytes(statementXml([{ iban, date: today, entries: [{ amountMinor: 25_00n, direction: "debit", endToEndId: `tra-${tag}` }, { amountMinor: 31_00n, direction: "debit", endToEndId: `trb-${tag}` }] }])),
    });
    const [breakA] = (await listBreaks(db, { sourceId: src.id, statuses: ["open"], amountMinMinor: 25_00n, amountMaxMinor: 25_00n })).items;
    expect(breakA).toMatchObject({ type: "missing_in_ledger" });
    expect((await getBreak(db, breakA!.id)).transfers).toEqual([]);
    const firstRun = named("recon.run").find((s) => s.attributes["recon.run.id"] === first.run!.runId);
    expect(firstRun?.attributes["recon.run.transfer_matches"]).toBe(0);
    expect(named("recon.match")).toEqual([]);

    for (const t of [a, b]) {
      await advanceTransfer(db, t.id, { adapterFor: () => partner });
      expect(await applyPartnerEvent(db, partnerEvent(t.idempotencyKey, "settled", 1), { webhookEventId: null })).toMatchObject({ effect: "applied", toState: "settled" });
    }
    const run = await runTracedReconciliation(db, OPERATOR, { sourceId: src.id, periodFrom: today, periodTo: today, trigger: "manual" });
    expect(run.summary.matchedLines).toBe(2);

    const matchOf = async (transferId: string) =>
      (
        await db.pool.query<{ id: string }>(
          `SELECT m.id::text FROM recon_matches m JOIN recon_match_items i ON i.match_id = m.id JOIN postings p ON p.id = i.posting_id JOIN transfers t ON t.settlement_entry_id = p.entry_id WHERE t.id = $1 AND m.run_id = $2`,
          [transferId, run.runId],
        )
      ).rows[0]!.id;
    const [matchA, matchB] = [await matchOf(a.id), await matchOf(b.id)];

    const runSpan = named("recon.run").find((s) => s.attributes["recon.run.id"] === run.runId)!;
    expect(runSpan.attributes).toMatchObject({ "recon.run.transfer_matches": 2, "recon.run.transfer_matches_traced": 2, "recon.run.transfer_matches_untraced": 0 });
    const matchSpans = named("recon.match").filter((s) => s.attributes["recon.run.id"] === run.runId);
    expect(matchSpans).toHaveLength(2);
    const spanA = matchSpans.find((s) => s.attributes["transfer.id"] === a.id)!;
    // In A's own trace, under the call that created it, linked to the run.
    expect(spanA.spanContext().traceId).toBe(TRACE_ID);
    expect(spanA.parentSpanContext?.spanId).toBe(CALL_SPAN_ID);
    expect(spanA.attributes["recon.match.id"]).toBe(matchA);
    expect(spanA.links.map((l) => l.context.spanId)).toEqual([runSpan.spanContext().spanId]);
    // B has no trace of its own: its match stays in the run's trace.
    const spanB = matchSpans.find((s) => s.attributes["transfer.id"] === b.id)!;
    expect(spanB.attributes["recon.match.id"]).toBe(matchB);
    expect(spanB.spanContext().traceId).toBe(runSpan.spanContext().traceId);
    expect(spanB.parentSpanContext?.spanId).toBe(runSpan.spanContext().spanId);

    // Display time: the transfer lists the match and its line; the break names the transfer and its id.
    const matches = await listMatchesOfTransfer(db, a.id);
    expect(matches).toHaveLength(1);
    expect(matches[0]).toMatchObject({ matchId: matchA, sourceId: src.id, entry: "settlement", kind: "auto", runId: run.runId, undoneAt: null });
    expect(matches[0]!.lines).toEqual([expect.objectContaining({ amountMinor: 25_00n, currency: "EUR", direction: "debit", reference: `tra-${tag}`, bookingDate: today })]);
    expect(await listMatchesOfTransfer(db, randomUUID())).toEqual([]);
    const resolved = await getBreak(db, breakA!.id);
    expect(resolved).toMatchObject({ status: "resolved", resolution: "matched" });
    expect(resolved.transfers).toEqual([{ transferId: a.id, reference: `inv-tra-${tag}`, state: "settled", traceId: TRACE_ID, via: "match", matchId: matchA }]);
  });
});
