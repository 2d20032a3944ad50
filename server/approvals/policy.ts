/**
 * The approval policy: per-currency thresholds at or above which two distinct approvers are
 * needed, and how long a proposal stays open. Stored in approval_policies, versioned.
 *
 * Invariants kept:
 * - The policy in force is the row with the highest version; rows are never changed (the
 *   database refuses it). A new version is written only by applying an approved policy_change
 *   proposal, with the version it was based on checked under the proposal's lock, so two policy
 *   changes based on the same version cannot both apply.
 * - Fail safe: a currency without a threshold always needs two approvers, and an adjustment
 *   needs two when any of its currencies reaches its threshold.
 * - The number of approvals an adjustment needs is never lowered after it was proposed: the
 *   final approval takes the larger of the stored number and what the policy now says.
 */
import type { SqlRunner } from "../db/sql";
import { env } from "../env";
import { AppError } from "../errors/app-error";
import { currencyExponent } from "../money/currencies";
import { formatMoneyDisplay, parseAmount } from "../money/amount";
import type { PreviewChange, ProposalAmount } from "./types";

export const MAX_EXPIRY_HOURS = 720;

export interface ApprovalPolicy {
  version: number;
  /** Currency → the amount (minor units) at or above which two approvers are needed. */
  thresholdsMinor: Map<string, bigint>;
  /** Hours set by the policy itself; null means the configured default. */
  expiryHours: number | null;
  /** What applies now: expiryHours or APPROVAL_DEFAULT_EXPIRY_HOURS. */
  effectiveExpiryHours: number;
  proposalId: string | null;
  createdAt: Date;
}

/** The policy in force. Errors: INTERNAL when no policy row exists (the migration inserts one). */
export async function readPolicy(sql: SqlRunner): Promise<ApprovalPolicy> {
  const rows = await sql.query<{ version: number; thresholds: Record<string, string>; expiry_hours: number | null; proposal_id: string | null; created_at: Date }>(
    `SELECT version, thresholds, expiry_hours, proposal_id, created_at FROM approval_policies ORDER BY version DESC LIMIT 1`,
  );
  const r = rows[0];
  if (!r) throw new AppError("INTERNAL", "no approval policy exists; the approvals migration inserts version 1");
  return {
    version: r.version,
    thresholdsMinor: new Map(Object.entries(r.thresholds).map(([c, v]) => [c, BigInt(v)])),
    expiryHours: r.expiry_hours,
    effectiveExpiryHours: r.expiry_hours ?? env().APPROVAL_DEFAULT_EXPIRY_HOURS,
    proposalId: r.proposal_id,
    createdAt: r.created_at,
  };
}

/** 1 or 2: two when any amount reaches its currency's threshold or its currency has none. */
export function requiredApprovalsFor(amounts: readonly ProposalAmount[], thresholdsMinor: ReadonlyMap<string, bigint>): 1 | 2 {
  for (const a of amounts) {
    const threshold = thresholdsMinor.get(a.currency);
    if (threshold === undefined || a.amountMinor >= threshold) return 2;
  }
  return 1;
}

/** The threshold of each currency for people: "10,000.00 EUR". */
export function describeThresholds(thresholdsMinor: ReadonlyMap<string, bigint>): { currency: string; amountMinor: bigint; display: string }[] {
  return [...thresholdsMinor]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, amountMinor]) => ({ currency, amountMinor, display: formatMoneyDisplay(amountMinor, currency) }));
}

export interface PolicyChangePayload {
  /** The policy version this change was proposed against. */
  basedOnVersion: number;
  /** Currency → threshold in minor units (decimal strings); the complete new table. */
  thresholdsMinor: Record<string, string>;
  /** null: the configured default (APPROVAL_DEFAULT_EXPIRY_HOURS). */
  expiryHours: number | null;
}

/**
 * Parses thresholds given in major units ("10000.00") into minor units, exactly.
 * Errors: UNKNOWN_CURRENCY, INVALID_AMOUNT ("8.855" EUR, zero, negative), BAD_INPUT (too many).
 */
export function parseThresholds(thresholds: Record<string, string>): Record<string, string> {
  const entries = Object.entries(thresholds);
  if (entries.length > 50) throw new AppError("BAD_INPUT", `at most 50 currencies may have a threshold, got ${entries.length}`);
  const out: Record<string, string> = {};
  for (const [currency, value] of entries) {
    currencyExponent(currency);
    out[currency] = parseAmount(value, currency, { allowZero: false }).toString();
  }
  return out;
}

export function checkExpiryHours(hours: number | null): number | null {
  if (hours === null) return null;
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_EXPIRY_HOURS) throw new AppError("BAD_INPUT", `expiryHours must be a whole number of hours from 1 to ${MAX_EXPIRY_HOURS}, got ${hours}`);
  return hours;
}

/** The before → after lines of a policy change against the policy in force. */
export function policyChanges(current: ApprovalPolicy, p: PolicyChangePayload): PreviewChange[] {
  const changes: PreviewChange[] = [];
  if (current.version !== p.basedOnVersion) {
    changes.push({ label: "Policy version", before: `proposed against version ${p.basedOnVersion}`, after: `version ${current.version} is now in force: applying will fail; propose again` });
  }
  const currencies = [...new Set([...current.thresholdsMinor.keys(), ...Object.keys(p.thresholdsMinor)])].sort();
  for (const c of currencies) {
    const before = current.thresholdsMinor.get(c);
    const after = p.thresholdsMinor[c] === undefined ? undefined : BigInt(p.thresholdsMinor[c]);
    if (before === after) continue;
    changes.push({
      label: `Two approvers from (${c})`,
      before: before === undefined ? "always two approvers (no threshold)" : formatMoneyDisplay(before, c),
      after: after === undefined ? "always two approvers (no threshold)" : formatMoneyDisplay(after, c),
    });
  }
  const expiry = (h: number | null) => (h === null ? `${env().APPROVAL_DEFAULT_EXPIRY_HOURS} h (configured default)` : `${h} h`);
  if (current.expiryHours !== p.expiryHours) changes.push({ label: "Proposals expire after", before: expiry(current.expiryHours), after: expiry(p.expiryHours) });
  if (changes.length === 0) changes.push({ label: "Policy", before: "unchanged", after: "unchanged" });
  return changes;
}

/**
 * Writes the next policy version inside the approval transaction.
 * Errors: CONFLICT when the policy moved past the version the change was based on.
 */
export async function writePolicyVersion(sql: SqlRunner, p: PolicyChangePayload, proposalId: string, now: Date): Promise<ApprovalPolicy> {
  // Serialise policy writers: the version check below and the insert must see the same head.
  await sql.query(`SELECT pg_advisory_xact_lock(hashtext('approval_policies'))`);
  const current = await readPolicy(sql);
  if (current.version !== p.basedOnVersion) {
    throw new AppError("CONFLICT", `the approval policy is at version ${current.version}, not ${p.basedOnVersion} that this change was proposed against; propose the change again`, {
      details: { currentVersion: current.version, basedOnVersion: p.basedOnVersion },
    });
  }
  await sql.query(`INSERT INTO approval_policies (version, thresholds, expiry_hours, proposal_id, created_at) VALUES ($1, $2::jsonb, $3, $4, $5)`, [
    current.version + 1,
    JSON.stringify(p.thresholdsMinor),
    p.expiryHours,
    proposalId,
    now,
  ]);
  return readPolicy(sql);
}
