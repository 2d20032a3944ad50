import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { burnThreshold, ALERT_RULES } from "../../../server/slo/math";
import { EmptyState, ErrorNotice, PageHeader, formatUtc, linkClass } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import type { RawSearchParams } from "../../../components/kit/url-state";
import { BlastRadiusPanel } from "../../../components/slo/blast-radius";
import { BurnDownChart, BurnRatesChart, CountChart, LatencyChart, SliChart, type Band } from "../../../components/slo/slo-charts";
import { pct } from "../../../components/slo/format";
import { decodeBlastCursor, encodeBlastCursor, RANGES, rangeOf, readSloDashboardParams, sloDashboardState } from "../../../components/slo/slo-params";
import { BreakdownTable, LevelBadge, SloStatusTable } from "../../../components/slo/slo-tables";
import { callErrorMessage, pageCaller } from "../page-caller";

export const metadata: Metadata = { title: "SLOs" };

const DAY_MS = 86_400_000;

export default async function SlosPage({ searchParams }: { searchParams: Promise<RawSearchParams> }) {
  const raw = await searchParams;
  const p = readSloDashboardParams(raw);
  const actor = await requirePageActor("slo:read", sloDashboardState.href(p));
  const caller = pageCaller(actor);
  const now = new Date();
  const { from, to, preset } = rangeOf(p, now);
  const statuses = await caller.slo.status();
  if (statuses.length === 0) {
    return (
      <>
        <PageHeader title="SLOs" />
        <EmptyState title="No objective is enabled">
          <p>The worker creates the default objectives when it starts; an admin can enable or define others. Nothing is measured until then.</p>
        </EmptyState>
      </>
    );
  }
  const selected = statuses.find((s) => s.definition.key === p.slo) ?? statuses[0]!;
  const def = selected.definition;
  // The latency chart: the selected objective's when it is one, else the instant rail's (the busiest).
  const latencyObjectives = statuses.filter((s) => s.definition.indicator === "settlement_latency");
  const latencyKey = def.indicator === "settlement_latency" ? def.key : ((latencyObjectives.find((s) => s.definition.rail === "instant") ?? latencyObjectives[0])?.definition.key ?? null);
  const breakAgeKey = statuses.find((s) => s.definition.indicator === "recon_break_age")?.definition.key ?? null;
  const [series, latency, samples, breakdown, breakAge] = await Promise.all([
    caller.slo.series({ key: def.key, from, to }),
    latencyKey ? caller.slo.series({ key: latencyKey, from, to }) : Promise.resolve(null),
    caller.slo.samples({ from, to }),
    caller.slo.breakdown({ from, to }),
    breakAgeKey && breakAgeKey !== def.key ? caller.slo.series({ key: breakAgeKey, from, to }) : Promise.resolve(null),
  ]);
  const here = (patch: Partial<typeof p>) => sloDashboardState.href({ ...p, ...patch });
  const bandHref = (b: { from: Date; to: Date }) => here({ selFrom: b.from.toISOString(), selTo: new Date(Math.min(b.to.getTime(), b.from.getTime() + DAY_MS)).toISOString(), cursor: undefined });
  const breaches: Band[] = series.breaches.map((b) => ({ from: b.from.toISOString(), to: b.to.toISOString(), label: `${b.valid - b.good} bad of ${b.valid}`, href: bandHref(b) }));
  const incidents: Band[] = series.incidents.map((i) => ({ from: i.startedAt.toISOString(), to: (i.endedAt ?? now).toISOString(), label: i.title }));
  const windowMinutes = def.windowDays * 1440;
  const pageThreshold = burnThreshold(ALERT_RULES[0]!, windowMinutes);
  const ticketThreshold = burnThreshold(ALERT_RULES[ALERT_RULES.length - 1]!, windowMinutes);
  const isLatency = def.indicator === "settlement_latency";
  const lateAfterMs = isLatency ? def.thresholdMs : 30_000;
  // What the selected objective counts as bad: failures for the success rate, lateness for latency.
  const hit = def.indicator === "transfer_success" ? "failed" : isLatency ? "late" : "both";

  // The selected bad interval's blast radius.
  let blast: React.ReactNode = null;
  if (p.selFrom && p.selTo) {
    const selFrom = new Date(p.selFrom);
    const selTo = new Date(Math.min(new Date(p.selTo).getTime(), selFrom.getTime() + DAY_MS));
    const after = decodeBlastCursor(p.cursor);
    const radius = await caller.slo
      .blastRadius({ from: selFrom, to: selTo, partner: def.partner, rail: def.rail, lateAfterMs, hit, limit: 50, ...(after ? { after } : {}) })
      .catch((e: unknown) => callErrorMessage(e));
    blast =
      typeof radius === "string" ? (
        <ErrorNotice>The blast radius of this interval cannot be read: {radius}</ErrorNotice>
      ) : (
        <BlastRadiusPanel
          radius={radius}
          scope={{ from: selFrom.toISOString(), to: selTo.toISOString(), partner: def.partner, rail: def.rail, lateAfterMs, hit, sloKey: def.key, sloName: def.name }}
          pages={{ first: after ? here({ cursor: undefined }) : null, next: radius.next ? here({ cursor: encodeBlastCursor(radius.next) }) : null }}
          canOperate={actor.permissions.has("transfers:operate")}
          canOpenIncident={actor.permissions.has("incidents:manage")}
        />
      );
  }

  return (
    <>
      <PageHeader
        title="SLOs"
        description="Whether money moves as promised: each objective against its target, its error budget and how fast it burns; partner health and incidents alongside."
        actions={
          <div className="flex gap-2">
            <ButtonLink href="/slos/objectives">Objectives</ButtonLink>
            <ButtonLink href="/slos/partners">Partner health</ButtonLink>
            <ButtonLink href="/slos/incidents">Incidents</ButtonLink>
            <ButtonLink href="/slos/report">Weekly report</ButtonLink>
          </div>
        }
      />
      <SloStatusTable statuses={statuses} selectedKey={def.key} />

      <section aria-labelledby="selected-slo" className="mt-6">
        <div className="flex flex-wrap items-baseline justify-between gap-3">
          <h2 id="selected-slo" className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">
            {def.name} <LevelBadge level={selected.alert.level} />
          </h2>
          <nav aria-label="Time range" className="flex gap-1 text-sm">
            {RANGES.map((r) => (
              <Link key={r} href={here({ range: r, from: undefined, to: undefined, selFrom: undefined, selTo: undefined, cursor: undefined })} aria-current={preset === r ? "page" : undefined} className={`${linkClass} rounded px-2 py-0.5 aria-[current=page]:bg-zinc-200 dark:aria-[current=page]:bg-zinc-800`}>
                {r}
              </Link>
            ))}
          </nav>
        </div>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          {def.description} Target {pct(def.target)} over {def.windowDays} days; now {pct(selected.sli)} with {pct(selected.budgetRemaining, 1)} of the budget left. Range {formatUtc(from)} – {formatUtc(to)} UTC, one
          point per {series.stepMinutes} min.
        </p>
        {!series.isAvailable ? (
          <EmptyState title="No data source for this objective">
            <p>Its indicator is read from reconciliation, which is not installed in this environment yet. Nothing is shown rather than an invented figure.</p>
          </EmptyState>
        ) : (
          <div className="mt-3 grid gap-4 xl:grid-cols-2">
            <SliChart title={`${def.name}: good events against the target`} points={series.points.map((x) => ({ at: x.at.toISOString(), sli: x.sli, good: x.good, valid: x.valid }))} target={def.target} breaches={breaches} incidents={incidents} from={from.toISOString()} to={to.toISOString()} />
            <BurnDownChart title="Error budget burn-down" points={series.burnDown.map((x) => ({ at: x.at.toISOString(), budgetRemaining: x.budgetRemaining }))} from={from.toISOString()} to={to.toISOString()} />
            {latency ? (
              <LatencyChart
                title={`Latency to settle (${latency.definition.rail ?? "all"} rail): p50, p95, p99`}
                points={latency.points.map((x) => ({ at: x.at.toISOString(), p50: x.latencyMsP50, p95: x.latencyMsP95, p99: x.latencyMsP99 }))}
                thresholdMs={latency.definition.thresholdMs}
                breaches={latency.breaches.map((b) => ({ from: b.from.toISOString(), to: b.to.toISOString(), label: "late", href: bandHref(b) }))}
                incidents={incidents}
                from={from.toISOString()}
                to={to.toISOString()}
              />
            ) : null}
            <BurnRatesChart title="Burn rates over the alert windows" rates={Object.entries(selected.burnRates).map(([window, rate]) => ({ window, rate }))} pageThreshold={pageThreshold} ticketThreshold={ticketThreshold} />
            <CountChart
              title="Stuck transfers"
              caption="The most transfers stuck in each step, as the worker sampled them once a minute (over their state's time budget or waiting for an operator)."
              points={samples.points.map((x) => ({ at: x.at.toISOString(), value: x.stuckMax }))}
              from={from.toISOString()}
              to={to.toISOString()}
            />
            <CountChart
              title="Webhook lag"
              caption="The longest a stored partner webhook waited to be applied, per step."
              points={samples.points.map((x) => ({ at: x.at.toISOString(), value: x.lagMaxMs }))}
              from={from.toISOString()}
              to={to.toISOString()}
              unit="ms"
            />
            {breakAge ? (
              <SliChart
                title="Reconciliation: breaks resolved in time"
                points={breakAge.points.map((x) => ({ at: x.at.toISOString(), sli: x.sli, good: x.good, valid: x.valid }))}
                target={breakAge.definition.target}
                breaches={[]}
                incidents={[]}
                from={from.toISOString()}
                to={to.toISOString()}
              />
            ) : null}
          </div>
        )}
      </section>

      <section aria-labelledby="bad-intervals" className="mt-6">
        <h2 id="bad-intervals" className="text-base font-semibold text-zinc-900 dark:text-zinc-50">
          Bad intervals in the range
        </h2>
        {series.breaches.length === 0 ? (
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">No step of this range was below target.</p>
        ) : (
          <ul className="mt-2 flex flex-wrap gap-2 text-sm">
            {series.breaches.map((b) => (
              <li key={b.from.toISOString()}>
                <Link href={bandHref(b)} className={`${linkClass} rounded border border-red-300 px-2 py-1 dark:border-red-800`} aria-current={p.selFrom === b.from.toISOString() ? "true" : undefined}>
                  {formatUtc(b.from)} – {formatUtc(b.to)}: {b.valid - b.good} bad of {b.valid}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>

      {blast}

      <section aria-labelledby="breakdown" className="mt-6">
        <h2 id="breakdown" className="sr-only">
          Per rail and partner
        </h2>
        <BreakdownTable rows={breakdown} />
      </section>
    </>
  );
}
