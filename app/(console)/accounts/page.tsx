import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../server/auth/session";
import { pageCaller, callErrorMessage } from "../page-caller";
import { CURRENCY_EXPONENTS } from "../../../server/money/currencies";
import { EmptyState, ErrorNotice, FilterActions, FilterSelect, PageHeader, PagerLink, Badge, inputClass, labelClass, linkClass, tableClass } from "../../../components/ui";
import { Money, amountCellClass } from "../../../components/ledger/money";
import {
  ACCOUNT_STATUS_OPTIONS,
  ACCOUNT_TYPE_OPTIONS,
  ACCOUNTS_PAGE_SIZE,
  accountsHref,
  readAccountListParams,
  type RawParams,
} from "../../../components/ledger/ledger-params";

export const metadata: Metadata = { title: "Accounts" };

const CURRENCIES = Object.keys(CURRENCY_EXPONENTS).sort();

export default async function AccountsPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const params = readAccountListParams(await searchParams);
  const actor = await requirePageActor("ledger:read", accountsHref(params));
  const { after, before, ...filters } = params;
  const hasFilters = Object.values(filters).some(Boolean);

  let error: string | null = null;
  let page: Awaited<ReturnType<ReturnType<typeof pageCaller>["ledger"]["accounts"]["page"]>> | null = null;
  try {
    page = await pageCaller(actor).ledger.accounts.page({ ...filters, after, before, limit: ACCOUNTS_PAGE_SIZE });
  } catch (e) {
    error = callErrorMessage(e);
  }

  return (
    <>
      <PageHeader title="Accounts" description="Ledger accounts with their posted, pending and available balances, exact in each account's currency." />

      <form method="get" action="/accounts" role="search" aria-label="Filter accounts" className="mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <FilterSelect id="accounts-currency" name="currency" label="Currency" value={filters.currency} anyLabel="Any currency" options={CURRENCIES} />
          <FilterSelect id="accounts-type" name="type" label="Type" value={filters.type} anyLabel="Any type" options={ACCOUNT_TYPE_OPTIONS} />
          <FilterSelect id="accounts-status" name="status" label="Status" value={filters.status} anyLabel="Any status" options={ACCOUNT_STATUS_OPTIONS} />
          <div>
            <label htmlFor="accounts-code" className={labelClass}>
              Code prefix
            </label>
            <input id="accounts-code" name="codePrefix" type="text" defaultValue={filters.codePrefix ?? ""} placeholder="customer: or ops:fees" className={`${inputClass} mt-1`} />
          </div>
        </div>
        <FilterActions clearHref="/accounts" hasFilters={hasFilters} />
      </form>

      {error ? (
        <ErrorNotice>Could not list accounts: {error}</ErrorNotice>
      ) : null}

      {page && page.items.length === 0 ? (
        <EmptyState title={hasFilters || after || before ? "No accounts match" : "No accounts yet"}>
          <p>
            {hasFilters || after || before
              ? "No account matches these filters. Clear a filter or shorten the code prefix."
              : "No account has been opened in this environment. Services open accounts through the internal API (ledger.accounts.create, see docs/api.md); the demo world (npm run db:seed) opens a set of sample accounts."}
          </p>
        </EmptyState>
      ) : null}

      {page && page.items.length > 0 ? (
        <>
          <div className={tableClass.wrap}>
            <table className={tableClass.table}>
              <caption className="sr-only">Accounts ordered by code</caption>
              <thead className="bg-zinc-50 dark:bg-zinc-900">
                <tr>
                  <th scope="col" className={tableClass.th}>Code</th>
                  <th scope="col" className={tableClass.th}>Name</th>
                  <th scope="col" className={tableClass.th}>Type</th>
                  <th scope="col" className={tableClass.th}>Currency</th>
                  <th scope="col" className={tableClass.th}>Status</th>
                  <th scope="col" className={tableClass.th}>No overdraft</th>
                  <th scope="col" className={`${tableClass.th} text-right`}>Posted</th>
                  <th scope="col" className={`${tableClass.th} text-right`}>Pending</th>
                  <th scope="col" className={`${tableClass.th} text-right`}>Available</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                {page.items.map((a) => (
                  <tr key={a.id} className={tableClass.tr}>
                    <td className={`${tableClass.td} font-mono text-xs`}>
                      <Link href={`/accounts/${a.id}`} className={linkClass}>
                        {a.code}
                      </Link>
                    </td>
                    <td className={tableClass.td}>{a.name}</td>
                    <td className={tableClass.td}>{a.type}</td>
                    <td className={`${tableClass.td} font-mono`}>{a.currency}</td>
                    <td className={tableClass.td}>{a.status === "frozen" ? <Badge tone="bad">Frozen</Badge> : <Badge tone="good">Active</Badge>}</td>
                    <td className={tableClass.td}>{a.isNoOverdraft ? "Yes" : "No"}</td>
                    <td className={`${tableClass.td} ${amountCellClass}`}>
                      <Money amountMinor={a.balance.postedMinor} currency={a.currency} />
                    </td>
                    <td className={`${tableClass.td} ${amountCellClass}`}>
                      <Money amountMinor={a.balance.pendingMinor} currency={a.currency} />
                    </td>
                    <td className={`${tableClass.td} ${amountCellClass}`}>
                      <Money amountMinor={a.balance.availableMinor} currency={a.currency} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Account pages" className="mt-3 flex items-center justify-between gap-2 text-sm">
            <span className="text-zinc-600 dark:text-zinc-400">
              {page.items.length} account{page.items.length === 1 ? "" : "s"} on this page, by code
            </span>
            <div className="flex gap-2">
              <PagerLink href={page.prevCursor ? accountsHref({ ...filters, before: page.prevCursor }) : null} rel="prev">
                Previous
              </PagerLink>
              <PagerLink href={page.nextCursor ? accountsHref({ ...filters, after: page.nextCursor }) : null} rel="next">
                Next
              </PagerLink>
            </div>
          </nav>
        </>
      ) : null}
    </>
  );
}
