/**
 * Settlement files (CSV, RFC 4180): one header line, then one line per payment that settled or was
 * returned on the value date.
 *
 *   partner_ref,idempotency_key,reference,amount_minor,currency,status,value_date
 *   sbx_0b6f...,tr_42,"Invoice 7, March",885,EUR,settled,2026-11-21
 *
 * Invariants kept:
 * - Parsing is exact: amount_minor is an unsigned integer string read into a bigint (never a
 *   float); "885.0", "8.85", "1e3", " 885" and "-5" are errors, not numbers.
 * - A file is accepted whole or refused whole: the first bad line is named with its line number
 *   and field, and nothing of the file is returned.
 * - Limits: at most MAX_SETTLEMENT_LINES lines and MAX_SETTLEMENT_FILE_BYTES bytes; fields at most
 *   MAX_FIELD_LENGTH characters.
 */
import { createHash } from "node:crypto";
import { isCurrencyCode } from "../money";
import { MAX_MINOR_UNITS } from "../money/amount";
import type { RailId, SettlementFile, SettlementLine } from "./types";

export const SETTLEMENT_HEADER = ["partner_ref", "idempotency_key", "reference", "amount_minor", "currency", "status", "value_date"] as const;
export const MAX_SETTLEMENT_LINES = 100_000;
export const MAX_SETTLEMENT_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_FIELD_LENGTH = 256;

export class SettlementFileError extends Error {
  constructor(
    readonly lineNumber: number,
    message: string,
  ) {
    super(lineNumber > 0 ? `settlement file line ${lineNumber}: ${message}` : `settlement file: ${message}`);
    this.name = "SettlementFileError";
  }
}

function quoteField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV text for `lines` (header first, "\n" line ends, a final newline). */
export function formatSettlementCsv(lines: readonly Omit<SettlementLine, "lineNumber">[]): string {
  const rows = [SETTLEMENT_HEADER.join(",")];
  for (const l of lines) {
    rows.push([l.partnerRef, l.idempotencyKey, l.reference, l.amountMinor.toString(), l.currency, l.status, l.valueDate].map(quoteField).join(","));
  }
  return rows.join("\n") + "\n";
}

/**
 * Splits RFC 4180 CSV into records of fields. Accepts "\n" and "\r\n" line ends and quoted fields
 * containing commas, quotes ("") and line breaks. Returns each record with the physical line it
 * started on.
 */
export function splitCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let isQuoted = false;
  let wasQuoted = false;
  let line = 1;
  let recordLine = 1;
  const endField = () => {
    fields.push(field);
    field = "";
    wasQuoted = false;
  };
  const endRecord = () => {
    endField();
    records.push({ line: recordLine, fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (isQuoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          isQuoted = false;
          wasQuoted = true;
        }
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field.length > 0 || wasQuoted) throw new SettlementFileError(line, "a quote may only open a field");
      isQuoted = true;
    } else if (c === ",") {
      endField();
    } else if (c === "\r" && text[i + 1] === "\n") {
      // The \n ends the record on the next iteration.
    } else if (c === "\n") {
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (wasQuoted) throw new SettlementFileError(line, "text after a closing quote");
      field += c;
    }
    if (field.length > MAX_FIELD_LENGTH) throw new SettlementFileError(line, `a field is longer than ${MAX_FIELD_LENGTH} characters`);
  }
  if (isQuoted) throw new SettlementFileError(recordLine, "unterminated quoted field");
  if (field.length > 0 || fields.length > 0 || wasQuoted) endRecord();
  return records;
}

function isValidDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00.000Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Reads an unsigned integer string exactly; null for anything else (signs, decimals, spaces, exponents). */
function parseMinor(s: string): bigint | null {
  if (!/^(0|[1-9]\d{0,18})$/.test(s)) return null;
  const v = BigInt(s);
  return v <= MAX_MINOR_UNITS ? v : null;
}

/**
 * Parses a settlement file exactly. Errors (SettlementFileError), in order: the file is too large,
 * the header is not SETTLEMENT_HEADER, too many lines, then per line: field count, empty
 * partner_ref, amount_minor not a positive integer, unknown currency, status not settled/returned,
 * value_date not a real YYYY-MM-DD date.
 */
export function parseSettlementCsv(raw: string, meta: { partner: string; rail: RailId; date: string }): SettlementFile {
  if (Buffer.byteLength(raw, "utf8") > MAX_SETTLEMENT_FILE_BYTES) throw new SettlementFileError(0, `larger than ${MAX_SETTLEMENT_FILE_BYTES} bytes`);
  const records = splitCsv(raw);
  const header = records[0];
  if (!header || header.fields.join(",") !== SETTLEMENT_HEADER.join(",")) {
    throw new SettlementFileError(1, `the header must be ${SETTLEMENT_HEADER.join(",")}`);
  }
  const body = records.slice(1);
  if (body.length > MAX_SETTLEMENT_LINES) throw new SettlementFileError(0, `more than ${MAX_SETTLEMENT_LINES} lines`);
  const lines: SettlementLine[] = [];
  for (const [i, rec] of body.entries()) {
    const n = rec.line;
    if (rec.fields.length !== SETTLEMENT_HEADER.length) {
      throw new SettlementFileError(n, `expected ${SETTLEMENT_HEADER.length} fields, found ${rec.fields.length}`);
    }
    const [partnerRef, idempotencyKey, reference, amount, currency, status, valueDate] = rec.fields as [string, string, string, string, string, string, string];
    if (partnerRef.length === 0) throw new SettlementFileError(n, "partner_ref is empty");
    const amountMinor = parseMinor(amount);
    if (amountMinor === null || amountMinor === 0n) throw new SettlementFileError(n, `amount_minor ${JSON.stringify(amount)} is not a positive whole number of minor units`);
    if (!isCurrencyCode(currency)) throw new SettlementFileError(n, `currency ${JSON.stringify(currency)} is not a supported ISO 4217 code`);
    if (status !== "settled" && status !== "returned") throw new SettlementFileError(n, `status ${JSON.stringify(status)} must be settled or returned`);
    if (!isValidDate(valueDate)) throw new SettlementFileError(n, `value_date ${JSON.stringify(valueDate)} is not a YYYY-MM-DD date`);
    lines.push({ lineNumber: i + 1, partnerRef, idempotencyKey, reference, amountMinor, currency, status, valueDate });
  }
  return { ...meta, lines, raw, sha256: createHash("sha256").update(raw, "utf8").digest("hex") };
}
