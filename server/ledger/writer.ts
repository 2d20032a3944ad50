/**
 * The only code that writes the ledger's tables: entries, postings, holds, balance rows, their
 * outbox events, idempotency records and audit records, for one command or a group of them, in
 * one statement (one round trip).
 *
 * Invariants kept:
 * - Everything in the plan is written together or not at all (one statement in the caller's
 *   transaction); the database's own rules (balanced entries at commit, append-only postings,
 *   no-overdraft rows, one transition per hold) check the result again.
 * - The audit append comes last, so its lane lock is held only until COMMIT.
 */
import type pg from "pg";
import { auditAppendCall, auditAppendManyCall } from "../audit/audit-log";
import { preparedQuery } from "../db/prepared";
import type { WritePlan } from "./planner";
import { sqlParams } from "../core/sql-params";

export async function writePlan(client: pg.ClientBase, plan: WritePlan): Promise<void> {
  const { values: params, add: p } = sqlParams();
  const ctes: string[] = [];
  if (plan.entries.length > 0) {
    const rows = plan.entries;
    ctes.push(`e AS (INSERT INTO journal_entries (id, idempotency_key, description, effective_at, created_at, reverses_entry_id, metadata)
      SELECT * FROM unnest(${p(rows.map((r) => r.entry.entryId))}::uuid[], ${p(rows.map((r) => r.entry.idempotencyKey))}::text[],
        ${p(rows.map((r) => r.entry.description))}::text[], ${p(rows.map((r) => r.entry.effectiveAt.toISOString()))}::timestamptz[],
        ${p(rows.map((r) => r.createdAt.toISOString()))}::timestamptz[], ${p(rows.map((r) => r.entry.reversesEntryId))}::uuid[],
        ${p(rows.map((r) => JSON.stringify(r.metadata)))}::jsonb[]))`);
    const flat = rows.flatMap((r) => r.entry.postings.map((x) => ({ entryId: r.entry.entryId, ...x })));
    ctes.push(`p AS (INSERT INTO postings (entry_id, account_id, side, amount_minor, currency)
      SELECT * FROM unnest(${p(flat.map((x) => x.entryId))}::uuid[], ${p(flat.map((x) => x.accountId))}::uuid[],
        ${p(flat.map((x) => x.side))}::posting_side[], ${p(flat.map((x) => x.amountMinor.toString()))}::bigint[], ${p(flat.map((x) => x.currency))}::char(3)[]))`);
  }
  if (plan.balances.length > 0) {
    const b = plan.balances;
    ctes.push(`b AS (UPDATE account_balances ab SET posted_minor = ab.posted_minor + d.posted, pending_minor = ab.pending_minor + d.pending, version = ab.version + d.writes
      FROM unnest(${p(b.map((x) => x.accountId))}::uuid[], ${p(b.map((x) => x.slot))}::int[],
        ${p(b.map((x) => x.postedDelta.toString()))}::bigint[], ${p(b.map((x) => x.pendingDelta.toString()))}::bigint[], ${p(b.map((x) => x.writes))}::int[])
        AS d(account_id, slot, posted, pending, writes)
      WHERE ab.account_id = d.account_id AND ab.slot = d.slot)`);
  }
  const placed = plan.holds.filter((h) => h.hold.isNew);
  const changed = plan.holds.filter((h) => !h.hold.isNew);
  if (placed.length > 0) {
    const ended = ({ hold, at }: WritePlan["holds"][number]) => (hold.status === "pending" ? null : at.toISOString());
    ctes.push(`hi AS (INSERT INTO holds (id, debit_account_id, credit_account_id, amount_minor, currency, status, amount_posted_minor, expires_at,
        idempotency_key, reference, description, posted_entry_id, created_at, ended_at)
      SELECT * FROM unnest(${p(placed.map((r) => r.hold.id))}::uuid[], ${p(placed.map((r) => r.hold.debitAccountId))}::uuid[], ${p(placed.map((r) => r.hold.creditAccountId))}::uuid[],
        ${p(placed.map((r) => r.hold.amountMinor.toString()))}::bigint[], ${p(placed.map((r) => r.hold.currency))}::char(3)[], ${p(placed.map((r) => r.hold.status))}::hold_status[],
        ${p(placed.map((r) => r.hold.amountPostedMinor.toString()))}::bigint[], ${p(placed.map((r) => r.hold.expiresAt.toISOString()))}::timestamptz[],
        ${p(placed.map((r) => r.hold.idempotencyKey))}::text[], ${p(placed.map((r) => r.hold.reference))}::text[], ${p(placed.map((r) => r.hold.description))}::text[],
        ${p(placed.map((r) => r.hold.postedEntryId))}::uuid[], ${p(placed.map((r) => r.at.toISOString()))}::timestamptz[], ${p(placed.map(ended))}::timestamptz[]))`);
  }
  if (changed.length > 0) {
    ctes.push(`hu AS (UPDATE holds h SET status = d.status, amount_posted_minor = d.posted, posted_entry_id = d.entry_id, ended_at = d.ended_at
      FROM unnest(${p(changed.map((r) => r.hold.id))}::uuid[], ${p(changed.map((r) => r.hold.status))}::hold_status[],
        ${p(changed.map((r) => r.hold.amountPostedMinor.toString()))}::bigint[], ${p(changed.map((r) => r.hold.postedEntryId))}::uuid[],
        ${p(changed.map((r) => r.at.toISOString()))}::timestamptz[]) AS d(id, status, posted, entry_id, ended_at)
      WHERE h.id = d.id)`);
  }
  if (plan.outbox.length > 0) {
    const o = plan.outbox;
    ctes.push(`o AS (INSERT INTO outbox_events (topic, aggregate_id, payload, created_at)
      SELECT * FROM unnest(${p(o.map((x) => x.topic))}::text[], ${p(o.map((x) => x.aggregateId))}::text[],
        ${p(o.map((x) => JSON.stringify(x.payload)))}::jsonb[], ${p(o.map((x) => x.createdAt.toISOString()))}::timestamptz[]))`);
  }
  const i = plan.idempotency;
  ctes.push(`i AS (INSERT INTO idempotency_records (key, request_hash, command_type, response, created_at)
      SELECT * FROM unnest(${p(i.map((r) => r.key))}::text[], ${p(i.map((r) => r.requestHash))}::text[], ${p(i.map((r) => r.commandType))}::text[],
        ${p(i.map((r) => JSON.stringify(r.response)))}::jsonb[], ${p(i.map((r) => r.createdAt.toISOString()))}::timestamptz[]))`);
  const audit = plan.audits.length === 1 ? `SELECT id FROM ${auditAppendCall(plan.audits[0]!, p)}` : `SELECT x.id FROM ${auditAppendManyCall(plan.audits, p)} AS x`;
  await preparedQuery(client, `WITH ${ctes.join(",\n")},\n    au AS (${audit})\n    SELECT count(*) AS audits FROM au`, params);
}
