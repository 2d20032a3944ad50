/**
 * The vocabulary of approvals: proposals, their previews and the JSON forms they are stored in.
 * Amounts are bigint minor units in code and decimal strings in stored JSON.
 */
import type { Side } from "../ledger/types";

export const PROPOSAL_STATUSES = ["open", "applied", "rejected", "withdrawn", "expired"] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** Something a proposal concerns: an account, an entry, a transfer, the approval policy. */
export interface ProposalLink {
  type: string;
  id: string;
  label?: string;
}

export interface BalanceFigures {
  postedMinor: bigint;
  pendingMinor: bigint;
  availableMinor: bigint;
}

export interface PreviewBalance {
  accountId: string;
  accountCode: string;
  currency: string;
  isNoOverdraft: boolean;
  before: BalanceFigures;
  after: BalanceFigures;
}

export interface PreviewPosting {
  accountId: string;
  accountCode: string;
  side: Side;
  amountMinor: bigint;
  currency: string;
}

export interface PreviewEntry {
  description: string;
  reversesEntryId: string | null;
  postings: PreviewPosting[];
}

export interface PreviewHold {
  holdId: string;
  status: string;
  amountMinor: bigint;
  currency: string;
}

/** A change that is not money (a policy value), shown as before → after. */
export interface PreviewChange {
  label: string;
  before: string;
  after: string;
}

/**
 * Exactly what approving would do at `computedAt`: the entries and holds the ledger's dry run
 * produced, every affected account's balances before and after (both read by the ledger in one
 * snapshot), and any non-money changes. `error` is set when the dry run refused the adjustment.
 */
export interface Preview {
  computedAt: Date;
  entries: PreviewEntry[];
  holds: PreviewHold[];
  balances: PreviewBalance[];
  changes: PreviewChange[];
  error: { code: string; message: string } | null;
}

export interface ProposalAmount {
  currency: string;
  amountMinor: bigint;
}

export interface Decision {
  decision: "approve" | "reject";
  actorId: string;
  actorLabel: string;
  reason: string | null;
  createdAt: Date;
}

export interface Comment {
  id: string;
  authorType: string;
  authorLabel: string;
  body: string;
  createdAt: Date;
}

export interface EvidenceMeta {
  id: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  createdAt: Date;
}

export interface ApplyFailure {
  code: string;
  message: string;
  at: Date;
  byLabel: string;
}

// --- JSON codecs for stored previews -----------------------------------------------------------

type Json = Record<string, unknown>;

const figuresToJson = (f: BalanceFigures) => ({ postedMinor: f.postedMinor.toString(), pendingMinor: f.pendingMinor.toString(), availableMinor: f.availableMinor.toString() });
const figuresFromJson = (f: Json): BalanceFigures => ({ postedMinor: BigInt(f.postedMinor as string), pendingMinor: BigInt(f.pendingMinor as string), availableMinor: BigInt(f.availableMinor as string) });

export function previewToJson(p: Preview): Json {
  return {
    computedAt: p.computedAt.toISOString(),
    entries: p.entries.map((e) => ({ ...e, postings: e.postings.map((x) => ({ ...x, amountMinor: x.amountMinor.toString() })) })),
    holds: p.holds.map((h) => ({ ...h, amountMinor: h.amountMinor.toString() })),
    balances: p.balances.map((b) => ({ ...b, before: figuresToJson(b.before), after: figuresToJson(b.after) })),
    changes: p.changes,
    error: p.error,
  };
}

export function previewFromJson(j: Json): Preview {
  const entries = (j.entries as Json[]) ?? [];
  return {
    computedAt: new Date(j.computedAt as string),
    entries: entries.map((e) => ({
      description: e.description as string,
      reversesEntryId: (e.reversesEntryId as string | null) ?? null,
      postings: (e.postings as Json[]).map((x) => ({
        accountId: x.accountId as string,
        accountCode: x.accountCode as string,
        side: x.side as Side,
        amountMinor: BigInt(x.amountMinor as string),
        currency: x.currency as string,
      })),
    })),
    holds: ((j.holds as Json[]) ?? []).map((h) => ({ holdId: h.holdId as string, status: h.status as string, amountMinor: BigInt(h.amountMinor as string), currency: h.currency as string })),
    balances: ((j.balances as Json[]) ?? []).map((b) => ({
      accountId: b.accountId as string,
      accountCode: b.accountCode as string,
      currency: b.currency as string,
      isNoOverdraft: b.isNoOverdraft as boolean,
      before: figuresFromJson(b.before as Json),
      after: figuresFromJson(b.after as Json),
    })),
    changes: ((j.changes as PreviewChange[]) ?? []).map((c) => ({ label: c.label, before: c.before, after: c.after })),
    error: (j.error as Preview["error"]) ?? null,
  };
}

/** Amounts per currency as stored: { "EUR": "1250" }. */
export function amountsToJson(amounts: ProposalAmount[]): Record<string, string> {
  return Object.fromEntries(amounts.map((a) => [a.currency, a.amountMinor.toString()]));
}

export function amountsFromJson(j: Record<string, string>): ProposalAmount[] {
  return Object.entries(j)
    .map(([currency, v]) => ({ currency, amountMinor: BigInt(v) }))
    .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}
