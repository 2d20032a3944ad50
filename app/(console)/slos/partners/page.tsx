import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { PageHeader, linkClass } from "../../../../components/ui";
import type { RawSearchParams } from "../../../../components/kit/url-state";
import { defineUrlState, param } from "../../../../components/kit/url-state";
import { PartnerHealthTable } from "../../../../components/slo/slo-tables";
import { pageCaller } from "../../page-caller";

export const metadata: Metadata = { title: "Partner health" };

const RANGES = ["1h", "24h", "7d"] as const;
const RANGE_MS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 } as const;
const state = defineUrlState("/slos/partners", { range: param.oneOf(RANGES) });

/** Per partner and rail: success, latency, timeout and error rates, the outage state detected from them, and its history. */
export default async function PartnerHealthPage({ searchParams }: { searchParams: Promise<RawSearchParams> }) {
  const p = state.read(await searchParams);
  const actor = await requirePageActor("slo:read", state.href(p));
  const range = p.range ?? "24h";
  const rows = await pageCaller(actor).slo.partnerHealth({ from: new Date(Date.now() - RANGE_MS[range]) });
  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/slos" className={linkClass}>
          ← SLOs
        </Link>
      </p>
      <PageHeader
        title="Partner health"
        description="From the calls we made to each partner rail: accepted, answered with errors (5xx, outage), timed out. The state is judged on the last 5 minutes: an outage when at least half of at least 5 calls failed, degraded at 10% failing or 5% timing out. Never from the sandbox's own switch."
      />
      <nav aria-label="Time range" className="mb-3 flex gap-1 text-sm">
        {RANGES.map((r) => (
          <Link key={r} href={state.href({ range: r })} aria-current={range === r ? "page" : undefined} className={`${linkClass} rounded px-2 py-0.5 aria-[current=page]:bg-zinc-200 dark:aria-[current=page]:bg-zinc-800`}>
            {r}
          </Link>
        ))}
      </nav>
      <PartnerHealthTable rows={rows} caption={`Partner rails over the last ${range}`} />
    </>
  );
}
