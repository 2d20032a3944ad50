/**
 * The exact preview of an adjustment, and how a later preview differs from the proposer's.
 *
 * Invariants kept:
 * - The entries, holds and resulting balances come from the ledger's own write path in dry-run
 *   mode (executeLedgerCommandInTransaction with dryRun: the same checks and writes, rolled back
 *   to a savepoint). The balances before are read in the same REPEATABLE READ snapshot after that
 *   rollback, so before and after describe the same moment; a concurrent write to those accounts
 *   makes the snapshot fail with a serialization error, which runTransaction retries.
 * - Nothing is ever written: the dry run is rolled back and the preview key is unique per run
 *   (`adjustment-preview:<proposal id>:<uuid>`), so it never touches the key approving will use.
 * - A refusal by the ledger (insufficient funds, a frozen account) is part of the preview, not
 *   an error of the caller's request: the proposer is refused, the approver is warned.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { runTransaction } from "../db/transaction";
import type { AuditActor } from "../audit/audit-log";
import type { Actor } from "../core/actor";
import { AppError } from "../errors/app-error";
import { formatMoneyDisplay } from "../money/amount";
import { readBalances } from "../ledger/balances";
import { executeLedgerCommandInTransaction } from "../ledger/write-path";
import type { Balance } from "../ledger/types";
import type { AdjustmentKind, KindContext } from "./kinds";
import type { BalanceFigures, Preview, ProposalAmount } from "./types";

export interface PreviewOutcome {
  preview: Preview;
  /** The ledger's refusal as thrown, with its details (preview.error is its stored form). */
  refusal: AppError | null;
}

const figures = (b: Balance): BalanceFigures => ({ postedMinor: b.postedMinor, pendingMinor: b.pendingMinor, availableMinor: b.availableMinor });

/**
 * Runs the kind's command through the ledger's dry run and reads the balances before, in one
 * snapshot. Errors: whatever the kind throws while building its command (NOT_FOUND, BAD_INPUT);
 * DB_UNAVAILABLE. The ledger's refusals are returned in `refusal`, not thrown.
 * A proposer's preview runs as the proposer (an Actor): a service key limited in what it may debit
 * is held to its limits by the dry run (FORBIDDEN naming the account, the ledger's step 11a).
 */
export async function computePreview(db: Pick<DbHandles, "pool">, actor: Actor | AuditActor, kind: AdjustmentKind, payload: Record<string, unknown>, ctx: KindContext): Promise<PreviewOutcome> {
  return runTransaction(db.pool, async (client) => {
    await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    const sql = pgRunner(client);
    const changes = kind.previewChanges ? await kind.previewChanges(sql, payload) : [];
    const command = await kind.toLedgerCommand(sql, payload, ctx);
    const empty: Preview = { computedAt: ctx.now, entries: [], holds: [], balances: [], changes, error: null };
    if (!command) return { preview: empty, refusal: null };
    let result;
    try {
      result = await executeLedgerCommandInTransaction(client, actor, command, {
        idempotencyKey: `adjustment-preview:${ctx.proposalId}:${randomUUID()}`,
        dryRun: true,
        now: ctx.now,
      });
    } catch (e) {
      // Serialization failures and deadlocks arrive as raw database errors: runTransaction retries.
      if (!(e instanceof AppError) || e.isRetryable) throw e;
      return { preview: { ...empty, error: { code: e.code, message: e.message } }, refusal: e };
    }
    const after = result.balances ?? [];
    const ids = after.map((b) => b.accountId);
    const before = new Map((await readBalances(sql, ids)).map((b) => [b.accountId, b]));
    const accounts = new Map(
      (await sql.query<{ id: string; code: string; is_no_overdraft: boolean }>(`SELECT id, code, is_no_overdraft FROM ledger_accounts WHERE id = ANY($1::uuid[])`, [ids])).map((a) => [a.id, a]),
    );
    const codeOf = (id: string) => accounts.get(id)?.code ?? id;
    const preview: Preview = {
      computedAt: ctx.now,
      entries: result.entries.map((e) => ({
        description: e.description,
        reversesEntryId: e.reversesEntryId,
        postings: e.postings.map((p) => ({ accountId: p.accountId, accountCode: codeOf(p.accountId), side: p.side, amountMinor: p.amountMinor, currency: p.currency })),
      })),
      holds: result.holds.map((h) => ({ holdId: h.holdId, status: h.status, amountMinor: h.amountMinor, currency: h.currency })),
      balances: after
        .map((b) => ({
          accountId: b.accountId,
          accountCode: codeOf(b.accountId),
          currency: b.currency,
          isNoOverdraft: accounts.get(b.accountId)?.is_no_overdraft ?? false,
          before: figures(before.get(b.accountId) ?? b),
          after: figures(b),
        }))
        .sort((a, b) => (a.accountCode < b.accountCode ? -1 : 1)),
      changes,
      error: null,
    };
    return { preview, refusal: null };
  });
}

/**
 * What the threshold compares, per currency: the sum of the debit postings (which equals the
 * credits); for an operation that posts nothing (voiding a hold), the amounts of the holds it changes.
 */
export function amountsOf(preview: Preview): ProposalAmount[] {
  const sums = new Map<string, bigint>();
  for (const e of preview.entries) for (const p of e.postings) if (p.side === "debit") sums.set(p.currency, (sums.get(p.currency) ?? 0n) + p.amountMinor);
  for (const h of preview.holds) if (!sums.has(h.currency)) sums.set(h.currency, h.amountMinor);
  return [...sums].map(([currency, amountMinor]) => ({ currency, amountMinor })).sort((a, b) => (a.currency < b.currency ? -1 : 1));
}

export interface PreviewDifference {
  isStale: boolean;
  /** Human-readable, most important first. */
  differences: string[];
}

const FIELDS: [keyof BalanceFigures, string][] = [
  ["postedMinor", "posted"],
  ["availableMinor", "available"],
];

/** How `current` differs from what the proposer saw (`proposed`). */
export function diffPreviews(proposed: Preview, current: Preview): PreviewDifference {
  const out: string[] = [];
  if (current.error && !proposed.error) out.push(`Approving now would fail: ${current.error.code}: ${current.error.message}`);
  const shape = (p: Preview) => JSON.stringify(p.entries.map((e) => e.postings.map((x) => [x.accountId, x.side, x.amountMinor.toString(), x.currency])));
  if (!current.error && shape(proposed) !== shape(current)) out.push("The postings differ from what the proposer saw.");
  const before = new Map(proposed.balances.map((b) => [b.accountId, b]));
  for (const b of current.balances) {
    const was = before.get(b.accountId);
    if (!was) continue;
    for (const [field, label] of FIELDS) {
      if (was.before[field] !== b.before[field]) {
        out.push(`${b.accountCode}: ${label} balance is ${formatMoneyDisplay(b.before[field], b.currency)} now, ${formatMoneyDisplay(was.before[field], b.currency)} when proposed (after approval: ${formatMoneyDisplay(b.after[field], b.currency)}).`);
      }
    }
  }
  const changes = (p: Preview) => JSON.stringify(p.changes);
  if (changes(proposed) !== changes(current)) out.push("The policy in force changed since this was proposed; see the changes below.");
  return { isStale: out.length > 0, differences: out };
}
