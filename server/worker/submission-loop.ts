/**
 * The worker's submission loop: a window of at most `maxInFlight` partner calls. A claimer takes
 * due transfers from the transfers table (server/transfers/submission-queue.ts) whenever the window
 * has room, and starts each one's partner call at once; answers are recorded as they come back, in
 * groups (one transaction per group, like the ledger's group commit), so no transfer waits for the
 * slowest call of a batch and the partner sees a steady stream rather than bursts. With nothing due
 * the claimer waits for a wake-up (LISTEN on SUBMISSION_CHANNEL, sent after creates and operator
 * retries commit) or its poll interval, which also brings retries whose backoff has run out.
 *
 * Invariants kept:
 * - Nothing here decides a transfer: claims and decisions are the orchestrator's. A call or a
 *   record that fails leaves its leases, which run out; the transfer is then claimed again and its
 *   partner call carries the same idempotency key.
 * - Stopping ends claiming, waits for the calls in flight and records their answers, then closes
 *   the listener.
 */
import pg from "pg";
import type { Counter } from "prom-client";
import type { DbHandles } from "../db/client";
import { MicroBatcher } from "../db/micro-batcher";
import { componentLogger } from "../observability/logger";
import { contextFromTraceParent, contextWithSpan, markSpanFailed, SpanKind, startSpan, type Span } from "../observability/tracing";
import { advanceTransfers, recordSubmissions, submitOne, type AdvanceOutcome, type OrchestratorDeps, type Submission } from "../transfers/orchestrator";
import { getRailPolicy } from "../transfers/rail-policies";
import { claimDueSubmissions, findOtherDueTransfers, SUBMISSION_CHANNEL, type ClaimedSubmission } from "../transfers/submission-queue";

const log = componentLogger("orchestration");

export interface SubmissionLoopOptions {
  db: DbHandles;
  /** Where the wake-up listener connects (its own connection, outside the pool); null: poll only. */
  databaseUrl: string | null;
  deps: OrchestratorDeps;
  /** Partner calls in flight at most (claimed and not yet recorded). */
  maxInFlight: number;
  /** Transfers one claim takes at most, and answers one record transaction takes at most. */
  batchSize: number;
  /** How long the claimer waits without a wake-up before it looks again. */
  idlePollMs: number;
  /** How often, at most, the rarer due work (still created, attempts spent, an early "not found") is looked for. */
  otherWorkEveryMs?: number;
  /** After a claim that took everything due, how long the claimer waits before it may claim again (ms). */
  gatherMs?: number;
  /** Counts every step taken, by action (transfer_steps_total). */
  steps?: Counter<"action">;
}

/** Default gatherMs: at most this much added latency, against a claim statement per transfer under load. */
export const CLAIM_GATHER_MS = 10;
/** How long the first answer of a record group waits for others (ms). */
export const RECORD_WINDOW_MS = 10;

export interface SubmissionLoopHandle {
  /** Wakes the claimer now (the listener calls it on every notification). */
  wake(): void;
  stop(): Promise<void>;
}

/** An answer waiting to be recorded, with the span its transfer's work runs under. */
interface Answer {
  s: Submission;
  span: Span | null;
}

/** Starts the loop; it runs until stop(). Never throws: errors are logged and the claimer backs off. */
export function startSubmissionLoop(opts: SubmissionLoopOptions): SubmissionLoopHandle {
  const { db, deps } = opts;
  const now = deps.now ?? (() => new Date());
  const otherWorkEveryMs = opts.otherWorkEveryMs ?? 1_000;
  const gatherMs = opts.gatherMs ?? CLAIM_GATHER_MS;
  // With less room than this the claimer waits for answers: a claim is a statement, however few
  // rows it takes. A quarter of the window at most, so that a few slow calls never stop claiming.
  const minClaim = Math.max(1, Math.min(Math.floor(opts.batchSize / 2), Math.floor(opts.maxInFlight / 4)));
  let isStopped = false;
  let inFlight = 0;
  const claimerSleep = wakeableSleep();
  const wake = claimerSleep.wake;
  const sleep = claimerSleep.sleep;
  const count = (outcomes: Iterable<AdvanceOutcome>) => {
    for (const o of outcomes) opts.steps?.inc({ action: o.action });
  };
  const settled = (n: number) => {
    const hadRoom = opts.maxInFlight - inFlight >= minClaim;
    inFlight -= n;
    if (!hadRoom && opts.maxInFlight - inFlight >= minClaim) wake();
    if (inFlight === 0) drained?.();
  };
  let drained: (() => void) | null = null;

  // One record transaction at a time: answers that return while it runs form the next group, so
  // groups grow with the load (as the ledger's group commit) and stay small when it is light.
  const recordGroup = async (group: Answer[]) => {
    try {
      const outcomes = await recordSubmissions(db, group.map((a) => a.s), now);
      count(outcomes.values());
      for (const a of group) a.span?.setAttribute("transfer.step", outcomes.get(a.s.t.id)?.action ?? "none");
    } catch (e) {
      // Their leases run out and they are claimed again (the calls carry the same keys).
      opts.steps?.inc({ action: "error" }, group.length);
      for (const a of group) if (a.span) markSpanFailed(a.span, e);
      log.error({ err: (e as Error).message, transfers: group.length }, "recording partner answers failed; the transfers are claimed again when their leases run out");
    } finally {
      for (const a of group) a.span?.end();
      settled(group.length);
    }
  };
  const recorder = new MicroBatcher<Answer>({ windowMs: RECORD_WINDOW_MS, maxItems: opts.batchSize, maxInFlight: 1, minSplit: 1 }, (a) => a.s.t.id, recordGroup);

  /** Starts one claimed transfer's partner call; its answer goes to the recorder. */
  const start = (c: ClaimedSubmission) => {
    const span = c.t.traceParent
      ? startSpan("transfer.submission", {
          kind: SpanKind.CONSUMER,
          parent: contextFromTraceParent(c.t.traceParent),
          attributes: { "messaging.system": "postgresql", "messaging.destination.name": "transfers", "transfer.id": c.t.id, "partner.attempt": c.claim.attempt },
        })
      : null;
    const contextOf = (id: string) => (span && id === c.t.id ? contextWithSpan(span) : undefined);
    void (async () => {
      try {
        const policy = await getRailPolicy(db, c.t.partner, c.t.rail);
        const s = await submitOne(db, { ...c, policy }, { ...deps, contextOf });
        // Its earlier answer may still wait to be recorded (its lease ran out and this worker claimed
        // it again): this one is recorded alone, never dropped.
        if (!recorder.add({ s, span })) await recordGroup([{ s, span }]);
      } catch (e) {
        opts.steps?.inc({ action: "error" });
        if (span) {
          markSpanFailed(span, e);
          span.end();
        }
        log.error({ transferId: c.t.id, err: (e as Error).message }, "submission failed before its answer could be recorded; claimed again when its lease runs out");
        settled(1);
      }
    })();
  };

  const claimer = async () => {
    let failures = 0;
    while (!isStopped) {
      const room = opts.maxInFlight - inFlight;
      if (room < minClaim) {
        await sleep(opts.idlePollMs);
        continue;
      }
      try {
        const want = Math.min(opts.batchSize, room);
        const claimed = await claimDueSubmissions(db, want, now());
        inFlight += claimed.length;
        for (const c of claimed) start(c);
        failures = 0;
        // Everything due was taken: gather for a moment (a claim per wake-up would cost a
        // statement per transfer under load), then wait for more to become due.
        if (claimed.length < want && !isStopped) {
          await new Promise((r) => setTimeout(r, gatherMs));
          await sleep(opts.idlePollMs);
        }
      } catch (e) {
        failures++;
        log.error({ err: (e as Error).message }, "claiming due transfers failed; trying again after a pause");
        if (!isStopped) await sleep(Math.min(5_000, 250 * 2 ** Math.min(4, failures - 1)));
      }
    }
  };
  // The rarer due work (still created, attempts spent, an early "not found"), on its own: its
  // status queries may take a rail's time limit each, and must hold back neither the claims nor
  // itself under load.
  const otherWork = async () => {
    while (!isStopped) {
      try {
        const ids = await findOtherDueTransfers(db, opts.batchSize, now());
        if (ids.length > 0) count(await advanceTransfers(db, ids, deps));
      } catch (e) {
        log.error({ err: (e as Error).message }, "advancing transfers due for a status query failed; trying again");
      }
      if (!isStopped) await otherSleep.sleep(otherWorkEveryMs);
    }
  };
  const otherSleep = wakeableSleep();
  const claiming = claimer();
  const othering = otherWork();
  const listener = opts.databaseUrl ? startListener(opts.databaseUrl, wake, () => isStopped) : null;

  return {
    wake,
    async stop() {
      isStopped = true;
      wake();
      otherSleep.wake();
      await Promise.all([claiming, othering]);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await listener?.stop();
    },
  };
}

/** A sleep that wake() ends early; a wake while nobody sleeps ends the next sleep at once. */
function wakeableSleep(): { sleep(ms: number): Promise<void>; wake(): void } {
  let waiter: (() => void) | null = null;
  let isWakeWanted = false;
  return {
    wake() {
      if (waiter) waiter();
      else isWakeWanted = true;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), ms);
        const done = () => {
          clearTimeout(timer);
          waiter = null;
          resolve();
        };
        if (isWakeWanted) {
          isWakeWanted = false;
          done();
        } else waiter = done;
      }),
  };
}

/** LISTENs on SUBMISSION_CHANNEL over a connection of its own, reconnecting after a pause when it drops. */
function startListener(databaseUrl: string, onNotify: () => void, isStopped: () => boolean): { stop(): Promise<void> } {
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    retry = null;
    if (isStopped()) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: "worker:submission-listener", connectionTimeoutMillis: 5_000, keepAlive: true });
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
