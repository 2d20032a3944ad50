// The database's refusals as domain errors (server/ledger/failures.ts, mapDbRuleError): each
// trigger's SQLSTATE maps to its code with the trigger's message kept; anything else is not ours.
import { describe, expect, it } from "vitest";
import { mapDbRuleError } from "../../server/ledger/failures";

const pgError = (code: string, message = "from the trigger", constraint?: string) => Object.assign(new Error(message), { code, ...(constraint ? { constraint } : {}) });

describe("mapDbRuleError", () => {
  it.each([
    ["LG001", "CURRENCY_MISMATCH"],
    ["LG002", "ACCOUNT_FROZEN"],
    ["LG004", "UNBALANCED"],
    ["LG005", "CANNOT_REVERSE_REVERSAL"],
    ["LG007", "HOLD_NOT_PENDING"],
    ["RC001", "PERIOD_CLOSED"],
  ])("%s is %s with the trigger's message", (sqlstate, code) => {
    expect(mapDbRuleError(pgError(sqlstate))).toMatchObject({ code, message: "from the trigger" });
  });

  it("names the overdraft check and the BIGINT range in its own words", () => {
    expect(mapDbRuleError(pgError("23514", "check", "account_balances_no_overdraft"))).toMatchObject({ code: "INSUFFICIENT_FUNDS", message: "a no-overdraft account would go negative" });
    expect(mapDbRuleError(pgError("22003"))).toMatchObject({ code: "INVALID_AMOUNT" });
  });

  it.each([["23514 of another check", pgError("23514", "x", "other_check")], ["an unknown SQLSTATE", pgError("XX000")], ["a plain error", new Error("boom")], ["a prototype name", pgError("constructor")]])("leaves %s alone", (_what, e) => {
    expect(mapDbRuleError(e)).toBeNull();
  });
});
