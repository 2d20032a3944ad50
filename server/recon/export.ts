/**
 * The breaks queue as CSV (the console's export and the API's): the same filters as the queue,
 * at most MAX_EXPORT_ROWS rows, amounts both as integer minor units and as exact decimals in
 * their currency (never a float), RFC 4180 quoting.
 */
import type { DbHandles } from "../db/client";
import { formatAmount } from "../money/amount";
import { listBreaks, type BreakFilters } from "./breaks";

export const MAX_EXPORT_ROWS = 10_000;

const COLUMNS = ["id", "source", "type", "status", "amount_minor", "amount", "currency", "direction", "occurred_on", "age_days", "age_bucket", "assignee", "reference", "transfer_id", "opened_at", "resolution"] as const;

function field(v: string | number | null): string {
  const s = v === null ? "" : String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function exportBreaksCsv(db: Pick<DbHandles, "pool">, filters: BreakFilters, opts: { now?: Date } = {}): Promise<{ csv: string; rowCount: number; isTruncated: boolean }> {
  const rows = [COLUMNS.join(",")];
  let cursor: string | undefined;
  let count = 0;
  let isTruncated = false;
  for (;;) {
    const page = await listBreaks(db, filters, { sort: "oldest", cursor, limit: 200, now: opts.now });
    for (const b of page.items) {
      if (count >= MAX_EXPORT_ROWS) {
        isTruncated = true;
        break;
      }
      rows.push(
        [b.id, b.sourceName, b.type, b.status, b.amountMinor.toString(), formatAmount(b.amountMinor, b.currency), b.currency, b.direction, b.occurredOn, b.ageDays, b.ageBucket, b.assigneeLabel, b.reference, b.transferId, b.openedAt.toISOString(), b.resolution]
          .map(field)
          .join(","),
      );
      count++;
    }
    if (isTruncated || !page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return { csv: rows.join("\n") + "\n", rowCount: count, isTruncated };
}
