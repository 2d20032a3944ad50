/**
 * The webhooks page keeps its delivery filters and keyset cursor in the URL, so a filtered view
 * can be linked to and the back button walks through earlier views.
 */
import { defineUrlState, param, type RawSearchParams, type UrlState } from "../kit/url-state";
import type { RouterInputs } from "../kit/api-types";

export const DELIVERY_STATUSES = ["pending", "delivered", "dead", "skipped", "cancelled"] as const;
export type DeliveryStatusParam = (typeof DELIVERY_STATUSES)[number];

export const DELIVERY_PAGE_SIZE = 50;
export const WEBHOOKS_PATH = "/admin/webhooks";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The deliveries list's search params; values are checked in toDeliveryQuery, so a bad one is reported rather than dropped. */
export const deliveryListState = defineUrlState(WEBHOOKS_PATH, {
  status: param.text(),
  subscription: param.text(),
  topic: param.text(),
  aggregate: param.text(),
  cursor: param.text(),
});

export type DeliveryParams = UrlState<typeof deliveryListState.params>;

/** Reads the known params (first value of each, trimmed, empty dropped). */
export function readDeliveryParams(raw: RawSearchParams): DeliveryParams {
  return deliveryListState.read(raw);
}

/** outbox.deliveries.list's input, as the router declares it. */
export type DeliveryQueryInput = RouterInputs["outbox"]["deliveries"]["list"];

/** Turns URL params into the outbox.deliveries.list input, or an error naming the bad field. */
export function toDeliveryQuery(p: DeliveryParams): { input: DeliveryQueryInput; error: null } | { input: null; error: string } {
  const input: DeliveryQueryInput = { limit: DELIVERY_PAGE_SIZE };
  if (p.status) {
    if (!(DELIVERY_STATUSES as readonly string[]).includes(p.status)) return { input: null, error: `"${p.status}" is not a delivery status; use one of ${DELIVERY_STATUSES.join(", ")}` };
    input.status = p.status as DeliveryStatusParam;
  }
  if (p.subscription) {
    if (!UUID.test(p.subscription)) return { input: null, error: `"${p.subscription}" is not a subscription id` };
    input.subscriptionId = p.subscription;
  }
  if (p.topic) input.topic = p.topic;
  if (p.aggregate) input.aggregateId = p.aggregate;
  if (p.cursor) {
    if (!/^[1-9]\d{0,18}$/.test(p.cursor)) return { input: null, error: `the page cursor "${p.cursor}" is not valid; start again from the newest deliveries` };
    input.cursor = p.cursor;
  }
  return { input, error: null };
}

/** The href of the webhooks page with `params`, dropping empty values. */
export function webhooksHref(params: Partial<DeliveryParams>): string {
  return deliveryListState.href(params);
}
