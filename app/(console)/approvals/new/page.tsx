import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { PageHeader, linkClass } from "../../../../components/ui";
import { NewAdjustmentForm } from "../../../../components/approvals/new-adjustment-form";
import type { RawParams } from "../../../../components/approvals/approvals-params";

export const metadata: Metadata = { title: "New adjustment" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function NewAdjustmentPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const raw = await searchParams;
  await requirePageActor("adjustments:propose", "/approvals/new");
  const entryId = typeof raw.entryId === "string" && UUID.test(raw.entryId) ? raw.entryId : "";
  const kind = raw.kind === "reversal" || entryId ? "reversal" : "journal_entry";
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/approvals" className={linkClass}>
          ← Approvals
        </Link>
      </p>
      <PageHeader
        title="New adjustment"
        description="Propose a correction to the ledger. Nothing is posted until an approver other than you approves it; amounts at or above the policy's threshold need two approvers."
      />
      <NewAdjustmentForm initialKind={kind} initialEntryId={entryId} />
    </>
  );
}
