/**
 * Previewing a draft before proposing it: the same resolution and dry run as proposeAdjustment,
 * nothing stored. The proposer sees exactly what they are about to ask for.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { parsePayload } from "./kinds";
import { readPolicy, requiredApprovalsFor } from "./policy";
import { amountsOf, computePreview } from "./preview";
import type { ActorContext } from "./proposals";
import type { Preview, ProposalAmount } from "./types";

export interface DraftPreview {
  /** The payload as it would be stored (account codes resolved, amounts in minor units). */
  payload: Record<string, unknown>;
  summary: string;
  preview: Preview;
  amounts: ProposalAmount[];
  requiredApprovals: number;
  expiryHours: number;
}

/**
 * Errors, in order: BAD_INPUT (unknown kind, payload shape), FORBIDDEN (may not propose the kind),
 * NOT_FOUND, INVALID_AMOUNT, UNKNOWN_CURRENCY, CONFLICT (from resolving the payload). The ledger's
 * refusal is not thrown: it is in preview.error.
 */
export async function previewDraft(db: Pick<DbHandles, "pool">, ctx: ActorContext, input: { kind: string; payload: unknown }): Promise<DraftPreview> {
  const now = ctx.now ?? new Date();
  const kind = ctx.kinds.get(input.kind);
  const raw = parsePayload(kind, input.payload);
  if (!ctx.actor.permissions.has(kind.proposePermission)) throw new AppError("FORBIDDEN", `proposing a ${kind.kind} needs the ${kind.proposePermission} permission`);
  const sql = pgRunner(db.pool);
  const payload = kind.normalize ? await kind.normalize(sql, raw) : raw;
  const { preview } = await computePreview(db, ctx.actor, kind, payload, { proposalId: `draft-${randomUUID()}`, now });
  const policy = await readPolicy(sql);
  const amounts = amountsOf(preview);
  return {
    payload,
    summary: kind.describe(payload),
    preview,
    amounts,
    requiredApprovals: kind.requiredApprovals?.(payload) ?? requiredApprovalsFor(amounts, policy.thresholdsMinor),
    expiryHours: policy.effectiveExpiryHours,
  };
}
