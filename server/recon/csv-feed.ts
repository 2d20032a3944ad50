/**
 * CSV statement feeds: a stored, versioned column mapping turns any bank's or partner's CSV into
 * normalized statement entries. Parsing is csv-parse (RFC 4180, streaming); this module only
 * interprets the fields.
 *
 * Invariants kept:
 * - Exact amounts: decimal amounts are parsed with the currency's exponent (server/money), after
 *   the mapping's thousands and decimal separators are resolved; minor-unit amounts must be
 *   integers. More decimals than the currency has are an error unless they are zeros; no float.
 * - A file is refused whole at its first bad record; the error names the line and the column
 *   ("line 12, column amount: ...").
 * - The header must contain every column the mapping names (missing ones are listed).
 * - Limits: MAX_CSV_FIELD_LENGTH characters per field, MAX_CSV_RECORD_BYTES per record.
 */
import { parse } from "csv-parse";
import { Readable } from "node:stream";
import { z } from "zod";
import { AppError, isAppError } from "../errors/app-error";
import { parseAmount } from "../money/amount";
import { isCurrencyCode } from "../money/currencies";
import type { Direction, StatementEntry, StatementHeader } from "../partners/statement-types";

export const MAX_CSV_FIELD_LENGTH = 1_024;
export const MAX_CSV_RECORD_BYTES = 16 * 1024;

export const CSV_DATE_FORMATS = ["YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY", "YYYYMMDD"] as const;

const column = z.string().trim().min(1).max(100);

export const csvMappingSchema = z
  .object({
    delimiter: z.enum([",", ";", "\t", "|"]).default(","),
    columns: z
      .object({
        amount: column,
        currency: column.optional(),
        /** Credit/debit indicator column (with sign.kind "indicator"). */
        direction: column.optional(),
        bookingDate: column,
        valueDate: column.optional(),
        accountServicerReference: column.optional(),
        endToEndId: column.optional(),
        remittanceInfo: column.optional(),
        counterpartyName: column.optional(),
        counterpartyAccount: column.optional(),
      })
      .strict(),
    /** The currency of every line when there is no currency column. */
    currency: z.string().length(3).optional(),
    /** "decimal": major units ("1.234,56" with the separators below); "minor_units": integers ("123456"). */
    amountFormat: z.enum(["decimal", "minor_units"]),
    decimalSeparator: z.enum([".", ","]).default("."),
    thousandsSeparator: z.enum(["", ",", ".", " ", "'"]).default(""),
    sign: z.discriminatedUnion("kind", [
      /** The amount carries the sign; a negative amount is `negativeIs`. */
      z.object({ kind: z.literal("signed"), negativeIs: z.enum(["debit", "credit"]) }).strict(),
      /** The direction column says it; the amount is unsigned. Values compared case-insensitively. */
      z.object({ kind: z.literal("indicator"), creditValues: z.array(z.string().min(1).max(40)).min(1).max(20), debitValues: z.array(z.string().min(1).max(40)).min(1).max(20) }).strict(),
    ]),
    dateFormat: z.enum(CSV_DATE_FORMATS),
  })
  .strict()
  .refine((m) => m.columns.currency !== undefined || m.currency !== undefined, { message: "give a currency column or a fixed currency", path: ["currency"] })
  .refine((m) => m.sign.kind !== "indicator" || m.columns.direction !== undefined, { message: "an indicator sign needs the direction column", path: ["columns", "direction"] })
  .refine((m) => m.thousandsSeparator !== m.decimalSeparator, { message: "the thousands separator must differ from the decimal separator", path: ["thousandsSeparator"] });

export type CsvMapping = z.infer<typeof csvMappingSchema>;

/**
 * Built-in mappings, by name. `sandbox_settlement` reads the partner sandbox's settlement files
 * (server/partners/settlement-file.ts): a settled payment left our account at the partner
 * (debit), a returned one came back (credit); partner_ref is the bank's reference, the
 * idempotency key our end-to-end id.
 */
export const BUILT_IN_CSV_MAPPINGS: Record<string, { version: number; mapping: CsvMapping }> = {
  sandbox_settlement: {
    version: 1,
    mapping: csvMappingSchema.parse({
      delimiter: ",",
      columns: {
        amount: "amount_minor",
        currency: "currency",
        direction: "status",
        bookingDate: "value_date",
        valueDate: "value_date",
        accountServicerReference: "partner_ref",
        endToEndId: "idempotency_key",
        remittanceInfo: "reference",
      },
      amountFormat: "minor_units",
      sign: { kind: "indicator", creditValues: ["returned"], debitValues: ["settled"] },
      dateFormat: "YYYY-MM-DD",
    }),
  },
};

/** Parses a mapping; BAD_INPUT naming each wrong field. */
export function parseCsvMapping(raw: unknown): CsvMapping {
  const r = csvMappingSchema.safeParse(raw);
  if (!r.success) {
    throw new AppError("BAD_INPUT", `invalid CSV mapping: ${r.error.issues.map((i) => `${i.path.join(".") || "mapping"}: ${i.message}`).join("; ")}`);
  }
  return r.data;
}

function csvError(line: number, columnName: string | null, message: string, details: Record<string, unknown> = {}): AppError {
  const place = columnName ? `line ${line}, column ${columnName}` : `line ${line}`;
  return new AppError("STATEMENT_INVALID", `${place}: ${message}`, { details: { place, line, column: columnName, ...details } });
}

function isRealDate(y: string, m: string, d: string): boolean {
  const iso = `${y}-${m}-${d}`;
  const t = new Date(`${iso}T00:00:00.000Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === iso;
}

const DATE_PATTERNS: Record<(typeof CSV_DATE_FORMATS)[number], { re: RegExp; order: [number, number, number] }> = {
  "YYYY-MM-DD": { re: /^(\d{4})-(\d{2})-(\d{2})$/, order: [1, 2, 3] },
  "DD.MM.YYYY": { re: /^(\d{2})\.(\d{2})\.(\d{4})$/, order: [3, 2, 1] },
  "DD/MM/YYYY": { re: /^(\d{2})\/(\d{2})\/(\d{4})$/, order: [3, 2, 1] },
  "MM/DD/YYYY": { re: /^(\d{2})\/(\d{2})\/(\d{4})$/, order: [3, 1, 2] },
  YYYYMMDD: { re: /^(\d{4})(\d{2})(\d{2})$/, order: [1, 2, 3] },
};

/** A date in the mapping's format as YYYY-MM-DD, or null when it is not a real date in that format. */
export function parseCsvDate(value: string, format: CsvMapping["dateFormat"]): string | null {
  const p = DATE_PATTERNS[format];
  const m = p.re.exec(value);
  if (!m) return null;
  const [y, mo, d] = p.order.map((i) => m[i]!) as [string, string, string];
  return isRealDate(y, mo, d) ? `${y}-${mo}-${d}` : null;
}

/** Signed minor units of an amount field under the mapping. Throws AppError INVALID_AMOUNT (caller adds the place). */
export function parseCsvAmount(value: string, currency: string, mapping: CsvMapping): bigint {
  if (mapping.amountFormat === "minor_units") {
    if (!/^-?(0|[1-9]\d{0,18})$/.test(value)) throw new AppError("INVALID_AMOUNT", `amount ${JSON.stringify(value)} is not a whole number of minor units`);
    return BigInt(value);
  }
  let v = value;
  if (mapping.thousandsSeparator !== "") {
    // Separators only between groups of three digits: "1.234,56" yes, "12.34,56" no.
    const sep = mapping.thousandsSeparator.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const dec = mapping.decimalSeparator.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (new RegExp(`^-?\\d{1,3}(${sep}\\d{3})+(${dec}\\d+)?$`).test(v)) v = v.split(mapping.thousandsSeparator).join("");
  }
  if (mapping.decimalSeparator === ",") {
    if (v.includes(".")) throw new AppError("INVALID_AMOUNT", `amount ${JSON.stringify(value)} uses "." but the mapping's decimal separator is ","`);
    v = v.replace(",", ".");
  }
  return parseAmount(v, currency, { allowNegative: true });
}

export interface CsvReadOptions {
  mapping: CsvMapping;
  /** Receives every entry, in file order; awaited (backpressure). */
  onEntry(entry: StatementEntry): void | Promise<void>;
}

/**
 * The header of a CSV feed's one statement: a CSV file carries no statement header (no sequence,
 * period, account or balances), so the file is one statement named by `statementId` (the file's
 * name) in the mapping's format ("csv:sandbox_settlement@1").
 */
export function csvStatementHeader(format: string, statementId: string): StatementHeader {
  return {
    format,
    messageId: null,
    statementId,
    sequence: null,
    electronicSequenceNumber: null,
    legalSequenceNumber: null,
    createdAt: null,
    fromDateTime: null,
    toDateTime: null,
    accountIban: null,
    accountOtherId: null,
    accountCurrency: null,
    openingBalance: null,
    closingBalance: null,
    place: "file",
  };
}

/**
 * Reads a CSV feed with `mapping`. Returns the number of entries.
 *
 * Errors (STATEMENT_INVALID, in file order): malformed CSV (naming the line), a header without
 * the mapped columns (listing them), then per record: a field over the length limit, an empty or
 * bad amount, a zero amount, an unknown currency, a direction value the mapping does not know, a
 * negative amount with an indicator column, a missing or bad booking date, a bad value date.
 */
export async function readCsvFeed(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, opts: CsvReadOptions): Promise<number> {
  const { mapping } = opts;
  const parser = Readable.from(source).pipe(
    parse({ delimiter: mapping.delimiter, bom: true, skip_empty_lines: true, info: true, max_record_size: MAX_CSV_RECORD_BYTES, relax_column_count: false }),
  );
  let index: Map<string, number> | null = null;
  let count = 0;
  const credit = new Set(mapping.sign.kind === "indicator" ? mapping.sign.creditValues.map((v) => v.toLowerCase()) : []);
  const debit = new Set(mapping.sign.kind === "indicator" ? mapping.sign.debitValues.map((v) => v.toLowerCase()) : []);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = item.info.lines;
      const rec = item.record;
      if (index === null) {
        index = new Map(rec.map((name, i) => [name.trim(), i]));
        const missing = Object.values(mapping.columns).filter((c) => !index!.has(c));
        if (missing.length > 0) throw csvError(line, null, `the header lacks the mapped column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (found: ${rec.join(", ")})`, { missing });
        continue;
      }
      const field = (key: keyof CsvMapping["columns"]): string | null => {
        const name = mapping.columns[key];
        if (name === undefined) return null;
        const v = (rec[index!.get(name)!] ?? "").trim();
        if (v.length > MAX_CSV_FIELD_LENGTH) throw csvError(line, name, `longer than ${MAX_CSV_FIELD_LENGTH} characters`);
        return v;
      };
      await opts.onEntry(readRecord(line, count, field, mapping, credit, debit));
      count++;
    }
  } catch (e) {
    if (isAppError(e)) throw e;
    const err = e as { code?: string; lines?: number; message?: string };
    if (typeof err.code === "string" && err.code.startsWith("CSV_")) {
      throw csvError(err.lines ?? 0, null, `malformed CSV: ${err.message ?? err.code}`, { csvCode: err.code });
    }
    throw e;
  }
  if (index === null) throw csvError(1, null, "the file is empty: a header line is required");
  return count;
}

function readRecord(
  line: number,
  index: number,
  field: (key: keyof CsvMapping["columns"]) => string | null,
  mapping: CsvMapping,
  credit: Set<string>,
  debit: Set<string>,
): StatementEntry {
  const col = (key: keyof CsvMapping["columns"]) => mapping.columns[key] ?? key;
  const currency = (field("currency") ?? mapping.currency ?? "").toUpperCase();
  if (!isCurrencyCode(currency)) throw csvError(line, col("currency"), `currency ${JSON.stringify(currency)} is not a known ISO 4217 code`);
  const rawAmount = field("amount") ?? "";
  if (rawAmount.length === 0) throw csvError(line, col("amount"), "is empty");
  let signed: bigint;
  try {
    signed = parseCsvAmount(rawAmount, currency, mapping);
  } catch (e) {
    if (isAppError(e)) throw csvError(line, col("amount"), e.message, { value: rawAmount });
    throw e;
  }
  if (signed === 0n) throw csvError(line, col("amount"), "must not be zero");
  let direction: Direction;
  if (mapping.sign.kind === "signed") {
    const negative = mapping.sign.negativeIs;
    direction = signed < 0n ? negative : negative === "debit" ? "credit" : "debit";
  } else {
    if (signed < 0n) throw csvError(line, col("amount"), `${JSON.stringify(rawAmount)} must not be negative: the direction column carries the sign`);
    const v = (field("direction") ?? "").toLowerCase();
    if (credit.has(v)) direction = "credit";
    else if (debit.has(v)) direction = "debit";
    else throw csvError(line, col("direction"), `${JSON.stringify(v)} is neither a credit (${[...credit].join(", ")}) nor a debit (${[...debit].join(", ")}) value`);
  }
  const date = (key: "bookingDate" | "valueDate", required: boolean): string | null => {
    const raw = field(key);
    if (raw === null || raw.length === 0) {
      if (required) throw csvError(line, col(key), "is empty");
      return null;
    }
    const d = parseCsvDate(raw, mapping.dateFormat);
    if (d === null) throw csvError(line, col(key), `${JSON.stringify(raw)} is not a ${mapping.dateFormat} date`);
    return d;
  };
  const text = (key: keyof CsvMapping["columns"]) => {
    const v = field(key);
    return v === null || v.length === 0 ? null : v;
  };
  return {
    index,
    amountMinor: signed < 0n ? -signed : signed,
    currency,
    direction,
    status: "BOOK",
    isReversal: false,
    bookingDate: date("bookingDate", true),
    valueDate: date("valueDate", false),
    accountServicerReference: text("accountServicerReference"),
    endToEndId: text("endToEndId"),
    remittanceInfo: text("remittanceInfo"),
    counterpartyName: text("counterpartyName"),
    counterpartyAccount: text("counterpartyAccount"),
    bankTransactionCode: null,
    additionalInfo: null,
    details: [],
    place: `line ${line}`,
  };
}
