import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../../page-access";
import { pageCaller, callErrorMessage } from "../../../page-caller";
import { Card, ErrorNotice, FactList, PageHeader, formatUtc, linkClass } from "../../../../../components/ui";
import { DiffTable, RulesTable, VersionsTable } from "../../../../../components/pricing/schedule-tables";
import { ProposeVersionForm } from "../../../../../components/pricing/propose-version-form";
import { scheduleState } from "../../../../../components/pricing/pricing-params";
import type { RouterOutputs } from "../../../../../components/kit/api-types";

export const metadata: Metadata = { title: "Fee schedule" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function SchedulePage({ params, searchParams }: { params: Promise<{ code: string }>; searchParams: SearchParams }) {
  const { code: rawCode } = await params;
  const code = decodeURIComponent(rawCode);
  const state = scheduleState(code);
  const p = state.read(await searchParams);
  const actor = await requirePageActor("pricing:read", state.href(p));
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(code)) notFound();
  const caller = pageCaller(actor);
  const versions = await caller.pricing.scheduleVersions({ scheduleCode: code }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!versions) notFound();
  const summary = (await caller.pricing.listSchedules()).find((s) => s.code === code) ?? null;
  const latest = versions[0] ?? null;
  const selected = (p.version ? versions.find((v) => v.version === Number(p.version)) : null) ?? latest;
  const against = selected ? (p.against ? versions.find((v) => v.version === Number(p.against)) : versions.find((v) => v.version === selected.version - 1)) ?? null : null;

  let diff: RouterOutputs["pricing"]["diffVersions"] | null = null;
  let diffError: string | null = null;
  if (selected) {
    try {
      diff = await caller.pricing.diffVersions({ versionId: selected.versionId, ...(against ? { againstVersionId: against.versionId } : {}) });
    } catch (e) {
      diffError = callErrorMessage(e);
    }
  }
  const canManage = actor.permissions.has("pricing:manage");

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/pricing" className={linkClass}>
          ← Pricing
        </Link>
      </p>
      <PageHeader title={`Fee schedule ${code}`} description={summary ? `${summary.name}, rail ${summary.rail}` : undefined} />
      <FactList
        facts={[
          ["Rail", summary?.rail ?? "—"],
          ["In force", summary?.versionInForce ? `v${summary.versionInForce} since ${formatUtc(summary.inForceSince)}` : "no version in force yet: transfers on this rail are free"],
          ["Next", summary?.nextVersion ? `v${summary.nextVersion.version} from ${formatUtc(summary.nextVersion.effectiveFrom)}` : "—"],
          ["Versions", String(versions.length)],
        ]}
      />

      <Card title="Versions">
        <VersionsTable rows={versions} code={code} selected={selected?.version ?? 0} inForce={summary?.versionInForce ?? null} />
      </Card>

      {selected ? (
        <Card title={`Version ${selected.version}`}>
          <p className="mb-3 text-xs text-zinc-600 dark:text-zinc-400">
            Effective from {formatUtc(selected.effectiveFrom)} (UTC); a transfer created at or after then, until the next version, is priced by it.
          </p>
          <RulesTable rows={selected.definition.rules} caption={`Rules of ${code} v${selected.version}`} />
        </Card>
      ) : null}

      {selected ? (
        <Card title={against ? `Changes from v${against.version} to v${selected.version}` : `Version ${selected.version} is the first`}>
          {diffError ? <ErrorNotice>Could not compare the versions: {diffError}</ErrorNotice> : null}
          {diff ? (
            <>
              {versions.length > 2 ? (
                <p className="mb-2 flex flex-wrap gap-x-3 text-xs">
                  <span className="text-zinc-500 dark:text-zinc-400">Compare v{selected.version} with:</span>
                  {versions
                    .filter((v) => v.version !== selected.version)
                    .map((v) => (
                      <Link key={v.versionId} href={state.href({ version: String(selected.version), against: String(v.version) })} className={linkClass} aria-current={v.version === against?.version ? "true" : undefined}>
                        v{v.version}
                      </Link>
                    ))}
                </p>
              ) : null}
              <DiffTable changes={diff.changes} caption={against ? `Rule by rule, v${against.version} → v${selected.version}` : `Every rule of v${selected.version} is new`} />
            </>
          ) : null}
        </Card>
      ) : null}

      {canManage && summary ? (
        <Card title={`Propose version ${summary.latestVersion + 1}`}>
          <ProposeVersionForm
            schedule={{ code, name: summary.name, rail: summary.rail, latestVersion: summary.latestVersion }}
            freeRails={[]}
            initialDefinition={(latest?.definition as unknown as Record<string, unknown>) ?? { rules: [] }}
          />
        </Card>
      ) : null}
    </>
  );
}
