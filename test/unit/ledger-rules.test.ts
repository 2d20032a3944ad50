/**
 * The ledger's rules and planner without a database (server/ledger/rules.ts, planner.ts):
 * - the documented order of the checks, table-driven: each case breaks two rules at once and the
 *   earlier one (in RULE_ORDER) must win, whatever the order of the items;
 * - properties: a run of transfers out of a no-overdraft account is accepted exactly while the
 *   running balance stays non-negative; every plan balances per currency and moves each balance
 *   row by exactly the signed sum of its postings.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AppError } from "../../server/errors/app-error";
import { decide, emptyDeltas, RULE_ORDER, type ReadState, type RuleContext } from "../../server/ledger/rules";
import { mergePlans, planCommand } from "../../server/ledger/planner";
import type { AccountRow, EntryRef, HoldRow } from "../../server/ledger/state";
import type { LedgerCommand, LedgerItem } from "../../server/ledger/types";

const NOW = new Date("2026-12-02T12:00:00Z");
const LATER = new Date("2026-12-03T12:00:00Z");
const EARLIER = new Date("2026-12-01T12:00:00Z");

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const A = { wallet: id(1), bank: id(2), usd: id(3), frozen: id(4), missing: id(9) };

function account(accountId: string, over: Partial<AccountRow> = {}): AccountRow {
  return { id: accountId, code: `acct:${accountId.slice(-2)}`, currency: "EUR", normalSide: "credit", status: "active", isNoOverdraft: false, postedMinor: 0n, pendingMinor: 0n, version: 3n, isWhole: false, slot: 0, ...over };
}

const ACCOUNTS = new Map<string, AccountRow>([
  [A.wallet, account(A.wallet, { isNoOverdraft: true, isWhole: true, postedMinor: 100n })],
  [A.bank, account(A.bank, { normalSide: "debit" })],
  [A.usd, account(A.usd, { currency: "USD" })],
  [A.frozen, account(A.frozen, { status: "frozen" })],
]);

function hold(holdId: string, over: Partial<HoldRow> = {}): HoldRow {
  return {
    id: holdId, debitAccountId: A.wallet, creditAccountId: A.bank, amountMinor: 10n, amountPostedMinor: 0n, currency: "EUR", status: "pending", expiresAt: LATER,
    postedEntryId: null, isNew: false, isChanged: false, reference: null, description: "", idempotencyKey: `h-${holdId}`, ...over,
  };
}
const H = { pending: id(21), posted: id(22), due: id(23) };
const HOLDS = new Map<string, HoldRow>([
  [H.pending, hold(H.pending)],
  [H.posted, hold(H.posted, { status: "posted" })],
  [H.due, hold(H.due, { expiresAt: EARLIER })],
]);
const E = { plain: id(31), reversal: id(32), reversed: id(33) };
const postings = [
  { accountId: A.bank, side: "debit" as const, amountMinor: 5n, currency: "EUR" },
  { accountId: A.wallet, side: "credit" as const, amountMinor: 5n, currency: "EUR" },
];
const ENTRIES = new Map<string, EntryRef>([
  [E.plain, { id: E.plain, reversesEntryId: null, reversedById: null, postings }],
  [E.reversal, { id: E.reversal, reversesEntryId: E.plain, reversedById: null, postings }],
  [E.reversed, { id: E.reversed, reversesEntryId: null, reversedById: id(34), postings }],
]);

const transfer = (debitAccountId: string, creditAccountId: string, amountMinor = 1n, currency = "EUR"): LedgerItem => ({ type: "transfer", debitAccountId, creditAccountId, amountMinor, currency });

/** Runs every rule for `command` as the write path does, against the state above. */
function run(command: LedgerCommand, expectedVersions?: Record<string, bigint>) {
  const items = command.type === "batch" ? command.items : [command];
  const ctx: RuleContext = { command, items, now: NOW, keyOf: (i) => `k#${i}` };
  const placed = new Map<number, string>();
  items.forEach((it, i) => {
    if (it.type === "place_hold") placed.set(i, it.holdId ?? id(100 + i));
  });
  const wanted = new Set(items.flatMap((it) => ("holdId" in it && it.type !== "place_hold" ? [it.holdId] : [])));
  const read: ReadState = {
    placed,
    holds: new Map([...HOLDS].filter(([k]) => wanted.has(k))),
    entries: ENTRIES,
    accounts: ACCOUNTS,
    wholeIds: Object.keys(expectedVersions ?? {}),
  };
  let n = 0;
  return decide(ctx, read, expectedVersions, () => id(500 + n++));
}

/** The code that wins, unwrapped from BATCH_ITEM_FAILED, with the item index when in a batch. */
function winner(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    if (e.code === "BATCH_ITEM_FAILED") return `${String(e.details?.code)}@${String(e.details?.index)}`;
    return e.code;
  }
  return "accepted";
}

const batch = (...items: LedgerItem[]): LedgerCommand => ({ type: "batch", items });

describe("the ledger's rules, in their documented order", () => {
  it("names the checks in the order executeLedgerCommand documents", () => {
    expect(RULE_ORDER).toEqual(["checkHoldsAndEntriesExist", "checkAccountsExist", "checkHoldsAndReversals", "checkDebitLimits", "checkCurrencies", "checkNotFrozen", "checkExpectedVersions", "checkFunds"]);
  });

  it.each<[string, () => unknown, string]>([
    ["a missing hold before a missing account (later item first)", () => run(batch(transfer(A.missing, A.bank), { type: "void_hold", holdId: id(99) })), "NOT_FOUND@1"],
    ["a missing entry before a missing account", () => run(batch(transfer(A.missing, A.bank), { type: "reverse_entry", entryId: id(98) })), "NOT_FOUND@1"],
    ["a missing account before a hold that is not pending", () => run(batch({ type: "void_hold", holdId: H.posted }, transfer(A.missing, A.bank))), "NOT_FOUND@1"],
    ["a hold that is not pending before a currency mismatch", () => run(batch(transfer(A.usd, A.bank), { type: "void_hold", holdId: H.posted })), "HOLD_NOT_PENDING@1"],
    ["a hold past its deadline before a frozen account", () => run(batch(transfer(A.frozen, A.bank), { type: "post_hold", holdId: H.due })), "HOLD_EXPIRED@1"],
    ["a hold placed already due before a currency mismatch", () => run({ type: "place_hold", debitAccountId: A.usd, creditAccountId: A.bank, amountMinor: 1n, currency: "EUR", expiresAt: EARLIER }), "HOLD_EXPIRED"],
    ["posting more than the hold before a frozen account", () => run(batch(transfer(A.frozen, A.bank), { type: "post_hold", holdId: H.pending, amountMinor: 11n })), "INVALID_AMOUNT@1"],
    ["reversing a reversal before insufficient funds", () => run(batch(transfer(A.wallet, A.bank, 1_000n), { type: "reverse_entry", entryId: E.reversal })), "CANNOT_REVERSE_REVERSAL@1"],
    ["reversing an entry twice before a currency mismatch", () => run(batch(transfer(A.usd, A.bank), { type: "reverse_entry", entryId: E.reversed })), "ALREADY_REVERSED@1"],
    ["a currency mismatch before a frozen account", () => run(transfer(A.frozen, A.bank, 1n, "USD")), "CURRENCY_MISMATCH"],
    ["a frozen account before a version conflict", () => run(transfer(A.frozen, A.bank), { [A.bank]: 99n }), "ACCOUNT_FROZEN"],
    ["a version conflict before insufficient funds", () => run(transfer(A.wallet, A.bank, 1_000n), { [A.wallet]: 99n }), "VERSION_CONFLICT"],
    ["insufficient funds, naming what is available", () => run(transfer(A.wallet, A.bank, 101n)), "INSUFFICIENT_FUNDS"],
    ["a pending hold's reservation counts", () => run(batch({ type: "place_hold", debitAccountId: A.wallet, creditAccountId: A.bank, amountMinor: 60n, currency: "EUR", expiresAt: LATER }, transfer(A.wallet, A.bank, 41n))), "INSUFFICIENT_FUNDS@1"],
    ["exactly what is available is accepted", () => run(transfer(A.wallet, A.bank, 100n)), "accepted"],
    ["a void of a pending hold is accepted", () => run({ type: "void_hold", holdId: H.pending }), "accepted"],
  ])("%s", (_label, f, expected) => {
    expect(winner(f)).toBe(expected);
  });

  it("a key's debit limit is checked after the hold rules and before a currency mismatch", () => {
    const command: LedgerCommand = batch(transfer(A.usd, A.bank, 1n, "EUR"), transfer(A.wallet, A.bank));
    const items = command.type === "batch" ? command.items : [];
    const ctx: RuleContext = {
      command,
      items,
      now: NOW,
      keyOf: (i) => `k#${i}`,
      assertMayDebit: (debits) => {
        const outside = debits.find((d) => d.accountCode !== "acct:03");
        if (outside) throw new AppError("FORBIDDEN", `may not debit account ${outside.accountCode}`);
      },
    };
    const read: ReadState = { placed: new Map(), holds: new Map(), entries: ENTRIES, accounts: ACCOUNTS, wholeIds: [] };
    // Item 0 debits its allowed account (in the wrong currency: a later rule); item 1 another account.
    expect(winner(() => decide(ctx, read, undefined, () => id(900)))).toBe("FORBIDDEN@1");
    expect(RULE_ORDER.indexOf("checkDebitLimits")).toBeLessThan(RULE_ORDER.indexOf("checkCurrencies"));
  });

  it("an insufficient-funds message says what is available and what was asked", () => {
    expect(() => run(transfer(A.wallet, A.bank, 101n))).toThrow("account acct:01 has 100 available, 101 requested (EUR minor units)");
  });

  it("a group member is checked on top of the members accepted before it", () => {
    const command = transfer(A.wallet, A.bank, 60n);
    const ctx: RuleContext = { command, items: [command], now: NOW, keyOf: () => "k" };
    const read: ReadState = { placed: new Map(), holds: new Map(), entries: new Map(), accounts: ACCOUNTS, wholeIds: [] };
    const first = decide(ctx, read, undefined, () => id(600));
    expect(() => decide(ctx, read, undefined, () => id(601), first.deltas)).toThrow(/has 40 available, 60 requested/);
    expect(emptyDeltas().posted.size).toBe(0);
  });
});

describe("properties of the rules and the planner", () => {
  it("transfers out of a no-overdraft account are accepted exactly while the balance stays non-negative", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 60n }), { minLength: 1, maxLength: 12 }), (amounts) => {
        let deltas = emptyDeltas();
        let balance = 100n;
        amounts.forEach((amount, n) => {
          const command = transfer(A.wallet, A.bank, amount);
          const ctx: RuleContext = { command, items: [command], now: NOW, keyOf: () => `k${n}` };
          const read: ReadState = { placed: new Map(), holds: new Map(), entries: new Map(), accounts: ACCOUNTS, wholeIds: [] };
          const outcome = winner(() => (deltas = decide(ctx, read, undefined, () => id(700 + n), deltas).deltas));
          expect(outcome).toBe(balance - amount >= 0n ? "accepted" : "INSUFFICIENT_FUNDS");
          if (outcome === "accepted") balance -= amount;
        });
      }),
    );
  });

  it("every plan balances per currency and moves each balance row by the signed sum of its postings", () => {
    const accountIds = [A.wallet, A.bank];
    fc.assert(
      fc.property(
        fc.array(fc.record({ from: fc.constantFrom(...accountIds), amount: fc.bigInt({ min: 1n, max: 5n }) }), { minLength: 1, maxLength: 8 }),
        (moves) => {
          const plans = moves.map(({ from, amount }, n) => {
            const command = transfer(from, from === A.wallet ? A.bank : A.wallet, amount);
            const ctx: RuleContext = { command, items: [command], now: NOW, keyOf: () => `k${n}` };
            const read: ReadState = { placed: new Map(), holds: new Map(), entries: new Map(), accounts: new Map([...ACCOUNTS].map(([k, a]) => [k, { ...a, isNoOverdraft: false }])), wholeIds: [] };
            const { effects, deltas } = decide(ctx, read, undefined, () => id(800 + n));
            const accountOf = (x: string) => read.accounts.get(x)!;
            return planCommand({ ctx, effects, deltas, accountOf, holdsBefore: new Map(), actor: { type: "system", id: null, label: "t" }, idempotencyKey: `k${n}`, requestHash: "h", isDryRun: false, requestId: null }).plan;
          });
          const plan = mergePlans(plans);
          const all = plan.entries.flatMap((e) => e.entry.postings);
          expect(all.filter((p) => p.side === "debit").reduce((s, p) => s + p.amountMinor, 0n)).toBe(all.filter((p) => p.side === "credit").reduce((s, p) => s + p.amountMinor, 0n));
          for (const b of plan.balances) {
            const a = ACCOUNTS.get(b.accountId)!;
            const expected = all.filter((p) => p.accountId === b.accountId).reduce((s, p) => s + (p.side === a.normalSide ? p.amountMinor : -p.amountMinor), 0n);
            expect(b.postedDelta).toBe(expected);
            expect(b.writes).toBe(plans.filter((p) => p.balances.some((x) => x.accountId === b.accountId)).length);
          }
          expect(plan.idempotency.map((i) => i.key)).toEqual(moves.map((_m, n) => `k${n}`));
          expect(plan.audits).toHaveLength(moves.length);
        },
      ),
    );
  });
});
