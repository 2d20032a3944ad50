/**
 * Reconciliation sources: an external feed tied to one ledger account. Admin-managed; every change
 * is audited in the same transaction.
 *
 * Invariants kept:
 * - A source's kind, ledger account and currency never change (trigger recon_sources_guard), and
 *   its currency is its ledger account's.
 * - A bank account source names the account the bank's statements name (IBAN, or the bank's other
 *   id); an IBAN is stored upper case without spaces and belongs to one source.
 * - A CSV mapping is versioned: setting one appends a version and points the source at it; lines
 *   already imported keep the mapping they were read with.
 */
import type pg from "pg";
import { z } from "zod";
import type { DbHandles } from "../db/client";
import { pgRunner, type SqlRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import { appendAudit, type AuditActor } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import { fromRow, type RowOf } from "../core/rows";
import { BUILT_IN_CSV_MAPPINGS, parseCsvMapping, type CsvMapping } from "./csv-feed";

export const SOURCE_KINDS = ["bank_account", "partner_rail", "csv_feed"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface ReconSource {
  id: string;
  name: string;
  kind: SourceKind;
  ledgerAccountId: string;
  ledgerAccountCode: string;
  /** The ledger account's normal side: a statement credit increases the account (it mirrors it). */
  normalSide: "debit" | "credit";
  currency: string;
  iban: string | null;
  externalAccountId: string | null;
  partner: string | null;
  rail: string | null;
  csvMappingVersion: number | null;
  isActive: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

type SourceRow = RowOf<ReconSource>;

const SOURCE_SELECT = `SELECT s.id, s.name, s.kind, s.ledger_account_id, a.code AS ledger_account_code, a.normal_side, s.currency, s.iban, s.external_account_id, s.partner, s.rail,
  s.csv_mapping_version, s.is_active, s.version, s.created_at, s.updated_at
  FROM recon_sources s JOIN ledger_accounts a ON a.id = s.ledger_account_id`;

function toSource(r: SourceRow): ReconSource {
  return { ...fromRow<ReconSource>(r), currency: r.currency.trim() };
}

/** IBANs compare upper case without spaces. */
export function normalizeIban(v: string): string {
  return v.replace(/\s+/g, "").toUpperCase();
}

const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$/;

export const csvMappingInput = z.union([z.object({ builtIn: z.string().min(1).max(50) }).strict(), z.object({ mapping: z.unknown() }).strict()]);
export type CsvMappingInput = z.infer<typeof csvMappingInput>;

export const createSourceInput = z
  .object({
    name: z.string().trim().min(3).max(100),
    kind: z.enum(SOURCE_KINDS),
    /** The ledger account's code ("bank:omnibus:EUR") or id. */
    ledgerAccount: z.string().trim().min(1).max(200),
    iban: z.string().trim().max(40).optional(),
    externalAccountId: z.string().trim().min(1).max(60).optional(),
    partner: z.string().trim().min(1).max(50).optional(),
    rail: z.string().trim().min(1).max(50).optional(),
    csvMapping: csvMappingInput.optional(),
  })
  .strict();
export type CreateSourceInput = z.infer<typeof createSourceInput>;

export async function getSource(db: Pick<DbHandles, "pool"> | { sql: SqlRunner }, idOrName: string): Promise<ReconSource> {
  const sql = "sql" in db ? db.sql : pgRunner(db.pool);
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrName);
  const rows = await sql.query<SourceRow>(`${SOURCE_SELECT} WHERE ${isUuid ? "s.id = $1::uuid" : "s.name = $1"}`, [idOrName]);
  if (!rows[0]) throw new AppError("NOT_FOUND", `reconciliation source ${idOrName} does not exist`, { details: { source: idOrName } });
  return toSource(rows[0]);
}

/** The source whose statements name this IBAN or other account id; null when none. */
export async function findSourceByAccount(sql: SqlRunner, account: { iban: string | null; otherId: string | null }): Promise<ReconSource | null> {
  const rows = await sql.query<SourceRow>(`${SOURCE_SELECT} WHERE (s.iban = $1 AND $1 IS NOT NULL) OR (s.external_account_id = $2 AND $2 IS NOT NULL) LIMIT 1`, [
    account.iban === null ? null : normalizeIban(account.iban),
    account.otherId,
  ]);
  return rows[0] ? toSource(rows[0]) : null;
}

export async function listSources(db: Pick<DbHandles, "pool">): Promise<ReconSource[]> {
  const rows = await pgRunner(db.pool).query<SourceRow>(`${SOURCE_SELECT} ORDER BY s.name LIMIT 500`);
  return rows.map(toSource);
}

function resolveMapping(input: CsvMappingInput): { name: string; mapping: CsvMapping } {
  if ("builtIn" in input) {
    const b = BUILT_IN_CSV_MAPPINGS[input.builtIn];
    if (!b) throw new AppError("BAD_INPUT", `unknown built-in CSV mapping ${JSON.stringify(input.builtIn)}; built in: ${Object.keys(BUILT_IN_CSV_MAPPINGS).join(", ")}`, { details: { field: "csvMapping" } });
    return { name: input.builtIn, mapping: b.mapping };
  }
  return { name: "custom", mapping: parseCsvMapping(input.mapping) };
}

async function insertMapping(c: pg.ClientBase, sourceId: string, m: { name: string; mapping: CsvMapping }, by: string, now: Date): Promise<number> {
  const res = await c.query<{ version: number }>(
    `INSERT INTO recon_csv_mappings (source_id, version, name, mapping, created_at, created_by)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5 FROM recon_csv_mappings WHERE source_id = $1
     RETURNING version`,
    [sourceId, m.name, JSON.stringify(m.mapping), now, by],
  );
  return res.rows[0]!.version;
}

/**
 * Creates a source. Errors, in order: BAD_INPUT (a bank account without IBAN or other id, an IBAN
 * that is not one, a partner rail without partner, a CSV feed without mapping, an unknown or
 * invalid mapping); NOT_FOUND (the ledger account); CONFLICT (the name, IBAN or other id belongs
 * to another source).
 */
export async function createSource(db: Pick<DbHandles, "pool">, actor: AuditActor, input: CreateSourceInput, opts: { requestId?: string | null; now?: Date } = {}): Promise<ReconSource> {
  const now = opts.now ?? new Date();
  const iban = input.iban ? normalizeIban(input.iban) : null;
  if (input.kind === "bank_account" && !iban && !input.externalAccountId) throw new AppError("BAD_INPUT", "a bank account source needs the IBAN (or the bank's other account id) its statements name", { details: { field: "iban" } });
  if (iban && !IBAN.test(iban)) throw new AppError("BAD_INPUT", `iban ${JSON.stringify(input.iban)} is not an IBAN`, { details: { field: "iban" } });
  if (input.kind === "partner_rail" && !input.partner) throw new AppError("BAD_INPUT", "a partner rail source needs its partner", { details: { field: "partner" } });
  if (input.kind === "csv_feed" && !input.csvMapping) throw new AppError("BAD_INPUT", "a CSV feed needs a column mapping (csvMapping)", { details: { field: "csvMapping" } });
  const mapping = input.csvMapping ? resolveMapping(input.csvMapping) : null;
  return runTransaction(db.pool, async (c) => {
    const acct = (
      await c.query<{ id: string; code: string; currency: string }>(`SELECT id, code, currency FROM ledger_accounts WHERE code = $1 OR id::text = $1`, [input.ledgerAccount])
    ).rows[0];
    if (!acct) throw new AppError("NOT_FOUND", `ledger account ${input.ledgerAccount} does not exist`, { details: { field: "ledgerAccount", ledgerAccount: input.ledgerAccount } });
    const clash = (
      await c.query<{ name: string }>(
        `SELECT name FROM recon_sources WHERE name = $1 OR (iban = $2 AND $2 IS NOT NULL) OR (external_account_id = $3 AND $3 IS NOT NULL) LIMIT 1`,
        [input.name, iban, input.externalAccountId ?? null],
      )
    ).rows[0];
    if (clash) throw new AppError("CONFLICT", `source ${clash.name} already has this name, IBAN or account id`, { details: { source: clash.name } });
    const id = (
      await c.query<{ id: string }>(
        `INSERT INTO recon_sources (name, kind, ledger_account_id, currency, iban, external_account_id, partner, rail, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
        [input.name, input.kind, acct.id, acct.currency, iban, input.externalAccountId ?? null, input.partner ?? null, input.rail ?? null, now],
      )
    ).rows[0]!.id;
    if (mapping) {
      const version = await insertMapping(c, id, mapping, actor.label, now);
      await c.query(`UPDATE recon_sources SET csv_mapping_version = $2 WHERE id = $1`, [id, version]);
    }
    const source = await getSource({ sql: pgRunner(c) }, id);
    await appendAudit(pgRunner(c), {
      actor,
      action: "recon.source.create",
      targetType: "recon_source",
      targetId: id,
      after: { ...source, csvMapping: mapping?.name ?? null },
      requestId: opts.requestId ?? null,
      at: now,
    });
    return source;
  });
}

export const updateSourceInput = z
  .object({
    sourceId: z.uuid(),
    expectedVersion: z.number().int().min(0),
    name: z.string().trim().min(3).max(100).optional(),
    isActive: z.boolean().optional(),
    csvMapping: csvMappingInput.optional(),
    reason: z.string().trim().min(3).max(500),
  })
  .strict();
export type UpdateSourceInput = z.infer<typeof updateSourceInput>;

/**
 * Renames, (de)activates or gives a new CSV mapping version to a source, audited with before and
 * after. Errors, in order: NOT_FOUND; VERSION_CONFLICT (expectedVersion is not the current one);
 * BAD_INPUT (a mapping on a camt.053 bank source, an invalid mapping); CONFLICT (the name is taken).
 */
export async function updateSource(db: Pick<DbHandles, "pool">, actor: AuditActor, input: UpdateSourceInput, opts: { requestId?: string | null; now?: Date } = {}): Promise<ReconSource> {
  const now = opts.now ?? new Date();
  return runTransaction(db.pool, async (c) => {
    const lock = await c.query(`SELECT 1 FROM recon_sources WHERE id = $1 FOR UPDATE`, [input.sourceId]);
    if (lock.rowCount === 0) throw new AppError("NOT_FOUND", `reconciliation source ${input.sourceId} does not exist`);
    const before = await getSource({ sql: pgRunner(c) }, input.sourceId);
    if (before.version !== input.expectedVersion) {
      throw new AppError("VERSION_CONFLICT", `source ${before.name} is at version ${before.version}, not ${input.expectedVersion}; reload and try again`, { details: { currentVersion: before.version } });
    }
    let mappingVersion = before.csvMappingVersion;
    if (input.csvMapping) {
      if (before.kind === "bank_account") throw new AppError("BAD_INPUT", `source ${before.name} reads camt.053 statements; it takes no CSV mapping`);
      mappingVersion = await insertMapping(c, before.id, resolveMapping(input.csvMapping), actor.label, now);
    }
    if (input.name && input.name !== before.name) {
      const clash = await c.query(`SELECT 1 FROM recon_sources WHERE name = $1 AND id <> $2`, [input.name, before.id]);
      if (clash.rowCount) throw new AppError("CONFLICT", `another source is already named ${input.name}`, { details: { field: "name" } });
    }
    await c.query(`UPDATE recon_sources SET name = $2, is_active = $3, csv_mapping_version = $4, version = version + 1, updated_at = $5 WHERE id = $1`, [
      before.id,
      input.name ?? before.name,
      input.isActive ?? before.isActive,
      mappingVersion,
      now,
    ]);
    const after = await getSource({ sql: pgRunner(c) }, before.id);
    await appendAudit(pgRunner(c), { actor, action: "recon.source.update", targetType: "recon_source", targetId: before.id, reason: input.reason, before, after, requestId: opts.requestId ?? null, at: now });
    return after;
  });
}

/** The mapping a CSV source reads with now. Errors: BAD_INPUT when the source has none. */
export async function currentCsvMapping(sql: SqlRunner, source: ReconSource): Promise<{ name: string; version: number; mapping: CsvMapping }> {
  if (source.csvMappingVersion === null) throw new AppError("BAD_INPUT", `source ${source.name} has no CSV mapping; it reads camt.053 statements`);
  const rows = await sql.query<{ name: string; mapping: unknown }>(`SELECT name, mapping FROM recon_csv_mappings WHERE source_id = $1 AND version = $2`, [source.id, source.csvMappingVersion]);
  if (!rows[0]) throw new AppError("INTERNAL", `source ${source.name}: mapping version ${source.csvMappingVersion} is missing`);
  return { name: rows[0].name, version: source.csvMappingVersion, mapping: parseCsvMapping(rows[0].mapping) };
}
