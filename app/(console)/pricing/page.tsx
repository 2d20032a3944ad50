import type { Metadata } from "next";
import { requirePageActor } from "../../page-access";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "Pricing" };

export default async function PricingPage() {
  await requirePageActor("ledger:read", "/pricing");
  return (
    <>
      <PageHeader title="Pricing" description="Fee schedules and FX quotes, versioned with effective dates." />
      <EmptyState title="No fee schedules yet">
        <p>Fee schedules per rail, currency and customer, and the FX quotes given from reference rates, appear here. None have been configured in this environment.</p>
      </EmptyState>
    </>
  );
}
