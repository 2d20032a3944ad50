import { notFound, redirect } from "next/navigation";
import { requirePageActor } from "../../../../page-access";
import { pageCaller } from "../../../page-caller";
import { UUID_RE } from "../../../../../components/ledger/ledger-params";

/** A fee schedule version by id (the links of a price's explanation): its schedule's page, at that version. */
export default async function VersionPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("pricing:read", `/pricing/versions/${encodeURIComponent(id)}`);
  if (!UUID_RE.test(id)) notFound();
  const v = await pageCaller(actor).pricing.scheduleVersion({ versionId: id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!v) notFound();
  redirect(`/pricing/schedules/${encodeURIComponent(v.scheduleCode)}?version=${v.version}`);
}
