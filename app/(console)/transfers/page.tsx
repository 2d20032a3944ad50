import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { TRANSFER_STATES } from "../../../server/transfers/state-machine";
import { TRANSFER_PAGE_MAX } from "../../../server/transfers/queries";
import { RAILS } from "../../../server/transfers/types";
import { CURRENCY_EXPONENTS } from "../../../server/money/currencies";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, PageHeader } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import { FilterCheckbox, FilterCheckboxes, FilterForm, FilterSelect, FilterText } from "../../../components/kit/filter-form";
import { ListNavigation } from "../../../components/kit/list-navigation";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { TransfersTable } from "../../../components/transfers/transfers-table";
import { STATE_MEANING } from "../../../components/transfers/transfer-ui";
import {
  AGE_OPTIONS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_SORT,
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
  let page: RouterOutputs["transfers"]["list"] | null = null;
  const [listResult, summary, rails] = await Promise.all([
    parsed.input ? caller.transfers.list(parsed.input).then((p) => ({ p }), (e: unknown) => ({ e: callErrorMessage(e) })) : Promise.resolve(null),
    caller.transfers.stuckSummary().catch(() => null),
    caller.transfers.rails.list().catch(() => []),
  ]);
  if (listResult && "p" in listResult) page = listResult.p;
  else if (listResult) error = listResult.e;
  const partners = [...new Set([...rails.map((r) => r.partner), ...(view.partner ? [view.partner] : [])])].sort();
  const { cursor, ...viewWithoutCursor } = view;
  const isCustomAge = !view.age || view.age === "custom";

  return (
    <>
      <PageHeader
        title="Transfers"
        description="Money moving through partner rails: its state, how long it has waited, and which transfers are over their time budget."
        actions={
          summary ? (
            <ButtonLink href="/transfers/stuck" variant={summary.total > 0 ? "primary" : "secondary"}>
              Stuck queue ({summary.total})
            </ButtonLink>
          ) : null
        }
      />

      <nav aria-label="Saved filters" className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <span className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Saved filters:</span>
        <ButtonLink href="/transfers" variant="ghost" isCurrent={!hasFilters && view.sort === DEFAULT_SORT}>
          All
        </ButtonLink>
        {TRANSFER_PRESETS.map((p) => (
          <ButtonLink key={p.key} href={transfersHref(p.view)} title={p.description} variant="ghost" isCurrent={preset === p.key}>
            {p.label}
          </ButtonLink>
        ))}
      </nav>

      <ListNavigation>
        <FilterForm
          action="/transfers"
          label="Filter transfers"
          clearHref="/transfers"
          hasFilters={hasFilters || view.sort !== DEFAULT_SORT || view.limit !== DEFAULT_PAGE_SIZE}
          layout="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-6"
          hintId="transfers-range-hint"
          hint={<>Amounts are exact in the chosen currency&apos;s decimals (12.50 EUR, 1200 JPY); a custom range applies when Created is Any time or Custom range.</>}
        >
          <FilterText name="q" type="search" label="Search" value={view.q} placeholder="Transfer id, reference (prefix), idempotency key or partner ref" className="col-span-2" />
          <FilterSelect name="rail" label="Rail" value={view.rail} anyLabel="Any rail" options={RAILS} />
          <FilterSelect name="partner" label="Partner" value={view.partner} anyLabel="Any partner" options={partners} />
          <FilterSelect name="currency" label="Currency" value={view.currency} anyLabel="Any currency" options={CURRENCIES} />
          <div className="flex gap-2">
            <FilterText name="min" label="Min amount" value={view.min} inputMode="decimal" placeholder="10.00" className="flex-1" />
            <FilterText name="max" label="Max amount" value={view.max} inputMode="decimal" placeholder="5000" className="flex-1" />
          </div>
          <FilterSelect name="age" label="Created" value={view.age} anyLabel="Any time" options={AGE_OPTIONS.map((a) => ({ value: a.value, label: a.label }))} />
          <FilterText name="from" label="Created from (UTC)" value={isCustomAge ? view.from : undefined} placeholder="2026-11-21T08:00" describedBy="transfers-range-hint" />
          <FilterText name="to" label="Created to (UTC)" value={isCustomAge ? view.to : undefined} placeholder="now" describedBy="transfers-range-hint" />
          <FilterSelect name="sort" label="Sort" value={view.sort} options={TRANSFER_SORT_OPTIONS} />
          <FilterSelect name="limit" label="Page size" value={view.limit} options={PAGE_SIZES.map((n) => ({ value: String(n), label: `${n} per page` }))} />
          <FilterCheckboxes name="state" legend="State" values={view.states} options={TRANSFER_STATES.map((s) => ({ value: s, label: s, title: STATE_MEANING[s] }))}>
            <FilterCheckbox name="stuck" label="Stuck only" isChecked={view.isStuck} className="ml-2 border-l border-zinc-200 pl-4 dark:border-zinc-700" />
          </FilterCheckboxes>
        </FilterForm>

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

        {page && parsed.input ? (
          <TransfersTable
            page={page}
            view={view}
            now={now}
            exportQuery={{ ...parsed.input, cursor: undefined, limit: TRANSFER_PAGE_MAX }}
            empty={
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
            }
          />
        ) : null}
      </ListNavigation>
    </>
  );
}
