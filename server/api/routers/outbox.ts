/**
 * The outbox relay's API: subscriptions of internal endpoints to outbox topics and their
 * deliveries. Thin: validate, check the permission (admins only; service keys can never hold
 * outbox:*), call one function in server/outbox, return its result.
 */
import { z } from "zod";
import { procedure, createRouter } from "../trpc";
import { reason, uuid } from "../inputs";
import { changeSubscriptionStatus, createSubscription, listSubscriptions, SUBSCRIPTION_NAME_MAX_LENGTH, SUBSCRIPTION_URL_MAX_LENGTH } from "../../outbox/subscriptions";
import { actOnDeadDelivery, listDeliveries, DELIVERY_PAGE_DEFAULT, DELIVERY_PAGE_MAX } from "../../outbox/deliveries";
import { MAX_TOPIC_PATTERN_LENGTH, MAX_TOPIC_PATTERNS } from "../../outbox/topics";

const numericId = z.string().regex(/^[1-9]\d{0,18}$/, "must be a positive whole number");
const text = z.string().trim().min(1).max(200);
const deliveryStatus = z.enum(["pending", "delivered", "dead", "skipped", "cancelled"]);

/** A subscription's status change (pause, resume, delete): same input, same permission, one domain call. */
const statusChange = (change: "pause" | "resume" | "delete") =>
  procedure("outbox:manage")
    .input(z.strictObject({ id: uuid, reason }))
    .mutation(({ ctx, input }) => changeSubscriptionStatus(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, { ...input, change }));

/** What an admin does with a dead delivery (redeliver, skip). */
const deadDeliveryAction = (action: "redeliver" | "skip") =>
  procedure("outbox:manage")
    .input(z.strictObject({ deliveryId: uuid, reason }))
    .mutation(({ ctx, input }) => actOnDeadDelivery(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, { ...input, action }));

const subscriptionsRouter = createRouter({
  /** Subscriptions that are not deleted (or all with includeDeleted), newest first, at most 200, with their backlog; never secrets. */
  list: procedure("outbox:read")
    .input(z.strictObject({ includeDeleted: z.boolean().optional() }))
    .query(({ ctx, input }) => listSubscriptions(ctx.db, input)),

  /** Returns the signing secret once; it cannot be read again. */
  create: procedure("outbox:manage")
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(SUBSCRIPTION_NAME_MAX_LENGTH),
        url: z.string().trim().min(1).max(SUBSCRIPTION_URL_MAX_LENGTH),
        // Checked by the domain, whose error names the bad pattern.
        topics: z.array(z.string().max(MAX_TOPIC_PATTERN_LENGTH)).min(1, "give at least one topic pattern").max(MAX_TOPIC_PATTERNS),
        reason: reason.optional(),
      }),
    )
    .mutation(({ ctx, input }) => createSubscription(ctx.db, { actor: ctx.actor, requestId: ctx.requestId }, input)),

  pause: statusChange("pause"),
  resume: statusChange("resume"),
  /** Final: erases the secret and cancels the subscription's pending and dead deliveries. */
  delete: statusChange("delete"),
});

const deliveriesRouter = createRouter({
  /** Deliveries matching every filter, newest first; keyset pagination by id. */
  list: procedure("outbox:read")
    .input(
      z.strictObject({
        status: deliveryStatus.optional(),
        subscriptionId: uuid.optional(),
        aggregateId: text.optional(),
        topic: text.optional(),
        eventId: numericId.optional(),
        cursor: numericId.optional(),
        limit: z.number().int().min(1).max(DELIVERY_PAGE_MAX).default(DELIVERY_PAGE_DEFAULT),
      }),
    )
    .query(({ ctx, input }) => {
      const { cursor, limit, ...filters } = input;
      return listDeliveries(ctx.db, filters, { cursor, limit });
    }),

  /** A dead delivery goes out again (same delivery id, fresh attempts), ahead of its aggregate's later events. */
  redeliver: deadDeliveryAction("redeliver"),
  /** A dead delivery is given up for good; its aggregate's later events proceed. */
  skip: deadDeliveryAction("skip"),
});

export const outboxRouter = createRouter({
  subscriptions: subscriptionsRouter,
  deliveries: deliveriesRouter,
});
