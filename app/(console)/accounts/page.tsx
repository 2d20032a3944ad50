import type { Metadata } from "next";
import { requirePageActor } from "../../../server/auth/session";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "Accounts" };

export default async function AccountsPage() {
  await requirePageActor("ledger:read", "/accounts");
  return (
    <>
      <PageHeader title="Accounts" description="Ledger accounts with their posted, pending and available balances." />
      <EmptyState title="No accounts yet">
        <p>Accounts opened through the internal API appear here with exact balances per currency. No account has been opened in this environment.</p>
      </EmptyState>
    </>
  );
}
