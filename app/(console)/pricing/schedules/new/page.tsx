import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../../page-access";
import { pageCaller } from "../../../page-caller";
import { Card, EmptyState, PageHeader, linkClass } from "../../../../../components/ui";
import { ProposeVersionForm } from "../../../../../components/pricing/propose-version-form";
import { RAILS } from "../../../../../server/transfers/types";

export const metadata: Metadata = { title: "New fee schedule" };

/** A starting point to edit: one default rule for EUR (0.30 EUR + 0.9%, at least 0.50, at most 25.00). */
const EXAMPLE = {
  rules: [{ id: "eur-default", currency: "EUR", minMinor: "50", maxMinor: "2500", tiers: [{ label: "tier-1", fromMinor: "0", toMinor: null, fixedMinor: "30", rateBps: "90" }] }],
};

export default async function NewSchedulePage() {
  const actor = await requirePageActor("pricing:manage", "/pricing/schedules/new");
  const schedules = await pageCaller(actor).pricing.listSchedules();
  const freeRails = RAILS.filter((r) => !schedules.some((s) => s.rail === r));
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/pricing" className={linkClass}>
          ← Pricing
        </Link>
      </p>
      <PageHeader title="New fee schedule" description="One schedule per rail. Its first version is proposed here; an approver must approve it before it prices any transfer." />
      {freeRails.length === 0 ? (
        <EmptyState title="Every rail has a schedule">
          <p>Propose a new version of a rail&apos;s schedule from its page instead.</p>
        </EmptyState>
      ) : (
        <Card title="Version 1">
          <ProposeVersionForm schedule={null} freeRails={freeRails} initialDefinition={EXAMPLE} />
        </Card>
      )}
    </>
  );
}
