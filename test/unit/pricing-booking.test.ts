// The settlement entry of a priced transfer (server/pricing/transfer-pricing.ts): every currency
// balances on its own, revenue equals fee plus spread to the minor unit, the source pays exactly
// what the hold reserves, and no leg is zero.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { customerIdOf, holdAmountMinor, settlementPostings, type BookingInput } from "../../server/pricing/transfer-pricing";

function balanceByCurrency(postings: ReturnType<typeof settlementPostings>): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const p of postings) m.set(p.currency, (m.get(p.currency) ?? 0n) + (p.side === "debit" ? p.amountMinor : -p.amountMinor));
  return m;
}

describe("settlementPostings", () => {
  it("books a priced same-currency transfer: source pays amount + fee, partner gets the amount, revenue the fee", () => {
    expect(settlementPostings({ sourceAccount: "wallet", currency: "EUR", amountMinor: 10000n, feeMinor: 90n, partnerAccount: "partner:EUR", conversion: null })).toEqual([
      { account: "wallet", role: "source", side: "debit", amountMinor: 10090n, currency: "EUR" },
      { account: "partner:EUR", role: "partner", side: "credit", amountMinor: 10000n, currency: "EUR" },
      { account: "ops:fees:EUR", role: "fee_revenue", side: "credit", amountMinor: 90n, currency: "EUR" },
    ]);
  });

  it("books a converted transfer through FX positions per currency, the spread to FX revenue", () => {
    const p = settlementPostings({ sourceAccount: "wallet", currency: "EUR", amountMinor: 50000n, feeMinor: 250n, partnerAccount: "partner:USD", conversion: { toCurrency: "USD", convertedMinor: 54188n, spreadMinor: 272n } });
    expect(p.map((x) => [x.account, x.side, x.amountMinor, x.currency])).toEqual([
      ["wallet", "debit", 50250n, "EUR"],
      ["ops:fx-position:EUR", "credit", 50000n, "EUR"],
      ["ops:fees:EUR", "credit", 250n, "EUR"],
      ["ops:fx-position:USD", "debit", 54460n, "USD"],
      ["partner:USD", "credit", 54188n, "USD"],
      ["ops:fx-revenue:USD", "credit", 272n, "USD"],
    ]);
  });

  it("balances every currency, credits revenue = fee + spread, debits the source the hold amount (property)", () => {
    const input = fc.record({
      amountMinor: fc.bigInt(1n, 2n ** 62n),
      feeMinor: fc.bigInt(0n, 10n ** 12n),
      converted: fc.option(fc.record({ convertedMinor: fc.bigInt(0n, 2n ** 61n), spreadMinor: fc.bigInt(0n, 10n ** 12n), toCurrency: fc.constantFrom("USD", "JPY", "BHD") })),
    });
    fc.assert(
      fc.property(input, (i) => {
        const b: BookingInput = { sourceAccount: "src", currency: "EUR", amountMinor: i.amountMinor, feeMinor: i.feeMinor, partnerAccount: "partner", conversion: i.converted };
        const postings = settlementPostings(b);
        for (const [, net] of balanceByCurrency(postings)) expect(net).toBe(0n);
        const revenue = postings.filter((p) => p.role === "fee_revenue" || p.role === "fx_revenue").reduce((s, p) => s + p.amountMinor, 0n);
        expect(revenue).toBe(i.feeMinor + (i.converted?.spreadMinor ?? 0n));
        expect(postings.filter((p) => p.role === "source").map((p) => p.amountMinor)).toEqual([holdAmountMinor(b)]);
        expect(postings.every((p) => p.amountMinor > 0n)).toBe(true);
      }),
    );
  });
});

describe("customerIdOf", () => {
  it("uses the account's metadata.customerId, else its code", () => {
    expect(customerIdOf("customer:7:wallet", { customerId: "acme" })).toBe("acme");
    expect(customerIdOf("customer:7:wallet", {})).toBe("customer:7:wallet");
    expect(customerIdOf("customer:7:wallet", { customerId: 5 })).toBe("customer:7:wallet");
    expect(customerIdOf("customer:7:wallet", null)).toBe("customer:7:wallet");
  });
});
