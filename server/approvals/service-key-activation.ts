/**
 * Activating a service key that can move money is a four-eyes decision (approval kind
 * service_key_activation). The admin who creates the key proposes its activation
 * (createServiceKeyUnderFourEyes); a different standing approver approves; only then does the key
 * work. What is approved is the key as created: its name, scopes and debit limits, none of which
 * can change afterwards.
 *
 * Invariants kept:
 * - The key must exist, be waiting and not revoked when proposing and again under its row lock
 *   when applying: a key revoked meanwhile makes the approval fail cleanly.
 * - Activation writes its audit record (service_key.activated) in the approval's transaction.
 */
import { z } from "zod";
import { pgRunner, type SqlRunner } from "../db/sql";
import { appendAudit } from "../audit/audit-log";
import { AppError } from "../errors/app-error";
import type { DbHandles } from "../db/client";
import { defineControlKind, type AdjustmentKind, type AdjustmentKinds } from "./kinds";
import { proposeAdjustment } from "./proposals";
import { forgetServiceKeys } from "../auth/service-key-cache";
import { createServiceKey, type ServiceKeyItem } from "../admin/service-keys";
import type { AdminCall } from "../admin/users";

const payloadSchema = z.object({ keyId: z.uuid() });
type ActivationPayload = z.infer<typeof payloadSchema>;

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  debit_account_prefixes: string[] | null;
  debit_currencies: string[] | null;
  activated_at: Date | null;
  revoked_at: Date | null;
}

async function readWaiting(sql: SqlRunner, keyId: string, lock = false): Promise<KeyRow> {
  const rows = await sql.query<KeyRow>(
    `SELECT id::text AS id, name, prefix, scopes, debit_account_prefixes, debit_currencies, activated_at, revoked_at FROM service_keys WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
    [keyId.toLowerCase()],
  );
  const k = rows[0];
  if (!k) throw new AppError("NOT_FOUND", `service key ${keyId} does not exist`, { details: { keyId } });
  if (k.revoked_at) throw new AppError("CONFLICT", `service key ${k.name} (${k.prefix}) was revoked; it cannot be activated`, { details: { keyId: k.id } });
  if (k.activated_at) throw new AppError("CONFLICT", `service key ${k.name} (${k.prefix}) is already active`, { details: { keyId: k.id } });
  return k;
}

const limitsText = (k: KeyRow) =>
  `${k.debit_account_prefixes?.length ? `accounts ${k.debit_account_prefixes.join(", ")}` : "any account"}, ${k.debit_currencies?.length ? k.debit_currencies.join(", ") : "any currency"}`;

const serviceKeyActivationKind = defineControlKind<ActivationPayload>({
  kind: "service_key_activation",
  label: "Activate a service key that can move money",
  proposePermission: "service_keys:manage",
  payloadSchema,
  async normalize(sql, p) {
    const k = await readWaiting(sql, p.keyId);
    return { keyId: k.id };
  },
  describe: (p) => `Activate service key ${p.keyId}`,
  links: (p) => [{ type: "service_key", id: p.keyId }],
  async previewChanges(sql, p) {
    const rows = await sql.query<KeyRow>(`SELECT id::text AS id, name, prefix, scopes, debit_account_prefixes, debit_currencies, activated_at, revoked_at FROM service_keys WHERE id = $1`, [p.keyId]);
    const k = rows[0];
    if (!k) return [{ label: `Service key ${p.keyId}`, before: "missing", after: "missing" }];
    return [
      { label: `Service key ${k.name} (${k.prefix})`, before: k.revoked_at ? "revoked" : k.activated_at ? "active" : "waiting for approval", after: "active" },
      { label: "Scopes", before: "none", after: k.scopes.join(", ") },
      { label: "May debit", before: "nothing", after: limitsText(k) },
    ];
  },
  async apply(client, p, ctx) {
    const k = await readWaiting(pgRunner(client), p.keyId, true);
    await client.query(`UPDATE service_keys SET activated_at = $2 WHERE id = $1`, [k.id, ctx.now]);
    await appendAudit(pgRunner(client), {
      actor: ctx.actor,
      action: "service_key.activated",
      targetType: "service_key",
      targetId: k.id,
      reason: `approved proposal ${ctx.proposalId}`,
      before: { isActive: false },
      after: { isActive: true, scopes: k.scopes, debitAccountPrefixes: k.debit_account_prefixes ?? [], debitCurrencies: k.debit_currencies ?? [] },
      requestId: ctx.requestId,
      at: ctx.now,
    });
    // Waiting keys are never cached, but a lookup racing the activation must not keep a stale miss.
    forgetServiceKeys();
    return { keyId: k.id, isActive: true };
  },
});

/** The kind of a money-moving key's activation (server/composition adds it to the registry). */
export const SERVICE_KEY_KINDS: readonly AdjustmentKind[] = [serviceKeyActivationKind];

/**
 * Creates a service key (server/admin/service-keys.ts) and, when it holds a money-moving scope,
 * proposes its activation as the creating admin, so the key works only once a different approver
 * approves. Returns the secret once and the proposal's id (null for a key active at once).
 * Errors: those of createServiceKey, then of proposeAdjustment.
 */
export async function createServiceKeyUnderFourEyes(
  db: DbHandles,
  call: AdminCall & { kinds: AdjustmentKinds },
  input: Parameters<typeof createServiceKey>[2],
): Promise<{ key: ServiceKeyItem; secret: string; activationProposalId: string | null }> {
  const { key, secret, needsApproval } = await createServiceKey(db, call, input);
  if (!needsApproval) return { key, secret, activationProposalId: null };
  const proposal = await proposeAdjustment(db, { actor: call.actor, requestId: call.requestId, kinds: call.kinds }, {
    kind: "service_key_activation",
    payload: { keyId: key.id },
    reason: input.reason && input.reason.trim().length > 0 ? input.reason.trim() : `activate service key ${key.name} (${key.scopes.join(", ")})`,
    idempotencyKey: `service-key-activation:${key.id}`,
  });
  return { key, secret, activationProposalId: proposal.id };
}
