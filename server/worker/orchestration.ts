/**
 * Transfer orchestration inside the worker: the submission loop (./submission-loop.ts: due
 * transfers claimed straight from the transfers table), the webhook-apply queue on pg-boss, and a
 * periodic sweep (overdue transfers asked at their partner, stored webhooks a lost wake-up missed,
 * the stuck gauges). The transfer-advance queue on pg-boss is still served, for jobs an earlier
 * version enqueued (a rolling upgrade); nothing enqueues it any more.
 *
 * Invariants kept:
 * - Handlers are idempotent (pg-boss delivers at least once); a batch's failures are retried
 *   by pg-boss as a whole, which is safe for the same reason.
 * - Stopping lets the submission loop finish its batches and ends the sweep loop.
 */
import type { PgBoss } from "pg-boss";
import { Counter, Gauge, type Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { createQueues, QUEUES } from "../jobs/queues";
import { componentLogger } from "../observability/logger";
import { advanceTransfers, type OrchestratorDeps } from "../transfers/orchestrator";
import { pollOverdueTransfers } from "../transfers/sweeper";
import { startSubmissionLoop } from "./submission-loop";
import { summarizeStuck } from "../transfers/queries";
import { admissionGateFor } from "../transfers/admission";
import { processPendingWebhooks } from "../transfers/webhook-processing";
import { partners } from "../composition";
import { contextFromTraceParent, contextWithSpan, markSpanFailed, SpanKind, startSpan, type Span } from "../observability/tracing";

/** What a transfer-advance job (enqueued by an earlier version) carries: the transfer, and the trace its work continues. */
export interface TransferAdvanceJob {
  transferId: string;
  /** W3C traceparent of the work that enqueued the job (the creating call, a retry). */
  traceparent?: string | null;
}

/** Applies stored partner webhooks, returning how many were claimed. */
export async function processStoredWebhooks(db: DbHandles, limit: number): Promise<number> {
  return (await processPendingWebhooks(db, partners, limit)).claimed;
}

const log = componentLogger("orchestration");

/** Transfers one claim takes at most, and partner answers one transaction records at most. */
export const TRANSFER_BATCH_SIZE = 32;
/** How long the idle submission claimer waits without a wake-up before it looks again (retries come due this way). */
export const SUBMISSION_IDLE_POLL_MS = 250;

export interface OrchestrationOptions {
  boss: PgBoss;
  db: DbHandles;
  /** Where the submission loop's wake-up listener connects; null: it polls only. */
  databaseUrl: string | null;
  registry: Registry;
  concurrency: number;
  /** Applies stored webhooks; returns how many it claimed (default: processStoredWebhooks). */
  processWebhooks?: (db: DbHandles, limit: number) => Promise<number>;
  sweepIntervalMs?: number;
  deps?: OrchestratorDeps;
}

export async function startOrchestration(opts: OrchestrationOptions): Promise<{ stop(): Promise<void> }> {
  const { boss, db } = opts;
  const deps: OrchestratorDeps = opts.deps ?? { adapterFor: partners.adapterFor };
  const steps = new Counter({ name: "transfer_steps_total", help: "Orchestration steps by action", labelNames: ["action"], registers: [opts.registry] });
  const stuck = new Gauge({ name: "transfers_stuck", help: "Transfers over their state's time budget or waiting for an operator", labelNames: ["state"], registers: [opts.registry] });
  // Admission control (server/transfers/admission.ts), as every process sees it: alert on
  // transfers_admission_open == 0 (new transfers refused) and on a growing backlog.
  const admission = admissionGateFor(db);
  new Gauge({
    name: "transfers_admission_open",
    help: "1 while new transfers are admitted, 0 while they are refused with OVERLOADED",
    registers: [opts.registry],
    async collect() {
      this.set((await admission.state()).isOpen ? 1 : 0);
    },
  });
  new Gauge({
    name: "transfers_submission_backlog",
    help: "Transfers due for submission and not leased by a worker",
    registers: [opts.registry],
    async collect() {
      this.set((await admission.state()).backlog);
    },
  });
  new Gauge({
    name: "transfers_submission_oldest_wait_seconds",
    help: "How long the oldest transfer due for submission has waited for a worker",
    registers: [opts.registry],
    async collect() {
      this.set((await admission.state()).oldestWaitMs / 1000);
    },
  });
  await createQueues(boss);

  const submissions = startSubmissionLoop({
    db,
    databaseUrl: opts.databaseUrl,
    deps,
    maxInFlight: opts.concurrency * TRANSFER_BATCH_SIZE,
    batchSize: TRANSFER_BATCH_SIZE,
    idlePollMs: SUBMISSION_IDLE_POLL_MS,
    steps,
  });

  // Jobs an earlier version enqueued (one per transfer) are still applied, so that a rolling
  // upgrade strands nothing; advanceTransfers takes any transfer one step, safely.
  await boss.work<TransferAdvanceJob>(
    QUEUES.transferAdvance,
    { batchSize: TRANSFER_BATCH_SIZE, localConcurrency: 1, pollingIntervalSeconds: 5, notifyPollingIntervalSeconds: 5, burstWhenBatchFull: true },
    async (jobs) => {
      // Each job continues its transfer's trace (the traceparent in its payload): one span per
      // job, under which that transfer's partner call and decisions are recorded.
      const spans = new Map<string, Span>();
      for (const j of jobs) {
        if (!j.data.traceparent || spans.has(j.data.transferId)) continue;
        spans.set(
          j.data.transferId,
          startSpan(`job ${QUEUES.transferAdvance}`, {
            kind: SpanKind.CONSUMER,
            parent: contextFromTraceParent(j.data.traceparent),
            attributes: { "messaging.system": "pg-boss", "messaging.destination.name": QUEUES.transferAdvance, "messaging.message.id": j.id, "transfer.id": j.data.transferId },
          }),
        );
      }
      const contextOf = (transferId: string) => {
        const span = spans.get(transferId);
        return span ? contextWithSpan(span) : undefined;
      };
      // One batch: one claim, concurrent partner calls, one decision transaction (advanceTransfers).
      const ids = jobs.map((j) => j.data.transferId);
      try {
        const outcomes = await advanceTransfers(db, ids, { ...deps, contextOf });
        outcomes.forEach((o, i) => {
          steps.inc({ action: o.action });
          spans.get(ids[i]!)?.setAttribute("transfer.step", o.action);
        });
      } catch (e) {
        steps.inc({ action: "error" }, jobs.length);
        for (const span of spans.values()) markSpanFailed(span, e);
        log.error({ err: (e as Error).message, jobs: jobs.length }, "transfer step failed; pg-boss will retry the batch");
        throw e;
      } finally {
        for (const span of spans.values()) span.end();
      }
    },
  );

  const processWebhooks = opts.processWebhooks ?? processStoredWebhooks;
  await boss.work(QUEUES.webhookApply, { batchSize: 16, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 5 }, async () => {
    // The job says "there is work": drain whatever is pending, in arrival order.
    while ((await processWebhooks(db, 100)) > 0);
  });

  let isStopped = false;
  let timer: NodeJS.Timeout | undefined;
  const interval = opts.sweepIntervalMs ?? 5_000;
  const sweep = async () => {
    try {
      const polled = await pollOverdueTransfers(db, deps);
      if (polled.moved > 0) log.info(polled, "moved overdue transfers on the partner's status");
      await processWebhooks(db, 500);
      const summary = await summarizeStuck(db);
      stuck.reset();
      for (const [state, n] of Object.entries(summary.byState)) stuck.set({ state }, n);
    } catch (e) {
      log.warn({ err: (e as Error).message }, "sweep failed; will try again");
    }
    if (!isStopped) timer = setTimeout(sweep, interval);
  };
  timer = setTimeout(sweep, Math.min(interval, 1_000));

  return {
    async stop() {
      isStopped = true;
      if (timer) clearTimeout(timer);
      await submissions.stop();
    },
  };
}
