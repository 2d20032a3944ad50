/**
 * Reference rates in the database: importing ECB files, reading the rates a conversion needs, and
 * listing them for the console.
 *
 * Invariants kept:
 * - An import is atomic: the file is parsed whole first (a bad file imports nothing), then every
 *   new rate, the import record and its audit record are written in one transaction.
 * - An import is idempotent: the same file (by SHA-256) is a replay that changes nothing; a
 *   different file that repeats dates already stored adds only what is new, and a repeated
 *   (date, currency) must carry the same exact rate, else the whole file is refused (CONFLICT)
 *   naming the line, date and currency. Stored rates never change (the database refuses it).
 * - Conversions read rates through the same RateHistory/convertAmount as the CLI: the database
 *   only chooses which rows to load (the pair's currencies, within the age limit).
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { parseEcbRatesCsv, type RatesFile } from "./ecb-csv";
import { parseExactDecimal } from "./exact";
import {
  BASE_CURRENCY, RateHistory, convertAmount, daysBetween, isIsoDate, type ConversionRequest, type ConversionResult, type ReferenceDay, type ReferenceRate,
} from "./reference-rates";

/** Rows per INSERT statement during an import. */
export const IMPORT_CHUNK_ROWS = 5_000;
export const MAX_RATE_LIST_ROWS = 5_000;

export interface ImportResult {
  importId: string;
  isReplay: boolean;
  fileName: string;
  sha256: string;
  firstDate: string;
  lastDate: string;
  dayCount: number;
  rateCount: number;
  insertedCount: number;
}

interface ImportRow {
  id: string;
  file_name: string;
  sha256: string;
  first_date: string;
  last_date: string;
  day_count: number;
  rate_count: number;
  inserted_count: number;
}

function toResult(r: ImportRow, isReplay: boolean): ImportResult {
  return {
    importId: r.id, isReplay, fileName: r.file_name, sha256: r.sha256, firstDate: r.first_date, lastDate: r.last_date,
    dayCount: r.day_count, rateCount: r.rate_count, insertedCount: r.inserted_count,
  };
}

const IMPORT_COLUMNS = `id, file_name, sha256, first_date::text, last_date::text, day_count, rate_count, inserted_count`;

/**
 * Imports an ECB reference-rate CSV. Errors, in order: INVALID_RATES_FILE (the file, naming line
 * and column: nothing is written); BAD_INPUT (a file with no dates); CONFLICT (a rate already stored
 * for the same date and currency with a different value, naming the line). A replay of the same
 * file returns the first import with isReplay.
 */
export async function importReferenceRates(db: Pick<DbHandles, "pool">, actor: AuditActor, input: { text: string; fileName: string; now?: Date }): Promise<ImportResult> {
  const file = parseEcbRatesCsv(input.text);
  if (file.days.length === 0) throw new AppError("BAD_INPUT", `rates file ${input.fileName} has a header but no dates`);
  const fileName = input.fileName.slice(0, 200);
  const now = input.now ?? new Date();
  return runTransaction(db.pool, async (client) => {
    const sql = pgRunner(client);
    // One import at a time: the conflict check below must see every committed rate.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('fx_rate_import'))`);
    const existing = await sql.query<ImportRow>(`SELECT ${IMPORT_COLUMNS} FROM fx_rate_imports WHERE sha256 = $1`, [file.sha256]);
    if (existing[0]) return toResult(existing[0], true);

    const dates = file.days.map((d) => d.date).sort();
    const firstDate = dates[0]!;
    const lastDate = dates[dates.length - 1]!;
    const stored = new Map<string, string>();
    const storedRows = await sql.query<{ k: string; rate: string }>(
      `SELECT rate_date::text || ' ' || currency AS k, rate::text AS rate FROM fx_reference_rates WHERE rate_date BETWEEN $1 AND $2 AND currency = ANY($3::text[])`,
      [firstDate, lastDate, file.currencies],
    );
    for (const r of storedRows) stored.set(r.k, r.rate);

    const importId = randomUUID();
    const fresh = newRates(file, stored);
    const row: ImportRow = {
      id: importId, file_name: fileName, sha256: file.sha256, first_date: firstDate, last_date: lastDate,
      day_count: file.days.length, rate_count: file.rateCount, inserted_count: fresh.currency.length,
    };
    await client.query(
      `INSERT INTO fx_rate_imports (id, sha256, file_name, first_date, last_date, day_count, rate_count, inserted_count, imported_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [importId, file.sha256, fileName, firstDate, lastDate, row.day_count, row.rate_count, row.inserted_count, actor.label, now],
    );
    for (let i = 0; i < fresh.currency.length; i += IMPORT_CHUNK_ROWS) {
      await client.query(
        `INSERT INTO fx_reference_rates (currency, rate_date, rate, source, import_id, created_at)
         SELECT c, d::date, r::numeric, 'ecb', $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, d, r)`,
        [fresh.currency.slice(i, i + IMPORT_CHUNK_ROWS), fresh.date.slice(i, i + IMPORT_CHUNK_ROWS), fresh.rate.slice(i, i + IMPORT_CHUNK_ROWS), importId, now],
      );
    }
    await appendAudit(sql, {
      actor, action: "pricing.rates.import", targetType: "fx_rate_import", targetId: importId, at: now,
      after: { fileName, sha256: file.sha256, firstDate, lastDate, dayCount: row.day_count, rateCount: row.rate_count, insertedCount: row.inserted_count },
    });
    return toResult(row, false);
  });
}

/** The file's rates not yet stored; CONFLICT on a stored rate with a different exact value. */
function newRates(file: RatesFile, stored: Map<string, string>): { currency: string[]; date: string[]; rate: string[] } {
  const out = { currency: [] as string[], date: [] as string[], rate: [] as string[] };
  for (const day of file.days) {
    for (const [currency, r] of day.rates) {
      const have = stored.get(`${day.date} ${currency}`);
      if (have === undefined) {
        out.currency.push(currency);
        out.date.push(day.date);
        out.rate.push(r.text);
      } else if (!parseExactDecimal(have, { what: "stored rate", code: "INTERNAL" }).equals(r.rate)) {
        throw new AppError("CONFLICT", `rates file: ${currency} on ${day.date} is ${r.text}, but ${have} is already stored; stored rates never change, so nothing was imported`, {
          details: { date: day.date, currency, fileRate: r.text, storedRate: have },
        });
      }
    }
  }
  return out;
}

/** Loads the rows a conversion of `from`/`to` on `on` may use: the pair's rates within `maxAgeDays`. */
export async function loadPairHistory(sql: SqlRunner, currencies: string[], on: string, maxAgeDays: number): Promise<RateHistory> {
  const rows = await sql.query<{ currency: string; rate_date: string; rate: string }>(
    `SELECT currency, rate_date::text, rate::text FROM fx_reference_rates
      WHERE currency = ANY($1::text[]) AND rate_date <= $2::date AND rate_date >= $2::date - $3::int`,
    [currencies, on, maxAgeDays],
  );
  return historyFromRows(rows);
}

export function historyFromRows(rows: readonly { currency: string; rate_date: string; rate: string }[]): RateHistory {
  const days = new Map<string, Map<string, ReferenceRate>>();
  for (const r of rows) {
    let day = days.get(r.rate_date);
    if (!day) days.set(r.rate_date, (day = new Map()));
    day.set(r.currency, { rate: parseExactDecimal(r.rate, { what: `stored rate for ${r.currency} on ${r.rate_date}`, code: "INTERNAL" }), text: r.rate });
  }
  return new RateHistory([...days].map(([date, rates]): ReferenceDay => ({ date, rates })));
}

/**
 * convertAmount over the stored rates. Loads only the pair's rows within the age limit (through
 * `load`, which a caller may cache: rates never change once stored); when that
 * finds nothing usable, looks for the newest older common date so the refusal says RATE_STALE
 * (with the date) rather than RATE_NOT_FOUND when rates exist but are too old.
 */
export async function convertWithStoredRates(
  sql: SqlRunner,
  req: ConversionRequest & { maxAgeDays: number },
  load: (currencies: string[], on: string, maxAgeDays: number) => Promise<RateHistory> = (c, on, age) => loadPairHistory(sql, c, on, age),
): Promise<ConversionResult> {
  if (req.from === req.to || !isIsoDate(req.on)) return convertAmount(new RateHistory([]), req);
  const currencies = [req.from, req.to].filter((c) => c !== BASE_CURRENCY);
  const history = await load(currencies, req.on, req.maxAgeDays);
  try {
    return convertAmount(history, req);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== "RATE_NOT_FOUND") throw e;
    const older = await newestCommonDate(sql, currencies, req.on);
    if (older === null) throw e;
    const age = daysBetween(older, req.on);
    throw new AppError("RATE_STALE", `the newest reference rate for ${req.from}/${req.to} on or before ${req.on} is from ${older}, ${age} days old (limit ${req.maxAgeDays})`, {
      details: { from: req.from, to: req.to, on: req.on, rateDate: older, ageDays: age, maxAgeDays: req.maxAgeDays },
    });
  }
}

async function newestCommonDate(sql: SqlRunner, currencies: string[], on: string): Promise<string | null> {
  const rows = currencies.length === 1
    ? await sql.query<{ d: string }>(`SELECT rate_date::text AS d FROM fx_reference_rates WHERE currency = $1 AND rate_date <= $2::date ORDER BY rate_date DESC LIMIT 1`, [currencies[0], on])
    : await sql.query<{ d: string }>(
        `SELECT a.rate_date::text AS d FROM fx_reference_rates a JOIN fx_reference_rates b ON b.currency = $2 AND b.rate_date = a.rate_date
          WHERE a.currency = $1 AND a.rate_date <= $3::date ORDER BY a.rate_date DESC LIMIT 1`,
        [currencies[0], currencies[1], on],
      );
  return rows[0]?.d ?? null;
}

export interface RatePoint {
  date: string;
  rate: string;
  source: "ecb" | "manual";
}

/** A currency's rates between two dates (newest last), for the console's chart. At most MAX_RATE_LIST_ROWS. */
export async function listRates(sql: SqlRunner, input: { currency: string; fromDate: string; toDate: string }): Promise<{ points: RatePoint[]; isTruncated: boolean }> {
  if (!isIsoDate(input.fromDate) || !isIsoDate(input.toDate)) throw new AppError("BAD_INPUT", `fromDate and toDate must be YYYY-MM-DD dates`);
  if (!/^[A-Z]{3}$/.test(input.currency) || input.currency === BASE_CURRENCY) throw new AppError("BAD_INPUT", `currency ${JSON.stringify(input.currency)} has no reference rate (rates are per 1 EUR)`);
  const rows = await sql.query<{ date: string; rate: string; source: "ecb" | "manual" }>(
    `SELECT rate_date::text AS date, rate::text AS rate, source FROM fx_reference_rates
      WHERE currency = $1 AND rate_date BETWEEN $2::date AND $3::date ORDER BY rate_date LIMIT $4`,
    [input.currency, input.fromDate, input.toDate, MAX_RATE_LIST_ROWS + 1],
  );
  return { points: rows.slice(0, MAX_RATE_LIST_ROWS), isTruncated: rows.length > MAX_RATE_LIST_ROWS };
}

/** The imports, newest first (keyset on created_at, id). */
export async function listRateImports(sql: SqlRunner, input: { limit: number; before?: { createdAt: Date; id: string } }) {
  const limit = Math.min(Math.max(input.limit, 1), 100);
  const rows = await sql.query<ImportRow & { imported_by: string; created_at: Date }>(
    `SELECT ${IMPORT_COLUMNS}, imported_by, created_at FROM fx_rate_imports
      WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid)) ORDER BY created_at DESC, id DESC LIMIT $3`,
    [input.before?.createdAt ?? null, input.before?.id ?? null, limit + 1],
  );
  const page = rows.slice(0, limit).map((r) => ({ ...toResult(r, false), importedBy: r.imported_by, createdAt: r.created_at }));
  const last = rows.length > limit ? page[page.length - 1]! : null;
  return { items: page, nextCursor: last ? { createdAt: last.createdAt, id: last.importId } : null };
}
