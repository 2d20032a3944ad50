/**
 * Ledger command and result types: the vocabulary of server/ledger/write-path.ts.
 * Amounts are bigint minor units everywhere; ids are UUID strings.
 */

export type Side = "debit" | "credit";
export type NormalSide = Side;
export type AccountType = "asset" | "liability" | "equity" | "revenue" | "expense";
export type AccountStatus = "active" | "frozen";
export type HoldStatus = "pending" | "posted" | "voided" | "expired";

export interface PostingInput {
  accountId: string;
  side: Side;
  amountMinor: bigint;
  currency: string;
}

export interface EntryInput {
  postings: PostingInput[];
  description?: string;
  /** When the entry takes effect for history (asOf balances); defaults to now. */
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}

/** A two-leg entry: debit one account, credit another, same amount and currency. */
export interface TransferInput {
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  currency: string;
  description?: string;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}

export interface PlaceHoldInput {
  /** Optional caller-chosen id (lets a batch place and post the same hold); a UUID. */
  holdId?: string;
  /** Posting the hold debits this account ... */
  debitAccountId: string;
  /** ... and credits this one. */
  creditAccountId: string;
  amountMinor: bigint;
  currency: string;
  expiresAt: Date;
  reference?: string;
  description?: string;
}

export interface PostHoldInput {
  holdId: string;
  /** Defaults to the full hold amount; a smaller amount releases the rest. */
  amountMinor?: bigint;
  description?: string;
  effectiveAt?: Date;
  /**
   * The entry's postings, when posting the hold is more than its two legs (a fee to revenue, a
   * conversion through FX positions): they must balance per currency and debit the hold's debit
   * account exactly the posted amount in the hold's currency, and touch that account nowhere
   * else. Without them the entry debits the hold's debit account and credits its credit account.
   */
  postings?: PostingInput[];
}

export type LedgerItem =
  | { type: "post_entry"; entry: EntryInput }
  | ({ type: "transfer" } & TransferInput)
  | ({ type: "place_hold" } & PlaceHoldInput)
  | ({ type: "post_hold" } & PostHoldInput)
  | { type: "void_hold"; holdId: string }
  | { type: "expire_hold"; holdId: string }
  | { type: "reverse_entry"; entryId: string; description?: string; effectiveAt?: Date };

/**
 * A batch applies its items atomically. Each item's entry or hold is keyed `<batch key>#<index>`,
 * or by `itemKeys[index]` when given (internal callers that batch independent operations, such as
 * transfers settling many holds at once, keep each operation's own key).
 */
export type LedgerCommand = LedgerItem | { type: "batch"; items: LedgerItem[]; itemKeys?: string[] };

export type LedgerCommandType = LedgerCommand["type"];

export interface PostingResult {
  accountId: string;
  side: Side;
  amountMinor: bigint;
  currency: string;
}

export interface EntryResult {
  entryId: string;
  idempotencyKey: string;
  description: string;
  effectiveAt: Date;
  reversesEntryId: string | null;
  postings: PostingResult[];
}

export interface HoldResult {
  holdId: string;
  debitAccountId: string;
  creditAccountId: string;
  amountMinor: bigint;
  amountPostedMinor: bigint;
  currency: string;
  status: HoldStatus;
  expiresAt: Date;
  postedEntryId: string | null;
}

export interface Balance {
  accountId: string;
  currency: string;
  /** Signed balance on the account's normal side: the sum of its postings. */
  postedMinor: bigint;
  /** Reserved by pending holds that would decrease the account. */
  pendingMinor: bigint;
  /** postedMinor - pendingMinor. */
  availableMinor: bigint;
  /** Changes with every write to the account; null for historical (asOf) balances. */
  version: bigint | null;
}

export interface LedgerResult {
  commandType: LedgerCommandType;
  idempotencyKey: string;
  entries: EntryResult[];
  holds: HoldResult[];
  /** True when this is the stored result of an earlier request with the same key. */
  isReplay: boolean;
  isDryRun: boolean;
  /** Resulting balances of every touched account; only on dry runs. */
  balances?: Balance[];
}
