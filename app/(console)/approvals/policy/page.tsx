import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../../server/auth/session";
import { pageCaller } from "../../page-caller";
import { Card, FactList, PageHeader, linkClass, tableClass, formatUtc } from "../../../../components/ui";
import { Money, amountCellClass } from "../../../../components/ledger/money";
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
        <div className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="sr-only">Thresholds per currency</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={tableClass.th}>Currency</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Two approvers from</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
              {policy.thresholds.map((t) => (
                <tr key={t.currency} className={tableClass.tr}>
                  <td className={`${tableClass.td} font-mono`}>{t.currency}</td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={t.amountMinor} currency={t.currency} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      {canPropose ? (
        <Card title="Propose a change">
          <PolicyChangeForm version={policy.version} thresholds={policy.thresholds.map((t) => ({ currency: t.currency, amount: formatAmount(t.amountMinor, t.currency) }))} expiryHours={policy.expiryHours} />
        </Card>
      ) : null}
    </>
  );
}
