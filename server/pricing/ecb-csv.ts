/**
 * The European Central Bank's reference-rate CSV (eurofxref-hist.csv and the daily eurofxref.csv):
 *
 *   Date,USD,JPY,...,ZAR,
 *   2025-05-09,1.1252,163.36,...,20.4835,
 *
 * one row per reference date, units of each currency per 1 EUR, "N/A" where no rate was published,
 * and (as the ECB writes it) a trailing comma on every line.
 *
 * Invariants kept:
 * - A file is accepted whole or refused whole (INVALID_RATES_FILE): the first problem is named with
 *   its line number and, for a cell, its column (currency) and position; nothing is returned.
 * - Rates are exact decimals as published (an Exact plus the original text), never floats; a rate
 *   must be a plain positive decimal. "N/A" (or an empty cell) means no rate that day.
 * - Dates are real YYYY-MM-DD dates and unique; currency codes are three capital letters and unique
 *   (historic codes such as CYP or DEM are kept as published; conversion refuses them later as
 *   UNKNOWN_CURRENCY because they have no ISO 4217 exponent today).
 * - Limits: MAX_RATES_FILE_BYTES, MAX_RATE_DAYS rows, MAX_RATE_CURRENCIES columns.
 */
import { parse } from "csv-parse/sync";
import { createHash } from "node:crypto";
import { AppError } from "../errors/app-error";
import { parseExactDecimal } from "./exact";
import { isIsoDate, type ReferenceDay, type ReferenceRate } from "./reference-rates";

export const MAX_RATES_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_RATE_DAYS = 50_000;
export const MAX_RATE_CURRENCIES = 200;

const CURRENCY = /^[A-Z]{3}$/;

export interface RatesFile {
  days: ReferenceDay[];
  currencies: string[];
  /** Number of published rates (cells that are not N/A). */
  rateCount: number;
  sha256: string;
}

function fileError(line: number, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError("INVALID_RATES_FILE", line > 0 ? `rates file line ${line}: ${message}` : `rates file: ${message}`, { details: { line, ...details } });
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/**
 * Parses an ECB reference-rate CSV. Errors (INVALID_RATES_FILE), in order: too large, not CSV
 * (unbalanced quotes), no header, a header whose first column is not "Date" or with a bad or
 * duplicate currency code, too many rows or columns, then per row in file order: a wrong number of
 * cells, a date that is not a real YYYY-MM-DD date, a duplicate date, a rate that is not a positive
 * decimal.
 */
export function parseEcbRatesCsv(text: string): RatesFile {
  if (Buffer.byteLength(text, "utf8") > MAX_RATES_FILE_BYTES) throw fileError(0, `larger than ${MAX_RATES_FILE_BYTES} bytes`);
  let rows: CsvRecord[];
  try {
    rows = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: false, trim: false }) as unknown as CsvRecord[];
  } catch (e) {
    const line = typeof (e as { lines?: unknown }).lines === "number" ? (e as { lines: number }).lines : 0;
    throw fileError(line, `not readable as CSV: ${(e as Error).message}`);
  }
  const header = rows[0];
  if (!header) throw fileError(1, "the file is empty; expected a header Date,USD,JPY,...");
  // The ECB ends every line with a comma; when the header does, every row must, and that last empty
  // cell is not a column.
  const hasTrailingComma = header.record.length > 1 && header.record[header.record.length - 1] === "";
  const width = header.record.length;
  const headerCells = hasTrailingComma ? header.record.slice(0, -1) : header.record;
  if (headerCells[0] !== "Date") throw fileError(1, `the first column must be "Date", found ${JSON.stringify(headerCells[0] ?? "")}`);
  const currencies = headerCells.slice(1);
  if (currencies.length === 0) throw fileError(1, "the header names no currency");
  if (currencies.length > MAX_RATE_CURRENCIES) throw fileError(1, `more than ${MAX_RATE_CURRENCIES} currencies`);
  const seenCurrencies = new Set<string>();
  for (const [i, c] of currencies.entries()) {
    if (!CURRENCY.test(c)) throw fileError(1, `column ${i + 2}: ${JSON.stringify(c)} is not a three-letter currency code`, { column: i + 2 });
    if (c === "EUR") throw fileError(1, `column ${i + 2}: EUR is the base currency and cannot have a rate`, { column: i + 2 });
    if (seenCurrencies.has(c)) throw fileError(1, `column ${i + 2}: currency ${c} appears twice`, { column: i + 2 });
    seenCurrencies.add(c);
  }
  if (rows.length - 1 > MAX_RATE_DAYS) throw fileError(0, `more than ${MAX_RATE_DAYS} rows`);

  const days: ReferenceDay[] = [];
  const seenDates = new Map<string, number>();
  let rateCount = 0;
  for (const row of rows.slice(1)) {
    const line = row.info.lines;
    if (row.record.length === 1 && row.record[0] === "") throw fileError(line, "the line is blank");
    if (row.record.length !== width) {
      const found = hasTrailingComma ? row.record.length - 1 : row.record.length;
      throw fileError(line, `expected ${currencies.length + 1} cells (Date and ${currencies.length} currencies${hasTrailingComma ? ", then a trailing comma" : ""}), found ${found}`, { cells: found });
    }
    if (hasTrailingComma && row.record[width - 1] !== "") {
      throw fileError(line, `expected the line to end with a comma like the header, found ${JSON.stringify(row.record[width - 1])} after the last currency`);
    }
    const cells = hasTrailingComma ? row.record.slice(0, -1) : row.record;
    const date = cells[0]!;
    if (!isIsoDate(date)) throw fileError(line, `column Date (1): ${JSON.stringify(date)} is not a YYYY-MM-DD date`, { column: "Date" });
    const earlier = seenDates.get(date);
    if (earlier !== undefined) throw fileError(line, `date ${date} already appears on line ${earlier}`, { date });
    seenDates.set(date, line);
    const rates = new Map<string, ReferenceRate>();
    for (const [i, currency] of currencies.entries()) {
      const cell = cells[i + 1]!;
      if (cell === "N/A" || cell === "") continue;
      const where = `column ${currency} (${i + 2})`;
      const rate = parseExactDecimal(cell, {
        what: `rates file line ${line}: ${where}: rate`,
        code: "INVALID_RATES_FILE",
        details: { line, column: currency, date },
      });
      rates.set(currency, { rate, text: cell });
      rateCount++;
    }
    days.push({ date, rates });
  }
  return { days, currencies, rateCount, sha256: createHash("sha256").update(text, "utf8").digest("hex") };
}
