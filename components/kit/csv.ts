/**
 * CSV export of list rows (RFC 4180: comma separated, CRLF line ends, fields with a comma, quote
 * or line break quoted, quotes doubled). Amounts stay exact: a cell takes a bigint (minor units)
 * or an exact decimal string made from one (`decimal(formatAmount(minor, currency))`), and a JS
 * number only when it is a safe integer, so no amount is ever written through floating point.
 *
 * Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage
 * return) is prefixed with an apostrophe (OWASP "CSV injection"); numbers we produce ourselves
 * (bigint, decimal) are written as they are, so "-12.50" stays a number.
 */
import { formatAmount } from "../../server/money/amount";

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** An exact decimal string ("-1234.50"), written unquoted and unguarded. */
export interface CsvDecimal {
  readonly kind: "decimal";
  readonly text: string;
}

export type CsvValue = string | bigint | number | boolean | Date | CsvDecimal | null | undefined;

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => CsvValue;
}

/** Marks an exact decimal string for a cell; refuses anything that is not one. */
export function decimal(text: string): CsvDecimal {
  if (!DECIMAL.test(text)) throw new Error(`"${text}" is not an exact decimal`);
  return { kind: "decimal", text };
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One field, escaped. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`CSV cells take whole numbers only, not ${value}; write amounts as bigint or decimal()`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return value.text;
  return quote(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
}

/** The CSV text of `rows` under `columns`: a header line, then one line per row, CRLF after each. */
export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => csvCell(c.header)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(c.value(row))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * Three columns for an amount: its minor units (bigint), the exact decimal in the currency's
 * exponent ("8.85" EUR, "885" JPY) and the currency. A row without an amount leaves them empty.
 */
export function moneyColumns<T>(label: string, get: (row: T) => { amountMinor: bigint; currency: string } | null): CsvColumn<T>[] {
  return [
    { header: `${label} (minor units)`, value: (r) => get(r)?.amountMinor ?? null },
    {
      header: label,
      value: (r) => {
        const m = get(r);
        return m ? decimal(formatAmount(m.amountMinor, m.currency)) : null;
      },
    },
    { header: `${label} currency`, value: (r) => get(r)?.currency ?? null },
  ];
}

export interface CsvPage<T> {
  rows: readonly T[];
  nextCursor: string | null;
}

/**
 * Reads every page of a filtered list, up to `maxRows` (everything has a limit), through
 * `fetchPage`, the same keyset query the list uses. Says whether rows were left out. A cursor
 * that repeats (a server that does not move on) stops the export rather than looping.
 */
export async function collectRows<T>(
  fetchPage: (cursor: string | null) => Promise<CsvPage<T>>,
  opts: { maxRows: number; signal?: AbortSignal; onProgress?: (count: number) => void },
): Promise<{ rows: T[]; isTruncated: boolean }> {
  const rows: T[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page: CsvPage<T> = await fetchPage(cursor);
    for (const r of page.rows) {
      if (rows.length >= opts.maxRows) return { rows, isTruncated: true };
      rows.push(r);
    }
    opts.onProgress?.(rows.length);
    if (!page.nextCursor || page.rows.length === 0) return { rows, isTruncated: false };
    if (rows.length >= opts.maxRows) return { rows, isTruncated: true };
    if (seen.has(page.nextCursor)) throw new Error("the list returned the same page cursor twice; the export stopped");
    seen.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}
