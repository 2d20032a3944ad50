/**
 * The outbox relay: a loop inside the worker process that fans new outbox events out into
 * deliveries and sends them (pg-boss cron runs at most once a minute, far too coarse for events).
 *
 * Invariants kept:
 * - Each round: one bounded fan-out, then claim as many due deliveries as there are free slots
 *   (at most `concurrency` in flight). A finished delivery wakes the loop, so the next event of
 *   the same aggregate goes out without waiting for the poll interval.
 * - Polls every `busyPollMs` while there is work, backing off (doubling) to `idlePollMs` when idle;
 *   runs the next round at once while a full fan-out batch shows there is more.
 * - A failed round (database down) is logged and retried after the idle delay; the loop never dies.
 * - stop() lets in-flight deliveries finish (each bounded by its timeout) and records them; the
 *   loop claims nothing after stop() was called.
 * - Any number of relays may run (several workers): fan-out is serialised by an advisory lock and
 *   claims use SKIP LOCKED (server/outbox/dispatch.ts), so an (event, subscription) is delivered
 *   once in the normal case and at least once across crashes.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { env, isProductionDeployment, type Env } from "../env";
import { componentLogger } from "../observability/logger";
import { claimDeliveries, recordAttempt, sendDelivery, type ClaimedDelivery, type RecordedOutcome, type RetryPolicy } from "./dispatch";
import { fanOutEvents } from "./fanout";
import { readOutboxStats } from "./maintenance";
import { outboxSecretKey } from "./secrets";

const log = componentLogger("outbox");

export interface OutboxRelayConfig extends RetryPolicy {
  timeoutMs: number;
  concurrency: number;
  fanoutBatch: number;
  busyPollMs: number;
  idlePollMs: number;
  /** How often the lag/backlog gauges are refreshed (only with metrics). */
  statsIntervalMs: number;
}

export function relayConfigFromEnv(e: Env = env()): OutboxRelayConfig {
  return {
    maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
    backoffBaseMs: e.OUTBOX_BACKOFF_BASE_MS,
    backoffMaxMs: e.OUTBOX_BACKOFF_MAX_MS,
    timeoutMs: e.OUTBOX_TIMEOUT_MS,
    concurrency: e.OUTBOX_CONCURRENCY,
    fanoutBatch: e.OUTBOX_FANOUT_BATCH,
    busyPollMs: 200,
    idlePollMs: 1_000,
    statsIntervalMs: 5_000,
  };
}

/** How long a claimed attempt keeps its delivery from other workers: well past the request timeout. */
export function leaseMsFor(timeoutMs: number): number {
  return timeoutMs * 2 + 5_000;
}

export interface OutboxMetrics {
  deliveries: Counter<"outcome">;
  durationSeconds: Histogram;
  fannedOut: Counter;
  lagSeconds: Gauge;
  pending: Gauge;
  dead: Gauge;
}

export function createOutboxMetrics(registry: Registry): OutboxMetrics {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: "outbox_deliveries_total",
      help: "Delivery attempts by outcome: delivered, retry (failed, will retry), dead (failed, out of attempts), stale (lease lost), error (outcome not recorded)",
      labelNames: ["outcome"],
      registers,
    }),
    durationSeconds: new Histogram({ name: "outbox_delivery_duration_seconds", help: "Duration of delivery requests", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    fannedOut: new Counter({ name: "outbox_events_fanned_out_total", help: "Outbox events fanned out into deliveries", registers }),
    lagSeconds: new Gauge({ name: "outbox_lag_seconds", help: "Age of the oldest outbox event not yet delivered to an active subscription (0 when none waits)", registers }),
    pending: new Gauge({ name: "outbox_pending_deliveries", help: "Pending deliveries of active subscriptions", registers }),
    dead: new Gauge({ name: "outbox_dead_deliveries", help: "Dead deliveries (each blocks its aggregate until redelivered or skipped)", registers }),
  };
}

export interface OutboxRelayHandle {
  stop(): Promise<void>;
}

export interface RoundResult {
  fannedOut: number;
  claimed: number;
}

/** Starts the relay loop; it runs until stop(). */
export function startOutboxRelay(db: DbHandles, config: OutboxRelayConfig, opts: { metrics?: OutboxMetrics; name?: string } = {}): OutboxRelayHandle {
  const metrics = opts.metrics;
  const key = outboxSecretKey();
  const leaseMs = leaseMsFor(config.timeoutMs);
  const inflight = new Set<Promise<void>>();
  let isStopping = false;
  let wakeSleeper: (() => void) | null = null;
  let hasPendingWake = false;
  let lastStatsAt = 0;

  const wake = () => {
    if (wakeSleeper) wakeSleeper();
    else hasPendingWake = true;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (hasPendingWake || ms <= 0) {
        hasPendingWake = false;
        setImmediate(resolve);
        return;
      }
      const done = () => {
        clearTimeout(timer);
        wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeSleeper = done;
    });

  function startDelivery(d: ClaimedDelivery): void {
    const p = (async () => {
      const result = await sendDelivery(d, { timeoutMs: config.timeoutMs, key });
      let outcome: RecordedOutcome | "error";
      try {
        outcome = await recordAttempt(db, d, result, config);
      } catch (e) {
        // The lease runs out and the delivery is tried again: at least once.
        outcome = "error";
        log.warn({ deliveryId: d.deliveryId, message: (e as Error).message }, "could not record a delivery outcome");
      }
      metrics?.deliveries.inc({ outcome });
      metrics?.durationSeconds.observe(result.durationMs / 1000);
      const fields = { deliveryId: d.deliveryId, eventId: d.eventId, topic: d.topic, aggregateId: d.aggregateId, subscriptionId: d.subscriptionId, attempt: d.attempt, httpStatus: result.httpStatus, ms: result.durationMs };
      if (outcome === "dead") log.error({ ...fields, error: result.error }, "delivery is dead after its last attempt; its aggregate is blocked until redelivered or skipped");
      else if (outcome === "retry") log.warn({ ...fields, error: result.error }, "delivery failed; will retry");
      else log.debug({ ...fields, outcome }, "delivery attempt finished");
    })().finally(() => {
      inflight.delete(p);
      wake();
    });
    inflight.add(p);
  }

  async function refreshStats(): Promise<void> {
    if (!metrics || Date.now() - lastStatsAt < config.statsIntervalMs) return;
    lastStatsAt = Date.now();
    const s = await readOutboxStats(db);
    metrics.lagSeconds.set(s.lagSeconds);
    metrics.pending.set(s.pending);
    metrics.dead.set(s.dead);
  }

  async function round(): Promise<RoundResult & { isSaturated: boolean }> {
    const fan = await fanOutEvents(db, { limit: config.fanoutBatch });
    if (fan.events > 0) metrics?.fannedOut.inc(fan.events);
    const free = config.concurrency - inflight.size;
    let claimed = 0;
    if (free > 0 && !isStopping) {
      const batch = await claimDeliveries(db, { limit: free, leaseMs });
      claimed = batch.length;
      for (const d of batch) startDelivery(d);
    }
    await refreshStats();
    return { fannedOut: fan.events, claimed, isSaturated: fan.events >= config.fanoutBatch || (free > 0 && claimed === free) };
  }

  const loop = (async () => {
    let idleDelay = config.busyPollMs;
    let failures = 0;
    while (!isStopping) {
      let delay: number;
      try {
        const r = await round();
        failures = 0;
        const didWork = r.fannedOut > 0 || r.claimed > 0;
        if (r.isSaturated && inflight.size < config.concurrency) delay = 0;
        else if (didWork) delay = idleDelay = config.busyPollMs;
        else delay = idleDelay = Math.min(config.idlePollMs, idleDelay * 2);
      } catch (e) {
        failures++;
        if (failures === 1 || failures % 30 === 0) log.warn({ failures, message: (e as Error).message }, "outbox relay round failed; retrying");
        delay = config.idlePollMs;
      }
      if (isStopping) break;
      await sleep(delay);
    }
    await Promise.allSettled([...inflight]);
  })();

  const startFields = { relay: opts.name ?? "outbox", concurrency: config.concurrency, maxAttempts: config.maxAttempts, keySource: key.source, keyFingerprint: key.fingerprint };
  const e = env();
  if (isProductionDeployment(e) && key.source !== "OUTBOX_SECRET_KEY") {
    log.warn(startFields, "outbox relay started; OUTBOX_SECRET_KEY is not set, so signing secrets are encrypted under a key derived from NEXTAUTH_SECRET");
  } else {
    log.info(startFields, "outbox relay started");
  }

  return {
    async stop() {
      isStopping = true;
      wake();
      await loop;
      log.info({ relay: opts.name ?? "outbox" }, "outbox relay stopped");
    },
  };
}
