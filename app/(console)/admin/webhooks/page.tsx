import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { DELIVERY_PAGE_MAX } from "../../../../server/outbox/deliveries";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { EmptyState, ErrorNotice, PageHeader, linkClass } from "../../../../components/ui";
import { FilterForm, FilterSelect, FilterText } from "../../../../components/kit/filter-form";
import { ListNavigation } from "../../../../components/kit/list-navigation";
import type { RouterOutputs } from "../../../../components/kit/api-types";
import { SubscriptionsSection } from "../../../../components/outbox/subscriptions-section";
import { DeliveriesTable } from "../../../../components/outbox/deliveries-table";
import { DELIVERY_STATUSES, readDeliveryParams, toDeliveryQuery, webhooksHref, WEBHOOKS_PATH } from "../../../../components/outbox/delivery-filters";

export const metadata: Metadata = { title: "Webhooks" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function WebhooksPage({ searchParams }: { searchParams: SearchParams }) {
  const params = readDeliveryParams(await searchParams);
  const actor = await requirePageActor("outbox:read", webhooksHref(params));
  const canManage = actor.permissions.has("outbox:manage");
  const { cursor: _cursor, ...filters } = params;
  const hasFilters = Object.values(filters).some(Boolean);
  const caller = pageCaller(actor);

  const parsed = toDeliveryQuery(params);
  let error = parsed.error;
  let page: RouterOutputs["outbox"]["deliveries"]["list"] | null = null;
  // One read of the subscriptions serves the section (those not deleted) and the filter (all).
  let subscriptions: RouterOutputs["outbox"]["subscriptions"]["list"] = [];
  try {
    subscriptions = await caller.outbox.subscriptions.list({ includeDeleted: true });
    if (parsed.input) page = await caller.outbox.deliveries.list(parsed.input);
  } catch (e) {
    error = callErrorMessage(e);
  }

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Transfer and ledger events go out to internal services that subscribe to them: signed, retried with backoff, in order per transfer, hold or entry. A delivery that runs out of attempts is dead and holds back the later events of its aggregate until it is redelivered or skipped."
        actions={
          <Link href="/admin" className={linkClass}>
            Back to Admin
          </Link>
        }
      />

      <ListNavigation>
        <SubscriptionsSection subscriptions={subscriptions.filter((s) => s.status !== "deleted")} canManage={canManage} />

        <section aria-labelledby="deliveries-heading">
          <h2 id="deliveries-heading" className="mb-2 text-base font-semibold text-zinc-900 dark:text-zinc-100">
            Deliveries
          </h2>
          <FilterForm action={WEBHOOKS_PATH} label="Filter deliveries" clearHref={WEBHOOKS_PATH} hasFilters={hasFilters}>
            <FilterSelect name="status" label="Status" value={params.status} anyLabel="Any" options={DELIVERY_STATUSES} />
            <FilterSelect
              name="subscription"
              label="Subscription"
              value={params.subscription}
              anyLabel="Any"
              options={subscriptions.map((s) => ({ value: s.id, label: `${s.name}${s.status === "active" ? "" : ` (${s.status})`}` }))}
            />
            <FilterText name="topic" label="Topic" value={params.topic} placeholder="transfer.settled or transfer.*" />
            <FilterText name="aggregate" label="Aggregate id" value={params.aggregate} placeholder="transfer, hold or entry id" />
          </FilterForm>

          {error ? <ErrorNotice>Could not list deliveries: {error}</ErrorNotice> : null}

          {page && parsed.input ? (
            <DeliveriesTable
              page={page}
              filters={filters}
              canManage={canManage}
              exportQuery={{ ...parsed.input, cursor: undefined, limit: DELIVERY_PAGE_MAX }}
              empty={
                <EmptyState title={hasFilters || params.cursor ? "No deliveries match" : "No deliveries yet"}>
                  <p>
                    {hasFilters || params.cursor
                      ? "No delivery matches these filters. Clear a filter to see more."
                      : subscriptions.some((s) => s.status !== "deleted")
                        ? "Deliveries appear here as soon as an event matches a subscription's topics."
                        : "Events are only delivered to subscriptions. Add a subscription above to start sending them."}
                  </p>
                </EmptyState>
              }
            />
          ) : null}
        </section>
      </ListNavigation>
    </>
  );
}
