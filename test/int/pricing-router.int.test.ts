// The pricing API through the tRPC caller, one session per role: quotes by a service key, their
// explanation, typed errors with their codes, a schedule version proposed by an admin and
// simulated for the approver, rate imports and spreads.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveProposal } from "../../server/approvals/proposals";
import { versionActivationDelayMs } from "../../server/pricing/approval-kinds";
import { createTestDb, type TestDb } from "../support/test-db";
import { appCodeOf, callerAs, enrol, errorOf, person, serviceKey } from "./approvals-test-helpers";
import { ECB_HISTORY_CSV } from "../support/fixtures";
import { adjustmentKinds } from "../../server/composition";

const CSV = readFileSync(ECB_HISTORY_CSV, "utf8");
const lastDays = CSV.split("\n").slice(0, 6).join("\n") + "\n"; // header + 5 newest dates (2025-05-05..09)

let db: TestDb;
const admin = person("admin", ["admin"]);
const approver = person("approver", ["approver"]);
const viewer = person("viewer", ["viewer"]);
const service = serviceKey("checkout", ["pricing:quote", "pricing:read"]);
const definition = { rules: [{ id: "eur", currency: "EUR", minMinor: "30", tiers: [{ fromMinor: "0", toMinor: null, rateBps: "90" }] }] };

beforeAll(async () => {
  db = await createTestDb();
  await enrol(db, approver);
}, 120_000);
afterAll(async () => db?.drop());

describe("pricing API", () => {
  it("imports rates as an admin (a replay is harmless) and refuses a viewer", async () => {
    const first = await callerAs(db, admin).pricing.importRates({ fileName: "last.csv", text: lastDays });
    expect(first).toMatchObject({ isReplay: false, dayCount: 5, firstDate: "2025-05-05", lastDate: "2025-05-09" });
    expect((await callerAs(db, admin).pricing.importRates({ fileName: "last.csv", text: lastDays })).isReplay).toBe(true);
    expect(appCodeOf(await errorOf(callerAs(db, viewer).pricing.importRates({ fileName: "x.csv", text: lastDays })))).toBe("FORBIDDEN");
    const bad = await errorOf(callerAs(db, admin).pricing.importRates({ fileName: "bad.csv", text: "Date,USD,\n2025-05-12,abc,\n" }));
    expect(appCodeOf(bad)).toBe("INVALID_RATES_FILE");
    expect((bad as { code: string }).code).toBe("BAD_REQUEST");
  });

  it("proposes a schedule version, shows the approver its simulation, and prices by it once approved", async () => {
    const proposal = await callerAs(db, admin).pricing.proposeScheduleVersion({
      scheduleCode: "instant-std", name: "Instant standard", rail: "instant", basedOnVersion: 0, effectiveFrom: new Date(), definition, reason: "launch pricing", idempotencyKey: randomUUID(),
    });
    const sim = await callerAs(db, approver).pricing.simulateProposal({ proposalId: proposal.id, from: new Date(Date.now() - 86_400_000), to: new Date() });
    expect(sim).toMatchObject({ rail: "instant", transfers: 0, rowCount: 0 });
    // Approved one activation delay ago, so that it is in force now (see approval-kinds.ts).
    await approveProposal(db, { kinds: adjustmentKinds, actor: approver, now: new Date(Date.now() - versionActivationDelayMs()) }, { proposalId: proposal.id });
    const schedules = await callerAs(db, viewer).pricing.listSchedules();
    expect(schedules).toEqual([expect.objectContaining({ code: "instant-std", versionInForce: 1 })]);
    const explained = await callerAs(db, viewer).pricing.explain({ amountMinor: "10000", currency: "EUR", rail: "instant", customerId: null });
    expect(explained.explanation.summary).toBe("fee = max(0.30, 0.9% of 100.00) = 0.90 EUR, schedule instant-std v1, rule eur tier-1, rounded half-even");
  });

  it("quotes for a service key, explains the quote, and maps typed errors", async () => {
    const key = randomUUID();
    // The newest rates are of 2025-05-09; quoting "now" would be stale, so the domain's clock is not
    // used here: a quote within the age limit is proven in pricing-store.int.test.ts. Here: stale.
    const stale = await errorOf(callerAs(db, service).pricing.quote({ amountMinor: 10000n, currency: "EUR", toCurrency: "USD", rail: "instant", idempotencyKey: key }));
    expect(appCodeOf(stale)).toBe("RATE_STALE");
    expect((stale as { code: string }).code).toBe("UNPROCESSABLE_CONTENT");
    const q = await callerAs(db, service).pricing.quote({ amountMinor: 10000n, currency: "EUR", rail: "instant", idempotencyKey: randomUUID() });
    expect(q.quote).toMatchObject({ status: "open", feeMinor: 90n, convertedMinor: 10000n, toCurrency: "EUR", createdBy: "service:checkout" });
    const ex = await callerAs(db, service).pricing.explain({ quoteId: q.quote.id });
    expect(ex.explanation.fee!.lines.map((l) => l.label)).toEqual(["rule", "tier", "formula", "rounding", "minimum", "fee"]);
    expect(appCodeOf(await errorOf(callerAs(db, service).pricing.explain({ quoteId: randomUUID() })))).toBe("QUOTE_NOT_FOUND");
    expect(appCodeOf(await errorOf(callerAs(db, service).pricing.quote({ amountMinor: 10000n, currency: "XXX", rail: "instant", idempotencyKey: randomUUID() })))).toBe("UNKNOWN_CURRENCY");
    expect(appCodeOf(await errorOf(callerAs(db, service).pricing.quote({ amountMinor: "1.5", currency: "EUR", rail: "instant", idempotencyKey: randomUUID() })))).toBe("BAD_REQUEST");
    expect(appCodeOf(await errorOf(callerAs(db, service).pricing.quote({ amountMinor: 10000n, currency: "GBP", rail: "instant", idempotencyKey: randomUUID() })))).toBe("FEE_RULE_NOT_FOUND");
    expect(appCodeOf(await errorOf(callerAs(db, service).pricing.proposeSpread({ fromCurrency: "*", toCurrency: "*", spreadBps: "1", reason: "nope", idempotencyKey: randomUUID() })))).toBe("FORBIDDEN");
    const list = await callerAs(db, viewer).pricing.listQuotes({ limit: 10 });
    expect(list.items.map((x) => x.id)).toContain(q.quote.id);
  });

  it("a spread change is four-eyes (issue 14): proposed, nothing changes until an approver approves; then audited as the approver's", async () => {
    const spreadOf = async () => (await callerAs(db, viewer).pricing.listSpreads()).find((x) => x.fromCurrency === "EUR" && x.toCurrency === "USD" && x.segment === "")?.spreadBps ?? null;
    const before = await spreadOf();
    const p = await callerAs(db, admin).pricing.proposeSpread({ fromCurrency: "EUR", toCurrency: "USD", spreadBps: "35", reason: "EUR/USD is the most liquid pair", idempotencyKey: randomUUID() });
    expect(p).toMatchObject({ status: "open", requiredApprovals: 1 });
    expect(await spreadOf()).toBe(before);
    const detail = await callerAs(db, approver).approvals.get({ id: p.id });
    expect(detail.proposedPreview.changes).toEqual([{ label: "FX spread EUR/USD, any segment", before: before === null ? "none (the next broader row applies)" : `${before} bps`, after: "35 bps" }]);
    // The proposing admin cannot approve (an admin holds no approver role); another approver applies it.
    expect(appCodeOf(await errorOf(approveProposal(db, { kinds: adjustmentKinds, actor: admin }, { proposalId: p.id })))).toBe("FORBIDDEN");
    expect(await approveProposal(db, { kinds: adjustmentKinds, actor: approver }, { proposalId: p.id })).toMatchObject({ status: "applied" });
    expect(await spreadOf()).toBe("35");
    const audit = await db.pool.query(`SELECT actor_label, after FROM audit_log WHERE action = 'pricing.spread.set' AND target_id = 'EUR/USD/'`);
    expect(audit.rows).toEqual([{ actor_label: approver.email, after: { spreadBps: "35", proposalId: p.id } }]);
    // Bad input is refused when proposing, naming what is wrong; nothing is stored.
    expect(appCodeOf(await errorOf(callerAs(db, admin).pricing.proposeSpread({ fromCurrency: "EUR", toCurrency: "USD", spreadBps: "10000", reason: "too much", idempotencyKey: randomUUID() })))).toBe("BAD_INPUT");
    expect(appCodeOf(await errorOf(callerAs(db, admin).pricing.proposeSpread({ fromCurrency: "EUR", toCurrency: "EUR", spreadBps: "1", reason: "same pair", idempotencyKey: randomUUID() })))).toBe("BAD_INPUT");
  });

  it("explains a transfer's price by id (proven in full in transfers-pricing.int.test.ts), and refuses an unknown one", async () => {
    const missing = await errorOf(callerAs(db, viewer).pricing.explain({ transferId: randomUUID() }));
    expect([appCodeOf(missing), (missing as { code: string }).code]).toEqual(["NOT_FOUND", "NOT_FOUND"]);
    expect(appCodeOf(await errorOf(callerAs(db, viewer).pricing.explain({ transferId: "not-a-uuid" })))).toBe("BAD_REQUEST");
  });
});
