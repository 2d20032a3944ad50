import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { pageCaller } from "../page-caller";
import { Badge, Card, EmptyState, PageHeader, formatUtc, linkClass } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import { MatchRateChart, UnreconciledChart } from "../../../components/recon/recon-charts";
import { RunsTable, SourcesTable } from "../../../components/recon/recon-tables";
import { CreateSourceButton, OperatorActions, ProposeReopenButton } from "../../../components/recon/recon-actions";

export const metadata: Metadata = { title: "Reconciliation" };

const DAYS = 14;

export default async function ReconciliationPage() {
  const actor = await requirePageActor("recon:read", "/reconciliation");
  const caller = pageCaller(actor);
  const to = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const [sources, runs, series, rules, periods] = await Promise.all([
    caller.recon.sources.list(),
    caller.recon.runs.list({ limit: 25 }),
    caller.recon.runs.series({ from, to }),
    caller.recon.rules.list(),
    caller.recon.periods.list({}),
  ]);
  const active = rules.find((r) => r.status === "active");
  const canOperate = actor.permissions.has("recon:operate");
  const canManageSources = actor.permissions.has("recon:rules");
  const sourceName = (id: string) => sources.find((s) => s.id === id)?.name ?? id;
  return (
    <>
      <PageHeader
        title="Reconciliation"
        description="External statements matched against the ledger: sources, runs and how well they reconcile."
        actions={
          <>
            <ButtonLink href="/breaks" variant="secondary">
              Breaks queue
            </ButtonLink>
            <ButtonLink href="/reconciliation/rules" variant="secondary">
              Rules {active ? `(v${active.version})` : ""}
            </ButtonLink>
            {canOperate ? <OperatorActions sources={sources.filter((s) => s.isActive).map((s) => ({ id: s.id, name: s.name }))} /> : null}
            {canOperate ? <ButtonLink href="/reconciliation/import">Import a statement</ButtonLink> : null}
          </>
        }
      />
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <MatchRateChart points={series} />
        <UnreconciledChart points={series} />
      </div>
      <Card title="Sources" actions={canManageSources ? <CreateSourceButton /> : undefined}>
        {sources.length === 0 ? (
          <EmptyState title="No source yet">
            <p>{canManageSources ? "Add a source for each bank account or partner whose statements are reconciled." : "An admin adds a source for each bank account or partner whose statements are reconciled."}</p>
          </EmptyState>
        ) : (
          <SourcesTable sources={sources} canEdit={canManageSources} />
        )}
      </Card>
      <div className="mt-4">
        <Card title={`Runs (latest ${runs.items.length})`}>
          {runs.items.length === 0 ? (
            <EmptyState title="No run yet">
              <p>A run starts after each import, every 15 minutes for each active source, or by hand.</p>
            </EmptyState>
          ) : (
            <RunsTable runs={runs.items} />
          )}
        </Card>
      </div>
      <div className="mt-4">
        <Card title="Closed periods">
          {periods.length === 0 ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">No period is closed: postings are accepted at any effective time.</p>
          ) : (
            <ul className="space-y-1 text-sm">
              {periods.map((p) => (
                <li key={p.id} className="flex flex-wrap items-center gap-2">
                  <span>
                    <Badge tone={p.status === "closed" ? "info" : "neutral"}>{p.status}</Badge> {p.periodFrom} to {p.periodTo} ({sourceName(p.sourceId)}) — closed by {p.closedBy} at {formatUtc(p.closedAt)}: {p.reason}
                  </span>
                  {canOperate && p.status === "closed" ? <ProposeReopenButton period={p} label={`${sourceName(p.sourceId)} ${p.periodFrom} to ${p.periodTo}`} /> : null}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <p className="mt-4 text-xs text-zinc-500">
        <Link href="/breaks" className={linkClass}>
          Work the breaks queue
        </Link>
      </p>
    </>
  );
}
