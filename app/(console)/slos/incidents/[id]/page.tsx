import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../../page-access";
import { Badge, Card, FactList, PageHeader, formatUtc, linkClass } from "../../../../../components/ui";
import { UUID_RE } from "../../../../../components/ledger/ledger-params";
import { AuditTrail } from "../../../../../components/kit/audit-trail";
import { ResolveIncidentButton } from "../../../../../components/slo/incident-actions";
import { IncidentTransfersTable } from "../../../../../components/slo/incident-transfers";
import { formatMs } from "../../../../../components/slo/format";
import { pageCaller } from "../../../page-caller";

export const metadata: Metadata = { title: "Incident" };

export default async function IncidentPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ after?: string }> }) {
  const { id } = await params;
  const { after } = await searchParams;
  const actor = await requirePageActor("slo:read", `/slos/incidents/${encodeURIComponent(id)}`);
  if (!UUID_RE.test(id)) notFound();
  const caller = pageCaller(actor);
  const incident = await caller.slo.incidents.get({ incidentId: id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!incident) notFound();
  const validAfter = after && UUID_RE.test(after) ? after : undefined;
  const [transfers, audit] = await Promise.all([
    caller.slo.incidents.transfers({ incidentId: id, limit: 50, ...(validAfter ? { after: validAfter } : {}) }),
    actor.permissions.has("audit:read") ? caller.audit.list({ targetType: "incident", targetId: id, limit: 50 }).then((a) => a.items) : Promise.resolve([]),
  ]);
  const duration = incident.endedAt ? formatMs(incident.endedAt.getTime() - incident.startedAt.getTime()) : `open for ${formatMs(Date.now() - incident.startedAt.getTime())}`;
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/slos/incidents" className={linkClass}>
          ← Incidents
        </Link>
      </p>
      <PageHeader
        title={incident.title}
        description={`${incident.severity} · ${incident.status} · ${duration}`}
        actions={actor.permissions.has("incidents:manage") ? <ResolveIncidentButton incidentId={incident.id} version={incident.version} isOpen={incident.status === "open"} /> : null}
      />
      <Card title="Incident">
        <FactList
          facts={[
            ["Status", <Badge key="s" tone={incident.status === "open" ? "bad" : "good"}>{incident.status}</Badge>],
            ["Severity", incident.severity],
            ["Started (UTC)", <span key="st" className="font-mono text-xs">{formatUtc(incident.startedAt)}</span>],
            ["Ended (UTC)", incident.endedAt ? <span key="en" className="font-mono text-xs">{formatUtc(incident.endedAt)}</span> : "— (open)"],
            ["Time to resolve", duration],
            ["Partner / rail / component", [incident.partner, incident.rail, incident.component].filter(Boolean).join(" · ") || "—"],
            ["Objective", incident.sloKey ? <Link key="slo" href={`/slos?slo=${incident.sloKey}&from=${incident.startedAt.toISOString()}&to=${(incident.endedAt ?? new Date()).toISOString()}`} className={linkClass}>{incident.sloKey}</Link> : "—"],
            ["Opened by", incident.openedBy],
            ["Notes", <p key="n" className="whitespace-pre-wrap">{incident.notes || "—"}</p>],
          ]}
        />
      </Card>
      <section className="mt-6" aria-label="Transfers hit">
        <IncidentTransfersTable
          rows={transfers.items}
          total={incident.linkedTransfers}
          pages={[
            { label: "First", href: validAfter ? `/slos/incidents/${id}` : null, rel: "prev" },
            { label: "Next", href: transfers.next ? `/slos/incidents/${id}?after=${transfers.next}` : null, rel: "next" },
          ]}
        />
      </section>
      <section className="mt-6">
        <AuditTrail
          records={audit}
          canRead={actor.permissions.has("audit:read")}
          caption="Audit records of this incident, newest first"
          emptyText="Opening, changing and resolving the incident each write a record."
          allHref={`/audit?targetType=incident&targetId=${incident.id}`}
        />
      </section>
    </>
  );
}
