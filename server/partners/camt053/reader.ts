/**
 * A streaming camt.053 (ISO 20022 BankToCustomerStatement) reader, versions 001.02 to 001.08,
 * built on saxes (a SAX-style XML parser: events per tag, nothing of the document kept). The
 * version is the document's namespace; any other namespace is refused by name.
 *
 * Invariants kept:
 * - Memory is bounded by one entry, not by the file: statements are handed to the sink as soon as
 *   their header is complete (at their first Ntry) and every entry as soon as it closes; the
 *   driver awaits the sink between chunks, so a slow sink slows the reading instead of queueing.
 * - Amounts are exact (server/money parseAmount with the currency of their Ccy attribute): more
 *   decimals than the currency has are refused unless they are zeros; never a float.
 * - Every error is an AppError (STATEMENT_INVALID, or STATEMENT_VERSION_UNSUPPORTED) whose message
 *   names the element path ("BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt") and the line.
 * - Limits: an element's text at most MAX_TEXT_LENGTH characters, at most MAX_DETAILS_PER_ENTRY
 *   transaction details per entry, at most MAX_STATEMENTS_PER_FILE statements.
 */
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { AppError, isAppError } from "../../errors/app-error";
import { parseAmount } from "../../money/amount";
import { isCurrencyCode } from "../../money/currencies";
import type { Direction, StatementBalance, StatementEntry, StatementHeader, StatementTotals, TransactionDetail } from "../statement-types";

export const CAMT053_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.";
export const SUPPORTED_CAMT053_VERSIONS = ["001.02", "001.03", "001.04", "001.05", "001.06", "001.07", "001.08"] as const;
export type Camt053Version = (typeof SUPPORTED_CAMT053_VERSIONS)[number];

export const MAX_TEXT_LENGTH = 4_096;
export const MAX_DETAILS_PER_ENTRY = 10_000;
export const MAX_STATEMENTS_PER_FILE = 1_000;

export interface Camt053Sink {
  /** A statement's header, complete (balances included), before any of its entries. */
  statement?(header: StatementHeader): void | Promise<void>;
  entry?(entry: StatementEntry, header: StatementHeader): void | Promise<void>;
  /** After the statement's last entry, with what its entries add up to. */
  statementEnd?(header: StatementHeader, totals: StatementTotals): void | Promise<void>;
}

export interface Camt053Summary {
  version: Camt053Version;
  messageId: string | null;
  statementCount: number;
  entryCount: number;
}

/** The camt.053 version named by a namespace; errors name the namespace or the version. */
export function camt053VersionOf(namespace: string): Camt053Version {
  if (!namespace.startsWith(CAMT053_NAMESPACE_PREFIX)) {
    throw new AppError("STATEMENT_INVALID", `Document: namespace ${JSON.stringify(namespace)} is not a camt.053 statement (expected ${CAMT053_NAMESPACE_PREFIX}001.02 to 001.08)`, {
      details: { place: "Document", namespace },
    });
  }
  const version = namespace.slice(CAMT053_NAMESPACE_PREFIX.length);
  if (!(SUPPORTED_CAMT053_VERSIONS as readonly string[]).includes(version)) {
    throw new AppError("STATEMENT_VERSION_UNSUPPORTED", `camt.053 version ${version} is not supported; supported versions: ${SUPPORTED_CAMT053_VERSIONS.join(", ")}`, {
      details: { place: "Document", namespace, version },
    });
  }
  return version as Camt053Version;
}

type Fields = Map<string, string>;

interface Anchor {
  /** Index of the anchor element in the name stack. */
  depth: number;
  place: string;
  line: number;
  fields: Fields;
}

interface BalanceDraft extends Anchor {
  ccy: string | null;
}

interface DetailDraft extends Anchor {
  ccy: Map<string, string>;
  ustrd: string[];
}

interface EntryDraft extends Anchor {
  ccy: Map<string, string>;
  details: DetailDraft[];
}

interface StatementDraft extends Anchor {
  balanceCount: number;
  entryCount: number;
  balances: { code: string; balance: StatementBalance }[];
  header: StatementHeader | null;
  totals: StatementTotals;
}

type Event =
  | { kind: "statement"; header: StatementHeader }
  | { kind: "entry"; entry: StatementEntry; header: StatementHeader }
  | { kind: "end"; header: StatementHeader; totals: StatementTotals };

function invalid(place: string, line: number, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError("STATEMENT_INVALID", `${place} (line ${line}): ${message}`, { details: { place, line, ...details } });
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** Dates repeat across a statement's entries: remember the real ones (bounded). */
const realDates = new Set<string>();

function isRealDate(s: string): boolean {
  if (realDates.has(s)) return true;
  const d = new Date(`${s}T00:00:00.000Z`);
  const isReal = !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  if (isReal) {
    if (realDates.size >= 10_000) realDates.clear();
    realDates.add(s);
  }
  return isReal;
}

/**
 * The XML reader proper: synchronous, fed chunk by chunk; completed statements and entries queue
 * in `events` until the driver hands them to the sink.
 */
class Camt053Reader {
  readonly events: Event[] = [];
  version: Camt053Version | null = null;
  messageId: string | null = null;
  statementCount = 0;
  entryCount = 0;
  // Namespaces are resolved by hand at the root (camt.053 binds one namespace there): saxes's own
  // namespace processing costs a tenth of the reading time.
  private readonly parser = new SaxesParser({ xmlns: false, position: true });
  private readonly names: string[] = [];
  /**
   * rels[i]: the path of names[i] below the innermost anchor (group header, statement, balance,
   * entry or detail) open when it opened ("BookgDt/Dt"), built as elements open: the fields of an
   * anchor are keyed by it. An element closes under the same innermost anchor it opened under.
   */
  private readonly rels: string[] = [];
  private prefix = "";
  private text = "";
  private hasStatementList = false;
  private groupHeader: Anchor | null = null;
  private statement: StatementDraft | null = null;
  private balance: BalanceDraft | null = null;
  private entry: EntryDraft | null = null;
  private detail: DetailDraft | null = null;

  constructor() {
    this.parser.on("xmldecl", (decl) => {
      if (decl.encoding && !/^utf-?8$/i.test(decl.encoding)) {
        throw invalid("xml declaration", 1, `encoding ${decl.encoding} is not supported; statements must be UTF-8`);
      }
    });
    this.parser.on("opentag", (tag) => this.open(tag));
    this.parser.on("closetag", () => this.close());
    this.parser.on("text", (t) => this.addText(t));
    this.parser.on("cdata", (t) => this.addText(t));
  }

  write(chunk: string): void {
    this.guard(() => this.parser.write(chunk));
  }

  end(): void {
    this.guard(() => this.parser.close());
    if (this.version === null) throw invalid("Document", this.parser.line, "the file has no XML document");
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (isAppError(e)) throw e;
      // saxes reports well-formedness errors as "line:column: message".
      const message = e instanceof Error ? e.message : String(e);
      throw new AppError("STATEMENT_INVALID", `malformed XML at ${message}`, { details: { place: `line ${this.parser.line}`, line: this.parser.line, column: this.parser.column } });
    }
  }

  private get line(): number {
    return this.parser.line;
  }

  private addText(t: string): void {
    if (this.statement === null && this.groupHeader === null) return;
    this.text += t;
    if (this.text.length > MAX_TEXT_LENGTH) throw invalid(this.pathOf(this.names.length), this.line, `element text is longer than ${MAX_TEXT_LENGTH} characters`);
  }

  private pathOf(depth: number): string {
    const base = this.detail ?? this.entry ?? this.balance ?? this.statement ?? this.groupHeader;
    if (!base) return this.names.slice(1, depth).join("/") || "Document";
    const rest = this.names.slice(base.depth + 1, depth);
    return [base.place, ...rest].join("/");
  }

  private open(tag: SaxesTagPlain): void {
    const colon = tag.name.indexOf(":");
    const prefix = colon < 0 ? "" : tag.name.slice(0, colon);
    const name = colon < 0 ? tag.name : tag.name.slice(colon + 1);
    const depth = this.names.length;
    this.names.push(name);
    const anchorDepth = (this.detail ?? this.entry ?? this.balance ?? this.statement ?? this.groupHeader)?.depth ?? -1;
    this.rels.push(depth <= anchorDepth + 1 ? name : `${this.rels[depth - 1]}/${name}`);
    this.text = "";
    if (depth === 0) {
      if (name !== "Document") throw invalid(name, this.line, `the root element must be Document, not ${name}`);
      this.prefix = prefix;
      const uri = tag.attributes[prefix === "" ? "xmlns" : `xmlns:${prefix}`];
      this.version = camt053VersionOf(typeof uri === "string" ? uri : "");
      return;
    }
    if (prefix !== this.prefix && depth <= 2) {
      throw invalid(this.names.slice(1).join("/"), this.line, `element ${tag.name} is not in the document's namespace (prefix ${JSON.stringify(this.prefix)})`);
    }
    if (depth === 1) {
      if (name !== "BkToCstmrStmt") throw invalid(`Document/${name}`, this.line, `expected BkToCstmrStmt (a camt.053 statement), found ${name}`);
      this.hasStatementList = true;
      return;
    }
    if (depth === 2) {
      if (name === "GrpHdr") this.groupHeader = { depth, place: "BkToCstmrStmt/GrpHdr", line: this.line, fields: new Map() };
      else if (name === "Stmt") this.openStatement(depth);
      return;
    }
    if (this.statement && depth === this.statement.depth + 1 && !this.entry && !this.balance) {
      if (name === "Bal") {
        this.statement.balanceCount++;
        this.balance = { depth, place: `${this.statement.place}/Bal[${this.statement.balanceCount}]`, line: this.line, fields: new Map(), ccy: null };
      } else if (name === "Ntry") {
        this.emitHeader();
        this.statement.entryCount++;
        this.entry = { depth, place: `${this.statement.place}/Ntry[${this.statement.entryCount}]`, line: this.line, fields: new Map(), ccy: new Map(), details: [] };
      }
      return;
    }
    if (this.entry && name === "TxDtls" && depth === this.entry.depth + 2 && this.names[depth - 1] === "NtryDtls") {
      if (this.entry.details.length >= MAX_DETAILS_PER_ENTRY) throw invalid(this.entry.place, this.line, `more than ${MAX_DETAILS_PER_ENTRY} transaction details in one entry`);
      this.detail = { depth, place: `${this.entry.place}/NtryDtls/TxDtls[${this.entry.details.length + 1}]`, line: this.line, fields: new Map(), ccy: new Map(), ustrd: [] };
      return;
    }
    if (name === "Amt") {
      const ccy = tag.attributes["Ccy"];
      const target = this.detail ?? this.entry ?? this.balance;
      if (target && typeof ccy === "string") {
        const rel = this.rels[depth]!;
        if (target === this.balance) this.balance.ccy = ccy;
        else (target as EntryDraft | DetailDraft).ccy.set(rel, ccy);
      }
    }
  }

  private openStatement(depth: number): void {
    if (this.statementCount >= MAX_STATEMENTS_PER_FILE) throw invalid("BkToCstmrStmt", this.line, `more than ${MAX_STATEMENTS_PER_FILE} statements in one file`);
    this.statementCount++;
    this.statement = {
      depth,
      place: `BkToCstmrStmt/Stmt[${this.statementCount}]`,
      line: this.line,
      fields: new Map(),
      balanceCount: 0,
      entryCount: 0,
      balances: [],
      header: null,
      totals: { entryCount: 0, netMinorByCurrency: new Map() },
    };
  }

  private close(): void {
    const depth = this.names.length - 1;
    const text = this.text;
    this.text = "";
    if (this.detail && depth === this.detail.depth) {
      this.entry!.details.push(this.detail);
      this.detail = null;
    } else if (this.entry && depth === this.entry.depth) {
      this.finishEntry();
    } else if (this.balance && depth === this.balance.depth) {
      this.finishBalance();
    } else if (this.statement && depth === this.statement.depth) {
      this.emitHeader();
      this.events.push({ kind: "end", header: this.statement.header!, totals: this.statement.totals });
      this.statement = null;
    } else if (this.groupHeader && depth === this.groupHeader.depth) {
      this.messageId = this.groupHeader.fields.get("MsgId") ?? null;
      this.groupHeader = null;
    } else if (depth === 1 && this.statementCount === 0) {
      throw invalid("BkToCstmrStmt", this.line, "the statement list has no Stmt: a camt.053 message holds at least one statement");
    } else {
      const target = this.detail ?? this.entry ?? this.balance ?? this.statement ?? this.groupHeader;
      if (target && text.length > 0) {
        const rel = this.rels[depth]!;
        if (target === this.detail && rel === "RmtInf/Ustrd") this.detail.ustrd.push(text.trim());
        else if (!target.fields.has(rel)) target.fields.set(rel, text.trim());
      }
    }
    if (depth === 0 && !this.hasStatementList) throw invalid("Document", this.line, "the document has no BkToCstmrStmt");
    this.names.pop();
    this.rels.pop();
  }

  // --- building the normalized values ---------------------------------------------------------

  private amount(a: Anchor, rel: string, ccy: string | undefined | null, opts: { required: boolean; allowZero: boolean }): { amountMinor: bigint; currency: string } | null {
    const raw = a.fields.get(rel);
    const place = `${a.place}/${rel}`;
    if (raw === undefined) {
      if (opts.required) throw invalid(place, a.line, "is missing");
      return null;
    }
    if (!ccy) throw invalid(place, a.line, "has no Ccy attribute");
    if (!isCurrencyCode(ccy)) throw invalid(place, a.line, `currency ${JSON.stringify(ccy)} is not a known ISO 4217 code`, { currency: ccy });
    try {
      return { amountMinor: parseAmount(raw, ccy, { allowZero: opts.allowZero }), currency: ccy };
    } catch (e) {
      if (isAppError(e)) throw invalid(place, a.line, e.message, { value: raw, currency: ccy });
      throw e;
    }
  }

  private direction(a: Anchor, rel: string, required: boolean): Direction | null {
    const raw = a.fields.get(rel);
    if (raw === undefined) {
      if (required) throw invalid(`${a.place}/${rel}`, a.line, "is missing (CRDT or DBIT)");
      return null;
    }
    if (raw === "CRDT") return "credit";
    if (raw === "DBIT") return "debit";
    throw invalid(`${a.place}/${rel}`, a.line, `${JSON.stringify(raw)} must be CRDT or DBIT`);
  }

  private date(a: Anchor, base: string): string | null {
    const raw = a.fields.get(`${base}/Dt`) ?? a.fields.get(`${base}/DtTm`);
    if (raw === undefined) return null;
    const m = DATE.exec(raw);
    const date = m ? `${m[1]}-${m[2]}-${m[3]}` : "";
    const isDateOnly = a.fields.has(`${base}/Dt`);
    if (!m || !isRealDate(date) || (isDateOnly && raw.length !== 10)) {
      throw invalid(`${a.place}/${base}`, a.line, `${JSON.stringify(raw)} is not a ${isDateOnly ? "YYYY-MM-DD date" : "date-time"}`);
    }
    return date;
  }

  private finishBalance(): void {
    const b = this.balance!;
    this.balance = null;
    const code = b.fields.get("Tp/CdOrPrtry/Cd") ?? b.fields.get("Tp/CdOrPrtry/Prtry") ?? "";
    const amount = this.amount(b, "Amt", b.ccy, { required: true, allowZero: true })!;
    const direction = this.direction(b, "CdtDbtInd", true)!;
    const date = this.date(b, "Dt");
    if (date === null) throw invalid(`${b.place}/Dt`, b.line, "is missing");
    this.statement!.balances.push({ code, balance: { ...amount, direction, date } });
  }

  private emitHeader(): void {
    const s = this.statement!;
    if (s.header) return;
    const f = s.fields;
    const statementId = f.get("Id");
    if (!statementId) throw invalid(`${s.place}/Id`, s.line, "is missing");
    const iban = f.get("Acct/Id/IBAN") ?? null;
    const other = f.get("Acct/Id/Othr/Id") ?? null;
    if (iban === null && other === null) throw invalid(`${s.place}/Acct/Id`, s.line, "names no account (IBAN or Othr/Id)");
    const accountCurrency = f.get("Acct/Ccy") ?? null;
    if (accountCurrency !== null && !isCurrencyCode(accountCurrency)) throw invalid(`${s.place}/Acct/Ccy`, s.line, `currency ${JSON.stringify(accountCurrency)} is not a known ISO 4217 code`);
    const find = (code: string) => s.balances.find((b) => b.code === code)?.balance ?? null;
    const electronic = f.get("ElctrncSeqNb") ?? null;
    const legal = f.get("LglSeqNb") ?? null;
    s.header = {
      format: `camt.053.${this.version}`,
      messageId: this.messageId,
      statementId,
      sequence: electronic ?? legal,
      electronicSequenceNumber: electronic,
      legalSequenceNumber: legal,
      createdAt: f.get("CreDtTm") ?? null,
      fromDateTime: f.get("FrToDt/FrDtTm") ?? null,
      toDateTime: f.get("FrToDt/ToDtTm") ?? null,
      accountIban: iban === null ? null : iban.replace(/\s+/g, "").toUpperCase(),
      accountOtherId: other,
      accountCurrency,
      openingBalance: find("OPBD") ?? find("PRCD"),
      closingBalance: find("CLBD"),
      place: s.place,
    };
    this.events.push({ kind: "statement", header: s.header });
  }

  private finishEntry(): void {
    const e = this.entry!;
    this.entry = null;
    const s = this.statement!;
    const f = e.fields;
    const amount = this.amount(e, "Amt", e.ccy.get("Amt"), { required: true, allowZero: false })!;
    const direction = this.direction(e, "CdtDbtInd", true)!;
    const reversal = f.get("RvslInd");
    if (reversal !== undefined && reversal !== "true" && reversal !== "false") throw invalid(`${e.place}/RvslInd`, e.line, `${JSON.stringify(reversal)} must be true or false`);
    const details = e.details.map((d) => this.finishDetail(d, direction));
    const single = details.length === 1 ? details[0]! : null;
    const domain = f.get("BkTxCd/Domn/Cd");
    const btc = domain ? [domain, f.get("BkTxCd/Domn/Fmly/Cd"), f.get("BkTxCd/Domn/Fmly/SubFmlyCd")].filter(Boolean).join("/") : (f.get("BkTxCd/Prtry/Cd") ?? null);
    const entry: StatementEntry = {
      index: s.totals.entryCount,
      amountMinor: amount.amountMinor,
      currency: amount.currency,
      direction,
      status: f.get("Sts/Cd") ?? f.get("Sts") ?? "BOOK",
      isReversal: reversal === "true",
      bookingDate: this.date(e, "BookgDt"),
      valueDate: this.date(e, "ValDt"),
      accountServicerReference: f.get("AcctSvcrRef") ?? single?.accountServicerReference ?? null,
      endToEndId: single?.endToEndId ?? null,
      remittanceInfo: single?.remittanceInfo ?? null,
      counterpartyName: single?.counterpartyName ?? null,
      counterpartyAccount: single?.counterpartyAccount ?? null,
      bankTransactionCode: btc,
      additionalInfo: f.get("AddtlNtryInf") ?? null,
      details: details.length > 1 ? details : [],
      place: e.place,
    };
    s.totals.entryCount++;
    if (entry.status === "BOOK") {
      const net = s.totals.netMinorByCurrency;
      net.set(entry.currency, (net.get(entry.currency) ?? 0n) + (direction === "credit" ? entry.amountMinor : -entry.amountMinor));
    }
    this.entryCount++;
    this.events.push({ kind: "entry", entry, header: s.header! });
  }

  private finishDetail(d: DetailDraft, entryDirection: Direction): TransactionDetail {
    const f = d.fields;
    const rel = f.has("Amt") ? "Amt" : f.has("AmtDtls/TxAmt/Amt") ? "AmtDtls/TxAmt/Amt" : null;
    const amount = rel ? this.amount(d, rel, d.ccy.get(rel), { required: true, allowZero: true }) : null;
    const direction = this.direction(d, "CdtDbtInd", false);
    const isIncoming = (direction ?? entryDirection) === "credit";
    const party = isIncoming ? "Dbtr" : "Cdtr";
    const ustrd = d.ustrd.filter((u) => u.length > 0).join(" ");
    return {
      amountMinor: amount?.amountMinor ?? null,
      currency: amount?.currency ?? null,
      direction,
      endToEndId: nonEmpty(f.get("Refs/EndToEndId")),
      accountServicerReference: nonEmpty(f.get("Refs/AcctSvcrRef")),
      instructionId: nonEmpty(f.get("Refs/InstrId")),
      transactionId: nonEmpty(f.get("Refs/TxId")),
      remittanceInfo: ustrd.length > 0 ? ustrd : nonEmpty(f.get("RmtInf/Strd/CdtrRefInf/Ref")),
      counterpartyName: nonEmpty(f.get(`RltdPties/${party}/Nm`) ?? f.get(`RltdPties/${party}/Pty/Nm`)),
      counterpartyAccount: nonEmpty(f.get(`RltdPties/${party}Acct/Id/IBAN`) ?? f.get(`RltdPties/${party}Acct/Id/Othr/Id`)),
    };
  }
}

function nonEmpty(v: string | undefined): string | null {
  return v === undefined || v.length === 0 || v === "NOTPROVIDED" ? null : v;
}

/**
 * Reads a camt.053 document from `source` (UTF-8 chunks) and hands statements and entries to
 * `sink` as they complete.
 *
 * Errors (AppError), in document order: STATEMENT_INVALID for malformed XML, a root other than
 * Document, a document with no BkToCstmrStmt or no Stmt, a missing statement Id or account, a bad
 * amount, currency, credit/debit indicator or date (each naming its element path and line);
 * STATEMENT_VERSION_UNSUPPORTED for a camt.053 namespace outside 001.02 to 001.08. Errors thrown
 * by the sink pass through unchanged.
 */
export async function readCamt053(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, sink: Camt053Sink): Promise<Camt053Summary> {
  const reader = new Camt053Reader();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // A sink that answers synchronously is not awaited: an await per entry is a turn of the event
  // loop, a measurable share of reading a million entries.
  const drain = async () => {
    for (let i = 0; i < reader.events.length; i++) {
      const ev = reader.events[i]!;
      const done = ev.kind === "statement" ? sink.statement?.(ev.header) : ev.kind === "entry" ? sink.entry?.(ev.entry, ev.header) : sink.statementEnd?.(ev.header, ev.totals);
      if (done) await done;
    }
    reader.events.length = 0;
  };
  const decode = (chunk: Uint8Array | string, isLast: boolean): string => {
    if (typeof chunk === "string") return chunk;
    try {
      return decoder.decode(chunk, { stream: !isLast });
    } catch {
      throw new AppError("STATEMENT_INVALID", "the file is not valid UTF-8 text", { details: { place: "file" } });
    }
  };
  for await (const chunk of source) {
    reader.write(decode(chunk, false));
    await drain();
  }
  reader.write(decode(new Uint8Array(0), true));
  reader.end();
  await drain();
  return { version: reader.version!, messageId: reader.messageId, statementCount: reader.statementCount, entryCount: reader.entryCount };
}
