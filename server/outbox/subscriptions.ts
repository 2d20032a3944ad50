/**
 * Outbox subscriptions: internal endpoints that receive the outbox events matching their topic
 * patterns, signed with a per-subscription secret.
 *
 * Invariants kept:
 * - The signing secret is generated here, returned once at creation, and stored only encrypted
 *   (server/outbox/secrets.ts). It never enters an audit record, a log line or a list.
 * - Every change (create, pause, resume, delete) is written with its audit record in one
 *   transaction, and takes the fan-out lock (OUTBOX_FANOUT_LOCK) so a fan-out round sees either
 *   the old or the new set of subscriptions, never half of a change: an event fanned out after a
 *   subscription is created is delivered to it.
 * - Paused subscriptions keep receiving delivery rows but nothing is sent until they resume, so a
 *   receiver's maintenance window loses nothing. Deleting is final: the secret is erased and the
 *   subscription's unfinished deliveries are cancelled.
 * - Names are unique among subscriptions that are not deleted, so a retried create is refused
 *   (CONFLICT naming the existing one) rather than making a twin.
 * - Only http(s) URLs without credentials, whose host passes the endpoint guard
 *   (server/outbox/endpoint-guard.ts): allowed by OUTBOX_ALLOWED_HOSTS, and resolving only to
 *   public addresses or OUTBOX_ALLOWED_NETWORKS. A URL that fails it is never stored.
 */
import { randomUUID } from "node:crypto";
import type { Prisma } from "../db/generated/client";
import type { DbHandles } from "../db/client";
import { auditAdminChange, type AdminCall } from "../admin/users";
import { checkOptionalReason, checkReason } from "../core/reasons";
import { isIP } from "node:net";
import { AppError } from "../errors/app-error";
import { encryptSecret, generateSigningSecret } from "./secrets";
import { checkTopicPatterns } from "./topics";
import { addressRefusal, endpointPolicyFromEnv, EndpointRefusedError, isHostAllowed, resolveEndpoint, systemResolver, type EndpointPolicy, type Resolver } from "./endpoint-guard";

/** Advisory lock key shared by fan-out rounds and subscription changes. */
export const OUTBOX_FANOUT_LOCK = 7_301_126_001n;
export const SUBSCRIPTION_LIST_LIMIT = 200;
export const SUBSCRIPTION_NAME_MAX_LENGTH = 100;
export const SUBSCRIPTION_URL_MAX_LENGTH = 2048;

export type SubscriptionStatus = "active" | "paused" | "deleted";

export interface SubscriptionItem {
  id: string;
  name: string;
  url: string;
  topics: string[];
  status: SubscriptionStatus;
  secretPrefix: string;
  createdById: string | null;
  createdAt: Date;
  statusChangedAt: Date;
}

export interface SubscriptionListItem extends SubscriptionItem {
  pendingCount: number;
  deadCount: number;
  /** Creation time of the oldest event still pending for this subscription. */
  oldestPendingAt: Date | null;
}

const SELECT = {
  id: true,
  name: true,
  url: true,
  topics: true,
  status: true,
  secretPrefix: true,
  createdById: true,
  createdAt: true,
  statusChangedAt: true,
} as const satisfies Prisma.OutboxSubscriptionSelect;

type Row = Prisma.OutboxSubscriptionGetPayload<{ select: typeof SELECT }>;

function toItem(r: Row): SubscriptionItem {
  return { ...r, status: r.status as SubscriptionStatus };
}

/** The audit view of a subscription: everything but the secret. */
function auditView(s: SubscriptionItem): Record<string, unknown> {
  return { name: s.name, url: s.url, topics: s.topics, status: s.status, prefix: s.secretPrefix };
}

function checkName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > SUBSCRIPTION_NAME_MAX_LENGTH) {
    throw new AppError("BAD_INPUT", `name must be 1 to ${SUBSCRIPTION_NAME_MAX_LENGTH} characters`, { details: { field: "name" } });
  }
  return n;
}

export { isHostAllowed };

/**
 * Validates an endpoint URL's form and, for a literal address, where it points. Errors: BAD_INPUT
 * (too long, not an absolute URL, not http(s), carries credentials or a fragment, host not in
 * OUTBOX_ALLOWED_HOSTS, an address deliveries never go to). A host name is resolved by
 * checkEndpoint, which createSubscription calls.
 */
export function checkEndpointUrl(raw: string, policy: EndpointPolicy = endpointPolicyFromEnv()): string {
  const value = raw.trim();
  const bad = (why: string) => new AppError("BAD_INPUT", `url ${JSON.stringify(value.slice(0, 200))} ${why}`, { details: { field: "url" } });
  if (value.length === 0 || value.length > SUBSCRIPTION_URL_MAX_LENGTH) throw bad(`must be 1 to ${SUBSCRIPTION_URL_MAX_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw bad("is not an absolute URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw bad("must use http or https");
  if (u.username || u.password) throw bad("must not carry credentials (the signature authenticates deliveries)");
  if (u.hash) throw bad("must not have a #fragment");
  if (policy.allowedHosts.length > 0 && !isHostAllowed(u.hostname.replace(/^\[|\]$/g, ""), policy.allowedHosts)) {
    throw bad(`points at host ${u.hostname}, which OUTBOX_ALLOWED_HOSTS does not allow`);
  }
  const literal = u.hostname.replace(/^\[|\]$/g, "");
  if (isIP(literal) !== 0) {
    const why = addressRefusal(literal, policy);
    if (why) throw bad(`points at ${why}; outbound webhooks never go there (OUTBOX_ALLOWED_NETWORKS lists internal networks they may reach)`);
  }
  return u.toString();
}

/**
 * checkEndpointUrl, then resolves the host and checks every address it resolves to now. A name
 * with no address yet is accepted (its DNS record may come later); every send checks it again.
 * Errors: BAD_INPUT as checkEndpointUrl, or naming the refused address.
 */
export async function checkEndpoint(raw: string, policy: EndpointPolicy = endpointPolicyFromEnv(), resolver: Resolver = systemResolver): Promise<string> {
  const url = checkEndpointUrl(raw, policy);
  try {
    await resolveEndpoint(new URL(url).hostname, policy, resolver);
  } catch (e) {
    if (!(e instanceof EndpointRefusedError)) throw e;
    if (!e.isUnresolved) throw new AppError("BAD_INPUT", `url ${JSON.stringify(url.slice(0, 200))} is refused: ${e.message}`, { details: { field: "url" } });
  }
  return url;
}

async function lockFanOut(tx: Prisma.TransactionClient): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)`, OUTBOX_FANOUT_LOCK.toString());
}

async function lockSubscription(tx: Prisma.TransactionClient, id: string): Promise<SubscriptionItem> {
  const locked = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text AS id FROM outbox_subscriptions WHERE id = $1::uuid FOR UPDATE`, id);
  if (locked.length === 0) throw new AppError("NOT_FOUND", `outbox subscription ${id} does not exist`, { details: { id } });
  return toItem(await tx.outboxSubscription.findUniqueOrThrow({ where: { id }, select: SELECT }));
}

/** Subscriptions that are not deleted (newest first, at most 200), with their backlog. */
export async function listSubscriptions(db: DbHandles, opts: { includeDeleted?: boolean } = {}): Promise<SubscriptionListItem[]> {
  const rows = await db.prisma.outboxSubscription.findMany({
    where: opts.includeDeleted ? {} : { status: { not: "deleted" } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: SUBSCRIPTION_LIST_LIMIT,
    select: SELECT,
  });
  if (rows.length === 0) return [];
  // Counts come from the (subscription, status, id) index; the oldest pending event is looked up
  // once per subscription rather than joined for every pending row.
  const stats = await db.pool.query<{ subscription_id: string; status: string; n: string; oldest: Date | null }>(
    `SELECT g.subscription_id::text AS subscription_id, g.status::text AS status, g.n::text AS n, e.created_at AS oldest
       FROM (SELECT d.subscription_id, d.status, count(*) AS n, min(d.event_id) AS first_event_id
               FROM outbox_deliveries d
              WHERE d.status IN ('pending', 'dead') AND d.subscription_id = ANY($1::uuid[])
              GROUP BY 1, 2) g
       JOIN outbox_events e ON e.id = g.first_event_id`,
    [rows.map((r) => r.id)],
  );
  return rows.map((r) => {
    const pending = stats.rows.find((s) => s.subscription_id === r.id && s.status === "pending");
    const dead = stats.rows.find((s) => s.subscription_id === r.id && s.status === "dead");
    return { ...toItem(r), pendingCount: Number(pending?.n ?? 0), deadCount: Number(dead?.n ?? 0), oldestPendingAt: pending?.oldest ?? null };
  });
}

/**
 * Creates an active subscription and returns its signing secret, once.
 * Errors, in order: BAD_INPUT (name, url, topics naming the first bad pattern, reason, then the
 * url's host resolving to an address deliveries never go to); CONFLICT (a subscription that is not deleted already has this name).
 */
export async function createSubscription(
  db: DbHandles,
  call: AdminCall,
  input: { name: string; url: string; topics: readonly string[]; reason?: string },
  opts: { policy?: EndpointPolicy; resolver?: Resolver } = {},
): Promise<{ subscription: SubscriptionItem; secret: string }> {
  const name = checkName(input.name);
  const policy = opts.policy ?? endpointPolicyFromEnv();
  checkEndpointUrl(input.url, policy);
  const topics = checkTopicPatterns(input.topics);
  const reason = checkOptionalReason(input.reason);
  const url = await checkEndpoint(input.url, policy, opts.resolver);
  const { secret, prefix } = generateSigningSecret();
  const subscription = await db.prisma.$transaction(async (tx) => {
    await lockFanOut(tx);
    const twin = await tx.outboxSubscription.findFirst({ where: { name, status: { not: "deleted" } }, select: { id: true } });
    if (twin) throw new AppError("CONFLICT", `an outbox subscription named ${JSON.stringify(name)} already exists (${twin.id})`, { details: { id: twin.id } });
    const id = randomUUID();
    const row = await tx.outboxSubscription.create({
      data: {
        id,
        name,
        url,
        topics,
        secretCiphertext: encryptSecret(secret, id),
        secretPrefix: prefix,
        createdById: call.actor.kind === "user" ? call.actor.userId : null,
      },
      select: SELECT,
    });
    const item = toItem(row);
    await auditAdminChange(tx, call, {
      action: "outbox.subscription.created",
      targetType: "outbox_subscription",
      targetId: item.id,
      reason,
      before: null,
      after: auditView(item),
    });
    return item;
  });
  return { subscription, secret };
}

type StatusChange = "pause" | "resume" | "delete";

const CHANGE: Record<StatusChange, { from: readonly SubscriptionStatus[]; to: SubscriptionStatus; action: string }> = {
  pause: { from: ["active"], to: "paused", action: "outbox.subscription.paused" },
  resume: { from: ["paused"], to: "active", action: "outbox.subscription.resumed" },
  delete: { from: ["active", "paused"], to: "deleted", action: "outbox.subscription.deleted" },
};

/**
 * Pauses, resumes or deletes a subscription. Repeating a change that already took effect returns
 * the subscription unchanged (no new audit record). Deleting erases the secret and cancels the
 * subscription's pending and dead deliveries.
 * Errors, in order: BAD_INPUT (reason); NOT_FOUND; CONFLICT (deleted subscriptions cannot be
 * paused or resumed).
 */
export async function changeSubscriptionStatus(
  db: DbHandles,
  call: AdminCall,
  input: { id: string; change: StatusChange; reason: string },
): Promise<SubscriptionItem & { cancelledDeliveries: number }> {
  const reason = checkReason(input.reason);
  const rule = CHANGE[input.change];
  return db.prisma.$transaction(async (tx) => {
    await lockFanOut(tx);
    const before = await lockSubscription(tx, input.id);
    if (before.status === rule.to) return { ...before, cancelledDeliveries: 0 };
    if (!rule.from.includes(before.status)) {
      throw new AppError("CONFLICT", `outbox subscription ${before.name} is ${before.status} and cannot be ${rule.to === "active" ? "resumed" : rule.to}`, {
        details: { id: before.id, status: before.status },
      });
    }
    const row = await tx.outboxSubscription.update({
      where: { id: input.id },
      data: { status: rule.to, statusChangedAt: new Date(), ...(rule.to === "deleted" ? { secretCiphertext: null } : {}) },
      select: SELECT,
    });
    let cancelledDeliveries = 0;
    if (rule.to === "deleted") {
      cancelledDeliveries = await tx.$executeRawUnsafe(
        `UPDATE outbox_deliveries SET status = 'cancelled', finished_at = now(), next_attempt_at = now()
          WHERE subscription_id = $1::uuid AND status IN ('pending', 'dead')`,
        input.id,
      );
    }
    const after = toItem(row);
    await auditAdminChange(tx, call, {
      action: rule.action,
      targetType: "outbox_subscription",
      targetId: after.id,
      reason,
      before: auditView(before),
      after: rule.to === "deleted" ? { ...auditView(after), cancelledDeliveries } : auditView(after),
    });
    return { ...after, cancelledDeliveries };
  });
}
