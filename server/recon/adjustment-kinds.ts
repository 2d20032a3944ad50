/**
 * Reconciliation decisions that need four eyes, as adjustment kinds of the approvals flow
 * (server/approvals/kinds.ts):
 * - recon_rule_set_activation: make a draft rule set the active one (it changes what is matched
 *   without a person).
 *
 * Invariants kept:
 * - What a proposal names is checked when proposing and again, under row locks, when the
 *   approval applies it: a rule set activated meanwhile makes the approval fail cleanly.
 */
import { z } from "zod";
import { registerAdjustmentKind } from "../approvals/kinds";
import { AppError } from "../errors/app-error";
import type { SqlRunner } from "../db/sql";
import { activateRuleSetInTransaction } from "./rule-sets";

const activationPayload = z.object({
  version: z.number().int().min(1),
  /** The active version the proposer saw; approval fails if another became active meanwhile. */
  basedOnActiveVersion: z.number().int().min(1).optional(),
});
type ActivationPayload = z.infer<typeof activationPayload>;

async function ruleSetStatus(sql: SqlRunner, version: number): Promise<{ status: string; active: number | null }> {
  const rows = await sql.query<{ status: string; active: number | null }>(
    `SELECT (SELECT status FROM recon_rule_sets WHERE version = $1) AS status, (SELECT version FROM recon_rule_sets WHERE active_marker) AS active`,
    [version],
  );
  const r = rows[0]!;
  if (r.status === null) throw new AppError("NOT_FOUND", `rule set version ${version} does not exist`, { details: { version } });
  return r;
}

registerAdjustmentKind<ActivationPayload>({
  kind: "recon_rule_set_activation",
  label: "Activate a reconciliation rule set",
  proposePermission: "recon:rules",
  payloadSchema: activationPayload,
  async normalize(sql, p) {
    const s = await ruleSetStatus(sql, p.version);
    if (s.status !== "draft") throw new AppError("CONFLICT", `rule set version ${p.version} is ${s.status}; only a draft can be activated`);
    if (p.basedOnActiveVersion !== undefined && p.basedOnActiveVersion !== s.active) {
      throw new AppError("CONFLICT", `the active rule set is version ${s.active}, not ${p.basedOnActiveVersion}; reload and propose again`);
    }
    return { version: p.version, basedOnActiveVersion: s.active ?? 0 };
  },
  describe: (p) => `Activate matching rule set version ${p.version} (replacing version ${p.basedOnActiveVersion})`,
  links: (p) => [{ type: "recon_rule_set", id: String(p.version), label: `rules v${p.version}` }],
  async toLedgerCommand() {
    return null;
  },
  async previewChanges(_sql, p) {
    return [{ label: "Active matching rule set", before: `version ${p.basedOnActiveVersion}`, after: `version ${p.version}` }];
  },
  async apply(client, p, ctx) {
    const r = await activateRuleSetInTransaction(client, { version: p.version, basedOnActiveVersion: p.basedOnActiveVersion ?? 0, proposalId: ctx.proposalId, now: ctx.now });
    return { entryIds: [], result: { activeVersion: r.active, previousVersion: r.previous } };
  },
  requiredApprovals: () => 1,
});
