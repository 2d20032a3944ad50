/**
 * How much a benchmark run wrote, counted by PostgreSQL rather than timed: WAL bytes (from the
 * WAL position, exact), WAL records and full-page images (pg_stat_wal), and per hot table its row
 * inserts and updates and how many updates stayed on their page without index entries (HOT).
 * Unlike statement times, which on a shared two-core machine include waiting for a core, these
 * figures repeat from run to run, so a change to the write path shows in them directly.
 */
import type pg from "pg";

/** The tables a transfer writes on its way, the product's and the simulated partner's. */
export const HOT_TABLES = [
  "transfers",
  "transfer_events",
  "outbox_events",
  "webhook_events",
  "partner_requests",
  "holds",
  "journal_entries",
  "postings",
  "account_balances",
  "sandbox_payments",
  "sandbox_webhook_deliveries",
] as const;

export interface WriteSnapshot {
  walLsn: string;
  walRecords: number;
  walFpi: number;
  tables: Map<string, { inserts: number; updates: number; hotUpdates: number }>;
}

export async function writeSnapshot(pool: pg.Pool): Promise<WriteSnapshot> {
  const wal = await pool.query<{ lsn: string; records: string; fpi: string }>(
    `SELECT pg_current_wal_lsn()::text AS lsn, wal_records::text AS records, wal_fpi::text AS fpi FROM pg_stat_wal`,
  );
  const t = await pool.query<{ relname: string; ins: string; upd: string; hot: string }>(
    `SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY($1::text[])`,
    [[...HOT_TABLES]],
  );
  return {
    walLsn: wal.rows[0]!.lsn,
    walRecords: Number(wal.rows[0]!.records),
    walFpi: Number(wal.rows[0]!.fpi),
    tables: new Map(t.rows.map((r) => [r.relname, { inserts: Number(r.ins), updates: Number(r.upd), hotUpdates: Number(r.hot) }])),
  };
}

export interface WriteVolume {
  walBytesPerUnit: number;
  walRecordsPerUnit: number;
  walFpiPerUnit: number;
  /** Per table: row inserts and updates per unit, and the share of updates that were HOT. */
  tables: Record<string, { insertsPerUnit: number; updatesPerUnit: number; hotShare: number | null }>;
}

/** What was written between two snapshots, per unit of work (per settled transfer). */
export async function writeVolume(pool: pg.Pool, before: WriteSnapshot, after: WriteSnapshot, units: number): Promise<WriteVolume> {
  const n = Math.max(1, units);
  const bytes = await pool.query<{ b: string }>(`SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS b`, [after.walLsn, before.walLsn]);
  const tables: WriteVolume["tables"] = {};
  for (const name of HOT_TABLES) {
    const a = after.tables.get(name);
    const b = before.tables.get(name) ?? { inserts: 0, updates: 0, hotUpdates: 0 };
    if (!a) continue;
    const updates = a.updates - b.updates;
    tables[name] = {
      insertsPerUnit: round((a.inserts - b.inserts) / n),
      updatesPerUnit: round(updates / n),
      hotShare: updates > 0 ? round((a.hotUpdates - b.hotUpdates) / updates) : null,
    };
  }
  return {
    walBytesPerUnit: Math.round(Number(bytes.rows[0]!.b) / n),
    walRecordsPerUnit: round((after.walRecords - before.walRecords) / n),
    walFpiPerUnit: round((after.walFpi - before.walFpi) / n),
    tables,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function describeWriteVolume(v: WriteVolume, unit: string): string {
  const rows = Object.entries(v.tables)
    .filter(([, t]) => t.insertsPerUnit > 0 || t.updatesPerUnit > 0)
    .map(([name, t]) => `${name} ${t.insertsPerUnit}+${t.updatesPerUnit}${t.hotShare !== null && t.updatesPerUnit > 0 ? ` (${Math.round(t.hotShare * 100)}% HOT)` : ""}`);
  return (
    `    database writes per ${unit}: WAL ${v.walBytesPerUnit} bytes, ${v.walRecordsPerUnit} records (${v.walFpiPerUnit} full-page images)\n` +
    `    rows inserted+updated per ${unit}: ${rows.join(", ")}`
  );
}
