import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Card, EmptyState, ErrorNotice, PageHeader, linkClass } from "../../../../components/ui";
import { FilterForm, FilterSelect, FilterText } from "../../../../components/kit/filter-form";
import { ImportsTable, RateImportForm, RatesChart, SpreadsTable } from "../../../../components/pricing/rates";
import { daysBefore, ratesState, readRatesParams } from "../../../../components/pricing/pricing-params";
import type { RouterOutputs } from "../../../../components/kit/api-types";

export const metadata: Metadata = { title: "Reference rates" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** The currencies the ECB publishes reference rates for (its daily file's columns). */
const ECB_CURRENCIES = [
  "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK",
  "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB", "TRY", "USD", "ZAR",
] as const;

const DEFAULT_DAYS = 90;

export default async function RatesPage({ searchParams }: { searchParams: SearchParams }) {
  const p = readRatesParams(await searchParams);
  const actor = await requirePageActor("pricing:read", ratesState.href(p));
  const caller = pageCaller(actor);
  const errors: string[] = [];
  const [imports, spreads] = await Promise.all([
    caller.pricing.listRateImports({ limit: 20 }).catch((e: unknown) => (errors.push(`imports: ${callErrorMessage(e)}`), null)),
    caller.pricing.listSpreads().catch((e: unknown) => (errors.push(`spreads: ${callErrorMessage(e)}`), null)),
  ]);
  // Without a chosen end, the range ends at the newest date imported (or today).
  const newest = imports?.items.reduce<string | null>((m, i) => (m === null || i.lastDate > m ? i.lastDate : m), null) ?? null;
  const to = p.to ?? newest ?? new Date().toISOString().slice(0, 10);
  const from = p.from ?? daysBefore(to, DEFAULT_DAYS);
  let rates: RouterOutputs["pricing"]["listRates"] | null = null;
  if (from > to) errors.push(`the range: ${from} is after ${to}`);
  else {
    try {
      rates = await caller.pricing.listRates({ currency: p.currency, fromDate: from, toDate: to });
    } catch (e) {
      errors.push(`rates: ${callErrorMessage(e)}`);
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
      <PageHeader
        title="Reference rates"
        description="The European Central Bank's daily reference rates (units of each currency per 1 EUR), exact as published. Conversions use the newest date on or before the pricing date, through EUR, and refuse a rate older than the configured age."
      />
      {errors.map((e) => (
        <ErrorNotice key={e}>Could not read {e}</ErrorNotice>
      ))}

      <Card title={`EUR/${p.currency}`}>
        <FilterForm action="/pricing/rates" label="Choose a currency and range" clearHref="/pricing/rates" hasFilters={Boolean(p.from || p.to || p.currency !== "USD")} submitLabel="Show" layout="grid grid-cols-2 gap-3 md:grid-cols-4">
          <FilterSelect name="currency" label="Currency" value={p.currency} options={ECB_CURRENCIES} />
          <FilterText name="from" label="From (YYYY-MM-DD)" value={p.from ?? from} placeholder={from} />
          <FilterText name="to" label="To (YYYY-MM-DD)" value={p.to ?? to} placeholder={to} />
        </FilterForm>
        <div className="mt-3">
          {rates && rates.points.length > 0 ? (
            <>
              <RatesChart points={rates.points} currency={p.currency} title={`1 EUR in ${p.currency}, ${from} to ${to}`} />
              {rates.isTruncated ? <p className="mt-1 text-xs text-amber-700 dark:text-amber-400">Only the first {rates.points.length.toLocaleString("en-GB")} dates are drawn; choose a shorter range.</p> : null}
            </>
          ) : rates ? (
            <EmptyState title={`No ${p.currency} rate from ${from} to ${to}`}>
              <p>{imports && imports.items.length === 0 ? "No rates were imported yet: import the ECB's file below." : "The ECB published none in this range for this currency; choose another range."}</p>
            </EmptyState>
          ) : null}
        </div>
      </Card>

      {canManage ? (
        <Card title="Import a rates file">
          <RateImportForm />
        </Card>
      ) : null}

      <Card title="Imports">{imports ? <ImportsTable rows={imports.items} /> : null}</Card>

      <Card title="Spreads">{spreads ? <SpreadsTable rows={spreads} /> : null}</Card>
    </>
  );
}
