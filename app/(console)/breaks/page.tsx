import type { Metadata } from "next";
import { requirePageActor } from "../../page-access";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "Breaks" };

export default async function BreaksPage() {
  await requirePageActor("ledger:read", "/breaks");
  return (
    <>
      <PageHeader title="Breaks" description="Reconciliation breaks: statement or settlement lines that did not match ledger activity." />
      <EmptyState title="No breaks yet">
        <p>Breaks appear here once statement and settlement files (camt.053 or CSV) are imported and matched against the ledger. No file has been imported in this environment, so there is nothing to resolve.</p>
      </EmptyState>
    </>
  );
}
