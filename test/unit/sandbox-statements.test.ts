// The sandbox's end-of-day camt.053 statements (server/sandbox/statements.ts): they parse, add up
// (opening + entries = closing) whatever the faults, every fault has the shape it claims, the
// ground truth lines up with the entries, and the same seed gives the same statement.
import { describe, expect, it } from "vitest";
import { parseCamt053 } from "../../server/partners/camt053/parse";
import { signedBalance } from "../../server/partners/statement-types";
import { NO_STATEMENT_FAULTS, STATEMENT_FAULTS, buildDailyStatement, faultOf, mangle, sandboxIban, statementSequence, type BookedPayment, type StatementFaultConfig } from "../../server/sandbox/statements";

const DATE = "2026-11-20";

function payments(n: number): BookedPayment[] {
  return Array.from({ length: n }, (_v, i) => ({
    paymentId: `sbx_${String(i).padStart(24, "0")}`,
    idempotencyKey: `0b6f${String(i).padStart(4, "0")}-1c2d-4e5f-8a9b-${String(i).padStart(12, "0")}`,
    amountMinor: BigInt(1_000 + ((i * 7919) % 90_000)),
    currency: "EUR",
    direction: i % 7 === 0 ? ("credit" as const) : ("debit" as const),
    valueDate: DATE,
    reference: `inv-${String(i).padStart(6, "0")}`,
    counterpartyName: `Customer ${i}`,
    counterpartyAccount: "DE89370400440532013000",
  }));
}

const EVERY_FAULT: StatementFaultConfig = { seed: "accuracy", missing: 0.05, extra: 0.05, duplicated: 0.05, amount_changed: 0.05, fee_deducted: 0.05, currency_changed: 0.05, value_date_shifted: 0.05, reference_mangled: 0.05, batch_netting: 0.1, split_payment: 0.05 };

describe("sandbox statements", () => {
  it("without faults: one entry per payment, exact, and the balances add up", async () => {
    const ps = payments(20);
    const st = buildDailyStatement({ currency: "EUR", date: DATE, openingMinor: 1_000_000n, payments: ps, faults: NO_STATEMENT_FAULTS });
    const doc = await parseCamt053(st.xml);
    const s = doc.statements[0]!;
    expect(s.header).toMatchObject({ accountIban: sandboxIban("EUR"), sequence: String(statementSequence(DATE)), statementId: `SBX-EUR-${DATE}` });
    expect(s.entries).toHaveLength(20);
    expect(st.lines.every((l) => l.fault === "none" && l.keys.length === 1)).toBe(true);
    const net = s.entries.reduce((t, e) => t + (e.direction === "credit" ? e.amountMinor : -e.amountMinor), 0n);
    expect(signedBalance(s.header.openingBalance!) + net).toBe(signedBalance(s.header.closingBalance!));
    expect(signedBalance(s.header.closingBalance!)).toBe(st.closingMinor);
  });

  it("with every fault: the ground truth describes each entry, the statement still adds up", async () => {
    const ps = payments(600);
    const byKey = new Map(ps.map((p) => [p.idempotencyKey, p]));
    const st = buildDailyStatement({ currency: "EUR", date: DATE, openingMinor: 0n, payments: ps, faults: EVERY_FAULT });
    const s = (await parseCamt053(st.xml)).statements[0]!;
    expect(s.entries).toHaveLength(st.lines.length);
    const net = s.entries.filter((e) => e.currency === "EUR").reduce((t, e) => t + (e.direction === "credit" ? e.amountMinor : -e.amountMinor), 0n);
    expect(signedBalance(s.header.openingBalance!) + net).toBe(signedBalance(s.header.closingBalance!));
    const seen = new Set<string>();
    for (const l of st.lines) {
      const e = s.entries[l.index]!;
      seen.add(l.fault);
      const p = l.keys.length === 1 ? byKey.get(l.keys[0]!)! : null;
      switch (l.fault) {
        case "none":
        case "duplicated":
          expect([e.amountMinor, e.endToEndId]).toEqual([p!.amountMinor, p!.idempotencyKey]);
          break;
        case "extra":
          expect(l.keys).toEqual([]);
          break;
        case "amount_changed": {
          const d = e.amountMinor > p!.amountMinor ? e.amountMinor - p!.amountMinor : p!.amountMinor - e.amountMinor;
          expect(d * 100n).toBeGreaterThanOrEqual(p!.amountMinor * 10n);
          expect(d).toBeGreaterThanOrEqual(2000n);
          break;
        }
        case "fee_deducted": {
          const fee = p!.direction === "debit" ? e.amountMinor - p!.amountMinor : p!.amountMinor - e.amountMinor;
          expect(fee).toBeGreaterThan(0n);
          expect(fee <= 500n || fee * 100n <= p!.amountMinor).toBe(true);
          break;
        }
        case "currency_changed":
          expect(e.currency).toBe("USD");
          break;
        case "value_date_shifted":
          expect(e.valueDate! > DATE).toBe(true);
          expect(Date.parse(e.valueDate!) - Date.parse(DATE)).toBeLessThanOrEqual(5 * 86_400_000);
          break;
        case "reference_mangled":
          expect(e.endToEndId).not.toBe(p!.idempotencyKey);
          break;
        case "split_payment":
          expect(e.endToEndId).toBe(p!.idempotencyKey);
          expect(e.amountMinor).toBeLessThan(p!.amountMinor);
          break;
        case "batch_netting":
          expect(l.keys.length).toBeGreaterThanOrEqual(2);
          expect(e.details.map((d) => d.endToEndId)).toEqual(l.keys);
          expect(e.amountMinor).toBe(l.keys.reduce((t, k) => t + byKey.get(k)!.amountMinor, 0n));
          break;
        case "missing":
          throw new Error("a missing payment has no line");
      }
    }
    expect([...seen].sort()).toEqual(["none", ...STATEMENT_FAULTS.filter((f) => f !== "missing")].sort());
    expect(st.missingKeys.length).toBeGreaterThan(0);
    // Split parts add up to their payment.
    const splits = new Map<string, bigint>();
    for (const l of st.lines.filter((x) => x.fault === "split_payment")) splits.set(l.keys[0]!, (splits.get(l.keys[0]!) ?? 0n) + s.entries[l.index]!.amountMinor);
    for (const [k, sum] of splits) expect(sum).toBe(byKey.get(k)!.amountMinor);
  });

  it("is reproducible from its seed, and another seed changes the faults", () => {
    const ps = payments(100);
    const a = buildDailyStatement({ currency: "EUR", date: DATE, openingMinor: 0n, payments: ps, faults: EVERY_FAULT });
    const b = buildDailyStatement({ currency: "EUR", date: DATE, openingMinor: 0n, payments: [...ps].reverse(), faults: EVERY_FAULT });
    expect(b.xml).toBe(a.xml);
    expect(ps.map((p) => faultOf({ ...EVERY_FAULT, seed: "other" }, p.idempotencyKey))).not.toEqual(ps.map((p) => faultOf(EVERY_FAULT, p.idempotencyKey)));
  });

  it.each([
    [0.1, "0B6F0001 1C2D 4E5F 8A9B 000000000001"],
    [0.3, "REF 0B6F0001-1C2D-4E5F-8A9B-000000000001"],
    [0.6, "0b6f0001-1c2d-4e"],
  ])("mangles a reference (roll %s)", (roll, want) => {
    expect(mangle("0b6f0001-1c2d-4e5f-8a9b-000000000001", roll)).toBe(want);
  });
});
