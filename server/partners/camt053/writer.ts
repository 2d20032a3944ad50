/**
 * Writes camt.053 documents (versions 001.02 to 001.08) from normalized statements: the partner
 * sandbox's end-of-day statements, the tests' fixtures and the benchmark's files.
 *
 * Invariants kept:
 * - What the reader reads back is what was written (the round-trip property test): amounts are
 *   formatted exactly with the currency's exponent (server/money formatAmount), text is escaped,
 *   elements follow each version's schema order (entry status as text up to 001.07 and as
 *   <Sts><Cd> from 001.08; a transaction's own amount as AmtDtls/TxAmt in 001.02 and as Amt with
 *   CdtDbtInd from 001.03; party names under Pty from 001.08).
 * - Streaming: camt053Chunks yields the document piece by piece and takes entries from any
 *   iterable, so a million-entry statement never exists as one string.
 */
import { formatAmount } from "../../money/amount";
import type { StatementBalance, StatementEntry, TransactionDetail } from "../statement-types";
import { CAMT053_NAMESPACE_PREFIX, type Camt053Version } from "./reader";

export interface Camt053StatementInput {
  statementId: string;
  electronicSequenceNumber?: string | null;
  legalSequenceNumber?: string | null;
  /** ISO date-time. */
  createdAt?: string | null;
  fromDateTime?: string | null;
  toDateTime?: string | null;
  accountIban?: string | null;
  accountOtherId?: string | null;
  accountCurrency?: string | null;
  openingBalance?: StatementBalance | null;
  closingBalance?: StatementBalance | null;
  entries: Iterable<Omit<StatementEntry, "index" | "place">>;
}

export interface Camt053DocumentInput {
  version: Camt053Version;
  messageId: string;
  /** ISO date-time. */
  createdAt: string;
  statements: Iterable<Camt053StatementInput>;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function el(name: string, value: string | null | undefined): string {
  return value === null || value === undefined ? "" : `<${name}>${escapeXml(value)}</${name}>`;
}

function amt(amountMinor: bigint, currency: string): string {
  return `<Amt Ccy="${escapeXml(currency)}">${formatAmount(amountMinor, currency)}</Amt>`;
}

const cdtDbt = (d: "credit" | "debit") => `<CdtDbtInd>${d === "credit" ? "CRDT" : "DBIT"}</CdtDbtInd>`;

function minor(v: string): number {
  return Number(v.split(".")[1]);
}

function balanceXml(code: string, b: StatementBalance): string {
  return `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp>${amt(b.amountMinor, b.currency)}${cdtDbt(b.direction)}<Dt><Dt>${b.date}</Dt></Dt></Bal>`;
}

function bankTxCode(code: string | null): string {
  if (code === null) return "";
  const parts = code.split("/");
  if (parts.length === 3) return `<BkTxCd><Domn><Cd>${escapeXml(parts[0]!)}</Cd><Fmly><Cd>${escapeXml(parts[1]!)}</Cd><SubFmlyCd>${escapeXml(parts[2]!)}</SubFmlyCd></Fmly></Domn></BkTxCd>`;
  return `<BkTxCd><Prtry><Cd>${escapeXml(code)}</Cd></Prtry></BkTxCd>`;
}

function partyXml(role: "Dbtr" | "Cdtr", name: string | null, account: string | null, v: number): string {
  let out = "";
  if (name !== null) out += v >= 8 ? `<${role}><Pty>${el("Nm", name)}</Pty></${role}>` : `<${role}>${el("Nm", name)}</${role}>`;
  if (account !== null) out += /^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$/.test(account) ? `<${role}Acct><Id><IBAN>${account}</IBAN></Id></${role}Acct>` : `<${role}Acct><Id><Othr><Id>${escapeXml(account)}</Id></Othr></Id></${role}Acct>`;
  return out;
}

function detailXml(d: TransactionDetail, entryDirection: "credit" | "debit", v: number): string {
  const refs = el("AcctSvcrRef", d.accountServicerReference) + el("InstrId", d.instructionId) + el("EndToEndId", d.endToEndId) + el("TxId", d.transactionId);
  let out = "<TxDtls>";
  if (refs) out += `<Refs>${refs}</Refs>`;
  if (d.amountMinor !== null && d.currency !== null) {
    if (v >= 3) out += amt(d.amountMinor, d.currency) + (d.direction ? cdtDbt(d.direction) : "");
    else out += `<AmtDtls><TxAmt>${amt(d.amountMinor, d.currency)}</TxAmt></AmtDtls>`;
  } else if (v >= 3 && d.direction) {
    out += cdtDbt(d.direction);
  }
  const isIncoming = (d.direction ?? entryDirection) === "credit";
  const parties = partyXml(isIncoming ? "Dbtr" : "Cdtr", d.counterpartyName, d.counterpartyAccount, v);
  if (parties) out += `<RltdPties>${parties}</RltdPties>`;
  if (d.remittanceInfo !== null) out += `<RmtInf>${el("Ustrd", d.remittanceInfo)}</RmtInf>`;
  return `${out}</TxDtls>`;
}

function entryXml(e: Omit<StatementEntry, "index" | "place">, v: number): string {
  let out = `<Ntry>${amt(e.amountMinor, e.currency)}${cdtDbt(e.direction)}`;
  if (e.isReversal) out += "<RvslInd>true</RvslInd>";
  out += v >= 8 ? `<Sts><Cd>${escapeXml(e.status)}</Cd></Sts>` : el("Sts", e.status);
  if (e.bookingDate) out += `<BookgDt><Dt>${e.bookingDate}</Dt></BookgDt>`;
  if (e.valueDate) out += `<ValDt><Dt>${e.valueDate}</Dt></ValDt>`;
  out += el("AcctSvcrRef", e.accountServicerReference);
  out += bankTxCode(e.bankTransactionCode) || "<BkTxCd/>";
  const details: TransactionDetail[] =
    e.details.length > 0
      ? e.details
      : e.endToEndId !== null || e.remittanceInfo !== null || e.counterpartyName !== null || e.counterpartyAccount !== null
        ? [{ amountMinor: null, currency: null, direction: null, endToEndId: e.endToEndId, accountServicerReference: null, instructionId: null, transactionId: null, remittanceInfo: e.remittanceInfo, counterpartyName: e.counterpartyName, counterpartyAccount: e.counterpartyAccount }]
        : [];
  if (details.length > 0) out += `<NtryDtls>${details.map((d) => detailXml(d, e.direction, v)).join("")}</NtryDtls>`;
  out += el("AddtlNtryInf", e.additionalInfo);
  return `${out}</Ntry>\n`;
}

/** The document, piece by piece (one statement header or one entry per piece). */
export function* camt053Chunks(doc: Camt053DocumentInput): Generator<string> {
  const v = minor(doc.version);
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${CAMT053_NAMESPACE_PREFIX}${doc.version}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n<BkToCstmrStmt>\n`;
  yield `<GrpHdr>${el("MsgId", doc.messageId)}${el("CreDtTm", doc.createdAt)}</GrpHdr>\n`;
  for (const s of doc.statements) {
    let head = `<Stmt>${el("Id", s.statementId)}${el("ElctrncSeqNb", s.electronicSequenceNumber)}${el("LglSeqNb", s.legalSequenceNumber)}${el("CreDtTm", s.createdAt ?? doc.createdAt)}`;
    if (s.fromDateTime && s.toDateTime) head += `<FrToDt>${el("FrDtTm", s.fromDateTime)}${el("ToDtTm", s.toDateTime)}</FrToDt>`;
    const id = s.accountIban ? `<IBAN>${escapeXml(s.accountIban)}</IBAN>` : `<Othr>${el("Id", s.accountOtherId ?? "")}</Othr>`;
    head += `<Acct><Id>${id}</Id>${el("Ccy", s.accountCurrency)}</Acct>`;
    if (s.openingBalance) head += balanceXml("OPBD", s.openingBalance);
    if (s.closingBalance) head += balanceXml("CLBD", s.closingBalance);
    yield `${head}\n`;
    for (const e of s.entries) yield entryXml(e, v);
    yield "</Stmt>\n";
  }
  yield "</BkToCstmrStmt>\n</Document>\n";
}

/** The whole document as one string (small documents: tests, the sandbox's daily statements). */
export function writeCamt053(doc: Camt053DocumentInput): string {
  let out = "";
  for (const c of camt053Chunks(doc)) out += c;
  return out;
}
