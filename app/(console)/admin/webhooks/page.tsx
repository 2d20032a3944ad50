import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../../server/auth/session";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Badge, EmptyState, ErrorNotice, FilterActions, FilterSelect, PageHeader, PagerLink, formatUtc, inputClass, labelClass, linkClass, tableClass } from "../../../../components/ui";
import { SubscriptionsSection } from "../../../../components/outbox/subscriptions-section";
import { DeadDeliveryActions } from "../../../../components/outbox/delivery-actions";
import { DELIVERY_STATUSES, readDeliveryParams, toDeliveryQuery, webhooksHref, WEBHOOKS_PATH } from "../../../../components/outbox/delivery-filters";

export const metadata: Metadata = { title: "Webhooks" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
type Caller = ReturnType<typeof pageCaller>;

const STATUS_TONE = { pending: "info", delivered: "good", dead: "bad", skipped: "neutral", cancelled: "neutral" } as const;

export default async function WebhooksPage({ searchParams }: { searchParams: SearchParams }) {
  const params = readDeliveryParams(await searchParams);
  const actor = await requirePageActor("outbox:read", webhooksHref(params));
  const canManage = actor.permissions.has("outbox:manage");
  const { cursor: _cursor, ...filters } = params;
  const hasFilters = Object.values(filters).some(Boolean);
  const caller = pageCaller(actor);

  const parsed = toDeliveryQuery(params);
  let error = parsed.error;
  let page: Awaited<ReturnType<Caller["outbox"]["deliveries"]["list"]>> | null = null;
  let subscriptions: Awaited<ReturnType<Caller["outbox"]["subscriptions"]["list"]>> = [];
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

      <SubscriptionsSection canManage={canManage} />

      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading" className="mb-2 text-base font-semibold text-zinc-900 dark:text-zinc-100">
          Deliveries
        </h2>
        <form method="get" action={WEBHOOKS_PATH} role="search" aria-label="Filter deliveries" className="mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
          <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
            <FilterSelect id="deliveries-status" name="status" label="Status" value={params.status} anyLabel="Any" options={DELIVERY_STATUSES} />
            <div>
              <label htmlFor="deliveries-subscription" className={labelClass}>
                Subscription
              </label>
              <select id="deliveries-subscription" name="subscription" defaultValue={params.subscription ?? ""} className={`${inputClass} mt-1`}>
                <option value="">Any</option>
                {subscriptions.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                    {s.status === "active" ? "" : ` (${s.status})`}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label htmlFor="deliveries-topic" className={labelClass}>
                Topic
              </label>
              <input id="deliveries-topic" name="topic" type="text" defaultValue={params.topic ?? ""} placeholder="transfer.settled or transfer.*" className={`${inputClass} mt-1`} />
            </div>
            <div>
              <label htmlFor="deliveries-aggregate" className={labelClass}>
                Aggregate id
              </label>
              <input id="deliveries-aggregate" name="aggregate" type="text" defaultValue={params.aggregate ?? ""} placeholder="transfer, hold or entry id" className={`${inputClass} mt-1`} />
            </div>
          </div>
          <FilterActions clearHref={WEBHOOKS_PATH} hasFilters={hasFilters} />
        </form>

        {error ? <ErrorNotice>Could not list deliveries: {error}</ErrorNotice> : null}

        {page && page.items.length === 0 ? (
          <EmptyState title={hasFilters || params.cursor ? "No deliveries match" : "No deliveries yet"}>
            <p>
              {hasFilters || params.cursor
                ? "No delivery matches these filters. Clear a filter to see more."
                : subscriptions.some((s) => s.status !== "deleted")
                  ? "Deliveries appear here as soon as an event matches a subscription's topics."
                  : "Events are only delivered to subscriptions. Add a subscription above to start sending them."}
            </p>
          </EmptyState>
        ) : null}

        {page && page.items.length > 0 ? (
          <>
            <div className={tableClass.wrap}>
              <table className={tableClass.table}>
                <caption className="sr-only">Deliveries, newest first</caption>
                <thead className="bg-zinc-50 dark:bg-zinc-900">
                  <tr>
                    {["Created (UTC)", "Topic", "Aggregate", "Subscription", "Status", "Attempts", "Last answer"].map((h) => (
                      <th key={h} scope="col" className={tableClass.th}>
                        {h}
                      </th>
                    ))}
                    {canManage ? (
                      <th scope="col" className={tableClass.th}>
                        <span className="sr-only">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                  {page.items.map((d) => (
                    <tr key={d.id} className={tableClass.tr}>
                      <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>
                        {formatUtc(d.createdAt)}
                        <div className="text-zinc-500 dark:text-zinc-400" title="Delivery id (x-delivery-id), the same on every attempt">
                          {d.deliveryId}
                        </div>
                      </td>
                      <td className={`${tableClass.td} font-mono text-xs`}>
                        {d.topic}
                        <div className="text-zinc-500 dark:text-zinc-400">event {d.eventId}</div>
                      </td>
                      <td className={`${tableClass.td} font-mono text-xs break-all`}>
                        <Link href={webhooksHref({ aggregate: d.aggregateId })} className={linkClass} title="Every delivery of this aggregate">
                          {d.aggregateId}
                        </Link>
                      </td>
                      <td className={tableClass.td}>
                        <Link href={webhooksHref({ ...filters, subscription: d.subscriptionId })} className={linkClass}>
                          {d.subscriptionName}
                        </Link>
                      </td>
                      <td className={tableClass.td}>
                        <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
                        <div className="mt-0.5 font-mono text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">
                          {d.status === "delivered" ? formatUtc(d.deliveredAt) : d.status === "pending" && d.attempts > 0 ? `next ${formatUtc(d.nextAttemptAt)}` : d.finishedAt ? formatUtc(d.finishedAt) : ""}
                        </div>
                      </td>
                      <td className={`${tableClass.td} text-right tabular-nums`}>{d.attempts}</td>
                      <td className={`${tableClass.td} max-w-xs text-xs break-words`}>
                        {d.lastAttemptAt ? (
                          <>
                            <span className="font-mono">{d.lastStatus ?? "no answer"}</span>
                            {d.lastDurationMs !== null ? <span className="text-zinc-500 dark:text-zinc-400"> · {d.lastDurationMs} ms</span> : null}
                            {d.lastError ? <div className="text-red-700 dark:text-red-400">{d.lastError}</div> : null}
                          </>
                        ) : (
                          <span className="text-zinc-400">not tried yet</span>
                        )}
                      </td>
                      {canManage ? (
                        <td className={`${tableClass.td} text-right whitespace-nowrap`}>
                          {d.status === "dead" ? <DeadDeliveryActions deliveryId={d.deliveryId} topic={d.topic} aggregateId={d.aggregateId} /> : null}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <nav aria-label="Delivery pages" className="mt-3 flex items-center justify-between gap-2 text-sm">
              <span className="text-zinc-600 dark:text-zinc-400">
                {page.items.length} deliver{page.items.length === 1 ? "y" : "ies"} on this page, newest first
              </span>
              <div className="flex gap-2">
                <PagerLink href={page.hasNewer ? webhooksHref({ ...filters, cursor: page.newerCursor ?? undefined }) : null} rel="prev">
                  Newer
                </PagerLink>
                <PagerLink href={page.nextCursor ? webhooksHref({ ...filters, cursor: page.nextCursor }) : null} rel="next">
                  Older
                </PagerLink>
              </div>
            </nav>
          </>
        ) : null}
      </section>
    </>
  );
}
