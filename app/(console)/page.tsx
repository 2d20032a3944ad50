import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../page-access";
import { Badge, Card, PageHeader, formatUtc, linkClass } from "../../components/ui";
import { Money } from "../../components/ledger/money";
import { IncidentsTable, OverviewSloTable, PartnerHealthTable } from "../../components/slo/slo-tables";
import { pageCaller } from "./page-caller";

export const metadata: Metadata = { title: "Overview" };

/**
 * The console's first screen: is money moving? Each objective's state and budget, stuck
 * transfers, reconciliation, approvals waiting, partner and rail state, open incidents; each links
 * to its queue.
 */
export default async function OverviewPage() {
  const actor = await requirePageActor("slo:read", "/");
  const o = await pageCaller(actor).slo.overview();
  const paging = o.slos.filter((s) => s.level === "page");
  const ticketing = o.slos.filter((s) => s.level === "ticket");
  const down = o.partners.filter((p) => p.state === "outage");
  const isMoving = paging.length === 0 && down.length === 0;
  const headline = isMoving
    ? ticketing.length > 0
      ? `Money is moving, but ${ticketing.length} objective${ticketing.length === 1 ? " is" : "s are"} burning budget slowly.`
      : "Money is moving as promised."
    : `Money is not moving as promised: ${[paging.length > 0 ? `${paging.length} objective${paging.length === 1 ? "" : "s"} paging` : null, down.length > 0 ? `${down.map((d) => `${d.partner} ${d.rail}`).join(", ")} down` : null].filter(Boolean).join("; ")}.`;

  return (
    <>
      <PageHeader title="Overview" description={`As of ${formatUtc(o.at)} UTC. Each figure links to the queue where it is worked.`} />
      <p role="status" data-testid="overview-headline" className={`mb-4 rounded-md px-3 py-2 text-sm font-medium ${isMoving ? (ticketing.length > 0 ? "bg-amber-50 text-amber-900 dark:bg-amber-950/40 dark:text-amber-200" : "bg-emerald-50 text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200") : "bg-red-50 text-red-900 dark:bg-red-950/40 dark:text-red-200"}`}>
        {headline}
      </p>
      <div className="grid gap-4 lg:grid-cols-4">
        <Card title="Stuck transfers" actions={<Link href="/transfers/stuck" className={linkClass}>Stuck queue</Link>}>
          <p className="text-3xl font-semibold tabular-nums" data-testid="overview-stuck">
            {o.stuck.total}
          </p>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">
            {Object.entries(o.stuck.byState).map(([s, n]) => `${n} ${s}`).join(", ") || "none"}; {o.stuck.needsAttention} waiting for an operator. {o.activeTransfers} transfers moving.
          </p>
        </Card>
        <Card title="Approvals waiting" actions={<Link href="/approvals" className={linkClass}>Approvals</Link>}>
          <p className="text-3xl font-semibold tabular-nums" data-testid="overview-approvals">
            {o.approvalsWaiting}
          </p>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">Proposed adjustments open and not expired.</p>
        </Card>
        <Card title="Reconciliation" actions={<Link href="/breaks" className={linkClass}>Breaks</Link>}>
          <p className="text-3xl font-semibold tabular-nums" data-testid="overview-breaks">
            {o.reconciliation.openBreaks}
          </p>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">
            {o.reconciliation.openBreaks === 0 ? "No break is open." : "Breaks not resolved; unreconciled: "}
            {o.reconciliation.unreconciled.map((u, i) => (
              <span key={u.currency}>
                {i > 0 ? ", " : ""}
                <Money amountMinor={u.amountMinor} currency={u.currency} />
              </span>
            ))}
          </p>
        </Card>
        <Card title="Open incidents" actions={<Link href="/slos/incidents" className={linkClass}>Incidents</Link>}>
          <p className="text-3xl font-semibold tabular-nums" data-testid="overview-incidents">
            {o.openIncidents.length}
          </p>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">{o.openIncidents.length === 0 ? "No incident is open." : o.openIncidents.map((i) => i.title).join("; ")}</p>
        </Card>
      </div>

      <section className="mt-6" aria-label="Objectives">
        <OverviewSloTable rows={o.slos} />
        {o.notEvaluated.length > 0 ? (
          <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
            Not evaluated yet: {o.notEvaluated.join(", ")} <Badge>waiting for the worker</Badge>
          </p>
        ) : null}
      </section>

      <section className="mt-6" aria-label="Partners and rails">
        <PartnerHealthTable rows={o.partners} caption="Partners and rails over the last hour (state from the last 5 minutes of calls)" />
        <p className="mt-1 text-sm">
          <Link href="/slos/partners" className={linkClass}>
            Partner health and history
          </Link>
        </p>
      </section>

      {o.openIncidents.length > 0 ? (
        <section className="mt-6" aria-label="Open incidents">
          <IncidentsTable rows={o.openIncidents} />
        </section>
      ) : null}
    </>
  );
}
