import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { formatMoneyDisplay } from "../../../../server/money/amount";
import { linkClass } from "../../../../components/ui";
import { formatMs } from "../../../../components/slo/format";
import { PrintButton } from "../../../../components/slo/print-button";
import { ReportWeeksTable } from "../../../../components/slo/report-weeks-table";
import { pageCaller } from "../../page-caller";

export const metadata: Metadata = { title: "Weekly report" };

const day = (d: Date) => d.toISOString().slice(0, 10);
const pct = (v: number | null) => (v === null ? "no transfers" : `${(v * 100).toFixed(2)}%`);

function trend(now: number | null, before: number | null, isHigherBetter: boolean): string {
  if (now === null || before === null) return "";
  const d = now - before;
  if (Math.abs(d) < 1e-9) return "unchanged from the week before";
  const better = isHigherBetter ? d > 0 : d < 0;
  return `${better ? "better" : "worse"} than the week before`;
}

/**
 * The weekly report for Product, Ops and Risk leaders: the four numbers the product is judged on
 * with their trend, each incident in plain words with what it hit and how long it took to fix,
 * and the adjustments approved. Prints cleanly (the console's chrome is hidden when printing).
 */
export default async function WeeklyReportPage({ searchParams }: { searchParams: Promise<{ week?: string }> }) {
  const { week } = await searchParams;
  const actor = await requirePageActor("slo:read", "/slos/report");
  const weekStart = week && /^\d{4}-\d\d-\d\d$/.test(week) ? new Date(`${week}T00:00:00Z`) : new Date();
  const r = await pageCaller(actor).slo.weeklyReport({ weekStart, weeksOfTrend: 4 });
  const thisWeek = r.weeks.at(-1)!;
  const lastWeek = r.weeks.at(-2) ?? null;
  const prev = day(new Date(r.weekStart.getTime() - 7 * 86_400_000));
  const next = day(new Date(r.weekStart.getTime() + 7 * 86_400_000));
  const resolvedMs = r.incidents.filter((i) => i.endedAt).map((i) => i.endedAt!.getTime() - i.startedAt.getTime());

  return (
    <article className="report mx-auto max-w-3xl text-zinc-900 dark:text-zinc-100 print:max-w-none print:text-black">
      <nav className="mb-3 flex justify-between text-sm print:hidden" aria-label="Weeks">
        <Link href={`/slos/report?week=${prev}`} className={linkClass}>
          ← Week of {prev}
        </Link>
        <PrintButton />
        <Link href={`/slos/report?week=${next}`} className={linkClass}>
          Week of {next} →
        </Link>
      </nav>
      <h1 className="text-2xl font-semibold">Money movement: week of {day(r.weekStart)}</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400 print:text-zinc-700">
        {day(r.weekStart)} to {day(new Date(r.weekEnd.getTime() - 1))} (UTC). Figures count the transfers created in the week.
      </p>

      <h2 className="mt-6 text-lg font-semibold">The four numbers</h2>
      <dl className="mt-2 grid grid-cols-2 gap-4">
        <div className="rounded border border-zinc-200 p-3 dark:border-zinc-800 print:border-zinc-400">
          <dt className="text-sm text-zinc-600 dark:text-zinc-400">Payments that went through</dt>
          <dd className="text-2xl font-semibold" data-testid="report-success">
            {pct(thisWeek.successRate)}
          </dd>
          <dd className="text-xs">
            {thisWeek.settled} paid, {thisWeek.failed} failed because of us or the bank {trend(thisWeek.successRate, lastWeek?.successRate ?? null, true) ? `· ${trend(thisWeek.successRate, lastWeek?.successRate ?? null, true)}` : ""}. Payments refused because of the customer (closed accounts, not enough money) are not counted against us.
          </dd>
        </div>
        <div className="rounded border border-zinc-200 p-3 dark:border-zinc-800 print:border-zinc-400">
          <dt className="text-sm text-zinc-600 dark:text-zinc-400">How long a payment takes</dt>
          <dd className="text-2xl font-semibold">{formatMs(thisWeek.latencyMsP50)}</dd>
          <dd className="text-xs">
            Half of the payments arrived within {formatMs(thisWeek.latencyMsP50)}, 95 in 100 within {formatMs(thisWeek.latencyMsP95)}
            {trend(thisWeek.latencyMsP95, lastWeek?.latencyMsP95 ?? null, false) ? ` · ${trend(thisWeek.latencyMsP95, lastWeek?.latencyMsP95 ?? null, false)}` : ""}.
          </dd>
        </div>
        <div className="rounded border border-zinc-200 p-3 dark:border-zinc-800 print:border-zinc-400">
          <dt className="text-sm text-zinc-600 dark:text-zinc-400">Incidents</dt>
          <dd className="text-2xl font-semibold" data-testid="report-incidents">
            {thisWeek.incidents}
          </dd>
          <dd className="text-xs">{resolvedMs.length > 0 ? `Fixed in ${formatMs(resolvedMs.reduce((a, b) => a + b, 0) / resolvedMs.length)} on average.` : "None needed fixing."}</dd>
        </div>
        <div className="rounded border border-zinc-200 p-3 dark:border-zinc-800 print:border-zinc-400">
          <dt className="text-sm text-zinc-600 dark:text-zinc-400">Reconciliation accuracy</dt>
          <dd className="text-2xl font-semibold">{r.reconciliation.lines === 0 ? "no statements" : pct(r.reconciliation.matchRate)}</dd>
          <dd className="text-xs">
            {r.reconciliation.lines === 0 ? "No bank statement line was reconciled this week." : `Of ${r.reconciliation.lines} lines on the banks' statements, the share our books matched without anyone's help`}
            {r.reconciliation.lines > 0 && trend(thisWeek.reconMatchRate, lastWeek?.reconMatchRate ?? null, true) ? ` · ${trend(thisWeek.reconMatchRate, lastWeek?.reconMatchRate ?? null, true)}` : ""}
            {r.reconciliation.lines > 0 ? "." : ""}
          </dd>
        </div>
      </dl>

      <h2 className="mt-6 text-lg font-semibold">The last weeks</h2>
      <ReportWeeksTable weeks={r.weeks} />

      <h2 className="mt-6 text-lg font-semibold">What went wrong</h2>
      {r.incidents.length === 0 ? (
        <p className="mt-1 text-sm">Nothing went wrong that needed an incident.</p>
      ) : (
        <ul className="mt-2 space-y-3">
          {r.incidents.map((i) => (
            <li key={i.id} className="text-sm">
              <p className="font-medium">{i.title}</p>
              <p>
                On {day(i.startedAt)} at {i.startedAt.toISOString().slice(11, 16)} UTC{i.partner ? `, with ${i.partner}` : ""}
                {i.rail ? ` (${i.rail} payments)` : ""}. {i.blastRadiusCount} payment{i.blastRadiusCount === 1 ? " was" : "s were"} affected.{" "}
                {i.endedAt ? `Fixed after ${formatMs(i.endedAt.getTime() - i.startedAt.getTime())}.` : "Still being worked on."}
              </p>
              {i.notes ? <p className="text-zinc-700 dark:text-zinc-300 print:text-zinc-800">{i.notes}</p> : null}
            </li>
          ))}
        </ul>
      )}

      <h2 className="mt-6 text-lg font-semibold">Largest differences with the banks still open</h2>
      {r.reconciliation.largestOpenBreaks.length === 0 ? (
        <p className="mt-1 text-sm">None: every difference found between our books and the banks' statements is resolved.</p>
      ) : (
        <ul className="mt-2 list-disc pl-5 text-sm">
          {r.reconciliation.largestOpenBreaks.map((b) => (
            <li key={b.id}>
              {formatMoneyDisplay(b.amountMinor, b.currency)}, {b.type.replaceAll("_", " ")}, open since {day(b.openedAt)}.
            </li>
          ))}
        </ul>
      )}

      <h2 className="mt-6 text-lg font-semibold">Adjustments approved</h2>
      {r.adjustmentsApproved.length === 0 ? (
        <p className="mt-1 text-sm">No manual adjustment was approved this week.</p>
      ) : (
        <ul className="mt-2 list-disc pl-5 text-sm">
          {r.adjustmentsApproved.map((a) => (
            <li key={a.id}>
              {a.summary} ({Object.entries(a.amounts).map(([c, m]) => formatMoneyDisplay(BigInt(m), c)).join(", ")}), approved {day(a.closedAt)}
              {a.closedBy ? ` by ${a.closedBy}` : ""}.
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
