import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { PageHeader, linkClass } from "../../../../components/ui";
import { defineUrlState, param, type RawSearchParams } from "../../../../components/kit/url-state";
import { IncidentsTable, MonthlyIncidentsTable } from "../../../../components/slo/slo-tables";
import { OpenIncidentButton } from "../../../../components/slo/incident-actions";
import { pageCaller } from "../../page-caller";

export const metadata: Metadata = { title: "Incidents" };

const state = defineUrlState("/slos/incidents", { open: param.flag(), cursor: param.cursor() });

function decode(c: string | undefined): { startedAt: Date; id: string } | undefined {
  const m = c ? /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(c) : null;
  return m ? { startedAt: new Date(Number(m[1])), id: m[2]! } : undefined;
}

export default async function IncidentsPage({ searchParams }: { searchParams: Promise<RawSearchParams> }) {
  const p = state.read(await searchParams);
  const actor = await requirePageActor("slo:read", state.href(p));
  const caller = pageCaller(actor);
  const after = decode(p.cursor);
  const [page, monthly] = await Promise.all([caller.slo.incidents.list({ isOpenOnly: p.open, limit: 25, ...(after ? { after } : {}) }), caller.slo.incidents.monthly({ months: 6 })]);
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/slos" className={linkClass}>
          ← SLOs
        </Link>
      </p>
      <PageHeader
        title="Incidents"
        description="What went wrong, when, with whom, and which transfers it hit. Incidents show as bands on the SLO charts; their count and time to resolve are the product's incident-frequency figures."
        actions={actor.permissions.has("incidents:manage") ? <OpenIncidentButton /> : null}
      />
      <nav aria-label="Filter" className="mb-3 flex gap-3 text-sm">
        <Link href={state.href({})} aria-current={!p.open ? "page" : undefined} className={linkClass}>
          All
        </Link>
        <Link href={state.href({ open: true })} aria-current={p.open ? "page" : undefined} className={linkClass}>
          Open only
        </Link>
      </nav>
      <IncidentsTable
        rows={page.items}
        pages={[
          { label: "Newest", href: after ? state.href({ open: p.open }) : null, rel: "prev" },
          { label: "Older", href: page.next ? state.href({ open: p.open, cursor: `${page.next.startedAt.getTime()}.${page.next.id}` }) : null, rel: "next" },
        ]}
      />
      <section className="mt-6" aria-label="Incidents per month">
        <MonthlyIncidentsTable rows={monthly} />
      </section>
    </>
  );
}
