import type { Metadata } from "next";
import { requirePageActor } from "../../../page-access";
import { pageCaller } from "../../page-caller";
import { Badge, Card, PageHeader, formatUtc } from "../../../../components/ui";
import { RulesPanel } from "../../../../components/recon/rules-panel";

export const metadata: Metadata = { title: "Matching rules" };

export default async function RulesPage() {
  const actor = await requirePageActor("recon:read", "/reconciliation/rules");
  const caller = pageCaller(actor);
  const [ruleSets, sources] = await Promise.all([caller.recon.rules.list(), caller.recon.sources.list()]);
  return (
    <>
      <PageHeader title="Matching rules" description="Versioned rule sets: the active one matches; drafts are compared, backtested over past periods and activated under four eyes." />
      <div className="mb-4">
        <RulesPanel ruleSets={ruleSets} sources={sources.map((s) => ({ id: s.id, name: s.name }))} canEdit={actor.permissions.has("recon:rules")} />
      </div>
      <Card title="Versions">
        <ol className="space-y-3 text-sm">
          {ruleSets.map((r) => (
            <li key={r.version}>
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium">Version {r.version}</span>
                <Badge tone={r.status === "active" ? "good" : r.status === "draft" ? "info" : "neutral"}>{r.status}</Badge>
                <span className="text-xs text-zinc-500">
                  by {r.createdBy} at {formatUtc(r.createdAt)}
                  {r.activatedAt ? `, active since ${formatUtc(r.activatedAt)}` : ""}; auto-apply at {r.autoApplyThreshold}
                </span>
              </div>
              {r.note ? <p className="text-xs text-zinc-600 dark:text-zinc-400">{r.note}</p> : null}
              <ol className="mt-1 list-decimal pl-5 font-mono text-xs">
                {r.rules.map((x) => (
                  <li key={x.kind} className={x.enabled ? undefined : "text-zinc-400 line-through"}>
                    {x.kind} {JSON.stringify(Object.fromEntries(Object.entries(x).filter(([k]) => k !== "kind" && k !== "enabled")))}
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ol>
      </Card>
    </>
  );
}
