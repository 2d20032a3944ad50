/**
 * Service keys: credentials for internal services calling /api/trpc with a Bearer secret.
 *
 * Invariants kept:
 * - The secret is `lk_<8-char prefix>_<32 random bytes, base64url>`. It is returned once, at
 *   creation; only its SHA-256 (hex) is stored, and neither the secret nor the hash enters an audit
 *   record or a list.
 * - Scopes are a non-empty subset of SERVICE_KEY_SCOPES: console-only powers (people, keys,
 *   approvals) can never be given to a machine.
 * - A key with a money-moving scope (MONEY_MOVING_SCOPES) is created waiting (activated_at null)
 *   and proposed for activation (approval kind service_key_activation): it works only after a
 *   different standing approver approves, so one admin alone cannot make a key that moves money.
 *   Other keys are active from creation.
 * - A key may be limited to the ledger account code prefixes and currencies it may debit; the
 *   limits are fixed at creation (part of what the activation approves) and enforced by
 *   assertMayDebit on every write path.
 * - Revocation is final and takes effect on the key's next request (keys are looked up on every
 *   request, never cached).
 * - Every change is written together with its audit record in one transaction.
 */
import type { Prisma } from "../db/generated/client";
import type { DbHandles } from "../db/client";
import { MONEY_MOVING_SCOPES, SERVICE_KEY_SCOPES, type Permission } from "../core/permissions";
import { currencyExponent } from "../money/currencies";
import { AppError } from "../errors/app-error";
import { forgetServiceKeys } from "../auth/service-key-cache";
import { generateServiceKeySecret, hashServiceKeySecret, isGrantableScope } from "../auth/service-key-secret";
import { auditAdminChange, type AdminCall } from "./users";
import { checkOptionalReason, checkReason } from "../core/reasons";

export const SERVICE_KEY_LIST_LIMIT = 200;

export interface ServiceKeyItem {
  id: string;
  name: string;
  prefix: string;
  scopes: Permission[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Null while the key waits for its activation to be approved. */
  activatedAt: Date | null;
  debitAccountPrefixes: string[];
  debitCurrencies: string[];
}

const KEY_SELECT = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  activatedAt: true,
  debitAccountPrefixes: true,
  debitCurrencies: true,
} as const satisfies Prisma.ServiceKeySelect;

type KeyRow = Prisma.ServiceKeyGetPayload<{ select: typeof KEY_SELECT }>;

function toItem(k: KeyRow): ServiceKeyItem {
  return { ...k, scopes: k.scopes.filter(isGrantableScope) };
}

/** The key as callers see it, with its change recorded in the audit log (in the change's transaction). */
async function recordKeyChange(
  tx: Prisma.TransactionClient,
  call: AdminCall,
  row: KeyRow,
  change: { action: string; reason: string | null; before: unknown; after: (item: ServiceKeyItem) => unknown },
): Promise<ServiceKeyItem> {
  const item = toItem(row);
  await auditAdminChange(tx, call, { action: change.action, targetType: "service_key", targetId: item.id, reason: change.reason, before: change.before, after: change.after(item) });
  return item;
}

function checkScopes(scopes: readonly string[]): Permission[] {
  if (scopes.length === 0) {
    throw new AppError("BAD_INPUT", `scopes must name at least one of: ${SERVICE_KEY_SCOPES.join(", ")}`, { details: { field: "scopes" } });
  }
  for (const s of scopes) {
    if (!isGrantableScope(s)) {
      throw new AppError("BAD_INPUT", `scope ${JSON.stringify(s)} cannot be granted to a service key; grantable scopes are ${SERVICE_KEY_SCOPES.join(", ")}`, {
        details: { field: "scopes", scope: s },
      });
    }
  }
  return [...new Set(scopes as Permission[])].sort();
}

export const MAX_DEBIT_LIMITS = 20;

/** Validates debit limits: prefixes of 1-200 characters, known currencies; at most 20 of each. */
function checkDebitLimits(input: { debitAccountPrefixes?: readonly string[]; debitCurrencies?: readonly string[] }): { prefixes: string[]; currencies: string[] } {
  const prefixes = [...new Set((input.debitAccountPrefixes ?? []).map((p) => p.trim()))];
  const currencies = [...new Set(input.debitCurrencies ?? [])];
  if (prefixes.length > MAX_DEBIT_LIMITS || currencies.length > MAX_DEBIT_LIMITS) {
    throw new AppError("BAD_INPUT", `at most ${MAX_DEBIT_LIMITS} account prefixes and ${MAX_DEBIT_LIMITS} currencies`, { details: { field: "debitAccountPrefixes" } });
  }
  for (const p of prefixes) {
    if (p.length === 0 || p.length > 200) throw new AppError("BAD_INPUT", "an account prefix must be 1 to 200 characters", { details: { field: "debitAccountPrefixes" } });
  }
  for (const c of currencies) currencyExponent(c);
  return { prefixes: prefixes.sort(), currencies: currencies.sort() };
}

/** Whether a key with these scopes needs a second person's approval before it works. */
export function isMoneyMoving(scopes: readonly string[]): boolean {
  return scopes.some((s) => (MONEY_MOVING_SCOPES as readonly string[]).includes(s));
}

function checkKeyName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 100) throw new AppError("BAD_INPUT", "name must be 1 to 100 characters", { details: { field: "name" } });
  return n;
}

/** Newest first, at most 200. Never returns secrets or hashes. */
export async function listServiceKeys(db: DbHandles): Promise<ServiceKeyItem[]> {
  const rows = await db.prisma.serviceKey.findMany({ orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: SERVICE_KEY_LIST_LIMIT, select: KEY_SELECT });
  return rows.map(toItem);
}

/**
 * Creates a key and returns its secret, once. A key with a money-moving scope is created waiting
 * (activated_at null: refused until its activation is approved; server/approvals/
 * service-key-activation.ts proposes it); other keys are active at once.
 * Errors, in order: BAD_INPUT (name, scopes naming the first bad scope, debit limits, reason).
 */
export async function createServiceKey(
  db: DbHandles,
  call: AdminCall,
  input: { name: string; scopes: readonly string[]; reason?: string; debitAccountPrefixes?: readonly string[]; debitCurrencies?: readonly string[] },
): Promise<{ key: ServiceKeyItem; secret: string; needsApproval: boolean }> {
  const name = checkKeyName(input.name);
  const scopes = checkScopes(input.scopes);
  const limits = checkDebitLimits(input);
  const reason = checkOptionalReason(input.reason);
  const needsApproval = isMoneyMoving(scopes);
  const { secret, prefix } = generateServiceKeySecret();
  const key = await db.prisma.$transaction(async (tx) => {
    const row = await tx.serviceKey.create({
      data: {
        name,
        prefix,
        secretHash: hashServiceKeySecret(secret),
        scopes,
        createdById: call.actor.kind === "user" ? call.actor.userId : null,
        activatedAt: needsApproval ? null : new Date(),
        debitAccountPrefixes: limits.prefixes,
        debitCurrencies: limits.currencies,
      },
      select: KEY_SELECT,
    });
    return recordKeyChange(tx, call, row, {
      action: "service_key.created",
      reason,
      before: null,
      after: (item) => ({ name: item.name, prefix: item.prefix, scopes: item.scopes, debitAccountPrefixes: item.debitAccountPrefixes, debitCurrencies: item.debitCurrencies, isActive: !needsApproval }),
    });
  });
  return { key, secret, needsApproval };
}

/** Revokes a key for good. Errors, in order: BAD_INPUT (reason), NOT_FOUND, CONFLICT (already revoked). */
export async function revokeServiceKey(db: DbHandles, call: AdminCall, input: { id: string; reason: string }): Promise<ServiceKeyItem> {
  const reason = checkReason(input.reason);
  // Before the revocation commits and again after it: a lookup in flight meanwhile is not cached.
  forgetServiceKeys();
  return db.prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text AS id FROM service_keys WHERE id = $1::uuid FOR UPDATE`, input.id);
    if (locked.length === 0) throw new AppError("NOT_FOUND", `service key ${input.id} does not exist`, { details: { id: input.id } });
    const before = await tx.serviceKey.findUniqueOrThrow({ where: { id: input.id }, select: KEY_SELECT });
    if (before.revokedAt) {
      throw new AppError("CONFLICT", `service key ${before.name} (${before.prefix}) was already revoked at ${before.revokedAt.toISOString()}`, {
        details: { id: input.id, revokedAt: before.revokedAt.toISOString() },
      });
    }
    const row = await tx.serviceKey.update({
      where: { id: input.id },
      data: { revokedAt: new Date(), revokedById: call.actor.kind === "user" ? call.actor.userId : null },
      select: KEY_SELECT,
    });
    return recordKeyChange(tx, call, row, { action: "service_key.revoked", reason, before: { revokedAt: null }, after: (item) => ({ revokedAt: item.revokedAt }) });
  }).finally(forgetServiceKeys);
}
