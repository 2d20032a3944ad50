/**
 * The ledger's rules, as pure functions over what the transaction has read and locked
 * (state.ts). Each check is one named function; the write path calls them in the documented order
 * (RULE_ORDER, the order of executeLedgerCommand's doc comment), single commands and group commits
 * alike, so the first failing check wins in the same way everywhere. test/unit/ledger-rules.test.ts
 * proves the order without a database.
 *
 * Invariants kept:
 * - Nothing here reads or writes the database, the clock or randomness: the caller passes `now`
 *   and the ids of new holds and entries.
 * - Inside a batch an item's error is wrapped as BATCH_ITEM_FAILED naming the item (validate.ts).
 * - Holds placed earlier in a batch are visible to later items; balances change item by item.
 */
import { AppError } from "../errors/app-error";
import { itemError } from "./validate";
import type { AccountRow, EntryRef, HoldRow } from "./state";
import type { EntryResult, LedgerCommand, LedgerItem, NormalSide, PostingInput, PostingResult, Side, TransferInput } from "./types";

/** The checks after validation, in the order they are applied (steps 6 to 15). */
export const RULE_ORDER = [
  "checkHoldsAndEntriesExist",
  "checkAccountsExist",
  "checkHoldsAndReversals",
  "checkDebitLimits",
  "checkCurrencies",
  "checkNotFrozen",
  "checkExpectedVersions",
  "checkFunds",
] as const;

/** What every check needs to know about the command. */
export interface RuleContext {
  command: LedgerCommand;
  items: LedgerItem[];
  now: Date;
  /** The idempotency key of item i (the command's own, or a batch item's). */
  keyOf: (i: number) => string;
  /**
   * For a service key limited to some accounts or currencies (server/core/debit-limits.ts): refuses
   * debits outside its limits with FORBIDDEN. Absent for everyone else.
   */
  assertMayDebit?: (debits: { accountCode: string; currency: string }[]) => void;
}

/** What one item does to the ledger. */
export interface ItemEffect {
  postings: PostingResult[];
  /** Change of pending (reserved) amount per account. */
  pending: Map<string, bigint>;
  entryIndex: number | null;
  holdId: string | null;
}

export interface Effects {
  perItem: ItemEffect[];
  entries: EntryResult[];
  /** Caller-supplied metadata per new entry id; stored on the entry, not echoed in results. */
  entryMetadata: Map<string, Record<string, unknown>>;
  /** Holds placed or changed by the command (and the existing ones it read). */
  holds: Map<string, HoldRow>;
}

/** Running balance changes per account, on the normal side. */
export interface Deltas {
  posted: Map<string, bigint>;
  pending: Map<string, bigint>;
}

export const emptyDeltas = (): Deltas => ({ posted: new Map(), pending: new Map() });

type AccountOf = (id: string) => AccountRow;

const fail = (ctx: RuleContext, i: number, e: AppError): never => {
  throw itemError(ctx.command, i, e);
};

/** The change a posting makes to its account's normal-side balance. */
export function signedAmount(normalSide: NormalSide, side: Side, amountMinor: bigint): bigint {
  return side === normalSide ? amountMinor : -amountMinor;
}

/** The accounts a hold reserves from: those that posting it would decrease. */
export function holdReservedAccounts(hold: { debitAccountId: string; creditAccountId: string }, normalSideOf: (id: string) => NormalSide): string[] {
  const out: string[] = [];
  if (normalSideOf(hold.debitAccountId) === "credit") out.push(hold.debitAccountId);
  if (normalSideOf(hold.creditAccountId) === "debit") out.push(hold.creditAccountId);
  return out;
}

export function transferPostings(t: TransferInput): PostingResult[] {
  return [
    { accountId: t.debitAccountId.toLowerCase(), side: "debit", amountMinor: t.amountMinor, currency: t.currency },
    { accountId: t.creditAccountId.toLowerCase(), side: "credit", amountMinor: t.amountMinor, currency: t.currency },
  ];
}

const isHoldChange = (it: LedgerItem): it is Extract<LedgerItem, { type: "post_hold" | "void_hold" | "expire_hold" }> =>
  it.type === "post_hold" || it.type === "void_hold" || it.type === "expire_hold";

/** The existing holds a command changes (not those it places itself), sorted. */
export function holdIdsToLock(items: readonly LedgerItem[], placed: ReadonlyMap<number, string>): string[] {
  const placedSet = new Set(placed.values());
  return [...new Set(items.flatMap((it) => (isHoldChange(it) ? [it.holdId.toLowerCase()] : [])).filter((id) => !placedSet.has(id)))].sort();
}

/** The entries a command reverses. */
export function entryIdsToReverse(items: readonly LedgerItem[]): string[] {
  return [...new Set(items.flatMap((it) => (it.type === "reverse_entry" ? [it.entryId.toLowerCase()] : [])))];
}

/** Step 6: NOT_FOUND for a hold to change or an entry to reverse. */
export function checkHoldsAndEntriesExist(ctx: RuleContext, placed: ReadonlyMap<number, string>, holds: ReadonlyMap<string, HoldRow>, entries: ReadonlyMap<string, EntryRef>): void {
  const placedSet = new Set(placed.values());
  ctx.items.forEach((it, i) => {
    if (isHoldChange(it) && !placedSet.has(it.holdId.toLowerCase()) && !holds.has(it.holdId.toLowerCase())) {
      fail(ctx, i, new AppError("NOT_FOUND", `hold ${it.holdId} does not exist`, { details: { holdId: it.holdId } }));
    }
    if (it.type === "reverse_entry" && !entries.has(it.entryId.toLowerCase())) {
      fail(ctx, i, new AppError("NOT_FOUND", `entry ${it.entryId} does not exist`, { details: { entryId: it.entryId } }));
    }
  });
}

/**
 * A hold posted with postings of its own must take from the hold's debit account exactly what is
 * posted, in the hold's currency, as one debit: that is what the hold reserved. Errors: BAD_INPUT.
 */
function checkHoldSettlementPostings(ctx: RuleContext, i: number, h: HoldRow, amountMinor: bigint, postings: readonly PostingInput[]): void {
  const onHoldAccount = postings.filter((p) => p.accountId.toLowerCase() === h.debitAccountId);
  const only = onHoldAccount[0];
  if (onHoldAccount.length !== 1 || only!.side !== "debit" || only!.currency !== h.currency || only!.amountMinor !== amountMinor) {
    fail(ctx, i, new AppError("BAD_INPUT", `posting hold ${h.id} must debit its account ${h.debitAccountId} exactly ${amountMinor} ${h.currency} in one posting, and touch it nowhere else`, {
      details: { holdId: h.id, accountId: h.debitAccountId, amountMinor: amountMinor.toString(), currency: h.currency },
    }));
  }
}

/** Every account the command touches, plus those named in expectedVersions. */
export function accountIdsOf(items: readonly LedgerItem[], holds: ReadonlyMap<string, HoldRow>, entries: ReadonlyMap<string, EntryRef>, wholeIds: readonly string[]): Set<string> {
  const ids = new Set<string>();
  for (const it of items) {
    switch (it.type) {
      case "post_entry":
        for (const p of it.entry.postings) ids.add(p.accountId.toLowerCase());
        break;
      case "transfer":
      case "place_hold":
        ids.add(it.debitAccountId.toLowerCase());
        ids.add(it.creditAccountId.toLowerCase());
        break;
      case "post_hold":
      case "void_hold":
      case "expire_hold": {
        const h = holds.get(it.holdId.toLowerCase());
        if (h) {
          ids.add(h.debitAccountId);
          ids.add(h.creditAccountId);
        }
        if (it.type === "post_hold") for (const p of it.postings ?? []) ids.add(p.accountId.toLowerCase());
        break;
      }
      case "reverse_entry":
        for (const p of entries.get(it.entryId.toLowerCase())?.postings ?? []) ids.add(p.accountId);
        break;
    }
  }
  for (const id of wholeIds) ids.add(id);
  return ids;
}

/** Step 6: NOT_FOUND for an account an item names, then for one named in expectedVersions. */
export function checkAccountsExist(ctx: RuleContext, accounts: ReadonlyMap<string, AccountRow>, wholeIds: readonly string[]): void {
  const missingIn = (i: number, ids: string[]) => {
    for (const id of ids) if (!accounts.has(id.toLowerCase())) fail(ctx, i, new AppError("NOT_FOUND", `account ${id} does not exist`, { details: { accountId: id } }));
  };
  ctx.items.forEach((it, i) => {
    if (it.type === "post_entry") missingIn(i, it.entry.postings.map((p) => p.accountId));
    if (it.type === "transfer" || it.type === "place_hold") missingIn(i, [it.debitAccountId, it.creditAccountId]);
    if (it.type === "post_hold" && it.postings) missingIn(i, it.postings.map((p) => p.accountId));
  });
  for (const id of wholeIds) {
    if (!accounts.has(id)) throw new AppError("NOT_FOUND", `account ${id} named in expectedVersions does not exist`, { details: { accountId: id } });
  }
}

/**
 * Steps 7 to 11, item by item in order: HOLD_NOT_PENDING, HOLD_EXPIRED (also a hold placed with an
 * expiresAt that is not in the future; BAD_INPUT when expiring a hold before its deadline),
 * INVALID_AMOUNT (posting more than the hold), CANNOT_REVERSE_REVERSAL, ALREADY_REVERSED. Returns
 * the holds the command places, as new rows.
 */
export function checkHoldsAndReversals(
  ctx: RuleContext,
  placed: ReadonlyMap<number, string>,
  holds: ReadonlyMap<string, HoldRow>,
  entries: ReadonlyMap<string, EntryRef>,
): Map<string, HoldRow> {
  const statusOf = new Map<string, HoldRow["status"]>([...holds].map(([id, h]) => [id, h.status]));
  const placedInBatch = new Map<string, HoldRow>();
  ctx.items.forEach((it, i) => {
    if (it.type === "place_hold") {
      const id = placed.get(i)!;
      if (statusOf.has(id)) fail(ctx, i, new AppError("BAD_INPUT", `hold ${id} is placed twice in this batch`));
      // A hold that is already due could never be posted, yet would reserve money until the
      // expiry job ran.
      if (it.expiresAt.getTime() <= ctx.now.getTime()) {
        fail(ctx, i, new AppError("HOLD_EXPIRED", `hold would expire at ${it.expiresAt.toISOString()}, which is not after now (${ctx.now.toISOString()})`, {
          details: { expiresAt: it.expiresAt.toISOString(), now: ctx.now.toISOString() },
        }));
      }
      placedInBatch.set(id, {
        id,
        debitAccountId: it.debitAccountId.toLowerCase(),
        creditAccountId: it.creditAccountId.toLowerCase(),
        amountMinor: it.amountMinor,
        amountPostedMinor: 0n,
        currency: it.currency,
        status: "pending",
        expiresAt: it.expiresAt,
        postedEntryId: null,
        isNew: true,
        isChanged: true,
        reference: it.reference ?? null,
        description: it.description ?? "",
        idempotencyKey: ctx.keyOf(i),
      });
      statusOf.set(id, "pending");
      return;
    }
    if (isHoldChange(it)) {
      const id = it.holdId.toLowerCase();
      const h = placedInBatch.get(id) ?? holds.get(id);
      if (!h) return fail(ctx, i, new AppError("NOT_FOUND", `hold ${it.holdId} does not exist`));
      const status = statusOf.get(id)!;
      if (status !== "pending") fail(ctx, i, new AppError("HOLD_NOT_PENDING", `hold ${h.id} is already ${status}`, { details: { holdId: h.id, status } }));
      const isDue = h.expiresAt.getTime() <= ctx.now.getTime();
      if (it.type === "expire_hold") {
        if (!isDue) fail(ctx, i, new AppError("BAD_INPUT", `hold ${h.id} does not expire until ${h.expiresAt.toISOString()}`, { details: { holdId: h.id } }));
      } else if (isDue) {
        fail(ctx, i, new AppError("HOLD_EXPIRED", `hold ${h.id} expired at ${h.expiresAt.toISOString()}`, { details: { holdId: h.id, expiresAt: h.expiresAt.toISOString() } }));
      }
      if (it.type === "post_hold" && it.amountMinor !== undefined && it.amountMinor > h.amountMinor) {
        fail(ctx, i, new AppError("INVALID_AMOUNT", `cannot post ${it.amountMinor} against hold ${h.id} of ${h.amountMinor}`, {
          details: { holdId: h.id, requestedMinor: it.amountMinor.toString(), holdAmountMinor: h.amountMinor.toString() },
        }));
      }
      if (it.type === "post_hold" && it.postings) checkHoldSettlementPostings(ctx, i, h, it.amountMinor ?? h.amountMinor, it.postings);
      statusOf.set(id, it.type === "post_hold" ? "posted" : it.type === "void_hold" ? "voided" : "expired");
      return;
    }
    if (it.type === "reverse_entry") {
      const ref = entries.get(it.entryId.toLowerCase())!;
      if (ref.reversesEntryId) fail(ctx, i, new AppError("CANNOT_REVERSE_REVERSAL", `entry ${ref.id} is itself a reversal of ${ref.reversesEntryId} and cannot be reversed`));
      if (ref.reversedById) fail(ctx, i, new AppError("ALREADY_REVERSED", `entry ${ref.id} was already reversed by entry ${ref.reversedById}`, { details: { reversedBy: ref.reversedById } }));
      if (ctx.items.some((o, j) => j < i && o.type === "reverse_entry" && o.entryId.toLowerCase() === ref.id)) {
        fail(ctx, i, new AppError("ALREADY_REVERSED", `entry ${ref.id} is reversed twice in this batch`));
      }
    }
  });
  return placedInBatch;
}

/**
 * What each item does, in order: its postings, the entry it adds (ids from `newEntryId`), the
 * pending amounts it reserves or releases, and the new state of every hold it touches. Pure apart
 * from the ids it is given; assumes the checks up to step 11 passed.
 */
export function itemEffects(
  ctx: RuleContext,
  placed: ReadonlyMap<number, string>,
  holds: ReadonlyMap<string, HoldRow>,
  placedInBatch: ReadonlyMap<string, HoldRow>,
  entriesToReverse: ReadonlyMap<string, EntryRef>,
  accountOf: AccountOf,
  newEntryId: () => string,
): Effects {
  const entries: EntryResult[] = [];
  const entryMetadata = new Map<string, Record<string, unknown>>();
  const perItem: ItemEffect[] = [];
  // Copies: the rows read stay as they were read.
  const holdsById = new Map<string, HoldRow>([...[...holds].map(([id, h]) => [id, { ...h }] as const), ...[...placedInBatch].map(([id, h]) => [id, { ...h }] as const)]);
  const normalSideOf = (id: string) => accountOf(id).normalSide;
  ctx.items.forEach((it, i) => {
    const pending = new Map<string, bigint>();
    let postings: PostingResult[] = [];
    let entryMeta: { description: string; effectiveAt: Date; reversesEntryId: string | null } | null = null;
    let metadata: Record<string, unknown> | undefined;
    let holdId: string | null = null;
    switch (it.type) {
      case "post_entry":
        postings = it.entry.postings.map((p) => ({ accountId: p.accountId.toLowerCase(), side: p.side, amountMinor: p.amountMinor, currency: p.currency }));
        entryMeta = { description: it.entry.description ?? "", effectiveAt: it.entry.effectiveAt ?? ctx.now, reversesEntryId: null };
        metadata = it.entry.metadata;
        break;
      case "transfer":
        postings = transferPostings(it);
        entryMeta = { description: it.description ?? "", effectiveAt: it.effectiveAt ?? ctx.now, reversesEntryId: null };
        metadata = it.metadata;
        break;
      case "place_hold": {
        const h = holdsById.get(placed.get(i)!)!;
        holdId = h.id;
        for (const a of holdReservedAccounts(h, normalSideOf)) pending.set(a, (pending.get(a) ?? 0n) + h.amountMinor);
        break;
      }
      case "post_hold":
      case "void_hold":
      case "expire_hold": {
        const h = holdsById.get(it.holdId.toLowerCase())!;
        holdId = h.id;
        for (const a of holdReservedAccounts(h, normalSideOf)) pending.set(a, (pending.get(a) ?? 0n) - h.amountMinor);
        h.isChanged = true;
        if (it.type === "post_hold") {
          const amount = it.amountMinor ?? h.amountMinor;
          h.status = "posted";
          h.amountPostedMinor = amount;
          postings = it.postings
            ? it.postings.map((p) => ({ accountId: p.accountId.toLowerCase(), side: p.side, amountMinor: p.amountMinor, currency: p.currency }))
            : [
                { accountId: h.debitAccountId, side: "debit", amountMinor: amount, currency: h.currency },
                { accountId: h.creditAccountId, side: "credit", amountMinor: amount, currency: h.currency },
              ];
          entryMeta = { description: it.description ?? h.description, effectiveAt: it.effectiveAt ?? ctx.now, reversesEntryId: null };
        } else {
          h.status = it.type === "void_hold" ? "voided" : "expired";
        }
        break;
      }
      case "reverse_entry": {
        const ref = entriesToReverse.get(it.entryId.toLowerCase())!;
        postings = ref.postings.map((p) => ({ ...p, side: p.side === "debit" ? "credit" : "debit" }));
        entryMeta = { description: it.description ?? `reversal of ${ref.id}`, effectiveAt: it.effectiveAt ?? ctx.now, reversesEntryId: ref.id };
        break;
      }
    }
    let entryIndex: number | null = null;
    if (entryMeta) {
      entryIndex = entries.length;
      const entryId = newEntryId();
      entries.push({ entryId, idempotencyKey: ctx.keyOf(i), ...entryMeta, postings });
      if (metadata && Object.keys(metadata).length > 0) entryMetadata.set(entryId, metadata);
      if (it.type === "post_hold") holdsById.get(it.holdId.toLowerCase())!.postedEntryId = entryId;
    }
    perItem.push({ postings, pending, entryIndex, holdId });
  });
  return { perItem, entries, entryMetadata, holds: holdsById };
}

/**
 * Step 11a: FORBIDDEN when a limited service key would debit an account or a currency outside its
 * limits: every debit posting, and the debit account of a hold it places.
 */
export function checkDebitLimits(ctx: RuleContext, effects: Effects, accountOf: AccountOf): void {
  const assert = ctx.assertMayDebit;
  if (!assert) return;
  ctx.items.forEach((it, i) => {
    const debits = effects.perItem[i]!.postings.filter((p) => p.side === "debit").map((p) => ({ accountCode: accountOf(p.accountId).code, currency: p.currency }));
    if (it.type === "place_hold") debits.push({ accountCode: accountOf(it.debitAccountId).code, currency: it.currency });
    try {
      assert(debits);
    } catch (e) {
      fail(ctx, i, e as AppError);
    }
  });
}

/** Step 12: CURRENCY_MISMATCH for a posting or a hold in another currency than an account's. */
export function checkCurrencies(ctx: RuleContext, effects: Effects, accountOf: AccountOf): void {
  ctx.items.forEach((it, i) => {
    for (const p of effects.perItem[i]!.postings) {
      const a = accountOf(p.accountId);
      if (a.currency !== p.currency) fail(ctx, i, new AppError("CURRENCY_MISMATCH", `posting in ${p.currency} to account ${a.code} which holds ${a.currency}`, { details: { accountId: a.id, accountCurrency: a.currency, currency: p.currency } }));
    }
    if (it.type === "place_hold") {
      for (const id of [it.debitAccountId, it.creditAccountId]) {
        const a = accountOf(id);
        if (a.currency !== it.currency) fail(ctx, i, new AppError("CURRENCY_MISMATCH", `hold in ${it.currency} on account ${a.code} which holds ${a.currency}`, { details: { accountId: a.id, accountCurrency: a.currency, currency: it.currency } }));
      }
    }
  });
}

/** Step 13: ACCOUNT_FROZEN for a posting to, or a hold on, a frozen account. */
export function checkNotFrozen(ctx: RuleContext, effects: Effects, accountOf: AccountOf): void {
  ctx.items.forEach((it, i) => {
    const ids = new Set(effects.perItem[i]!.postings.map((p) => p.accountId));
    if (it.type === "place_hold") {
      ids.add(it.debitAccountId.toLowerCase());
      ids.add(it.creditAccountId.toLowerCase());
    }
    for (const id of ids) {
      const a = accountOf(id);
      if (a.status === "frozen") fail(ctx, i, new AppError("ACCOUNT_FROZEN", `account ${a.code} is frozen`, { details: { accountId: a.id, code: a.code } }));
    }
  });
}

/** Step 14: VERSION_CONFLICT when an account's version differs from the caller's expectation. */
export function checkExpectedVersions(expectedVersions: Record<string, bigint> | undefined, accountOf: AccountOf): void {
  for (const [id, expected] of Object.entries(expectedVersions ?? {})) {
    const a = accountOf(id);
    if (a.version !== expected) {
      throw new AppError("VERSION_CONFLICT", `account ${a.code} is at version ${a.version}, not the expected ${expected}`, {
        details: { accountId: a.id, expectedVersion: expected.toString(), actualVersion: a.version.toString() },
      });
    }
  }
}

/**
 * Step 15: INSUFFICIENT_FUNDS when a no-overdraft account's available balance would go negative,
 * applying the items in order on top of `before` (the changes of commands accepted earlier in the
 * same transaction). Returns the deltas including this command's; `before` is not changed.
 */
export function checkFunds(ctx: RuleContext, effects: Effects, accountOf: AccountOf, before: Deltas = emptyDeltas()): Deltas {
  const deltas: Deltas = { posted: new Map(before.posted), pending: new Map(before.pending) };
  ctx.items.forEach((_it, i) => {
    const eff = effects.perItem[i]!;
    const decrease = new Map<string, bigint>();
    for (const p of eff.postings) {
      const a = accountOf(p.accountId);
      const s = signedAmount(a.normalSide, p.side, p.amountMinor);
      deltas.posted.set(a.id, (deltas.posted.get(a.id) ?? 0n) + s);
      decrease.set(a.id, (decrease.get(a.id) ?? 0n) - s);
    }
    for (const [id, d] of eff.pending) {
      deltas.pending.set(id, (deltas.pending.get(id) ?? 0n) + d);
      decrease.set(id, (decrease.get(id) ?? 0n) + d);
    }
    for (const [id, dec] of decrease) {
      const a = accountOf(id);
      if (!a.isNoOverdraft || dec <= 0n) continue;
      const after = a.postedMinor + (deltas.posted.get(id) ?? 0n) - a.pendingMinor - (deltas.pending.get(id) ?? 0n);
      const available = after + dec;
      if (after < 0n) {
        fail(ctx, i, new AppError("INSUFFICIENT_FUNDS", `account ${a.code} has ${available} available, ${dec} requested (${a.currency} minor units)`, {
          details: { accountId: a.id, code: a.code, availableMinor: available.toString(), requestedMinor: dec.toString(), currency: a.currency },
        }));
      }
    }
  });
  return deltas;
}

/** The balance changes of one command's effects on their own (what its plan writes). */
export function deltasOf(effects: Effects, accountOf: AccountOf): Deltas {
  const deltas = emptyDeltas();
  for (const eff of effects.perItem) {
    for (const p of eff.postings) {
      const a = accountOf(p.accountId);
      deltas.posted.set(a.id, (deltas.posted.get(a.id) ?? 0n) + signedAmount(a.normalSide, p.side, p.amountMinor));
    }
    for (const [id, d] of eff.pending) deltas.pending.set(id, (deltas.pending.get(id) ?? 0n) + d);
  }
  return deltas;
}

/** What a command's transaction has read and locked, for decide(). */
export interface ReadState {
  /** Ids of the holds the command places, by item index. */
  placed: ReadonlyMap<number, string>;
  holds: ReadonlyMap<string, HoldRow>;
  entries: ReadonlyMap<string, EntryRef>;
  accounts: ReadonlyMap<string, AccountRow>;
  /** Accounts named in expectedVersions (locked whole). */
  wholeIds: readonly string[];
}

/**
 * Every rule from step 6 to step 15, in RULE_ORDER, for one command: the first failing check
 * throws. Returns the command's effects and its balance changes on top of `before` (the members
 * accepted earlier in a group commit).
 */
export function decide(ctx: RuleContext, read: ReadState, expectedVersions: Record<string, bigint> | undefined, newEntryId: () => string, before?: Deltas): { effects: Effects; deltas: Deltas } {
  const accountOf = (id: string) => read.accounts.get(id.toLowerCase())!;
  checkHoldsAndEntriesExist(ctx, read.placed, read.holds, read.entries);
  checkAccountsExist(ctx, read.accounts, read.wholeIds);
  const placedInBatch = checkHoldsAndReversals(ctx, read.placed, read.holds, read.entries);
  const effects = itemEffects(ctx, read.placed, read.holds, placedInBatch, read.entries, accountOf, newEntryId);
  checkDebitLimits(ctx, effects, accountOf);
  checkCurrencies(ctx, effects, accountOf);
  checkNotFrozen(ctx, effects, accountOf);
  checkExpectedVersions(expectedVersions, accountOf);
  const deltas = checkFunds(ctx, effects, accountOf, before);
  return { effects, deltas };
}
