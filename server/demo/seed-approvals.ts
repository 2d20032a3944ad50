/**
 * Demo proposals for the approvals inbox: a fee refund, an unidentified incoming payment large
 * enough to need two approvers, and a goodwill credit, proposed by the demo operators.
 *
 * Invariants kept:
 * - Proposed through the approvals service itself (preview by the ledger's dry run, audit record),
 *   never inserted by hand.
 * - Idempotent: each proposal has a fixed idempotency key, so a second run replays instead of
 *   proposing again. Like any proposal they expire after the policy's time (72 h by default);
 *   an expired demo proposal stays in the "All" view.
 * - Runs after the demo users and the demo ledger exist; it changes no balance.
 */
import type { DbHandles } from "../db/client";
import { loadUserActor } from "../auth/load-actor";
import { proposeAdjustment } from "../approvals/proposals";
import { adjustmentKinds } from "../composition";

const KEY = "demo:approvals";

interface DemoProposal {
  key: string;
  proposerEmail: string;
  reason: string;
  evidenceUrl?: string;
  payload: { description: string; postings: { accountCode: string; side: "debit" | "credit"; amount: string }[] };
}

const PROPOSALS: DemoProposal[] = [
  {
    key: `${KEY}:fee-refund`,
    proposerEmail: "operator@demo.local",
    reason: "Complaint OPS-4711: the fee on payment DEMO-0042 was charged twice; refund the duplicate.",
    payload: {
      description: "Refund duplicate fee on DEMO-0042",
      postings: [
        { accountCode: "ops:fees:EUR", side: "debit", amount: "2.50" },
        { accountCode: "customer:0001:wallet", side: "credit", amount: "2.50" },
      ],
    },
  },
  {
    key: `${KEY}:unidentified-credit`,
    proposerEmail: "operator@demo.local",
    reason: "SEPA credit of 12,500.00 EUR arrived on the omnibus account without a reference; the customer sent proof of payment.",
    evidenceUrl: "https://statements.example.com/camt053/2026-11-20#entry-118",
    payload: {
      description: "Credit unidentified SEPA payment to the customer it belongs to",
      postings: [
        { accountCode: "bank:omnibus:EUR", side: "debit", amount: "12500.00" },
        { accountCode: "customer:0002:wallet", side: "credit", amount: "12500.00" },
      ],
    },
  },
  {
    key: `${KEY}:goodwill`,
    proposerEmail: "oidc.operator@demo.local",
    reason: "Goodwill credit agreed by the support lead after a three-day outage of card payments (ticket CS-2093).",
    payload: {
      description: "Goodwill credit after card outage",
      postings: [
        { accountCode: "ops:fees:USD", side: "debit", amount: "15.00" },
        { accountCode: "customer:0007:wallet", side: "credit", amount: "15.00" },
      ],
    },
  },
];

/** Proposes the demo adjustments (replays when they exist); returns a one-line report. */
export async function seedDemoApprovals(db: DbHandles, opts: { now?: Date } = {}): Promise<string> {
  let created = 0;
  for (const d of PROPOSALS) {
    const user = await db.prisma.user.findUnique({ where: { email: d.proposerEmail }, select: { id: true } });
    const actor = user ? await loadUserActor(db.prisma, user.id) : null;
    if (!actor) continue;
    const r = await proposeAdjustment(db, { kinds: adjustmentKinds, actor, now: opts.now }, { kind: "journal_entry", payload: d.payload, reason: d.reason, evidenceUrl: d.evidenceUrl ?? null, idempotencyKey: d.key });
    if (!r.isReplay) created++;
  }
  return `demo approvals: ${created} proposed, ${PROPOSALS.length - created} already present`;
}
