/**
 * Undoing a control on an account is a four-eyes decision: unfreezing an account (a frozen account
 * refuses postings and holds, usually because fraud or a takeover is suspected) is proposed by one
 * person (accounts:manage) and applied only when a different standing approver approves.
 * Freezing stays a single-person action: it adds a control, and waiting for a second person would
 * leave the suspected account open meanwhile. docs/separation-of-duties.md lists every such choice.
 *
 * Invariants kept:
 * - The account must be frozen when proposing and again under its row lock when applying; an
 *   account unfrozen meanwhile makes the approval fail cleanly (recorded on the proposal).
 * - The change, its audit record and its outbox event are written in the approval's transaction
 *   (setAccountStatusInTransaction).
 */
import { z } from "zod";
import type { SqlRunner } from "../db/sql";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { setAccountStatusInTransaction } from "../ledger/accounts";
import { defineControlKind, type AdjustmentKind } from "./kinds";

const payloadSchema = z.object({ accountId: z.uuid() });
type UnfreezePayload = z.infer<typeof payloadSchema>;

async function readFrozen(sql: SqlRunner, accountId: string, lock = false): Promise<{ id: string; code: string }> {
  const rows = await sql.query<{ id: string; code: string; status: string }>(`SELECT id, code, status FROM ledger_accounts WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [accountId.toLowerCase()]);
  const a = rows[0];
  if (!a) throw new AppError("NOT_FOUND", `account ${accountId} does not exist`, { details: { accountId } });
  if (a.status !== "frozen") throw new AppError("CONFLICT", `account ${a.code} is ${a.status}, not frozen; there is nothing to unfreeze`, { details: { accountId: a.id, status: a.status } });
  return a;
}

const accountUnfreezeKind = defineControlKind<UnfreezePayload>({
  kind: "account_unfreeze",
  label: "Unfreeze an account",
  proposePermission: "accounts:manage",
  payloadSchema,
  async normalize(sql, p) {
    const a = await readFrozen(sql, p.accountId);
    return { accountId: a.id };
  },
  describe: (p) => `Unfreeze account ${p.accountId}`,
  links: (p) => [{ type: "ledger_account", id: p.accountId }],
  async previewChanges(sql, p) {
    const rows = await sql.query<{ code: string; status: string }>(`SELECT code, status FROM ledger_accounts WHERE id = $1`, [p.accountId]);
    return [{ label: `Account ${rows[0]?.code ?? p.accountId} status`, before: rows[0]?.status ?? "missing", after: "active" }];
  },
  async apply(client, p, ctx) {
    await readFrozen(pgRunner(client), p.accountId, true);
    const account = await setAccountStatusInTransaction(client, ctx.actor, { accountId: p.accountId, status: "active", reason: `approved proposal ${ctx.proposalId}` }, { requestId: ctx.requestId, now: ctx.now });
    return { accountId: account.id, status: account.status };
  },
});

/** The kinds that undo a control on an account (server/composition adds them to the registry). */
export const ACCOUNT_KINDS: readonly AdjustmentKind[] = [accountUnfreezeKind];
