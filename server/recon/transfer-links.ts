/**
 * The link between reconciliation and transfers, read at display time: which matches explain a
 * transfer's settlement or return, and which transfers (with their correlation ids) a match or a
 * break concerns. Nothing is copied into the match tables: a match item names a posting, the
 * posting its journal entry, and the transfer names that entry as its settlement_entry_id or
 * return_entry_id (both indexed, migration 20261203050000).
 *
 * Invariants kept:
 * - Every read is one statement, bounded (MATCHES_OF_TRANSFER_MAX, TRANSFERS_OF_BREAK_MAX); none
 *   runs per row of a list.
 * - A transfer's correlation id is the trace id of its stored traceparent (transfers.trace_parent,
 *   see server/observability/tracing.ts); null when the transfer predates correlation ids.
 * - Undone matches are listed too (undoneAt set): the history of what explained the transfer.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { assertUuid } from "../core/validate";
import { traceIdOfTraceParent } from "../observability/tracing";

export const MATCHES_OF_TRANSFER_MAX = 20;
export const TRANSFERS_OF_BREAK_MAX = 20;

/** A statement line of a match, as the transfer page shows it. */
export interface MatchedLine {
  lineId: string;
  statementRef: string;
  bookingDate: string;
  amountMinor: bigint;
  currency: string;
  direction: "credit" | "debit";
  reference: string | null;
}

/** A match that explains one of a transfer's ledger entries. */
export interface TransferReconMatch {
  matchId: string;
  sourceId: string;
  sourceName: string;
  /** Which of the transfer's entries the match explains. */
  entry: "settlement" | "return";
  /** auto | confirmed | manual */
  kind: string;
  rule: string;
  runId: string | null;
  actorLabel: string;
  createdAt: Date;
  undoneAt: Date | null;
  lines: MatchedLine[];
}

interface MatchRaw {
  match_id: string;
  source_id: string;
  source_name: string;
  entry: "settlement" | "return";
  kind: string;
  rule: string;
  run_id: string | null;
  actor_label: string;
  created_at: Date;
  undone_at: Date | null;
  lines: { line_id: string; statement_ref: string; booking_date: string; amount_minor: string; currency: string; direction: "credit" | "debit"; reference: string | null }[] | null;
}

/**
 * The reconciliation matches of a transfer's settlement and return entries (newest first, at most
 * MATCHES_OF_TRANSFER_MAX), each with its statement lines. The match items are found through the
 * sources (a handful), so the (source, posting) key serves the probe. Errors: BAD_INPUT (id).
 */
export async function listMatchesOfTransfer(db: Pick<DbHandles, "pool">, transferId: string): Promise<TransferReconMatch[]> {
  const id = assertUuid(transferId, "transferId");
  const rows = (
    await db.pool.query<MatchRaw>(
      `WITH te AS (
         SELECT t.settlement_entry_id AS entry_id, 'settlement' AS entry FROM transfers t WHERE t.id = $1 AND t.settlement_entry_id IS NOT NULL
         UNION ALL
         SELECT t.return_entry_id, 'return' FROM transfers t WHERE t.id = $1 AND t.return_entry_id IS NOT NULL),
       mi AS (
         SELECT DISTINCT ON (i.match_id) i.match_id, te.entry
           FROM te JOIN postings p ON p.entry_id = te.entry_id
           CROSS JOIN recon_sources s
           JOIN recon_match_items i ON i.source_id = s.id AND i.posting_id = p.id)
       SELECT m.id::text AS match_id, m.source_id, s.name AS source_name, mi.entry, m.kind, m.rule, m.run_id, m.actor_label, m.created_at, m.undone_at,
              (SELECT json_agg(json_build_object('line_id', l.id::text, 'statement_ref', st.statement_ref, 'booking_date', l.booking_date::text, 'amount_minor', l.amount_minor::text,
                                                 'currency', l.currency::text, 'direction', l.direction, 'reference', coalesce(l.end_to_end_id, l.account_servicer_reference, l.remittance_info))
                                ORDER BY l.id)
                 FROM recon_match_lines ml JOIN recon_lines l ON l.id = ml.line_id JOIN recon_statements st ON st.id = l.statement_id
                WHERE ml.match_id = m.id) AS lines
         FROM mi JOIN recon_matches m ON m.id = mi.match_id JOIN recon_sources s ON s.id = m.source_id
        ORDER BY m.created_at DESC, m.id DESC
        LIMIT ${MATCHES_OF_TRANSFER_MAX}`,
      [id],
    )
  ).rows;
  return rows.map((r) => ({
    matchId: r.match_id,
    sourceId: r.source_id,
    sourceName: r.source_name,
    entry: r.entry,
    kind: r.kind,
    rule: r.rule,
    runId: r.run_id,
    actorLabel: r.actor_label,
    createdAt: r.created_at,
    undoneAt: r.undone_at,
    lines: (r.lines ?? []).map((l) => ({
      lineId: l.line_id,
      statementRef: l.statement_ref,
      bookingDate: l.booking_date,
      amountMinor: BigInt(l.amount_minor),
      currency: l.currency.trim(),
      direction: l.direction,
      reference: l.reference,
    })),
  }));
}

/** A transfer a break or match concerns, with its correlation id. */
export interface LinkedTransfer {
  transferId: string;
  reference: string;
  state: string;
  /** The transfer's correlation id (trace id), or null when it predates correlation ids. */
  traceId: string | null;
  /** How it is linked: the break names it, the break's posting is its entry, or a match explains it. */
  via: "break" | "posting" | "match";
  /** The match, when via is "match". */
  matchId: string | null;
}

/**
 * The transfers a break concerns: the one it names (linked by hand or opened by matching), the one
 * whose entry its posting is, and those whose entries are in the matches of its line or posting.
 * One statement; at most TRANSFERS_OF_BREAK_MAX; each transfer once (the most direct link wins).
 */
export async function listTransfersOfBreak(
  q: pg.Pool | pg.ClientBase,
  input: { transferId: string | null; postingId: string | null; matchIds: readonly string[] },
): Promise<LinkedTransfer[]> {
  if (input.transferId === null && input.postingId === null && input.matchIds.length === 0) return [];
  const rows = (
    await q.query<{ id: string; reference: string; state: string; trace_parent: string | null; via: LinkedTransfer["via"]; match_id: string | null }>(
      `WITH links AS (
         SELECT $1::uuid AS transfer_id, 'break' AS via, NULL::bigint AS match_id, 1 AS rank WHERE $1::uuid IS NOT NULL
         UNION ALL
         SELECT coalesce(ts.id, tr.id), 'posting', NULL, 2
           FROM postings p LEFT JOIN transfers ts ON ts.settlement_entry_id = p.entry_id LEFT JOIN transfers tr ON tr.return_entry_id = p.entry_id
          WHERE p.id = $2::bigint
         UNION ALL
         SELECT coalesce(ts.id, tr.id), 'match', i.match_id, 3
           FROM recon_match_items i JOIN postings p ON p.id = i.posting_id
           LEFT JOIN transfers ts ON ts.settlement_entry_id = p.entry_id LEFT JOIN transfers tr ON tr.return_entry_id = p.entry_id
          WHERE i.match_id = ANY($3::bigint[]))
       SELECT DISTINCT ON (t.id) t.id, t.reference, t.state::text AS state, t.trace_parent, l.via, l.match_id::text
         FROM links l JOIN transfers t ON t.id = l.transfer_id
        ORDER BY t.id, l.rank
        LIMIT ${TRANSFERS_OF_BREAK_MAX}`,
      [input.transferId, input.postingId, input.matchIds],
    )
  ).rows;
  const order = { break: 1, posting: 2, match: 3 } as const;
  return rows
    .map((r) => ({ transferId: r.id, reference: r.reference, state: r.state, traceId: traceIdOfTraceParent(r.trace_parent), via: r.via, matchId: r.match_id }))
    .sort((a, b) => order[a.via] - order[b.via] || (a.transferId < b.transferId ? -1 : 1));
}

/** A run's match and a transfer whose settlement or return it explains, with the transfer's stored trace context. */
export interface RunTransferMatch {
  matchId: string;
  kind: string;
  rule: string;
  transferId: string;
  traceParent: string | null;
}

/**
 * The (match, transfer) pairs of a run: each match it made with each transfer whose settlement or
 * return entry the match explains (a line that pays out a batch explains several). The first
 * `limit` by match and transfer id, and how many pairs there are in all. One statement over the
 * run's matches (recon_matches.run_id).
 */
export async function readRunTransferMatches(q: pg.Pool | pg.ClientBase, runId: string, limit: number): Promise<{ total: number; items: RunTransferMatch[] }> {
  const rows = (
    await q.query<{ match_id: string; kind: string; rule: string; transfer_id: string; trace_parent: string | null; total: string }>(
      `SELECT x.match_id::text, x.kind, x.rule, x.transfer_id, x.trace_parent, count(*) OVER () AS total
         FROM (SELECT DISTINCT m.id AS match_id, m.kind, m.rule, coalesce(ts.id, tr.id) AS transfer_id, coalesce(ts.trace_parent, tr.trace_parent) AS trace_parent
                 FROM recon_matches m
                 JOIN recon_match_items i ON i.match_id = m.id
                 JOIN postings p ON p.id = i.posting_id
                 LEFT JOIN transfers ts ON ts.settlement_entry_id = p.entry_id
                 LEFT JOIN transfers tr ON tr.return_entry_id = p.entry_id
                WHERE m.run_id = $1 AND coalesce(ts.id, tr.id) IS NOT NULL) x
        ORDER BY x.match_id, x.transfer_id
        LIMIT $2`,
      [runId, limit],
    )
  ).rows;
  return {
    total: rows.length === 0 ? 0 : Number(rows[0]!.total),
    items: rows.map((r) => ({ matchId: r.match_id, kind: r.kind, rule: r.rule, transferId: r.transfer_id, traceParent: r.trace_parent })),
  };
}
