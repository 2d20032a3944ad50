/**
 * The vocabulary of breaks, without dependencies (the console's client code imports it): types,
 * statuses, age buckets and sorts of the queue.
 */
export const BREAK_TYPES = ["missing_in_ledger", "missing_in_statement", "amount_mismatch", "currency_mismatch", "duplicate", "statement_gap", "balance_mismatch"] as const;
export type BreakType = (typeof BREAK_TYPES)[number];
export const BREAK_STATUSES = ["open", "timing", "resolved"] as const;
export type BreakStatus = (typeof BREAK_STATUSES)[number];
export const AGE_BUCKETS = ["0-1", "2-3", "4-7", "8+"] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];
export const BREAK_SORTS = ["oldest", "newest", "amount_desc"] as const;
export type BreakSort = (typeof BREAK_SORTS)[number];
