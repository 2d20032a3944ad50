import type { Metadata } from "next";
import { requirePageActor } from "../../../server/auth/session";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "Transfers" };

export default async function TransfersPage() {
  await requirePageActor("transfers:read", "/transfers");
  return (
    <>
      <PageHeader title="Transfers" description="Money moving through partner rails, with its state, age and time budget." />
      <EmptyState title="No transfers yet">
        <p>Transfers created through the API or the partner sandbox appear here, newest first, with stuck ones flagged. None have been created in this environment, so the list is empty.</p>
      </EmptyState>
    </>
  );
}
