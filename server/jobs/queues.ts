/**
 * Job queues on pg-boss (a PostgreSQL job engine): their names and options in one place, and the
 * way any process (web or worker) enqueues a job, optionally inside its own open transaction so a
 * job exists if and only if the change that needs it committed.
 *
 * Invariants kept:
 * - Every queue is created with the same options wherever it is used (QUEUE_OPTIONS).
 * - Handlers are idempotent: pg-boss delivers at least once, and a job may also be re-created by
 *   the transfer sweeper after a crash.
 */
import type pg from "pg";
import { PgBoss, type SendOptions } from "pg-boss";
import type { DbHandles } from "../db/client";
import { preparedQuery } from "../db/prepared";
import { coalescedSignal } from "../core/coalesced-signal";
import { componentLogger } from "../observability/logger";

const log = componentLogger("jobs");

export const QUEUES = {
  /** Drive one transfer forward: reserve, submit to the partner, retry with backoff. */
  transferAdvance: "transfer-advance",
  /** Apply stored partner webhooks to transfers. */
  webhookApply: "webhook-apply",
  /** Walk the audit chain (scheduled, and on request from the console; server/audit/verification-runs.ts). */
  auditVerify: "audit-verify",
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const QUEUE_OPTIONS: Record<QueueName, Parameters<PgBoss["createQueue"]>[1]> = {
  // Retries here are only for crashes inside a handler; partner retries are the transfer's own
  // backoff (rail_policies), scheduled as new jobs.
  [QUEUES.transferAdvance]: { retryLimit: 5, retryDelay: 1, retryBackoff: true, expireInSeconds: 60, notify: true },
  // A wake-up signal, not one job per webhook: "short" keeps at most one queued, so a burst of
  // webhooks costs one job (the handler drains every pending event).
  [QUEUES.webhookApply]: { policy: "short", retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 60, notify: true },
  // The same options the worker gives its maintenance queues (the audit walk may take minutes).
  [QUEUES.auditVerify]: { retryLimit: 3, retryBackoff: true, expireInSeconds: 600 },
};

export const BOSS_SCHEMA = "pgboss";

/** Creates every queue (idempotent). */
export async function createQueues(boss: PgBoss): Promise<void> {
  for (const [name, options] of Object.entries(QUEUE_OPTIONS)) {
    await boss.createQueue(name, options);
  }
}

const senders = new WeakMap<pg.Pool, Promise<PgBoss>>();

/** A pg-boss instance that only sends, over the process's own pool (no polling, no cron). */
function senderFor(pool: pg.Pool): Promise<PgBoss> {
  let p = senders.get(pool);
  if (!p) {
    p = (async () => {
      const boss = new PgBoss({
        db: { executeSql: (text, values) => pool.query(text, values as unknown[]) },
        schema: BOSS_SCHEMA,
        supervise: false,
        schedule: false,
      });
      boss.on("error", (err: Error) => log.error({ message: err.message }, "job sender error"));
      await boss.start();
      await createQueues(boss);
      return boss;
    })();
    p.catch(() => senders.delete(pool));
    senders.set(pool, p);
  }
  return p;
}

/**
 * Starts this pool's sender if needed. Call before opening a transaction that will enqueue: the
 * first start needs pool connections of its own, which a caller holding the last free connection
 * would otherwise wait for forever.
 */
export async function prepareSender(db: Pick<DbHandles, "pool">): Promise<void> {
  await senderFor(db.pool);
}

export interface EnqueueOptions {
  startAfter?: Date;
  singletonKey?: string;
  /** Enqueue inside this open transaction: the job exists only if it commits. */
  client?: pg.PoolClient;
}

/** Enqueues one job. Errors: whatever the database reports (callers map outages). */
export async function enqueue(db: Pick<DbHandles, "pool">, queue: QueueName, data: object, opts: EnqueueOptions = {}): Promise<void> {
  const boss = await senderFor(db.pool);
  const send: SendOptions = {};
  if (opts.startAfter) send.startAfter = opts.startAfter;
  if (opts.singletonKey) send.singletonKey = opts.singletonKey;
  const client = opts.client;
  if (client) send.db = { executeSql: (text, values) => sendSql(client, text, values as unknown[]) };
  await boss.send(queue, data, send);
}

/** Enqueues many jobs of one queue in one statement, inside the caller's open transaction when given one. */
export async function enqueueMany(db: Pick<DbHandles, "pool">, queue: QueueName, data: readonly object[], opts: { client?: pg.PoolClient } = {}): Promise<void> {
  if (data.length === 0) return;
  const boss = await senderFor(db.pool);
  const client = opts.client;
  const jobs = data.map((d) => ({ data: d }));
  if (client) await boss.insert(queue, jobs, { db: { executeSql: (text, values) => sendSql(client, text, values as unknown[]) } });
  else await boss.insert(queue, jobs);
}

/** pg-boss statement texts run as named prepared statements so far; see sendSql. */
const preparedSendTexts = new Set<string>();
const MAX_PREPARED_SEND_TEXTS = 32;

/**
 * Runs a statement pg-boss builds for a send inside a caller's transaction (one per transfer on
 * the hot path). Its text is fixed per queue and options, so it is prepared once per connection
 * instead of planned on every send (measured: a quarter of a millisecond of planning per send).
 * Only the first few distinct texts are prepared: a text that varied with its values would
 * otherwise pile up prepared statements on every connection.
 */
function sendSql(client: pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult> {
  if (!preparedSendTexts.has(text)) {
    if (preparedSendTexts.size >= MAX_PREPARED_SEND_TEXTS) return client.query(text, values);
    preparedSendTexts.add(text);
  }
  return preparedQuery(client, text, values);
}

/** Stops the sender of a pool (tests and shutdown). */
export async function stopSender(pool: pg.Pool): Promise<void> {
  const p = senders.get(pool);
  if (!p) return;
  senders.delete(pool);
  const boss = await p.catch(() => null);
  await boss?.stop({ graceful: false, close: false }).catch(() => {});
}

const signals = new WeakMap<pg.Pool, Map<QueueName, () => void>>();

/** How long a signal waits to gather more of its kind before it is sent. */
export const SIGNAL_DELAY_MS = 5;

/**
 * Tells a queue's workers "there is work" without a job per event: calls within SIGNAL_DELAY_MS
 * of each other, or while a send is in flight, become one job (sent after the one in flight).
 * For queues whose handler drains everything pending (webhook-apply), so a burst of events costs
 * one job. Never throws: a failed send is logged and the worker's periodic sweep picks the work up.
 */
export function signalQueue(db: Pick<DbHandles, "pool">, queue: QueueName): void {
  let byQueue = signals.get(db.pool);
  if (!byQueue) signals.set(db.pool, (byQueue = new Map()));
  let signal = byQueue.get(queue);
  if (!signal) {
    signal = coalescedSignal(() => enqueue(db, queue, {}), SIGNAL_DELAY_MS, (e) =>
      log.warn({ queue, err: e.message }, "could not signal the queue; the periodic sweep will pick the work up"),
    );
    byQueue.set(queue, signal);
  }
  signal();
}
