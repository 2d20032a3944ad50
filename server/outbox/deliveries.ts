/**
 * The console's side of deliveries: filtered lists, and the two admin actions on a dead delivery
 * (redeliver, skip).
 *
 * Invariants kept:
 * - Lists are keyset-paginated by id, newest first, and bounded (DELIVERY_PAGE_MAX).
 * - Only a dead delivery can be redelivered (back to pending with a fresh attempt budget and the
 *   same delivery id) or skipped (final; unblocks the later events of its aggregate). Repeating an
 *   action that already took effect changes nothing and writes no audit record.
 * - Each action is written with its audit record in one transaction, with the reason given.
 */
import type { Prisma } from "../db/generated/client";
import type { DbHandles } from "../db/client";
import { auditAdminChange, type AdminCall } from "../admin/users";
import { checkReason } from "../core/reasons";
import { AppError } from "../errors/app-error";

export const DELIVERY_PAGE_MAX = 200;
export const DELIVERY_PAGE_DEFAULT = 50;

export type DeliveryStatus = "pending" | "delivered" | "dead" | "skipped" | "cancelled";

export interface DeliveryFilters {
  status?: DeliveryStatus;
  subscriptionId?: string;
  aggregateId?: string;
  /** Exact topic, or a prefix when it ends with "*" ("transfer.*"). */
  topic?: string;
  eventId?: string;
}

export interface DeliveryItem {
  id: string;
  deliveryId: string;
  eventId: string;
  subscriptionId: string;
  subscriptionName: string;
  topic: string;
  aggregateId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  createdAt: Date;
  deliveredAt: Date | null;
  finishedAt: Date | null;
}

export interface DeliveryPage {
  items: DeliveryItem[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
  hasNewer: boolean;
  /** Cursor of the newer page; null with hasNewer means the newer page is the first page. */
  newerCursor: string | null;
}

const SELECT = {
  id: true,
  deliveryId: true,
  eventId: true,
  subscriptionId: true,
  topic: true,
  aggregateId: true,
  status: true,
  attempts: true,
  nextAttemptAt: true,
  lastAttemptAt: true,
  lastStatus: true,
  lastError: true,
  lastDurationMs: true,
  createdAt: true,
  deliveredAt: true,
  finishedAt: true,
  subscription: { select: { name: true } },
} as const satisfies Prisma.OutboxDeliverySelect;

type Row = Prisma.OutboxDeliveryGetPayload<{ select: typeof SELECT }>;

function toItem(r: Row): DeliveryItem {
  const { subscription, ...rest } = r;
  return { ...rest, id: r.id.toString(), eventId: r.eventId.toString(), status: r.status as DeliveryStatus, subscriptionName: subscription.name };
}

function parseId(value: string, what: string): bigint {
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new AppError("BAD_INPUT", `${what} "${value}" is not a positive whole number`, { details: { field: what } });
  return BigInt(value);
}

function whereOf(f: DeliveryFilters): Prisma.OutboxDeliveryWhereInput {
  const where: Prisma.OutboxDeliveryWhereInput = {};
  if (f.status) where.status = f.status;
  if (f.subscriptionId) where.subscriptionId = f.subscriptionId;
  if (f.aggregateId) where.aggregateId = f.aggregateId;
  if (f.topic) where.topic = f.topic.endsWith("*") ? { startsWith: f.topic.slice(0, -1) } : f.topic;
  if (f.eventId) where.eventId = parseId(f.eventId, "eventId");
  return where;
}

/**
 * Deliveries matching every filter, newest first, with links both ways.
 * Errors, in order: BAD_INPUT (limit outside 1..200, malformed cursor or event id).
 */
export async function listDeliveries(db: DbHandles, filters: DeliveryFilters, page: { cursor?: string; limit?: number } = {}): Promise<DeliveryPage> {
  const limit = page.limit ?? DELIVERY_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > DELIVERY_PAGE_MAX) throw new AppError("BAD_INPUT", `limit ${limit} is outside 1..${DELIVERY_PAGE_MAX}`);
  const cursor = page.cursor ? parseId(page.cursor, "cursor") : null;
  const where = whereOf(filters);
  const rows = await db.prisma.outboxDelivery.findMany({ where: cursor === null ? where : { ...where, id: { lt: cursor } }, orderBy: { id: "desc" }, take: limit + 1, select: SELECT });
  const items = rows.slice(0, limit).map(toItem);
  let hasNewer = false;
  let newerCursor: string | null = null;
  if (cursor !== null) {
    // Everything at or above the cursor is on newer pages; the nearest one holds the `limit` smallest.
    const newer = await db.prisma.outboxDelivery.findMany({ where: { ...where, id: { gte: cursor } }, orderBy: { id: "asc" }, take: limit + 1, select: { id: true } });
    hasNewer = newer.length > 0;
    newerCursor = newer[limit] ? newer[limit].id.toString() : null;
  }
  return { items, nextCursor: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null, hasNewer, newerCursor };
}

type DeadAction = "redeliver" | "skip";

async function lockDelivery(tx: Prisma.TransactionClient, deliveryId: string): Promise<DeliveryItem> {
  const locked = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text AS id FROM outbox_deliveries WHERE delivery_id = $1::uuid FOR UPDATE`, deliveryId);
  if (locked.length === 0) throw new AppError("NOT_FOUND", `outbox delivery ${deliveryId} does not exist`, { details: { deliveryId } });
  return toItem(await tx.outboxDelivery.findUniqueOrThrow({ where: { deliveryId }, select: SELECT }));
}

function auditView(d: DeliveryItem): Record<string, unknown> {
  return { status: d.status, attempts: d.attempts, eventId: d.eventId, topic: d.topic, aggregateId: d.aggregateId, subscriptionId: d.subscriptionId, lastStatus: d.lastStatus, lastError: d.lastError };
}

/**
 * Redelivers a dead delivery (pending again, attempts from zero, same delivery id) or skips it
 * (final; the later events of its aggregate proceed).
 * A repeat of an action that already took effect returns the delivery unchanged: redeliver of a
 * pending or delivered delivery, skip of a skipped one.
 * Errors, in order: BAD_INPUT (reason); NOT_FOUND; CONFLICT (any other status, e.g. skipping a
 * delivered one or redelivering a cancelled one).
 */
export async function actOnDeadDelivery(db: DbHandles, call: AdminCall, input: { deliveryId: string; action: DeadAction; reason: string }): Promise<DeliveryItem> {
  const reason = checkReason(input.reason);
  return db.prisma.$transaction(async (tx) => {
    const before = await lockDelivery(tx, input.deliveryId);
    const alreadyDone: readonly DeliveryStatus[] = input.action === "redeliver" ? ["pending", "delivered"] : ["skipped"];
    if (alreadyDone.includes(before.status)) return before;
    if (before.status !== "dead") {
      throw new AppError("CONFLICT", `outbox delivery ${before.deliveryId} is ${before.status}; only a dead delivery can be ${input.action === "redeliver" ? "redelivered" : "skipped"}`, {
        details: { deliveryId: before.deliveryId, status: before.status },
      });
    }
    if (input.action === "redeliver") {
      await tx.$executeRawUnsafe(`UPDATE outbox_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = NULL WHERE delivery_id = $1::uuid`, input.deliveryId);
    } else {
      await tx.$executeRawUnsafe(`UPDATE outbox_deliveries SET status = 'skipped', finished_at = now() WHERE delivery_id = $1::uuid`, input.deliveryId);
    }
    const after = toItem(await tx.outboxDelivery.findUniqueOrThrow({ where: { deliveryId: input.deliveryId }, select: SELECT }));
    await auditAdminChange(tx, call, {
      action: input.action === "redeliver" ? "outbox.delivery.redelivered" : "outbox.delivery.skipped",
      targetType: "outbox_delivery",
      targetId: after.deliveryId,
      reason,
      before: auditView(before),
      after: auditView(after),
    });
    return after;
  });
}
