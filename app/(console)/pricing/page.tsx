import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { pageCaller, callErrorMessage } from "../page-caller";
import { Card, EmptyState, ErrorNotice, PageHeader, linkClass } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { PricingProposalsTable, QuotesTable, SchedulesTable } from "../../../components/pricing/pricing-tables";
import { formatQuotesCursor, pricingState, readQuotesCursor } from "../../../components/pricing/pricing-params";

export const metadata: Metadata = { title: "Pricing" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const QUOTES_PAGE = 25;
const PRICING_KINDS = ["fee_schedule_version", "fx_manual_rate", "fx_spread_change"] as const;

export default async function PricingPage({ searchParams }: { searchParams: SearchParams }) {
  const params = pricingState.read(await searchParams);
  const actor = await requirePageActor("pricing:read", pricingState.href(params));
  const caller = pageCaller(actor);
  const now = new Date();
  const canManage = actor.permissions.has("pricing:manage");
  const quotesCursor = readQuotesCursor(params.quotes);

  const errors: string[] = [];
  const attempt = async <T,>(what: string, p: Promise<T>): Promise<T | null> => {
    try {
      return await p;
    } catch (e) {
      errors.push(`${what}: ${callErrorMessage(e)}`);
      return null;
    }
  };
  const [schedules, quotes, ...proposalLists] = await Promise.all([
    attempt("fee schedules", caller.pricing.listSchedules()),
    attempt("quotes", caller.pricing.listQuotes({ limit: QUOTES_PAGE, cursor: quotesCursor })),
    ...(actor.permissions.has("adjustments:read")
      ? PRICING_KINDS.map((kind) => attempt("proposals", caller.approvals.list({ view: "all", status: "open", kind, limit: 50 })))
      : []),
  ]);
  const proposals = (proposalLists as (RouterOutputs["approvals"]["list"] | null)[])
    .flatMap((l) => l?.items ?? [])
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());

  return (
    <>
      <PageHeader
        title="Pricing"
        description="Fee schedules per rail, versioned with effective dates and changed under four eyes; FX quotes from the ECB's reference rates; every price explained line by line."
        actions={
          <span className="flex gap-2">
            <ButtonLink href="/pricing/rates">Reference rates</ButtonLink>
            {canManage ? (
              <ButtonLink href="/pricing/schedules/new" variant="primary">
                New schedule
              </ButtonLink>
            ) : null}
          </span>
        }
      />
      {errors.map((e) => (
        <ErrorNotice key={e}>Could not read {e}</ErrorNotice>
      ))}

      <Card title="Fee schedules">
        {schedules ? (
          <SchedulesTable
            rows={schedules}
            empty={
              <EmptyState title="No fee schedules yet">
                <p>
                  Transfers are free on every rail until a schedule is in force.{" "}
                  {canManage ? (
                    <>
                      <Link href="/pricing/schedules/new" className={linkClass}>
                        Propose a schedule
                      </Link>{" "}
                      for a rail; an approver must approve it.
                    </>
                  ) : (
                    "An admin proposes one; an approver approves it."
                  )}
                </p>
              </EmptyState>
            }
          />
        ) : null}
      </Card>

      <Card title="Proposals waiting">
        {actor.permissions.has("adjustments:read") ? (
          <PricingProposalsTable
            rows={proposals}
            now={now}
            empty={<p className="text-sm text-zinc-600 dark:text-zinc-400">No fee schedule version or hand-entered rate waits for an approver.</p>}
          />
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">Reading proposals needs the adjustments:read permission.</p>
        )}
      </Card>

      <Card title="Recent quotes">
        {quotes ? (
          <QuotesTable
            rows={quotes.items}
            links={[
              { label: "Newest", rel: "prev", href: quotesCursor ? pricingState.href({}) : null },
              { label: "Older", rel: "next", href: quotes.nextCursor ? pricingState.href({ quotes: formatQuotesCursor(quotes.nextCursor) }) : null },
            ]}
            empty={
              <EmptyState title={quotesCursor ? "No older quotes" : "No quotes yet"}>
                <p>
                  {quotesCursor
                    ? "This is past the oldest quote."
                    : "Services ask pricing.quote for a price (a fee and, across currencies, a conversion) before a transfer; each quote appears here with its state."}
                </p>
              </EmptyState>
            }
          />
        ) : null}
      </Card>
    </>
  );
}
