import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { pageCaller } from "../../page-caller";
import { Card, FactList, PageHeader, linkClass, formatUtc } from "../../../../components/ui";
import { ThresholdsTable } from "../../../../components/approvals/thresholds-table";
import { PolicyChangeForm } from "../../../../components/approvals/policy-change-form";
import { formatAmount } from "../../../../server/money/amount";

export const metadata: Metadata = { title: "Approval policy" };

export default async function PolicyPage() {
  const actor = await requirePageActor("adjustments:read", "/approvals/policy");
  const policy = await pageCaller(actor).approvals.policy.get();
  const canPropose = actor.permissions.has("approvals:policy");
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/approvals" className={linkClass}>
          ← Approvals
        </Link>
      </p>
      <PageHeader title="Approval policy" description="Every adjustment needs an approver other than its proposer. At or above a currency's threshold it needs two different approvers; a currency without a threshold always needs two." />
      <FactList
        facts={[
          ["Version", String(policy.version)],
          ["In force since (UTC)", formatUtc(policy.createdAt)],
          ["Made by", policy.proposalId ? <Link key="p" href={`/approvals/${policy.proposalId}`} className={linkClass}>proposal {policy.proposalId}</Link> : "the initial migration"],
          ["Proposals expire after", `${policy.effectiveExpiryHours} h${policy.expiryHours === null ? " (configured default)" : ""}`],
        ]}
      />
      <Card title="Two-approver thresholds">
        <ThresholdsTable thresholds={policy.thresholds} />
      </Card>
      {canPropose ? (
        <Card title="Propose a change">
          <PolicyChangeForm version={policy.version} thresholds={policy.thresholds.map((t) => ({ currency: t.currency, amount: formatAmount(t.amountMinor, t.currency) }))} expiryHours={policy.expiryHours} />
        </Card>
      ) : null}
    </>
  );
}
