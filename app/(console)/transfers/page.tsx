import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../server/auth/session";
import { TRANSFER_STATES } from "../../../server/transfers/state-machine";
import { RAILS } from "../../../server/transfers/types";
import { CURRENCY_EXPONENTS } from "../../../server/money/currencies";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, FilterActions, FilterSelect, PageHeader, PagerLink, buttonClass, inputClass, labelClass } from "../../../components/ui";
import { TransfersTable } from "../../../components/transfers/transfers-table";
import { STATE_MEANING } from "../../../components/transfers/transfer-ui";
import {
  AGE_OPTIONS,
  PAGE_SIZES,
  TRANSFER_PRESETS,
  TRANSFER_SORT_OPTIONS,
  hasListFilters,
  matchingPreset,
  readTransferListView,
  toListInput,
  transfersHref,
  type RawParams,
} from "../../../components/transfers/transfer-params";

export const metadata: Metadata = { title: "Transfers" };

const CURRENCIES = Object.keys(CURRENCY_EXPONENTS).sort();

export default async function TransfersPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const view = readTransferListView(await searchParams);
  const actor = await requirePageActor("transfers:read", transfersHref(view));
  const now = new Date();
  const caller = pageCaller(actor);
  const hasFilters = hasListFilters(view);
  const preset = matchingPreset(view);

  const parsed = toListInput(view, now);
  let error = parsed.error;
  let page: Awaited<ReturnType<typeof caller.transfers.list>> | null = null;
  const [listResult, summary, rails] = await Promise.all([
    parsed.input ? caller.transfers.list(parsed.input).then((p) => ({ p }), (e: unknown) => ({ e: callErrorMessage(e) })) : Promise.resolve(null),
    caller.transfers.stuckSummary().catch(() => null),
    caller.transfers.rails.list().catch(() => []),
  ]);
  if (listResult && "p" in listResult) page = listResult.p;
  else if (listResult) error = listResult.e;
  const partners = [...new Set(rails.map((r) => r.partner))].sort();
  const { cursor, ...viewWithoutCursor } = view;
  const isCustomAge = !view.age || view.age === "custom";

  return (
    <>
      <PageHeader
        title="Transfers"
        description="Money moving through partner rails: its state, how long it has waited, and which transfers are over their time budget."
        actions={
          summary ? (
            <Link href="/transfers/stuck" className={summary.total > 0 ? buttonClass.primary : buttonClass.secondary}>
              Stuck queue ({summary.total})
            </Link>
          ) : null
        }
      />

      <nav aria-label="Saved filters" className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <span className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Saved filters:</span>
        <Link href="/transfers" aria-current={!hasFilters && view.sort === "created_desc" ? "page" : undefined} className={`${buttonClass.ghost} aria-[current=page]:bg-zinc-200 dark:aria-[current=page]:bg-zinc-700`}>
          All
        </Link>
        {TRANSFER_PRESETS.map((p) => (
          <Link
            key={p.key}
            href={transfersHref(p.view)}
            title={p.description}
            aria-current={preset === p.key ? "page" : undefined}
            className={`${buttonClass.ghost} aria-[current=page]:bg-zinc-200 dark:aria-[current=page]:bg-zinc-700`}
          >
            {p.label}
          </Link>
        ))}
      </nav>

      <form method="get" action="/transfers" role="search" aria-label="Filter transfers" className="mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-6">
          <div className="col-span-2">
            <label htmlFor="transfers-q" className={labelClass}>
              Search
            </label>
            <input
              id="transfers-q"
              name="q"
              type="search"
              defaultValue={view.q ?? ""}
              placeholder="Transfer id, reference (prefix), idempotency key or partner ref"
              className={`${inputClass} mt-1`}
            />
          </div>
          <FilterSelect id="transfers-rail" name="rail" label="Rail" value={view.rail} anyLabel="Any rail" options={RAILS} />
          <FilterSelect id="transfers-partner" name="partner" label="Partner" value={view.partner} anyLabel="Any partner" options={[...new Set([...partners, ...(view.partner ? [view.partner] : [])])]} />
          <FilterSelect id="transfers-currency" name="currency" label="Currency" value={view.currency} anyLabel="Any currency" options={CURRENCIES} />
          <div className="flex gap-2">
            <div className="min-w-0 flex-1">
              <label htmlFor="transfers-min" className={labelClass}>
                Min amount
              </label>
              <input id="transfers-min" name="min" type="text" inputMode="decimal" defaultValue={view.min ?? ""} placeholder="10.00" className={`${inputClass} mt-1`} />
            </div>
            <div className="min-w-0 flex-1">
              <label htmlFor="transfers-max" className={labelClass}>
                Max amount
              </label>
              <input id="transfers-max" name="max" type="text" inputMode="decimal" defaultValue={view.max ?? ""} placeholder="5000" className={`${inputClass} mt-1`} />
            </div>
          </div>
          <div>
            <label htmlFor="transfers-age" className={labelClass}>
              Created
            </label>
            <select id="transfers-age" name="age" defaultValue={view.age ?? ""} className={`${inputClass} mt-1`}>
              <option value="">Any time</option>
              {AGE_OPTIONS.map((a) => (
                <option key={a.value} value={a.value}>
                  {a.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="transfers-from" className={labelClass}>
              Created from (UTC)
            </label>
            <input id="transfers-from" name="from" type="text" defaultValue={isCustomAge ? (view.from ?? "") : ""} placeholder="2026-11-21T08:00" aria-describedby="transfers-range-hint" className={`${inputClass} mt-1`} />
          </div>
          <div>
            <label htmlFor="transfers-to" className={labelClass}>
              Created to (UTC)
            </label>
            <input id="transfers-to" name="to" type="text" defaultValue={isCustomAge ? (view.to ?? "") : ""} placeholder="now" aria-describedby="transfers-range-hint" className={`${inputClass} mt-1`} />
          </div>
          <div>
            <label htmlFor="transfers-sort" className={labelClass}>
              Sort
            </label>
            <select id="transfers-sort" name="sort" defaultValue={view.sort} className={`${inputClass} mt-1`}>
              {TRANSFER_SORT_OPTIONS.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="transfers-limit" className={labelClass}>
              Page size
            </label>
            <select id="transfers-limit" name="limit" defaultValue={String(view.limit)} className={`${inputClass} mt-1`}>
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n} per page
                </option>
              ))}
            </select>
          </div>
        </div>
        <fieldset className="mt-3">
          <legend className={labelClass}>State</legend>
          <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1 text-sm">
            {TRANSFER_STATES.map((s) => (
              <label key={s} className="inline-flex items-center gap-1.5" title={STATE_MEANING[s]}>
                <input type="checkbox" name="state" value={s} defaultChecked={view.states.includes(s)} className="size-4 accent-zinc-800 dark:accent-zinc-200" />
                {s}
              </label>
            ))}
            <label className="ml-2 inline-flex items-center gap-1.5 border-l border-zinc-200 pl-4 font-medium dark:border-zinc-700">
              <input type="checkbox" name="stuck" value="1" defaultChecked={view.isStuck} className="size-4 accent-amber-600" />
              Stuck only
            </label>
          </div>
        </fieldset>
        <p id="transfers-range-hint" className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
          Amounts are exact in the chosen currency&apos;s decimals (12.50 EUR, 1200 JPY); a custom range applies when Created is Any time or Custom range.
        </p>
        <FilterActions clearHref="/transfers" hasFilters={hasFilters || view.sort !== "created_desc" || view.limit !== 50} />
      </form>

      {error ? (
        <ErrorNotice>
          Could not list transfers: {error}
          {cursor ? (
            <>
              {" "}
              <Link href={transfersHref(viewWithoutCursor)} className="underline">
                Start again from the first page
              </Link>
            </>
          ) : null}
        </ErrorNotice>
      ) : null}

      {page && page.items.length === 0 ? (
        <EmptyState title={cursor ? "No more transfers" : hasFilters ? "No transfers match" : "No transfers yet"}>
          <p>
            {cursor
              ? "This is the end of the list for these filters."
              : hasFilters
                ? view.isStuck
                  ? "Nothing matching these filters is stuck: every active transfer is within its rail's time budget. Clear a filter to see all transfers."
                  : "No transfer matches these filters. Widen the created range, clear a state or the amount range, or search by the full transfer id."
                : "No transfer has been created in this environment. Services create transfers through the internal API (transfers.create, see docs/api.md); with npm start the demo traffic generator sends a steady flow through the partner sandbox."}
          </p>
        </EmptyState>
      ) : null}

      {page && page.items.length > 0 ? (
        <>
          <TransfersTable items={page.items} now={now} caption={`Transfers, ${TRANSFER_SORT_OPTIONS.find((s) => s.value === view.sort)?.label.toLowerCase() ?? ""}`} />
          <nav aria-label="Transfer pages" className="mt-3 flex items-center justify-between gap-2 text-sm">
            <span className="text-zinc-600 dark:text-zinc-400">
              {page.items.length} transfer{page.items.length === 1 ? "" : "s"} on this {cursor ? "page" : "first page"}
            </span>
            <div className="flex gap-2">
              <PagerLink href={cursor ? transfersHref(viewWithoutCursor) : null} rel="prev">
                First page
              </PagerLink>
              <PagerLink href={page.nextCursor ? transfersHref({ ...viewWithoutCursor, cursor: page.nextCursor }) : null} rel="next">
                Next
              </PagerLink>
            </div>
          </nav>
        </>
      ) : null}
    </>
  );
}
