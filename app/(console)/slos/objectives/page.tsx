import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { PageHeader, linkClass } from "../../../../components/ui";
import { SloDefinitionsTable } from "../../../../components/slo/slo-definitions-table";
import { SloDefinitionButton, type IndicatorOption } from "../../../../components/slo/slo-definition-dialog";
import { INDICATOR_KINDS, INDICATORS } from "../../../../server/slo/definitions";
import { LATENCY_BOUNDS_MS } from "../../../../server/slo/rollup";
import { pageCaller } from "../../page-caller";

export const metadata: Metadata = { title: "Objectives" };

const INDICATOR_OPTIONS: IndicatorOption[] = INDICATOR_KINDS.map((kind) => ({ kind, label: INDICATORS[kind].label, threshold: INDICATORS[kind].threshold }));

export default async function ObjectivesPage() {
  const actor = await requirePageActor("slo:read", "/slos/objectives");
  const definitions = await pageCaller(actor).slo.definitions.list();
  // Decided here, on the server; the API checks slo:manage again on every change.
  const canManage = actor.permissions.has("slo:manage");
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/slos" className={linkClass}>
          ← SLOs
        </Link>
      </p>
      <PageHeader
        title="Objectives"
        description={
          canManage
            ? "What the product promises, with target, window and threshold. Every change needs a reason and is audited; objectives are disabled, never deleted."
            : "What the product promises, with target, window and threshold. Admins change them."
        }
        actions={canManage ? <SloDefinitionButton definition={null} indicators={INDICATOR_OPTIONS} latencyBoundsMs={LATENCY_BOUNDS_MS} /> : null}
      />
      <SloDefinitionsTable rows={definitions} canManage={canManage} indicators={INDICATOR_OPTIONS} latencyBoundsMs={LATENCY_BOUNDS_MS} />
    </>
  );
}
