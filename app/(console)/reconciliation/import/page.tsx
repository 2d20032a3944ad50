import type { Metadata } from "next";
import { requirePageActor } from "../../../page-access";
import { pageCaller } from "../../page-caller";
import { PageHeader } from "../../../../components/ui";
import { ImportForm } from "../../../../components/recon/import-form";

export const metadata: Metadata = { title: "Import a statement" };

export default async function ImportPage() {
  const actor = await requirePageActor("recon:operate", "/reconciliation/import");
  const sources = await pageCaller(actor).recon.sources.list();
  return (
    <>
      <PageHeader
        title="Import a statement"
        description="A camt.053 statement (001.02 to 001.08) or a CSV file of a source with a column mapping. The whole file is imported or nothing; the same file twice changes nothing; matching runs right after."
      />
      <ImportForm sources={sources.filter((s) => s.isActive).map((s) => ({ id: s.id, name: s.name, isCsv: s.csvMappingVersion !== null }))} />
    </>
  );
}
