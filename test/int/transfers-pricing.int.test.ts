// Pricing booked into real transfers against PostgreSQL: the fee from the schedule version in
// force when a transfer is created (segment, customer override, default, tiers, minimum and
// maximum), the hold reserving amount + fee, a cross-currency transfer executing on a quote (and
// every refusal of one writing nothing), settlement as ONE entry with the fee and the conversion,
// a return reversing it whole, and the proof: after a mix of priced, converted, failed and
// returned transfers every currency balances and revenue equals the fees plus spreads of what
// stayed settled, to the minor unit. Also the explanation of a transfer's price and the database
// rules on the priced columns.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveProposal, proposeAdjustment } from "../../server/approvals/proposals";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { adjustmentKinds } from "../../server/composition";
import { pgRunner } from "../../server/db/sql";
import { stopSender } from "../../server/jobs/queues";
import { createAccount, type Account } from "../../server/ledger/accounts";
import { getBalances } from "../../server/ledger/balances";
import { fund, openAccount } from "../../server/ledger/testing";
import { verifyLedger } from "../../server/ledger/verify";
import { importReferenceRates } from "../../server/pricing/rates-store";
import { createQuote } from "../../server/pricing/quotes";
import { setCustomerSegment, setSpread } from "../../server/pricing/settings";
import { createTransfer, type CreateTransferInput } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import { claimDueSubmissions } from "../../server/transfers/submission-queue";
import { applyPartnerEvent } from "../../server/transfers/partner-events";
import { explainTransferPrice } from "../../server/transfers/pricing";
import { getTransferDetail } from "../../server/transfers/queries";
import type { Transfer } from "../../server/transfers/types";
import { fakePartner, partnerEvent } from "../support/fake-partner";
import { ECB_HISTORY_CSV } from "../support/fixtures";
import { createTestDb, type TestDb } from "../support/test-db";
import { enrol, person } from "./approvals-test-helpers";
import { generateTotpCode } from "../../server/auth/totp";
import { cachedVersionInForce } from "../../server/pricing/cache";
import { findVersionInForce } from "../../server/pricing/schedules";
import { versionActivationDelayMs } from "../../server/pricing/approval-kinds";
import { env } from "../../server/env";

let db: TestDb;
const partner = fakePartner();
const deps = { adapterFor: () => partner };
const admin = person("admin", ["admin"]);
const approver = person("approver", ["approver"]);
const SYSTEM = { type: "system" as const, id: "test", label: "test" };

/** Before the newest reference date of the trimmed history (2025-05-09): quotes and quoted transfers use this clock. */
const T = new Date("2025-05-09T12:00:00.000Z");
/** When the fee schedule was approved: well before T, so v1 is in force at T and now. */
const T0 = new Date("2025-04-01T09:00:00.000Z");

let bank: Account, bankUsd: Account, bankGbp: Account;
/** cust-a (metadata.customerId), segment vip. */
let vip: Account;
/** No segment: its customer is its code. */
let plain: Account;
/** metadata.customerId cust-override, which has its own (free) rule. */
let overridden: Account;
let usdWallet: Account, gbpWallet: Account;
let approverSecret: string;

const SCHEDULE = {
  rules: [
    {
      id: "eur-default", currency: "EUR", minMinor: "50", maxMinor: "2500",
      tiers: [
        { label: "tier-1", fromMinor: "0", toMinor: "100000", fixedMinor: "30", rateBps: "90" },
        { label: "tier-2", fromMinor: "100000", toMinor: null, rateBps: "50" },
      ],
    },
    { id: "eur-vip", currency: "EUR", segment: "vip", tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "10", rateBps: "0" }] },
    { id: "eur-free", currency: "EUR", customerId: "cust-override", tiers: [{ fromMinor: "0", toMinor: null, rateBps: "0" }] },
    { id: "usd-default", currency: "USD", tiers: [{ fromMinor: "0", toMinor: null, fixedMinor: "100", rateBps: "25" }] },
  ],
};

async function openWallet(code: string, currency = "EUR", metadata?: Record<string, unknown>): Promise<Account> {
  return createAccount(db, SYSTEM_ACTOR, { code, name: code, currency, type: "liability", isNoOverdraft: true, ...(metadata ? { metadata } : {}) }, { idempotencyKey: `open:${code}` });
}

beforeAll(async () => {
  db = await createTestDb();
  bank = await openAccount(db, { code: "bank:EUR", type: "asset" });
  bankUsd = await openAccount(db, { code: "bank:USD", type: "asset", currency: "USD" });
  bankGbp = await openAccount(db, { code: "bank:GBP", type: "asset", currency: "GBP" });
  vip = await openWallet("customer:vip:wallet", "EUR", { customerId: "cust-a" });
  plain = await openWallet("customer:plain:wallet");
  overridden = await openWallet("customer:over:wallet", "EUR", { customerId: "cust-override" });
  usdWallet = await openWallet("customer:usd:wallet", "USD");
  gbpWallet = await openWallet("customer:gbp:wallet", "GBP");
  for (const w of [vip, plain, overridden]) await fund(db, bank.id, w.id, 100_000_000n);
  await fund(db, bankUsd.id, usdWallet.id, 100_000_000n, "USD");
  await fund(db, bankGbp.id, gbpWallet.id, 1_000_000n, "GBP");

  // The newest two weeks of the real ECB history.
  const lines = readFileSync(ECB_HISTORY_CSV, "utf8").split("\n");
  await importReferenceRates(db, SYSTEM, { text: lines.slice(0, 11).join("\n") + "\n", fileName: "ecb-recent.csv" });
  await setSpread(db, SYSTEM, { fromCurrency: "*", toCurrency: "*", segment: "", spreadBps: "50", reason: "default spread" });
  await setSpread(db, SYSTEM, { fromCurrency: "EUR", toCurrency: "USD", segment: "vip", spreadBps: "25", reason: "vip spread" });
  await setCustomerSegment(db, SYSTEM, { customerId: "cust-a", segment: "vip", reason: "key account" });

  // Version 1 of the instant rail's schedule, under four eyes, approved at T0 (the batch rail has none).
  approverSecret = await enrol(db, approver, T0);
  const p = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin, now: T0 }, {
    kind: "fee_schedule_version",
    payload: { scheduleCode: "instant-std", name: "Instant standard", rail: "instant", basedOnVersion: 0, effectiveFrom: T0.toISOString(), definition: SCHEDULE },
    reason: "launch pricing",
    idempotencyKey: randomUUID(),
  });
  const approved = await approveProposal(db, { kinds: adjustmentKinds, actor: approver, now: new Date(T0.getTime() + 60_000) }, { proposalId: p.id });
  expect(approved.status).toBe("applied");
}, 120_000);

afterAll(async () => {
  await stopSender(db.pool);
  await db?.drop();
});

const input = (source: Account, amountMinor: bigint, over: Partial<CreateTransferInput> = {}): CreateTransferInput => ({
  sourceAccountId: source.id,
  counterpartyName: "Jane Doe",
  counterpartyAccount: "DE89 3704 0044 0532 0130 00",
  amountMinor,
  currency: source.currency,
  rail: "instant",
  partner: "sandbox",
  reference: "priced",
  ...over,
});

/**
 * Creates a transfer and, as a worker would at once, submits it: a transfer left waiting for
 * submission would soon close admission (server/transfers/admission.ts) for the rest of the file.
 * The result is the transfer as created (reserved).
 */
async function create(i: CreateTransferInput, opts: { key?: string; now?: Date } = {}) {
  const r = await createTransfer(db, SYSTEM_ACTOR, i, { idempotencyKey: opts.key ?? randomUUID(), ...(opts.now ? { now: opts.now } : {}) });
  if (!r.isReplay) expect(await advanceTransfer(db, r.transfer.id, deps)).toMatchObject({ state: "submitted" });
  return r;
}

/**
 * The partner's clock for a transfer: a quoted one was created at T (the rates' time), so its
 * partner reports come shortly after T (its hold lives 30 days from then); others now.
 */
const reportedAt = (t: Transfer) => (t.quoteId ? new Date(T.getTime() + 10_000) : new Date());

async function report(t: Transfer, type: "settled" | "returned" | "failed", n: number) {
  return applyPartnerEvent(db, partnerEvent(t.idempotencyKey, type, n), { webhookEventId: null, now: reportedAt(t) });
}

async function settle(t: Transfer): Promise<Transfer> {
  expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ state: "submitted" });
  expect(await report(t, "settled", 1)).toMatchObject({ toState: "settled" });
  return (await getTransferDetail(db, t.id, { includeAudit: false })).transfer;
}

async function posted(code: string): Promise<bigint> {
  const r = await db.pool.query<{ id: string }>(`SELECT id FROM ledger_accounts WHERE code = $1`, [code]);
  return r.rows[0] ? (await getBalances(db, r.rows[0].id)).postedMinor : 0n;
}

async function entryPostings(entryId: string) {
  const r = await db.pool.query<{ code: string; side: string; amount: string; currency: string }>(
    `SELECT a.code, p.side, p.amount_minor::text AS amount, p.currency FROM postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.entry_id = $1 ORDER BY p.currency, a.code`,
    [entryId],
  );
  return r.rows.map((p) => [p.code, p.side, BigInt(p.amount), p.currency.trim()] as const);
}

async function quote(source: Account, amountMinor: bigint, toCurrency: string, customerId: string, at = T) {
  return (await createQuote(db, SYSTEM, { amountMinor, currency: source.currency, toCurrency, rail: "instant", customerId, at }, { idempotencyKey: randomUUID() })).quote;
}

const transferCount = async () => Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM transfers`)).rows[0]!.n);

describe("a transfer priced when it is created", () => {
  it.each([
    ["tier-1 above the minimum", () => plain, 10_000n, 120n, "eur-default"],
    ["tier-1 raised to the minimum", () => plain, 1_000n, 50n, "eur-default"],
    ["the last amount of tier-1, rounded half-even", () => plain, 99_999n, 930n, "eur-default"],
    ["the first amount of tier-2", () => plain, 100_000n, 500n, "eur-default"],
    ["tier-2 lowered to the maximum", () => plain, 1_000_000n, 2_500n, "eur-default"],
    ["its segment's rule", () => vip, 10_000n, 10n, "eur-vip"],
    ["its customer's own rule", () => overridden, 10_000n, 0n, "eur-free"],
    ["the rule of its currency", () => usdWallet, 5_000n, 112n, "usd-default"],
  ] as const)("charges %s, and its hold reserves amount + fee", async (_label, source, amountMinor, feeMinor, ruleId) => {
    const w = source();
    const before = (await getBalances(db, w.id)).availableMinor;
    const { transfer: t } = await create(input(w, amountMinor));
    expect(t).toMatchObject({ state: "reserved", feeMinor, feeRuleId: ruleId, quoteId: null, conversion: null });
    expect(t.feeScheduleVersionId).not.toBeNull();
    const detail = await getTransferDetail(db, t.id, { includeAudit: false });
    expect(detail.hold?.amountMinor).toBe(amountMinor + feeMinor);
    expect((await getBalances(db, w.id)).availableMinor).toBe(before - amountMinor - feeMinor);
  });

  it("charges nothing on a rail without a schedule, and books exactly as before pricing", async () => {
    const { transfer: t } = await create(input(plain, 700n, { rail: "batch" }));
    expect(t).toMatchObject({ feeMinor: 0n, feeScheduleVersionId: null, feeRuleId: null });
    const settled = await settle(t);
    expect(await entryPostings(settled.settlementEntryId!)).toEqual([
      ["customer:plain:wallet", "debit", 700n, "EUR"],
      ["partner:sandbox:settlement:EUR", "credit", 700n, "EUR"],
    ]);
  });

  it("refuses a currency the schedule has no rule for, writing nothing; a replay is still a replay", async () => {
    const n = await transferCount();
    const err = await create(input(gbpWallet, 1_000n)).catch((e) => e);
    expect(err).toMatchObject({ code: "FEE_RULE_NOT_FOUND" });
    expect(err.message).toContain("schedule instant-std v1 has no fee rule for currency GBP");
    expect(await transferCount()).toBe(n);
    // The key and the account come first: a conflicting key is a conflict, not a pricing error.
    const key = randomUUID();
    await create(input(plain, 1_000n), { key });
    await expect(create(input(gbpWallet, 1_000n), { key })).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    await expect(create(input(plain, 1_000n), { key })).resolves.toMatchObject({ isReplay: true });
  });

  it("settles a priced transfer as one entry: the amount to the partner, the fee to revenue", async () => {
    const feesBefore = await posted("ops:fees:EUR");
    const { transfer: t } = await create(input(plain, 10_000n));
    const settled = await settle(t);
    expect(await entryPostings(settled.settlementEntryId!)).toEqual([
      ["customer:plain:wallet", "debit", 10_120n, "EUR"],
      ["ops:fees:EUR", "credit", 120n, "EUR"],
      ["partner:sandbox:settlement:EUR", "credit", 10_000n, "EUR"],
    ]);
    expect((await getTransferDetail(db, t.id, { includeAudit: false })).hold).toMatchObject({ status: "posted", amountPostedMinor: 10_120n });
    expect(await posted("ops:fees:EUR")).toBe(feesBefore + 120n);
    expect(partner.payments.at(-1)).toMatchObject({ amountMinor: 10_000n, currency: "EUR" });
  });
});

describe("a cross-currency transfer executes on a quote", () => {
  it("is submitted as the partner pays it: the worker's claim records the converted amount in the target currency", async () => {
    const q = await quote(vip, 10_000n, "USD", "cust-a");
    const { transfer: t } = await createTransfer(db, SYSTEM_ACTOR, input(vip, 10_000n, { toCurrency: "USD", quoteId: q.id }), { idempotencyKey: randomUUID(), now: new Date(T.getTime() + 1_000) });
    // Claimed in a transaction rolled back after; then submitted as the file's other transfers are.
    const client = await db.pool.connect();
    try {
      await client.query("BEGIN");
      const claimed = await claimDueSubmissions({ pool: client as unknown as pg.Pool }, 1_000, new Date());
      expect(claimed.map((c) => c.t.id)).toContain(t.id);
      const recorded = await client.query<{ request: Record<string, unknown> }>(`SELECT request FROM partner_requests WHERE transfer_id = $1`, [t.id]);
      expect(recorded.rows.map((r) => r.request)).toEqual([
        { rail: "instant", amountMinor: q.convertedMinor!.toString(), currency: "USD", counterpartyName: "Jane Doe", counterpartyAccount: "DE89 3704 0044 0532 0130 00", reference: "priced", idempotencyKey: t.idempotencyKey },
      ]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
    expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ state: "submitted" });
    expect(partner.payments.at(-1)).toMatchObject({ amountMinor: q.convertedMinor, currency: "USD" });
  });

  it("converts at the quote's customer rate and books fee, conversion and spread in one entry", async () => {
    // 1,000.00 EUR at 1.1252 (ECB, 2025-05-09): 1,125.20 USD at the mid rate; vip spread 25 bps
    // gives 1,122.387 -> 1,122.39 USD to the counterparty (half-even) and 2.81 USD earned.
    const q = await quote(vip, 100_000n, "USD", "cust-a");
    expect(q).toMatchObject({ feeMinor: 10n, convertedMinor: 112_239n, spreadMinor: 281n, rateDate: "2025-05-09" });
    const before = (await getBalances(db, vip.id)).availableMinor;
    const { transfer: t } = await create(input(vip, 100_000n, { toCurrency: "USD", quoteId: q.id }), { now: new Date(T.getTime() + 1_000) });
    expect(t).toMatchObject({ feeMinor: 10n, quoteId: q.id, feeScheduleVersionId: q.scheduleVersionId, conversion: { currency: "USD", convertedMinor: 112_239n, spreadMinor: 281n } });
    expect((await getBalances(db, vip.id)).availableMinor).toBe(before - 100_010n);
    const used = await db.pool.query<{ used_by_transfer_id: string }>(`SELECT used_by_transfer_id FROM fx_quotes WHERE id = $1`, [q.id]);
    expect(used.rows[0]!.used_by_transfer_id).toBe(t.id);

    const settled = await settle(t);
    // The partner pays the counterparty the converted amount in the target currency.
    expect(partner.payments.at(-1)).toMatchObject({ amountMinor: 112_239n, currency: "USD" });
    expect(await entryPostings(settled.settlementEntryId!)).toEqual([
      ["customer:vip:wallet", "debit", 100_010n, "EUR"],
      ["ops:fees:EUR", "credit", 10n, "EUR"],
      ["ops:fx-position:EUR", "credit", 100_000n, "EUR"],
      ["ops:fx-position:USD", "debit", 112_520n, "USD"],
      ["ops:fx-revenue:USD", "credit", 281n, "USD"],
      ["partner:sandbox:settlement:USD", "credit", 112_239n, "USD"],
    ]);
    expect((await verifyLedger(db)).isOk).toBe(true);
  });

  it.each([
    ["without a quote", () => ({}), "BAD_INPUT"],
    ["on a quote that does not exist", () => ({ quoteId: randomUUID() }), "QUOTE_NOT_FOUND"],
  ] as const)("refuses a transfer into another currency %s, writing nothing", async (_label, over, code) => {
    const n = await transferCount();
    const before = await getBalances(db, plain.id);
    await expect(create(input(plain, 20_000n, { toCurrency: "USD", ...over() }), { now: T })).rejects.toMatchObject({ code });
    expect(await transferCount()).toBe(n);
    expect(await getBalances(db, plain.id)).toEqual(before);
  });

  it("refuses a quote for another amount, customer or currency, naming what differs", async () => {
    const q = await quote(plain, 50_000n, "USD", plain.code);
    const n = await transferCount();
    const mismatch = await create(input(plain, 50_001n, { toCurrency: "USD", quoteId: q.id }), { now: T }).catch((e) => e);
    expect(mismatch).toMatchObject({ code: "QUOTE_MISMATCH" });
    expect(mismatch.message).toMatch(/amount 500\.01 \(quoted 500\.00\)/);
    const otherCustomer = await create(input(vip, 50_000n, { toCurrency: "USD", quoteId: q.id }), { now: T }).catch((e) => e);
    expect(otherCustomer.message).toMatch(/customer cust-a \(quoted customer:plain:wallet\)/);
    await expect(create(input(plain, 50_000n, { toCurrency: "GBP", quoteId: q.id }), { now: T })).rejects.toMatchObject({ code: "QUOTE_MISMATCH" });
    expect(await transferCount()).toBe(n);
    expect((await db.pool.query(`SELECT 1 FROM fx_quotes WHERE id = $1 AND used_at IS NULL`, [q.id])).rowCount).toBe(1);
  });

  it("refuses an expired quote and a used one, writing nothing; the same request again is a replay", async () => {
    const q = await quote(plain, 30_000n, "USD", plain.code);
    const transferInput = input(plain, 30_000n, { toCurrency: "USD", quoteId: q.id });
    const n = await transferCount();
    const before = await getBalances(db, plain.id);
    await expect(create(transferInput, { now: new Date(T.getTime() + 61_000) })).rejects.toMatchObject({ code: "QUOTE_EXPIRED" });
    expect(await transferCount()).toBe(n);
    expect(await getBalances(db, plain.id)).toEqual(before);

    const key = randomUUID();
    const first = await create(transferInput, { key, now: new Date(T.getTime() + 5_000) });
    // Quote price: 300.00 EUR at 1.1252 = 337.56 USD at the mid rate, less 50 bps = 335.8722 -> 335.87.
    expect(first.transfer).toMatchObject({ feeMinor: 300n, conversion: { convertedMinor: 33_587n, spreadMinor: 169n } });
    await expect(create(transferInput, { key, now: new Date(T.getTime() + 6_000) })).resolves.toMatchObject({ isReplay: true, transfer: { id: first.transfer.id } });
    const used = await create(transferInput, { now: new Date(T.getTime() + 6_000) }).catch((e) => e);
    expect(used).toMatchObject({ code: "QUOTE_USED" });
    expect(used.message).toContain(first.transfer.id);
    expect(await transferCount()).toBe(n + 1);
  });

  it("leaves its quote open when the hold is refused for funds, writing nothing", async () => {
    const poor = await openWallet("customer:poor:wallet");
    await fund(db, bank.id, poor.id, 10_000n);
    const q = await quote(poor, 20_000n, "USD", poor.code);
    const n = await transferCount();
    await expect(create(input(poor, 20_000n, { toCurrency: "USD", quoteId: q.id }), { now: new Date(T.getTime() + 1_000) })).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    expect(await transferCount()).toBe(n);
    expect((await db.pool.query(`SELECT 1 FROM fx_quotes WHERE id = $1 AND used_at IS NULL`, [q.id])).rowCount).toBe(1);
  });

  it("reverses the whole entry on a return: fee and spread go back too", async () => {
    const q = await quote(plain, 40_000n, "USD", plain.code);
    const revenue = { fees: await posted("ops:fees:EUR"), fx: await posted("ops:fx-revenue:USD") };
    const before = (await getBalances(db, plain.id)).postedMinor;
    const { transfer: t } = await create(input(plain, 40_000n, { toCurrency: "USD", quoteId: q.id }), { now: new Date(T.getTime() + 1_000) });
    await settle(t);
    expect(await posted("ops:fx-revenue:USD")).toBe(revenue.fx + t.conversion!.spreadMinor);
    expect(await report(t, "returned", 2)).toMatchObject({ toState: "returned" });
    expect(await posted("ops:fees:EUR")).toBe(revenue.fees);
    expect(await posted("ops:fx-revenue:USD")).toBe(revenue.fx);
    expect((await getBalances(db, plain.id)).postedMinor).toBe(before);
  });
});

describe("the ledger after many priced and converted transfers", () => {
  it("balances every currency, and revenue equals the fees and spreads of what stayed settled, to the minor unit", async () => {
    const amounts = [1n, 49n, 1_000n, 5_555n, 99_999n, 100_000n, 123_457n, 1_000_000n, 2_000_001n];
    const made: { t: Transfer; fate: "settled" | "returned" | "failed" | "pending" }[] = [];
    const fates = ["settled", "settled", "returned", "failed", "pending"] as const;
    let i = 0;
    for (const amount of amounts) {
      for (const [w, to] of [[plain, null], [vip, null], [overridden, null], [plain, "USD"], [vip, "USD"], [plain, "JPY"], [usdWallet, "EUR"], [usdWallet, null]] as const) {
        const fate = fates[i++ % fates.length]!;
        let t: Transfer;
        if (to === null) {
          t = (await create(input(w, amount))).transfer;
        } else {
          const customerId = w === vip ? "cust-a" : w.code;
          const q = await quote(w, amount, to, customerId);
          if (q.convertedMinor === 0n) continue;
          t = (await create(input(w, amount, { toCurrency: to, quoteId: q.id }), { now: new Date(T.getTime() + 1_000) })).transfer;
        }
        if (fate !== "pending") {
          expect(await advanceTransfer(db, t.id, deps)).toMatchObject({ state: "submitted" });
          const events = fate === "failed" ? ["failed"] : fate === "settled" ? ["settled"] : ["settled", "returned"];
          for (const [n, e] of events.entries()) await report(t, e as "settled", n + 10);
        }
        made.push({ t: (await getTransferDetail(db, t.id, { includeAudit: false })).transfer, fate });
      }
    }
    expect(made.filter((m) => m.t.conversion).length).toBeGreaterThan(20);
    expect(made.filter((m) => m.t.state === "settled" && m.t.feeMinor > 0n).length).toBeGreaterThan(5);

    expect(await verifyLedger(db)).toMatchObject({ isOk: true });
    // Every currency sums to zero over all accounts, checked here directly as well.
    const sums = await db.pool.query<{ currency: string; net: string }>(
      `SELECT currency, sum(CASE WHEN side = 'debit' THEN amount_minor ELSE -amount_minor END)::text AS net FROM postings GROUP BY currency`,
    );
    for (const s of sums.rows) expect([s.currency, BigInt(s.net)]).toEqual([s.currency, 0n]);

    // Revenue, per currency, from everything this database ever settled and did not return.
    const all = await db.pool.query<{ currency: string; fee: string; spread_currency: string | null; spread: string | null }>(
      `SELECT currency, fee_minor::text AS fee, converted_currency AS spread_currency, spread_minor::text AS spread FROM transfers WHERE state = 'settled'`,
    );
    const feeBy = new Map<string, bigint>();
    const spreadBy = new Map<string, bigint>();
    for (const r of all.rows) {
      feeBy.set(r.currency.trim(), (feeBy.get(r.currency.trim()) ?? 0n) + BigInt(r.fee));
      if (r.spread_currency) spreadBy.set(r.spread_currency.trim(), (spreadBy.get(r.spread_currency.trim()) ?? 0n) + BigInt(r.spread!));
    }
    for (const c of ["EUR", "USD", "JPY"]) {
      expect([c, "fees", await posted(`ops:fees:${c}`)]).toEqual([c, "fees", feeBy.get(c) ?? 0n]);
      expect([c, "spread", await posted(`ops:fx-revenue:${c}`)]).toEqual([c, "spread", spreadBy.get(c) ?? 0n]);
    }
    expect(feeBy.get("EUR")! > 0n && spreadBy.get("USD")! > 0n && spreadBy.get("JPY")! > 0n && spreadBy.get("EUR")! > 0n).toBe(true);

    // Each transfer's hold reserved amount + fee; what is still pending reserves exactly that.
    for (const m of made) {
      const d = await getTransferDetail(db, m.t.id, { includeAudit: false });
      expect(d.hold!.amountMinor).toBe(m.t.amountMinor + m.t.feeMinor);
      expect(d.hold!.status).toBe({ settled: "posted", returned: "posted", failed: "voided", pending: "pending" }[m.fate]);
    }
  });
});

describe("the explanation of a transfer's price", () => {
  it("explains a fee line by line, with a link to the schedule version", async () => {
    const { transfer: t } = await create(input(plain, 1_000n));
    const e = await explainTransferPrice(pgRunner(db.pool), t.id);
    expect(e).toMatchObject({ feeMinor: 50n, totalDebitMinor: 1_050n, schedule: { scheduleCode: "instant-std", version: 1, versionId: t.feeScheduleVersionId } });
    expect(e.explanation.summary).toBe("fee = min(max(0.50, 0.30 + 0.9% of 10.00), 25.00) = 0.50 EUR, schedule instant-std v1, rule eur-default tier-1, rounded half-even");
    expect(e.explanation.fee!.lines.map((l) => l.label)).toEqual(["rule", "tier", "formula", "rounding", "minimum", "maximum", "fee"]);
    expect(e.explanation.links).toEqual([{ type: "fee_schedule_version", id: t.feeScheduleVersionId, label: "instant-std v1" }]);
    expect(e.booking.map((b) => [b.account, b.side, b.amountMinor])).toEqual([
      ["customer:plain:wallet", "debit", 1_050n],
      ["partner:sandbox:settlement:EUR", "credit", 1_000n],
      ["ops:fees:EUR", "credit", 50n],
    ]);
  });

  it("explains a conversion from its quote, with the rates used", async () => {
    const q = await quote(plain, 10_000n, "JPY", plain.code);
    const { transfer: t } = await create(input(plain, 10_000n, { toCurrency: "JPY", quoteId: q.id }), { now: new Date(T.getTime() + 1_000) });
    const e = await explainTransferPrice(pgRunner(db.pool), t.id);
    expect(e.quoteId).toBe(q.id);
    expect(e.explanation.conversion!.lines.map((l) => l.label)).toContain("reference date");
    expect(e.explanation.links).toContainEqual({ type: "fx_rate", id: "JPY:2025-05-09", label: "1 EUR = 163.36 JPY on 2025-05-09" });
    expect(e.booking.some((b) => b.account === "ops:fx-revenue:JPY")).toBe(true);
  });

  it("says so when the rail had no schedule", async () => {
    const { transfer: t } = await create(input(plain, 1_000n, { rail: "batch" }));
    const e = await explainTransferPrice(pgRunner(db.pool), t.id);
    expect(e.explanation.summary).toMatch(/^no fee: rail batch had no fee schedule in force/);
    await expect(explainTransferPrice(pgRunner(db.pool), randomUUID())).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("the database keeps a transfer's price", () => {
  const pgCode = (p: Promise<unknown>) => p.then(() => "no error", (e: { code?: string }) => e.code);

  it("refuses changing a price, a malformed price, and a quote the transfer did not use", async () => {
    const { transfer: t } = await create(input(plain, 1_000n));
    expect(await pgCode(db.pool.query(`UPDATE transfers SET fee_minor = 0 WHERE id = $1`, [t.id]))).toBe("TR002");
    expect(await pgCode(db.pool.query(`UPDATE transfers SET fee_schedule_version_id = NULL, fee_rule_id = NULL, fee_minor = 0 WHERE id = $1`, [t.id]))).toBe("TR002");
    const q = await quote(plain, 1_000n, "USD", plain.code);
    const insert = (over: string) =>
      db.pool.query(
        `INSERT INTO transfers (id, idempotency_key, request_hash, source_account_id, counterparty_name, counterparty_account, amount_minor, currency, rail, partner,
                                state_changed_at, created_at, created_by, fee_minor, fee_schedule_version_id, quote_id, converted_currency, converted_minor, spread_minor)
         SELECT gen_random_uuid(), gen_random_uuid()::text, 'h', $1, 'x', 'y', 1000, 'EUR', 'instant', 'sandbox', now(), now(), 't', ${over}
          WHERE $2::uuid IS NOT NULL AND $3::uuid IS NOT NULL`,
        [plain.id, q.id, q.scheduleVersionId],
      );
    expect(await pgCode(insert(`5, NULL, NULL, NULL, NULL, NULL`))).toBe("23514");
    expect(await pgCode(insert(`0, NULL, NULL, 'USD', 1, 0`))).toBe("23514");
    expect(await pgCode(insert(`0, NULL, $2, 'USD', 0, 0`))).toBe("23514");
    // Well-formed, but the quote was never marked used by it: refused at commit.
    expect(await pgCode(insert(`${q.feeMinor}, $3, $2, 'USD', ${q.convertedMinor}, ${q.spreadMinor}`))).toBe("TR004");
  });
});

describe("pricing from the per-process cache", () => {
  it("gives the version the database gives, before and after a new version is approved", async () => {
    const sql = pgRunner(db.pool);
    const loadedAt = Date.now();
    const v1 = await cachedVersionInForce(db.pool, "instant", new Date(loadedAt), loadedAt);
    expect(v1!.version).toBe(1);
    // A new version approved now takes effect only after every cache loaded before it has expired.
    const p = await proposeAdjustment(db, { kinds: adjustmentKinds, actor: admin }, {
      kind: "fee_schedule_version",
      payload: { scheduleCode: "instant-std", rail: "instant", basedOnVersion: 1, effectiveFrom: new Date().toISOString(), definition: SCHEDULE },
      reason: "same rules, new version",
      idempotencyKey: randomUUID(),
    });
    const approvedAt = new Date();
    await approveProposal(db, { kinds: adjustmentKinds, actor: approver, now: approvedAt }, { proposalId: p.id, code: generateTotpCode(approverSecret, approvedAt) });
    const v2 = await db.pool.query<{ effective_from: Date }>(`SELECT effective_from FROM fee_schedule_versions WHERE version = 2`);
    expect(v2.rows[0]!.effective_from.getTime()).toBe(approvedAt.getTime() + versionActivationDelayMs());
    expect(versionActivationDelayMs()).toBeGreaterThan(env().PRICING_CACHE_TTL_MS);
    // Every time the cache entry loaded before the approval may answer for, it agrees with the database.
    for (const offset of [0, 1_000, env().PRICING_CACHE_TTL_MS - 1]) {
      const at = new Date(loadedAt + offset);
      const cached = await cachedVersionInForce(db.pool, "instant", at, loadedAt + offset);
      expect([offset, cached?.version]).toEqual([offset, (await findVersionInForce(sql, "instant", at))?.version]);
    }
    // After it expired the cache reads again and sees version 2 once it is in force.
    const later = v2.rows[0]!.effective_from.getTime() + 1;
    expect((await cachedVersionInForce(db.pool, "instant", new Date(later), later))!.version).toBe(2);
    // A time before the cached versions is read from the database.
    expect(await cachedVersionInForce(db.pool, "instant", new Date(T0.getTime() - 1), later)).toBeNull();
  });
});
