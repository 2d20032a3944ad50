/**
 * The normalized statement: what every statement format (camt.053, CSV feeds) is read into, and
 * what `npm run statement:parse` prints. Amounts are bigint minor units with their currency;
 * directions are from the account holder's point of view (credit: money in, debit: money out).
 *
 * Invariants kept by every reader:
 * - Amounts are exact: a decimal with more digits than the currency's exponent is refused unless
 *   the extra digits are zeros; no float ever holds an amount.
 * - Entry amounts are positive (zero is allowed only inside a batch's transaction details); the
 *   direction carries the sign.
 * - Dates are calendar dates "YYYY-MM-DD" that exist.
 */

export type Direction = "credit" | "debit";

export interface StatementBalance {
  /** Positive or zero; the direction carries the sign. */
  amountMinor: bigint;
  currency: string;
  direction: Direction;
  /** YYYY-MM-DD */
  date: string;
}

export interface TransactionDetail {
  /** null when the bank gave no amount for the detail (a single-transaction entry usually has none). */
  amountMinor: bigint | null;
  currency: string | null;
  direction: Direction | null;
  endToEndId: string | null;
  accountServicerReference: string | null;
  instructionId: string | null;
  transactionId: string | null;
  remittanceInfo: string | null;
  counterpartyName: string | null;
  counterpartyAccount: string | null;
}

export interface StatementEntry {
  /** 0-based position of the entry in its statement. */
  index: number;
  amountMinor: bigint;
  currency: string;
  direction: Direction;
  /** BOOK, PDNG, INFO (camt.053); "BOOK" for CSV feeds. */
  status: string;
  isReversal: boolean;
  bookingDate: string | null;
  valueDate: string | null;
  accountServicerReference: string | null;
  /** The entry's own end-to-end id: its single transaction's, or null when it has several. */
  endToEndId: string | null;
  remittanceInfo: string | null;
  counterpartyName: string | null;
  counterpartyAccount: string | null;
  /** Domain/family/sub-family ("PMNT/RCDT/ESCT") or the proprietary code. */
  bankTransactionCode: string | null;
  additionalInfo: string | null;
  /** The batch's transactions when the entry has more than one (empty otherwise). */
  details: TransactionDetail[];
  /** Where the entry was read: "Stmt[1]/Ntry[3]" or "line 12". */
  place: string;
}

export interface StatementHeader {
  /** "camt.053.001.02", "csv:sandbox_settlement@1", ... */
  format: string;
  messageId: string | null;
  statementId: string;
  /** ElctrncSeqNb, else LglSeqNb, else null: with statementId it identifies a statement. */
  sequence: string | null;
  electronicSequenceNumber: string | null;
  legalSequenceNumber: string | null;
  createdAt: string | null;
  fromDateTime: string | null;
  toDateTime: string | null;
  accountIban: string | null;
  accountOtherId: string | null;
  accountCurrency: string | null;
  /** OPBD (or PRCD when no OPBD). */
  openingBalance: StatementBalance | null;
  /** CLBD. */
  closingBalance: StatementBalance | null;
  /** Where the statement starts: "Stmt[1]". */
  place: string;
}

export interface StatementTotals {
  entryCount: number;
  /** Per currency: credits minus debits of the statement's booked entries. */
  netMinorByCurrency: Map<string, bigint>;
}

export interface ParsedStatement {
  header: StatementHeader;
  entries: StatementEntry[];
}

/** Signed balance: credit positive, debit negative. */
export function signedBalance(b: StatementBalance): bigint {
  return b.direction === "credit" ? b.amountMinor : -b.amountMinor;
}

/** Signed entry amount: credit positive, debit negative. */
export function signedEntry(e: Pick<StatementEntry, "amountMinor" | "direction">): bigint {
  return e.direction === "credit" ? e.amountMinor : -e.amountMinor;
}

function balanceJson(b: StatementBalance | null) {
  return b && { amountMinor: b.amountMinor.toString(), currency: b.currency, direction: b.direction, date: b.date };
}

function detailJson(d: TransactionDetail) {
  return { ...d, amountMinor: d.amountMinor === null ? null : d.amountMinor.toString() };
}

/** The JSON form printed by statement:parse: bigints as integer strings, nothing else changed. */
export function entryJson(e: StatementEntry) {
  return {
    index: e.index,
    amountMinor: e.amountMinor.toString(),
    currency: e.currency,
    direction: e.direction,
    status: e.status,
    isReversal: e.isReversal,
    bookingDate: e.bookingDate,
    valueDate: e.valueDate,
    accountServicerReference: e.accountServicerReference,
    endToEndId: e.endToEndId,
    remittanceInfo: e.remittanceInfo,
    counterpartyName: e.counterpartyName,
    counterpartyAccount: e.counterpartyAccount,
    bankTransactionCode: e.bankTransactionCode,
    additionalInfo: e.additionalInfo,
    details: e.details.map(detailJson),
    place: e.place,
  };
}

export function headerJson(h: StatementHeader) {
  return { ...h, openingBalance: balanceJson(h.openingBalance), closingBalance: balanceJson(h.closingBalance) };
}
