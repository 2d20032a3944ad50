/**
 * The ledger's tRPC API: thin. Each procedure validates with zod, names its permission, calls one
 * domain function from server/ledger and returns its result. Amounts travel as bigint (superjson)
 * or integer minor-unit strings, never as JS numbers. Every mutation takes an idempotencyKey.
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { idempotencyKey as key, minorUnits as amount, uuid } from "../inputs";
import { ACCOUNT_PAGE_MAX, createAccount, getAccount, listAccounts, setAccountStatus } from "../../ledger/accounts";
import { executeLedgerCommand } from "../../ledger/write-path";
import { getBalances } from "../../ledger/balances";
import { getEntry, listEntries, listHolds, listPostings } from "../../ledger/history";
import type { LedgerItem } from "../../ledger/types";
import { getBalanceHistory, MAX_HISTORY_POINTS } from "../../ledger/balance-history";
import { proposeAdjustment } from "../../approvals/proposals";
import { adjustmentKinds } from "../../composition";

/** A minor-unit amount: bigint, or a string of digits. Sign and range are checked by the domain. */
const side = z.enum(["debit", "credit"]);
const currency = z.string().min(1).max(8);
const description = z.string().max(500).optional();
const metadata = z.record(z.string(), z.unknown()).optional();

const posting = z.strictObject({ accountId: uuid, side, amountMinor: amount, currency });
const entry = z.strictObject({ postings: z.array(posting).max(100), description, effectiveAt: z.date().optional(), metadata });
const transferInput = z.strictObject({ debitAccountId: uuid, creditAccountId: uuid, amountMinor: amount, currency, description, effectiveAt: z.date().optional(), metadata });
const placeHold = z.strictObject({ holdId: uuid.optional(), debitAccountId: uuid, creditAccountId: uuid, amountMinor: amount, currency, expiresAt: z.date(), reference: z.string().max(200).optional(), description });
const postHold = z.strictObject({ holdId: uuid, amountMinor: amount.optional(), description, effectiveAt: z.date().optional(), postings: z.array(posting).max(100).optional() });
const reverse = z.strictObject({ entryId: uuid, description, effectiveAt: z.date().optional() });
const expectedVersions = z.record(z.string(), amount).optional();
const writeOpts = { idempotencyKey: key, expectedVersions, dryRun: z.boolean().optional() };

const batchItem = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("post_entry"), entry }),
  transferInput.extend({ type: z.literal("transfer") }),
  placeHold.extend({ type: z.literal("place_hold") }),
  postHold.extend({ type: z.literal("post_hold") }),
  z.strictObject({ type: z.literal("void_hold"), holdId: uuid }),
  reverse.extend({ type: z.literal("reverse_entry") }),
]);

const accountType = z.enum(["asset", "liability", "equity", "revenue", "expense"]);
const accountStatus = z.enum(["active", "frozen"]);

const accountsRouter = createRouter({
  create: procedure("ledger:write")
    .input(z.strictObject({ code: z.string().min(1).max(200), name: z.string().min(1).max(200), currency, type: accountType, isNoOverdraft: z.boolean().optional(), metadata, idempotencyKey: key }))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, ...rest } = input;
      return createAccount(ctx.db, ctx.actor, rest, { idempotencyKey, requestId: ctx.requestId });
    }),
  get: procedure("ledger:read")
    .input(z.union([z.strictObject({ id: uuid }), z.strictObject({ code: z.string().min(1).max(200) })]))
    .query(({ ctx, input }) => getAccount(ctx.db, input)),
  list: procedure("ledger:read")
    .input(z.strictObject({ currency: currency.optional(), type: accountType.optional(), status: accountStatus.optional(), codePrefix: z.string().max(200).optional(), cursor: z.string().max(200).nullish(), limit: z.number().int().min(1).max(200).optional() }))
    .query(({ ctx, input }) => listAccounts(ctx.db, { ...input, afterCode: input.cursor ?? undefined })),
  freeze: procedure("accounts:manage")
    .input(z.strictObject({ accountId: uuid, reason: z.string().min(3).max(500), idempotencyKey: key }))
    .mutation(({ ctx, input }) => setAccountStatus(ctx.db, ctx.actor, { accountId: input.accountId, status: "frozen", reason: input.reason }, { idempotencyKey: input.idempotencyKey, requestId: ctx.requestId })),
  /**
   * Unfreezing undoes a control: it becomes a four-eyes proposal (kind account_unfreeze) that a
   * different approver must approve; nothing changes until then. Returns the proposal.
   */
  unfreeze: procedure("accounts:manage")
    .input(z.strictObject({ accountId: uuid, reason: z.string().min(3).max(500), idempotencyKey: key }))
    .mutation(({ ctx, input }) =>
      proposeAdjustment(ctx.db, { actor: ctx.actor, requestId: ctx.requestId, kinds: adjustmentKinds }, { kind: "account_unfreeze", payload: { accountId: input.accountId }, reason: input.reason, idempotencyKey: input.idempotencyKey }),
    ),
  /** The console's list: like list, plus a Previous cursor (keyset on code in both directions). */
  page: procedure("ledger:read")
    .input(z.strictObject({ currency: currency.optional(), type: accountType.optional(), status: accountStatus.optional(), codePrefix: z.string().max(200).optional(), after: z.string().max(200).optional(), before: z.string().max(200).optional(), limit: z.number().int().min(1).max(ACCOUNT_PAGE_MAX).optional() }))
    .query(({ ctx, input }) => {
      const { after, before, ...rest } = input;
      return listAccounts(ctx.db, { ...rest, afterCode: after, beforeCode: before });
    }),
});

const entriesRouter = createRouter({
  post: procedure("ledger:write")
    .input(entry.extend(writeOpts))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, expectedVersions: ev, dryRun, ...e } = input;
      return executeLedgerCommand(ctx.db, ctx.actor, { type: "post_entry", entry: e }, { idempotencyKey, expectedVersions: ev, dryRun, requestId: ctx.requestId });
    }),
  get: procedure("ledger:read").input(z.strictObject({ entryId: uuid })).query(({ ctx, input }) => getEntry(ctx.db, input.entryId)),
  list: procedure("ledger:read")
    .input(z.strictObject({ accountId: uuid, cursor: z.bigint().nullish(), limit: z.number().int().min(1).max(200).optional() }))
    .query(({ ctx, input }) => listEntries(ctx.db, { accountId: input.accountId, beforePostingId: input.cursor ?? undefined, limit: input.limit })),
  reverse: procedure("ledger:write")
    .input(reverse.extend(writeOpts))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, expectedVersions: ev, dryRun, ...r } = input;
      return executeLedgerCommand(ctx.db, ctx.actor, { type: "reverse_entry", ...r }, { idempotencyKey, expectedVersions: ev, dryRun, requestId: ctx.requestId });
    }),
});

const postingsRouter = createRouter({
  list: procedure("ledger:read")
    .input(z.strictObject({ accountId: uuid, cursor: z.bigint().nullish(), side: side.optional(), effectiveFrom: z.date().optional(), effectiveTo: z.date().optional(), limit: z.number().int().min(1).max(500).optional() }))
    .query(({ ctx, input }) => {
      const { cursor, ...rest } = input;
      return listPostings(ctx.db, { ...rest, beforeId: cursor ?? undefined });
    }),
});

const holdsRouter = createRouter({
  place: procedure("ledger:write")
    .input(placeHold.extend(writeOpts))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, expectedVersions: ev, dryRun, ...h } = input;
      return executeLedgerCommand(ctx.db, ctx.actor, { type: "place_hold", ...h }, { idempotencyKey, expectedVersions: ev, dryRun, requestId: ctx.requestId });
    }),
  post: procedure("ledger:write")
    .input(postHold.extend(writeOpts))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, expectedVersions: ev, dryRun, ...h } = input;
      return executeLedgerCommand(ctx.db, ctx.actor, { type: "post_hold", ...h }, { idempotencyKey, expectedVersions: ev, dryRun, requestId: ctx.requestId });
    }),
  void: procedure("ledger:write")
    .input(z.strictObject({ holdId: uuid, ...writeOpts }))
    .mutation(({ ctx, input }) =>
      executeLedgerCommand(ctx.db, ctx.actor, { type: "void_hold", holdId: input.holdId }, { idempotencyKey: input.idempotencyKey, expectedVersions: input.expectedVersions, dryRun: input.dryRun, requestId: ctx.requestId }),
    ),
  list: procedure("ledger:read")
    .input(z.strictObject({ accountId: uuid, status: z.enum(["pending", "posted", "voided", "expired"]).optional(), limit: z.number().int().min(1).max(200).optional() }))
    .query(({ ctx, input }) => listHolds(ctx.db, input)),
});

export const ledgerRouter = createRouter({
  accounts: accountsRouter,
  entries: entriesRouter,
  postings: postingsRouter,
  holds: holdsRouter,
  transfer: procedure("ledger:write")
    .input(transferInput.extend(writeOpts))
    .mutation(({ ctx, input }) => {
      const { idempotencyKey, expectedVersions: ev, dryRun, ...t } = input;
      return executeLedgerCommand(ctx.db, ctx.actor, { type: "transfer", ...t }, { idempotencyKey, expectedVersions: ev, dryRun, requestId: ctx.requestId });
    }),
  balances: createRouter({
    get: procedure("ledger:read")
      .input(z.strictObject({ accountId: uuid, asOf: z.date().optional() }))
      .query(({ ctx, input }) => getBalances(ctx.db, input.accountId, { asOf: input.asOf })),
    /** Exact posted balance at evenly spaced instants from `from` to `to` (strings of minor units). */
    history: procedure("ledger:read")
      .input(z.strictObject({ accountId: uuid, from: z.date().optional(), to: z.date().optional(), points: z.number().int().min(2).max(MAX_HISTORY_POINTS).optional() }))
      .query(({ ctx, input }) => getBalanceHistory(ctx.db, input.accountId, { from: input.from, to: input.to, points: input.points })),
  }),
  /** Applies a batch atomically ("apply" is a reserved name in tRPC routers, so this is ledger.batch). */
  batch: procedure("ledger:write")
    .input(z.strictObject({ items: z.array(batchItem).min(1).max(5_000), ...writeOpts }))
    .mutation(({ ctx, input }) =>
      executeLedgerCommand(ctx.db, ctx.actor, { type: "batch", items: input.items as LedgerItem[] }, { idempotencyKey: input.idempotencyKey, expectedVersions: input.expectedVersions, dryRun: input.dryRun, requestId: ctx.requestId }),
    ),
});
