import type { Metadata } from "next";
import { requirePageActor } from "../../page-access";
import { ACCOUNT_PAGE_MAX } from "../../../server/ledger/accounts";
import { pageCaller, callErrorMessage } from "../page-caller";
import { CURRENCY_EXPONENTS } from "../../../server/money/currencies";
import { EmptyState, ErrorNotice, PageHeader } from "../../../components/ui";
import { FilterForm, FilterSelect, FilterText } from "../../../components/kit/filter-form";
import { ListNavigation } from "../../../components/kit/list-navigation";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { AccountsTable } from "../../../components/ledger/accounts-table";
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
  let page: RouterOutputs["ledger"]["accounts"]["page"] | null = null;
  try {
    page = await pageCaller(actor).ledger.accounts.page({ ...filters, after, before, limit: ACCOUNTS_PAGE_SIZE });
  } catch (e) {
    error = callErrorMessage(e);
  }

  return (
    <>
      <PageHeader title="Accounts" description="Ledger accounts with their posted, pending and available balances, exact in each account's currency." />

      <ListNavigation>
        <FilterForm action="/accounts" label="Filter accounts" clearHref="/accounts" hasFilters={hasFilters}>
          <FilterSelect name="currency" label="Currency" value={filters.currency} anyLabel="Any currency" options={CURRENCIES} />
          <FilterSelect name="type" label="Type" value={filters.type} anyLabel="Any type" options={ACCOUNT_TYPE_OPTIONS} />
          <FilterSelect name="status" label="Status" value={filters.status} anyLabel="Any status" options={ACCOUNT_STATUS_OPTIONS} />
          <FilterText name="codePrefix" label="Code prefix" value={filters.codePrefix} placeholder="customer: or ops:fees" />
        </FilterForm>

        {error ? <ErrorNotice>Could not list accounts: {error}</ErrorNotice> : null}

        {page ? (
          <AccountsTable
            page={page}
            filters={filters}
            exportQuery={{ ...filters, limit: ACCOUNT_PAGE_MAX }}
            empty={
              <EmptyState title={hasFilters || after || before ? "No accounts match" : "No accounts yet"}>
                <p>
                  {hasFilters || after || before
                    ? "No account matches these filters. Clear a filter or shorten the code prefix."
                    : "No account has been opened in this environment. Services open accounts through the internal API (ledger.accounts.create, see docs/api.md); the demo world (npm run db:seed) opens a set of sample accounts."}
                </p>
              </EmptyState>
            }
          />
        ) : null}
      </ListNavigation>
    </>
  );
}
