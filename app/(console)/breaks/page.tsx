import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { AGE_BUCKETS, BREAK_STATUSES, BREAK_TYPES } from "../../../server/recon/break-kinds";
import { CURRENCY_EXPONENTS } from "../../../server/money/currencies";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, PageHeader } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import { FilterCheckboxes, FilterForm, FilterSelect, FilterText } from "../../../components/kit/filter-form";
import { ListNavigation } from "../../../components/kit/list-navigation";
import type { RawSearchParams } from "../../../components/kit/url-state";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { BreaksTable } from "../../../components/recon/breaks-table";
import { SaveViewButton, SavedViewMenu } from "../../../components/recon/saved-views";
import { BREAK_PRESETS, BREAK_SORT_OPTIONS, BREAK_TYPE_LABEL, PAGE_SIZES, breakListState, breaksHref, hasBreakFilters, matchingPreset, readBreakListView, toBreakListInput } from "../../../components/recon/break-params";

export const metadata: Metadata = { title: "Breaks" };

const CURRENCIES = Object.keys(CURRENCY_EXPONENTS).sort();

export default async function BreaksPage({ searchParams }: { searchParams: Promise<RawSearchParams> }) {
  const view = readBreakListView(await searchParams);
  const actor = await requirePageActor("recon:read", breaksHref(view));
  const caller = pageCaller(actor);
  const userId = actor.kind === "user" ? actor.userId : null;
  const parsed = toBreakListInput(view, userId);
  let error = parsed.error;
  let page: RouterOutputs["recon"]["breaks"]["list"] | null = null;
  const [result, sources, summary, savedViews] = await Promise.all([
    parsed.input ? caller.recon.breaks.list(parsed.input).then((p) => ({ p }), (e: unknown) => ({ e: callErrorMessage(e) })) : Promise.resolve(null),
    caller.recon.sources.list().catch(() => []),
    caller.recon.breaks.summary({}).catch(() => []),
    caller.savedViews.list({ page: "breaks" }).then((v) => ({ v }), (e: unknown) => ({ e: callErrorMessage(e) })),
  ]);
  if (result && "p" in result) page = result.p;
  else if (result) error = result.e;
  const preset = matchingPreset(view);
  const { cursor, ...viewWithoutCursor } = view;
  // The view shown, as a saved view stores it (canonical, without the cursor): it marks the current one.
  const currentQuery = breakListState.query(viewWithoutCursor);
  const ownViews = "v" in savedViews ? savedViews.v.filter((v) => v.isOwn) : [];
  const sharedViews = "v" in savedViews ? savedViews.v.filter((v) => !v.isOwn) : [];
  const savedViewHref = (query: string) => (query ? `/breaks?${query}` : "/breaks");
  const byBucket = Object.fromEntries(AGE_BUCKETS.map((b) => [b, summary.filter((s) => s.bucket === b).reduce((n, s) => n + s.count, 0)]));
  const canOperate = actor.permissions.has("recon:operate");

  return (
    <>
      <PageHeader
        title="Breaks"
        description="Statement lines and ledger postings that did not reconcile: oldest first, with their type, age and owner."
        actions={
          <>
            <ButtonLink href="/reconciliation" variant="secondary">
              Reconciliation
            </ButtonLink>
            {canOperate ? <ButtonLink href="/reconciliation/import">Import a statement</ButtonLink> : null}
          </>
        }
      />
      <p aria-label="Open breaks by age" className="mb-3 flex flex-wrap gap-3 text-sm text-zinc-600 dark:text-zinc-400">
        {AGE_BUCKETS.map((b) => (
          <Link key={b} href={breaksHref({ age: b })} className="rounded border border-zinc-200 px-2 py-1 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900">
            {b} days: <span className="font-semibold tabular-nums">{byBucket[b]}</span>
          </Link>
        ))}
      </p>
      <nav aria-label="Saved filters" className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <span className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Saved filters:</span>
        <ButtonLink href="/breaks" variant="ghost" isCurrent={!hasBreakFilters(view)}>
          Open
        </ButtonLink>
        {BREAK_PRESETS.map((p) => (
          <ButtonLink key={p.key} href={breaksHref(p.view)} title={p.description} variant="ghost" isCurrent={preset === p.key}>
            {p.label}
          </ButtonLink>
        ))}
      </nav>
      <nav aria-label="Saved views" className="mb-3 flex flex-wrap items-center gap-2 text-sm">
        <span className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Your views:</span>
        {ownViews.length === 0 && "v" in savedViews ? <span className="text-xs text-zinc-500 dark:text-zinc-400">none yet: set filters, then save the view.</span> : null}
        {ownViews.map((v) => (
          <span key={v.id} className="inline-flex items-center">
            <ButtonLink href={savedViewHref(v.query)} title={v.isShared ? "Yours, shared with the team" : "Yours"} variant="ghost" isCurrent={v.query === currentQuery}>
              {v.name}
              {v.isShared ? <span className="ml-1 text-xs text-zinc-500 dark:text-zinc-400">(shared)</span> : null}
            </ButtonLink>
            <SavedViewMenu view={v} />
          </span>
        ))}
        {sharedViews.length > 0 ? <span className="ml-2 text-xs font-medium text-zinc-500 dark:text-zinc-400">Shared with you:</span> : null}
        {sharedViews.map((v) => (
          <ButtonLink key={v.id} href={savedViewHref(v.query)} title={`Shared by ${v.ownerName}`} variant="ghost" isCurrent={v.query === currentQuery}>
            {v.name}
            <span className="ml-1 text-xs text-zinc-500 dark:text-zinc-400">({v.ownerName})</span>
          </ButtonLink>
        ))}
        {"e" in savedViews ? <span className="text-xs text-red-700 dark:text-red-400">Could not list saved views: {savedViews.e}</span> : null}
        {actor.kind === "user" ? <SaveViewButton query={currentQuery} isDefaultView={currentQuery === ""} /> : null}
      </nav>
      <ListNavigation>
        <FilterForm action="/breaks" label="Filter breaks" clearHref="/breaks" hasFilters={hasBreakFilters(view) || view.sort !== "oldest"} layout="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-6" hint={<>Amounts are exact in the chosen currency&apos;s decimals (12.50 EUR, 1200 JPY).</>} hintId="breaks-hint">
          <FilterSelect name="source" label="Source" value={view.source} anyLabel="Any source" options={sources.map((s) => ({ value: s.id, label: s.name }))} />
          <FilterSelect name="age" label="Age" value={view.age} anyLabel="Any age" options={AGE_BUCKETS.map((b) => ({ value: b, label: `${b} days` }))} />
          <FilterSelect name="currency" label="Currency" value={view.currency} anyLabel="Any currency" options={CURRENCIES} />
          <div className="flex gap-2">
            <FilterText name="min" label="Min amount" value={view.min} inputMode="decimal" placeholder="10.00" className="flex-1" describedBy="breaks-hint" />
            <FilterText name="max" label="Max amount" value={view.max} inputMode="decimal" placeholder="5000" className="flex-1" describedBy="breaks-hint" />
          </div>
          <FilterSelect name="assignee" label="Assignee" value={view.assignee} anyLabel="Anyone" options={[{ value: "me", label: "Me" }, { value: "unassigned", label: "Unassigned" }]} />
          <FilterSelect name="sort" label="Sort" value={view.sort} options={BREAK_SORT_OPTIONS} />
          <FilterSelect name="limit" label="Page size" value={String(view.limit)} options={PAGE_SIZES.map((n) => ({ value: String(n), label: `${n} per page` }))} />
          <FilterCheckboxes name="type" legend="Type" values={view.types} options={BREAK_TYPES.map((t) => ({ value: t, label: BREAK_TYPE_LABEL[t] }))} />
          <FilterCheckboxes name="status" legend="Status" values={view.statuses} options={BREAK_STATUSES.map((s) => ({ value: s, label: s === "timing" ? "timing difference" : s }))} />
        </FilterForm>
        {error ? (
          <ErrorNotice>
            Could not list breaks: {error}
            {cursor ? (
              <>
                {" "}
                <Link href={breaksHref(viewWithoutCursor)} className="underline">
                  Start again from the first page
                </Link>
              </>
            ) : null}
          </ErrorNotice>
        ) : null}
        {page ? (
          <BreaksTable
            page={page}
            view={view}
            canOperate={canOperate}
            exportQuery={{ ...parsed.input!, limit: 200, cursor: undefined }}
            empty={
              <EmptyState title={hasBreakFilters(view) ? "No break matches these filters" : "Nothing to reconcile"}>
                {hasBreakFilters(view) ? (
                  <p>Widen the filters, or clear them to see every open break.</p>
                ) : (
                  <p>Every imported statement line is matched. Breaks appear here when an import or a run leaves a line or a posting unexplained; import a statement from the Reconciliation page.</p>
                )}
              </EmptyState>
            }
          />
        ) : null}
      </ListNavigation>
    </>
  );
}
