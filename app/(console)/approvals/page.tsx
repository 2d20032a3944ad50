import type { Metadata } from "next";
import { requirePageActor } from "../../../server/auth/session";
import { EmptyState, PageHeader } from "../../../components/ui";

export const metadata: Metadata = { title: "Approvals" };

export default async function ApprovalsPage() {
  await requirePageActor("adjustments:read", "/approvals");
  return (
    <>
      <PageHeader title="Approvals" description="Manual adjustments and other high-risk actions waiting for a second person to approve them." />
      <EmptyState title="No approvals waiting">
        <p>Adjustments proposed by an operator appear here for an approver other than the proposer. Nothing has been proposed in this environment.</p>
      </EmptyState>
    </>
  );
}
