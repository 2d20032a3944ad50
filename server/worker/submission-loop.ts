/**
 * The worker's submission loop: `concurrency` slots, each claiming a batch of due transfers from
 * the transfers table (server/transfers/submission-queue.ts), submitting them concurrently and
 * recording the answers in one transaction, then claiming again at once. A slot that finds nothing
 * waits for a wake-up (LISTEN on SUBMISSION_CHANNEL, sent after creates and operator retries
 * commit) or its poll interval, which also brings retries whose backoff has run out.
 *
 * Invariants kept:
 * - Nothing here decides a transfer: claims and decisions are the orchestrator's, and a slot that
 *   dies or errors between claim and decision leaves leases that run out (the transfer is claimed
 *   again, its partner call carrying the same idempotency key).
 * - Stopping lets every slot finish the batch it holds, then closes the listener.
 */
import pg from "pg";
import type { Counter } from "prom-client";
import type { DbHandles } from "../db/client";
import { componentLogger } from "../observability/logger";
import { contextFromTraceParent, contextWithSpan, markSpanFailed, SpanKind, startSpan, type Span } from "../observability/tracing";
import { advanceTransfers, submitClaimed, type AdvanceOutcome, type OrchestratorDeps } from "../transfers/orchestrator";
import { getRailPolicy } from "../transfers/rail-policies";
import { claimDueSubmissions, findOtherDueTransfers, SUBMISSION_CHANNEL, type ClaimedSubmission } from "../transfers/submission-queue";

const log = componentLogger("orchestration");

export interface SubmissionLoopOptions {
  db: DbHandles;
  /** Where the wake-up listener connects (its own connection, outside the pool); null: poll only. */
  databaseUrl: string | null;
  deps: OrchestratorDeps;
  /** Slots claiming and submitting at once in this process. */
  concurrency: number;
  /** Transfers one claim takes at most. */
  batchSize: number;
  /** How long an idle slot waits without a wake-up before it looks again. */
  idlePollMs: number;
  /** How often, at most, the rarer due work (still created, attempts spent, an early "not found") is looked for. */
  otherWorkEveryMs?: number;
  /** Counts every step taken, by action (transfer_steps_total). */
  steps?: Counter<"action">;
}

export interface SubmissionLoopHandle {
  /** Wakes idle slots now (tests; the listener calls it on every notification). */
  wake(): void;
  stop(): Promise<void>;
}

/** Starts the loop; it runs until stop(). Never throws from a slot: errors are logged and the slot backs off. */
export function startSubmissionLoop(opts: SubmissionLoopOptions): SubmissionLoopHandle {
  const { db, deps } = opts;
  const now = deps.now ?? (() => new Date());
  const otherWorkEveryMs = opts.otherWorkEveryMs ?? 1_000;
  let isStopped = false;
  let otherWorkCheckedAt = 0;
  const sleepers = new Set<() => void>();
  const wake = () => {
    for (const w of [...sleepers]) w();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  const count = (outcomes: Iterable<AdvanceOutcome>) => {
    for (const o of outcomes) opts.steps?.inc({ action: o.action });
  };

  /** One claim and its submissions; returns how many transfers were claimed. */
  const runBatch = async (): Promise<number> => {
    const claimed = await claimDueSubmissions(db, opts.batchSize, now());
    if (claimed.length > 0) await submitTraced(claimed);
    // The rarer due work, looked for at most every otherWorkEveryMs by any slot of this process.
    if (claimed.length < opts.batchSize && Date.now() - otherWorkCheckedAt >= otherWorkEveryMs) {
      otherWorkCheckedAt = Date.now();
      const ids = await findOtherDueTransfers(db, opts.batchSize, now());
      if (ids.length > 0) count(await advanceTransfers(db, ids, deps));
    }
    return claimed.length;
  };

  /** Submits a claimed batch, each transfer's work under a consumer span of the trace that created it. */
  const submitTraced = async (claimed: readonly ClaimedSubmission[]) => {
    const spans = new Map<string, Span>();
    for (const { t } of claimed) {
      if (!t.traceParent) continue;
      spans.set(
        t.id,
        startSpan("transfer.submission", {
          kind: SpanKind.CONSUMER,
          parent: contextFromTraceParent(t.traceParent),
          attributes: { "messaging.system": "postgresql", "messaging.destination.name": "transfers", "transfer.id": t.id, "partner.attempt": t.attempts },
        }),
      );
    }
    try {
      const withPolicy = await Promise.all(claimed.map(async (c) => ({ ...c, policy: await getRailPolicy(db, c.t.partner, c.t.rail) })));
      const contextOf = (id: string) => {
        const span = spans.get(id);
        return span ? contextWithSpan(span) : undefined;
      };
      const outcomes = await submitClaimed(db, withPolicy, { ...deps, contextOf }, now);
      count(outcomes.values());
      for (const [id, o] of outcomes) spans.get(id)?.setAttribute("transfer.step", o.action);
    } catch (e) {
      opts.steps?.inc({ action: "error" }, claimed.length);
      for (const span of spans.values()) markSpanFailed(span, e);
      throw e;
    } finally {
      for (const span of spans.values()) span.end();
    }
  };

  const slot = async (n: number) => {
    let failures = 0;
    while (!isStopped) {
      try {
        const claimed = await runBatch();
        failures = 0;
        if (claimed < opts.batchSize && !isStopped) await sleep(claimed === 0 ? opts.idlePollMs : 0);
      } catch (e) {
        failures++;
        // The leases of a batch that failed run out; its transfers are claimed again then.
        log.error({ slot: n, err: (e as Error).message }, "submission batch failed; claiming again after a pause");
        if (!isStopped) await sleep(Math.min(5_000, 250 * 2 ** Math.min(4, failures - 1)));
      }
    }
  };
  const slots = Array.from({ length: opts.concurrency }, (_, i) => slot(i));
  const listener = opts.databaseUrl ? startListener(opts.databaseUrl, wake, () => isStopped) : null;

  return {
    wake,
    async stop() {
      isStopped = true;
      wake();
      await Promise.all(slots);
      await listener?.stop();
    },
  };
}

/** LISTENs on SUBMISSION_CHANNEL over a connection of its own, reconnecting after a pause when it drops. */
function startListener(databaseUrl: string, onNotify: () => void, isStopped: () => boolean): { stop(): Promise<void> } {
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    retry = null;
    if (isStopped()) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: "worker:submission-listener" });
    client = c;
    const reconnect = () => {
      if (client !== c) return;
      client = null;
      c.end().catch(() => {});
      if (!isStopped()) retry = setTimeout(() => void connect(), 1_000);
    };
    c.on("notification", onNotify);
    c.on("error", (e) => {
      log.warn({ err: e.message }, "submission wake-up listener lost its connection; polling until it reconnects");
      reconnect();
    });
    c.on("end", reconnect);
    try {
      await c.connect();
      await c.query(`LISTEN ${SUBMISSION_CHANNEL}`);
      // Anything that became due while no listener was connected.
      onNotify();
    } catch (e) {
      log.warn({ err: (e as Error).message }, "submission wake-up listener could not connect; polling until it can");
      reconnect();
    }
  };
  void connect();
  return {
    async stop() {
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
