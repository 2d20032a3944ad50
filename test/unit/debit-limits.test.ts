/**
 * assertMayDebit (issue 14, point 1): the one rule for what a service key may debit. Every write
 * path that debits calls it with the accounts and currencies it debits.
 */
import { describe, expect, it } from "vitest";
import { assertMayDebit, hasDebitLimits } from "../../server/core/debit-limits";
import { serviceActor, userActor } from "../../server/core/actor";
import type { AppError } from "../../server/errors/app-error";

const key = (accountCodePrefixes: string[], currencies: string[]) => serviceActor({ id: "k", name: "payouts", scopes: ["transfers:create"], debitLimits: { accountCodePrefixes, currencies } });
const person = userActor({ id: "u", email: "ops@example.test", name: "ops", roles: ["operator"] });

function outcome(actor: Parameters<typeof assertMayDebit>[0], debits: { accountCode: string; currency: string }[]): string {
  try {
    assertMayDebit(actor, debits);
    return "allowed";
  } catch (e) {
    return `${(e as AppError).code}: ${(e as AppError).message}`;
  }
}

describe("assertMayDebit", () => {
  it.each([
    // [limits: prefixes, currencies], debits, outcome
    ["no limits: anything", [[], []], [{ accountCode: "bank:omnibus:EUR", currency: "EUR" }], /^allowed$/],
    ["prefix matches", [["customer:0042:"], []], [{ accountCode: "customer:0042:wallet", currency: "EUR" }], /^allowed$/],
    ["prefix does not match", [["customer:0042:"], []], [{ accountCode: "customer:0043:wallet", currency: "EUR" }], /^FORBIDDEN: service key payouts may not debit account customer:0043:wallet/],
    ["a prefix is not a substring", [["customer:0042:"], []], [{ accountCode: "x:customer:0042:wallet", currency: "EUR" }], /^FORBIDDEN/],
    ["exact account code as prefix", [["ops:fees:EUR"], []], [{ accountCode: "ops:fees:EUR", currency: "EUR" }], /^allowed$/],
    ["one of several prefixes", [["a:", "b:"], []], [{ accountCode: "b:1", currency: "EUR" }], /^allowed$/],
    ["currency allowed", [[], ["EUR"]], [{ accountCode: "any", currency: "EUR" }], /^allowed$/],
    ["currency refused", [[], ["EUR"]], [{ accountCode: "any", currency: "USD" }], /^FORBIDDEN: service key payouts may not debit USD \(account any\)/],
    ["both limits, both pass", [["customer:"], ["EUR", "GBP"]], [{ accountCode: "customer:1:wallet", currency: "GBP" }], /^allowed$/],
    ["both limits, currency fails", [["customer:"], ["EUR"]], [{ accountCode: "customer:1:wallet", currency: "JPY" }], /^FORBIDDEN: .*may not debit JPY/],
    ["every debit is checked: the second fails", [["customer:1:"], []], [{ accountCode: "customer:1:wallet", currency: "EUR" }, { accountCode: "customer:2:wallet", currency: "EUR" }], /customer:2:wallet/],
    ["no debits: nothing to refuse", [["customer:1:"], ["EUR"]], [], /^allowed$/],
  ] as const)("%s", (_label, [prefixes, currencies], debits, expected) => {
    expect(outcome(key([...prefixes], [...currencies]), [...debits])).toMatch(expected);
  });

  it("people are not limited here (roles and four eyes limit them)", () => {
    expect(outcome(person, [{ accountCode: "bank:omnibus:EUR", currency: "USD" }])).toBe("allowed");
    expect(hasDebitLimits(person)).toBe(false);
    expect(hasDebitLimits(key([], []))).toBe(false);
    expect(hasDebitLimits(key(["a:"], []))).toBe(true);
  });
});
