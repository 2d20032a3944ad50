/**
 * Importing statement files (camt.053 or a CSV feed) into a source: streamed, exact, atomic and
 * idempotent.
 *
 * Invariants kept:
 * - Atomic: the whole file is imported in one transaction; any error (a bad amount on line
 *   900,000, an unbalanced statement, a file over the limit) rolls everything back, and the error
 *   names the element path or line.
 * - Idempotent: the same file (SHA-256) for the same source, or a statement whose id and sequence
 *   the source already has, is a reported no-op. Imports of one source are serialised by an
 *   advisory lock, so the check cannot race.
 * - Streamed: lines go to PostgreSQL with COPY as they are read (one COPY per statement); memory
 *   holds one entry, the statements' summaries and a buffer, not the file.
 * - Balances: opening + booked entries = closing for every statement that gives both (else
 *   STATEMENT_UNBALANCED, nothing imported); an opening that differs from the previous statement's
 *   closing, or a skipped sequence number, opens a break of its own (statement_gap or
 *   balance_mismatch) without refusing the file.
 * - A statement names the source's account (IBAN or other id) and its balances are in the
 *   source's currency; a single entry in another currency is kept as a line (it becomes a
 *   currency_mismatch break when matched, never a match).
 */
import { createHash, randomUUID } from "node:crypto";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { once } from "node:events";
import { z } from "zod";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { acquireClient, releaseClient } from "../db/connection";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError, isAppError } from "../errors/app-error";
import { toAppError } from "../errors/db-errors";
import { formatAmount } from "../money/amount";
import { readCamt053 } from "../partners/camt053/reader";
import { RECON_STATEMENT_TIMEOUT } from "./matching";
import { csvStatementHeader, readCsvFeed } from "./csv-feed";
import { MAX_STATEMENT_FILE_BYTES, sniffFormat } from "./statement-file";
import { currentCsvMapping, findSourceByAccount, getSource, normalizeIban, type ReconSource } from "./sources";
import { referenceKeys } from "./references";
import { signedBalance, type StatementEntry, type StatementHeader } from "../partners/statement-types";

/**
 * The largest file the API takes: base64 in a JSON body, so 4/3 of it must fit under the API's
 * body limit (TRPC_MAX_BODY_BYTES, 4 MiB) with room for the rest of the request. Bigger files are
 * imported from disk.
 */
export const API_MAX_IMPORT_BYTES = 3_000_000;

/** COPY buffers are flushed at this size. */
const COPY_FLUSH_BYTES = 256 * 1024;

export interface ImportInput {
  /** Optional for camt.053: the source is then the one whose IBAN (or other id) the statement names. */
  sourceId?: string | null;
  fileName: string;
  content: Uint8Array | AsyncIterable<Uint8Array>;
  /** A lower limit than MAX_STATEMENT_FILE_BYTES (the API's). */
  maxBytes?: number;
}

export interface ImportedStatement {
  statementRef: string;
  sequence: string | null;
  lineCount: number;
  /** false: already imported earlier (same id and sequence), skipped. */
  isNew: boolean;
  place: string;
}

export interface ImportOutcome {
  /** imported | duplicate_file (the same file was imported before) | nothing_new (every statement was already imported). */
  status: "imported" | "duplicate_file" | "nothing_new";
  importId: string | null;
  sourceId: string | null;
  fileSha256: string;
  sizeBytes: number;
  format: string | null;
  statements: ImportedStatement[];
  lineCount: number;
  /** Breaks the import itself opened (gaps and balance breaks between statements). */
  breaks: { type: "statement_gap" | "balance_mismatch"; statementRef: string; message: string }[];
  /** Booking dates the new lines span (for the matching run the import triggers). */
  periodFrom: string | null;
  periodTo: string | null;
}

export const importInputSchema = z.object({
  sourceId: z.uuid().nullish(),
  fileName: z.string().trim().min(1).max(255),
});

interface StatementDraft {
  id: string;
  header: StatementHeader;
  sequenceNo: bigint | null;
  lineCount: number;
  netMinor: bigint;
  periodFrom: string | null;
  periodTo: string | null;
  copy: CopyWriter | null;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** Escapes a value for COPY's text format. */
function copyValue(v: string | null): string {
  if (v === null) return "\\N";
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

const LINE_COLUMNS =
  "source_id, statement_id, line_index, amount_minor, currency, direction, is_booked, is_reversal, booking_date, value_date, account_servicer_reference, end_to_end_id, remittance_info, counterparty_name, counterparty_account, bank_transaction_code, details, place, ref_keys";

/** One COPY into recon_lines, fed row by row with backpressure. */
class CopyWriter {
  private buffer = "";
  private readonly stream: ReturnType<typeof copyFrom>;
  private readonly done: Promise<void>;

  constructor(client: pg.PoolClient) {
    this.stream = client.query(copyFrom(`COPY recon_lines (${LINE_COLUMNS}) FROM STDIN`));
    this.done = new Promise((resolve, reject) => {
      this.stream.on("finish", resolve);
      this.stream.on("error", reject);
    });
    // Keep an early server error from becoming an unhandled rejection; end() or abort() awaits it.
    this.done.catch(() => {});
  }

  /** Adds one row (its columns already in COPY text, tab-separated); a promise only when the buffer is sent. */
  row(text: string): Promise<void> | undefined {
    this.buffer += text + "\n";
    return this.buffer.length >= COPY_FLUSH_BYTES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    const chunk = this.buffer;
    this.buffer = "";
    if (chunk.length > 0 && !this.stream.write(chunk)) await Promise.race([once(this.stream, "drain"), this.done]);
  }

  async end(): Promise<void> {
    await this.flush();
    this.stream.end();
    await this.done;
  }

  /** Abandons the COPY (the server aborts it and the transaction with it). */
  async abort(): Promise<void> {
    this.stream.destroy(new Error("import abandoned"));
    await this.done.catch(() => {});
  }
}

function statementError(code: "STATEMENT_INVALID" | "STATEMENT_UNBALANCED" | "STATEMENT_UNKNOWN_ACCOUNT" | "CURRENCY_MISMATCH", place: string, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError(code, `${place}: ${message}`, { details: { place, ...details } });
}

function tooLarge(limitBytes: number): AppError {
  return new AppError("STATEMENT_TOO_LARGE", `the file is larger than the limit of ${limitBytes} bytes`, { details: { place: "file", limitBytes } });
}

async function* limited(content: Uint8Array | AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash>, counter: { bytes: number }, limitBytes: number): AsyncGenerator<Uint8Array> {
  const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = content instanceof Uint8Array ? [content] : content;
  for await (const chunk of chunks) {
    counter.bytes += chunk.byteLength;
    if (counter.bytes > limitBytes) throw tooLarge(limitBytes);
    hash.update(chunk);
    yield chunk;
  }
}

/** The first bytes of a stream, and the stream again from its start. */
async function peek(content: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ head: string; content: Uint8Array | AsyncIterable<Uint8Array> }> {
  if (content instanceof Uint8Array) return { head: Buffer.from(content.subarray(0, 512)).toString("utf8"), content };
  const it = content[Symbol.asyncIterator]();
  const first = await it.next();
  const firstChunk = first.done ? new Uint8Array(0) : first.value;
  async function* again() {
    yield firstChunk;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head: Buffer.from(firstChunk.subarray(0, 512)).toString("utf8"), content: again() };
}

const isoDate = (d: Date | string) => (typeof d === "string" ? d : d.toISOString().slice(0, 10));

/**
 * Imports one file into a source.
 *
 * Errors, in order (nothing is written when any is thrown): NOT_FOUND (sourceId unknown);
 * BAD_INPUT (the source is inactive; a CSV file for a camt.053 source or no source for a CSV);
 * STATEMENT_TOO_LARGE (over MAX_STATEMENT_FILE_BYTES); STATEMENT_INVALID /
 * STATEMENT_VERSION_UNSUPPORTED (from the readers, naming the place); STATEMENT_UNKNOWN_ACCOUNT
 * (the statement names an IBAN or account no source has, or not the given source's);
 * CURRENCY_MISMATCH (the statement's account or balance currency is not the source's);
 * STATEMENT_INVALID (an entry without booking or value date); STATEMENT_UNBALANCED (opening +
 * entries differs from closing). A duplicate file or already imported statements are not errors:
 * the outcome says so.
 */
export async function importStatement(db: Pick<DbHandles, "pool">, actor: AuditActor, input: ImportInput, opts: { requestId?: string | null; now?: Date } = {}): Promise<ImportOutcome> {
  const now = opts.now ?? new Date();
  const limitBytes = Math.min(input.maxBytes ?? MAX_STATEMENT_FILE_BYTES, MAX_STATEMENT_FILE_BYTES);
  if (input.content instanceof Uint8Array && input.content.byteLength > limitBytes) throw tooLarge(limitBytes);
  const { head, content } = await peek(input.content);
  const format = sniffFormat(head);
  let source: ReconSource | null = input.sourceId ? await getSource(db, input.sourceId) : null;
  if (source && !source.isActive) throw new AppError("BAD_INPUT", `source ${source.name} is inactive`);
  if (format === "csv" && !source) throw new AppError("BAD_INPUT", "a CSV file needs its source (sourceId): CSV names no account");
  if (format === "csv" && source && source.csvMappingVersion === null) throw new AppError("BAD_INPUT", `source ${source.name} reads camt.053 statements, and this file is not XML`);
  if (format === "camt053" && source && source.csvMappingVersion !== null) throw new AppError("BAD_INPUT", `source ${source.name} reads CSV with a column mapping, and this file is XML`);

  const hash = createHash("sha256");
  const counter = { bytes: 0 };
  const client = await acquireClient(db.pool);
  let isBroken = false;
  let open: CopyWriter | null = null;
  try {
    await client.query("BEGIN");
    await client.query(RECON_STATEMENT_TIMEOUT);
    const sql = pgRunner(client);
    const lockSource = async (s: ReconSource) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('recon:import:' || $1, 0))`, [s.id]);
    };
    if (source) await lockSource(source);
    if (input.content instanceof Uint8Array && source) {
      const sha = createHash("sha256").update(input.content).digest("hex");
      const dup = await client.query(`SELECT id FROM recon_imports WHERE source_id = $1 AND file_sha256 = $2`, [source.id, sha]);
      if (dup.rowCount) {
        await client.query("ROLLBACK");
        return { status: "duplicate_file", importId: null, sourceId: source.id, fileSha256: sha, sizeBytes: input.content.byteLength, format: null, statements: [], lineCount: 0, breaks: [], periodFrom: null, periodTo: null };
      }
    }

    const statements: StatementDraft[] = [];
    const skipped: ImportedStatement[] = [];
    let current: StatementDraft | null = null;
    let skipCurrent = false;
    let formatName: string | null = null;

    const beginStatement = async (header: StatementHeader) => {
      formatName = header.format;
      if (format === "camt053") {
        if (!source) {
          source = await findSourceByAccount(sql, { iban: header.accountIban, otherId: header.accountOtherId });
          if (!source) throw statementError("STATEMENT_UNKNOWN_ACCOUNT", `${header.place}/Acct`, `no reconciliation source is set up for account ${header.accountIban ?? header.accountOtherId}`, { iban: header.accountIban, otherId: header.accountOtherId });
          if (!source.isActive) throw new AppError("BAD_INPUT", `source ${source.name} is inactive`);
          await lockSource(source);
        }
        const isOurs = (header.accountIban !== null && source.iban === normalizeIban(header.accountIban)) || (header.accountOtherId !== null && source.externalAccountId === header.accountOtherId);
        if (!isOurs) {
          throw statementError("STATEMENT_UNKNOWN_ACCOUNT", `${header.place}/Acct`, `the statement is for account ${header.accountIban ?? header.accountOtherId}, but source ${source.name} is account ${source.iban ?? source.externalAccountId}`, {
            iban: header.accountIban,
            otherId: header.accountOtherId,
          });
        }
        if (header.accountCurrency !== null && header.accountCurrency !== source.currency) {
          throw statementError("CURRENCY_MISMATCH", `${header.place}/Acct/Ccy`, `the account's currency is ${header.accountCurrency}, but source ${source.name} is in ${source.currency}`);
        }
        for (const [name, b] of [["opening balance", header.openingBalance], ["closing balance", header.closingBalance]] as const) {
          if (b && b.currency !== source.currency) throw statementError("CURRENCY_MISMATCH", `${header.place}/Bal`, `the ${name} is in ${b.currency}, but source ${source.name} is in ${source.currency}`);
        }
      }
      const sequence = header.sequence ?? "";
      // A CSV file is one statement whose identity is the file itself: its hash decides duplicates.
      const duplicate =
        format === "camt053" &&
        (statements.some((s) => s.header.statementId === header.statementId && (s.header.sequence ?? "") === sequence) ||
        ((await client.query(`SELECT 1 FROM recon_statements WHERE source_id = $1 AND statement_ref = $2 AND sequence = $3`, [source!.id, header.statementId, sequence])).rowCount ?? 0) > 0);
      skipCurrent = duplicate;
      if (duplicate) {
        skipped.push({ statementRef: header.statementId, sequence: header.sequence, lineCount: 0, isNew: false, place: header.place });
        current = null;
        return;
      }
      current = {
        id: randomUUID(),
        header,
        sequenceNo: header.sequence !== null && /^\d{1,18}$/.test(header.sequence) ? BigInt(header.sequence) : null,
        lineCount: 0,
        netMinor: 0n,
        periodFrom: null,
        periodTo: null,
        copy: null,
      };
      statements.push(current);
    };

    // Synchronous unless the COPY buffer is sent: a million entries, and each await is a turn of
    // the event loop. Columns that cannot hold a tab, newline or backslash (ids, numbers, codes the
    // reader checked, dates, element paths, normalized references) skip the escape test.
    const addEntry = (e: StatementEntry): Promise<void> | undefined => {
      if (skipCurrent || !current) return;
      const bookingDate = e.bookingDate ?? e.valueDate;
      if (bookingDate === null) throw statementError("STATEMENT_INVALID", e.place, "the entry has neither a booking date nor a value date");
      if (!current.copy) current.copy = open = new CopyWriter(client);
      const isBooked = e.status === "BOOK";
      if (isBooked && e.currency === source!.currency) current.netMinor += e.direction === "credit" ? e.amountMinor : -e.amountMinor;
      current.lineCount++;
      if (current.periodFrom === null || bookingDate < current.periodFrom) current.periodFrom = bookingDate;
      if (current.periodTo === null || bookingDate > current.periodTo) current.periodTo = bookingDate;
      const details = e.details.length > 0 ? JSON.stringify(e.details.map((d) => ({ ...d, amountMinor: d.amountMinor?.toString() ?? null }))) : null;
      // LINE_COLUMNS order. Normalized references are [a-z0-9] only, so no array quoting is needed.
      return current.copy.row(
        `${source!.id}\t${current.id}\t${e.index}\t${e.amountMinor}\t${e.currency}\t${e.direction}\t${isBooked ? "t" : "f"}\t${e.isReversal ? "t" : "f"}\t${bookingDate}\t${e.valueDate ?? "\\N"}\t` +
          `${copyValue(e.accountServicerReference)}\t${copyValue(e.endToEndId)}\t${copyValue(e.remittanceInfo)}\t${copyValue(e.counterpartyName)}\t${copyValue(e.counterpartyAccount)}\t` +
          `${copyValue(e.bankTransactionCode)}\t${copyValue(details)}\t${e.place}\t{${referenceKeys([e.endToEndId, e.accountServicerReference, e.remittanceInfo]).join(",")}}`,
      );
    };

    const endStatement = async () => {
      const s = current;
      if (!s) return;
      if (s.copy) {
        await s.copy.end();
        open = null;
      }
      const { openingBalance: o, closingBalance: c } = s.header;
      if (o && c && signedBalance(o) + s.netMinor !== signedBalance(c)) {
        const cur = source!.currency;
        throw statementError(
          "STATEMENT_UNBALANCED",
          s.header.place,
          `opening ${formatAmount(signedBalance(o), cur)} + entries ${formatAmount(s.netMinor, cur)} = ${formatAmount(signedBalance(o) + s.netMinor, cur)}, but the closing balance is ${formatAmount(signedBalance(c), cur)}`,
          { openingMinor: signedBalance(o).toString(), netMinor: s.netMinor.toString(), closingMinor: signedBalance(c).toString() },
        );
      }
      current = null;
    };

    const stream = limited(content, hash, counter, limitBytes);
    if (format === "camt053") {
      await readCamt053(stream, {
        statement: (h) => beginStatement(h),
        entry: (e) => addEntry(e),
        statementEnd: () => endStatement(),
      });
    } else {
      const mapping = await currentCsvMapping(sql, source!);
      await beginStatement(csvStatementHeader(`csv:${mapping.name}@${mapping.version}`, input.fileName));
      await readCsvFeed(stream, { mapping: mapping.mapping, onEntry: (e) => addEntry(e) });
      await endStatement();
    }
    const sha = hash.digest("hex");
    if (!source) throw new AppError("STATEMENT_INVALID", "the file holds no statement");
    const src: ReconSource = source;
    const dup = await client.query(`SELECT id FROM recon_imports WHERE source_id = $1 AND file_sha256 = $2`, [src.id, sha]);
    const base = { sourceId: src.id, fileSha256: sha, sizeBytes: counter.bytes, format: formatName };
    if (dup.rowCount) {
      await client.query("ROLLBACK");
      return { ...base, status: "duplicate_file", importId: null, statements: [], lineCount: 0, breaks: [], periodFrom: null, periodTo: null };
    }
    if (statements.length === 0) {
      await client.query("ROLLBACK");
      return { ...base, status: "nothing_new", importId: null, statements: skipped, lineCount: 0, breaks: [], periodFrom: null, periodTo: null };
    }

    const importId = randomUUID();
    const lineCount = statements.reduce((n, s) => n + s.lineCount, 0);
    await client.query(
      `INSERT INTO recon_imports (id, source_id, file_sha256, file_name, size_bytes, format, statement_count, line_count, skipped, actor_type, actor_id, actor_label, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [importId, src.id, sha, input.fileName, counter.bytes, formatName, statements.length, lineCount, JSON.stringify(skipped.map((s) => ({ statementRef: s.statementRef, sequence: s.sequence }))), actor.type, actor.id, actor.label, now],
    );
    const breaks: ImportOutcome["breaks"] = [];
    for (const s of statements) {
      const o = s.header.openingBalance;
      const c = s.header.closingBalance;
      const periodFrom = s.periodFrom ?? o?.date ?? c?.date ?? isoDate(now);
      const periodTo = s.periodTo ?? c?.date ?? o?.date ?? periodFrom;
      await client.query(
        `INSERT INTO recon_statements (id, source_id, import_id, statement_ref, sequence, sequence_no, format, currency, opening_minor, opening_date, closing_minor, closing_date,
           net_minor, line_count, period_from, period_to, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [
          s.id, src.id, importId, s.header.statementId, format === "csv" ? sha.slice(0, 16) : (s.header.sequence ?? ""), s.sequenceNo?.toString() ?? null, s.header.format, src.currency,
          o ? signedBalance(o).toString() : null, o?.date ?? null, c ? signedBalance(c).toString() : null, c?.date ?? null,
          s.netMinor.toString(), s.lineCount, periodFrom < periodTo ? periodFrom : periodTo, periodTo > periodFrom ? periodTo : periodFrom, now,
        ],
      );
      const b = await checkContinuity(client, src, s, now);
      if (b) breaks.push({ ...b, statementRef: s.header.statementId });
    }
    const gapsFilled = await resolveFilledGaps(client, src, now);
    await appendAudit(sql, {
      actor,
      action: "recon.import",
      targetType: "recon_import",
      targetId: importId,
      after: { source: src.name, fileName: input.fileName, sha256: sha, sizeBytes: counter.bytes, format: formatName, statements: statements.map((s) => s.header.statementId), lines: lineCount, skipped: skipped.length, breaks: breaks.length, gapsFilled },
      requestId: opts.requestId ?? null,
      at: now,
    });
    await client.query("COMMIT");
    const froms = statements.map((s) => s.periodFrom).filter((d): d is string => d !== null).sort();
    const tos = statements.map((s) => s.periodTo).filter((d): d is string => d !== null).sort();
    return {
      ...base,
      status: "imported",
      importId,
      statements: [...statements.map((s) => ({ statementRef: s.header.statementId, sequence: s.header.sequence, lineCount: s.lineCount, isNew: true, place: s.header.place })), ...skipped],
      lineCount,
      breaks,
      periodFrom: froms[0] ?? null,
      periodTo: tos.at(-1) ?? null,
    };
  } catch (e) {
    if (open) await (open as CopyWriter).abort();
    const mapped = toAppError(e);
    if (mapped?.code === "DB_UNAVAILABLE") isBroken = true;
    else await client.query("ROLLBACK").catch(() => (isBroken = true));
    if (isAppError(e)) throw e;
    throw mapped ?? e;
  } finally {
    releaseClient(client, isBroken);
  }
}

/**
 * Compares a new statement with the source's previous one (by sequence number, else by closing
 * date) and opens a break when one is missing in between (statement_gap) or the opening does not
 * continue the previous closing (balance_mismatch). Returns what it opened.
 */
async function checkContinuity(client: pg.PoolClient, source: ReconSource, s: StatementDraft, now: Date): Promise<{ type: "statement_gap" | "balance_mismatch"; message: string } | null> {
  const opening = s.header.openingBalance;
  if (!opening) return null;
  const prev = (
    await client.query<{ id: string; statement_ref: string; sequence: string; sequence_no: string | null; closing_minor: string | null; closing_date: string | null }>(
      s.sequenceNo !== null
        ? `SELECT id, statement_ref, sequence, sequence_no::text, closing_minor::text, closing_date::text FROM recon_statements
            WHERE source_id = $1 AND id <> $2 AND sequence_no < $3 ORDER BY sequence_no DESC LIMIT 1`
        : `SELECT id, statement_ref, sequence, sequence_no::text, closing_minor::text, closing_date::text FROM recon_statements
            WHERE source_id = $1 AND id <> $2 AND closing_date <= $3::date ORDER BY closing_date DESC, created_at DESC LIMIT 1`,
      [source.id, s.id, s.sequenceNo !== null ? s.sequenceNo.toString() : opening.date],
    )
  ).rows[0];
  if (!prev || prev.closing_minor === null) return null;
  const cur = source.currency;
  const previousClosing = BigInt(prev.closing_minor);
  const isSkipped = s.sequenceNo !== null && prev.sequence_no !== null && s.sequenceNo - BigInt(prev.sequence_no) > 1n;
  const isDiscontinuous = previousClosing !== signedBalance(opening);
  if (!isSkipped && !isDiscontinuous) return null;
  const type = isSkipped ? "statement_gap" : "balance_mismatch";
  const differenceMinor = signedBalance(opening) - previousClosing;
  const message = isSkipped
    ? `statements ${BigInt(prev.sequence_no!) + 1n} to ${s.sequenceNo! - 1n} are missing between ${prev.statement_ref} and ${s.header.statementId}`
    : `the opening balance ${formatAmount(signedBalance(opening), cur)} of ${s.header.statementId} does not continue the closing balance ${formatAmount(previousClosing, cur)} of ${prev.statement_ref}`;
  const id = randomUUID();
  await client.query(
    `INSERT INTO recon_breaks (id, source_id, type, status, amount_minor, currency, direction, statement_id, occurred_on, opened_at, detail)
     VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10)`,
    [
      id, source.id, type, (differenceMinor < 0n ? -differenceMinor : differenceMinor).toString(), cur, differenceMinor === 0n ? null : differenceMinor > 0n ? "credit" : "debit",
      s.id, opening.date, now,
      JSON.stringify({ message, previousStatementId: prev.id, previousStatementRef: prev.statement_ref, previousSequence: prev.sequence, previousClosingMinor: previousClosing.toString(), openingMinor: signedBalance(opening).toString(), differenceMinor: differenceMinor.toString() }),
    ],
  );
  await client.query(
    `INSERT INTO recon_break_events (break_id, kind, actor_type, actor_id, actor_label, note, detail, created_at) VALUES ($1, 'opened', 'system', NULL, 'recon-import', $2, '{}', $3)`,
    [id, message, now],
  );
  return { type, message };
}

/**
 * Closes the source's open statement_gap breaks whose missing statements have all arrived (a
 * statement imported late fills the gap). Returns how many it closed.
 */
async function resolveFilledGaps(client: pg.PoolClient, source: ReconSource, now: Date): Promise<number> {
  const res = await client.query<{ id: string }>(
    `WITH gaps AS (
       SELECT b.id, (b.detail->>'previousSequence')::bigint AS from_seq, st.sequence_no AS to_seq
         FROM recon_breaks b JOIN recon_statements st ON st.id = b.statement_id
        WHERE b.source_id = $1 AND b.type = 'statement_gap' AND b.status <> 'resolved' AND st.sequence_no IS NOT NULL
          AND b.detail->>'previousSequence' ~ '^[0-9]{1,18}$'),
     filled AS (
       SELECT g.id FROM gaps g
        WHERE (SELECT count(DISTINCT s.sequence_no) FROM recon_statements s WHERE s.source_id = $1 AND s.sequence_no > g.from_seq AND s.sequence_no < g.to_seq) = g.to_seq - g.from_seq - 1),
     closed AS (
       UPDATE recon_breaks b SET status = 'resolved', resolution = 'gap_filled', resolved_at = $2, resolved_by = 'recon-import', version = b.version + 1
         FROM filled WHERE b.id = filled.id RETURNING b.id)
     INSERT INTO recon_break_events (break_id, kind, actor_type, actor_id, actor_label, note, detail, created_at)
     SELECT id, 'resolved', 'system', NULL, 'recon-import', 'the missing statements arrived', '{}', $2 FROM closed
     RETURNING break_id AS id`,
    [source.id, now],
  );
  return res.rowCount ?? 0;
}

