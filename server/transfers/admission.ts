/**
 * Admission control for new transfers: when more transfers are waiting for submission than the
 * pipeline drains in a few seconds, `createTransfer` refuses new ones with the retryable
 * OVERLOADED (HTTP 503 with Retry-After) and places no hold, so that the work already admitted keeps
 * its latency and the capacity goes to draining it (otherwise an open-loop overload makes creates
 * starve submissions: goodput collapses while latency grows without bound). Operator actions and
 * partner webhooks never pass this gate.
 *
 * Invariants kept:
 * - The backlog is what waits for the workers: transfers created or reserved, due now (no retry
 *   backoff pending) and not leased by a worker. A partner outage, whose transfers wait in
 *   backoff, does not close admission for everyone.
 * - The decision is pure (decideAdmission): closed when the backlog exceeds TRANSFER_ADMISSION_
 *   MAX_BACKLOG or its oldest transfer has waited longer than TRANSFER_ADMISSION_MAX_WAIT_MS, or
 *   when this process's own creates stand in a queue before the database: the quickest of at least
 *   MIN_CREATES_FOR_QUEUE creates that started their transaction since the last sample waited
 *   longer than TRANSFER_ADMISSION_MAX_CREATE_MS for it (a standing queue, as CoDel measures it,
 *   not a burst or one slow start; lock waits inside the transaction, one hot account's, do not
 *   count); reopened only below 80% of every bound (hysteresis, so it does not flap at the bound).
 *   Refused creates are not measured, so under sustained overload the gate reopens after a sample
 *   to probe and closes again while the queue stands.
 * - Checking is O(1): each process samples the backlog at most every TRANSFER_ADMISSION_SAMPLE_MS
 *   (one indexed count over the backlog), in the background; a check never waits for a sample
 *   except the very first.
 */
import type pg from "pg";
import type { DbHandles } from "../db/client";
import { env } from "../env";
import { AppError } from "../errors/app-error";
import { componentLogger } from "../observability/logger";

const log = componentLogger("admission");

export interface AdmissionSettings {
  isEnabled: boolean;
  maxBacklog: number;
  maxWaitMs: number;
  /** Creates whose quickest in a sample interval waited longer than this (ms) before its transaction close admission. */
  maxCreateMs: number;
  sampleMs: number;
}

export interface BacklogSample {
  /** Transfers due for submission and not leased. */
  backlog: number;
  /** How long the oldest of them has waited for a worker (ms), 0 when none. */
  oldestWaitMs: number;
  /** The shortest wait before its transaction of the creates this process started since the last sample (ms); 0 when too few started to tell. */
  createMs: number;
  sampledAt: Date;
}

export interface AdmissionState extends BacklogSample {
  isOpen: boolean;
  /** Why admission is closed, in words for the console and the error; null when open. */
  reason: string | null;
  /** Which bound closed it; null when open. */
  closedBy: "backlog" | "wait" | "creates" | null;
  /** What a refused caller should wait before trying again. */
  retryAfterSeconds: number;
  settings: Omit<AdmissionSettings, "sampleMs">;
}

/** How often, at most, a change of the gate is logged. */
const LOG_EVERY_MS = 10_000;

/** Fewer creates started in a sample interval say nothing about a queue (a cold start, a lull). */
export const MIN_CREATES_FOR_QUEUE = 8;

/** Below this share of both bounds a closed gate opens again. */
const REOPEN_SHARE = 0.8;

/** The pure decision: open or closed, and why, given the last state and a new sample. */
export function decideAdmission(sample: BacklogSample, settings: AdmissionSettings, wasOpen: boolean): AdmissionState {
  const base = { ...sample, settings: { isEnabled: settings.isEnabled, maxBacklog: settings.maxBacklog, maxWaitMs: settings.maxWaitMs, maxCreateMs: settings.maxCreateMs } };
  const retryAfterSeconds = Math.max(1, Math.min(30, Math.ceil(Math.max(sample.oldestWaitMs, sample.createMs) / 1000)));
  if (!settings.isEnabled) return { ...base, isOpen: true, reason: null, closedBy: null, retryAfterSeconds };
  // While closed, a bound counts as passed until its value is back under 80% of it.
  const isOver = (value: number, bound: number) => (wasOpen ? value > bound : value >= bound * REOPEN_SHARE);
  const closedBy =
    isOver(sample.backlog, settings.maxBacklog) ? "backlog"
    : isOver(sample.oldestWaitMs, settings.maxWaitMs) ? "wait"
    : isOver(sample.createMs, settings.maxCreateMs) ? "creates"
    : null;
  if (closedBy === null) return { ...base, isOpen: true, reason: null, closedBy: null, retryAfterSeconds };
  const reason =
    closedBy === "backlog" ? `${sample.backlog} transfers are waiting for submission (limit ${settings.maxBacklog})`
    : closedBy === "wait" ? `the oldest transfer waiting for submission has waited ${(sample.oldestWaitMs / 1000).toFixed(1)} s (limit ${(settings.maxWaitMs / 1000).toFixed(1)} s)`
    : `new transfers queue for the database before they are written: even the quickest waited ${sample.createMs} ms (limit ${settings.maxCreateMs} ms)`;
  return { ...base, isOpen: false, reason, closedBy, retryAfterSeconds };
}

/**
 * Counts the backlog and finds its oldest wait, in three parts that each read only what waits: the
 * created transfers (by state), the reserved ones ready for a first submission
 * (transfers_submission_ready_idx) and the retries whose backoff has run out
 * (transfers_submission_retry_idx). Transfers still in backoff are never visited, however many a
 * partner's outage leaves: a sample costs what the backlog holds, which this gate keeps small.
 */
export async function sampleBacklog(db: pg.Pool | pg.ClientBase, now = new Date()): Promise<BacklogSample> {
  const res = await db.query<{ n: string; oldest: Date | null }>(
    `SELECT count(*)::text AS n, min(waiting_since) AS oldest FROM (
       SELECT COALESCE(next_attempt_at, state_changed_at) AS waiting_since FROM transfers
        WHERE state = 'created' AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
          AND (lease_until IS NULL OR lease_until < $1) AND attention_reason IS NULL
       UNION ALL
       SELECT state_changed_at FROM transfers
        WHERE state = 'reserved' AND attention_reason IS NULL AND next_attempt_at IS NULL AND (lease_until IS NULL OR lease_until < $1)
       UNION ALL
       SELECT next_attempt_at FROM transfers
        WHERE state = 'reserved' AND attention_reason IS NULL AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)) backlog`,
    [now],
  );
  const row = res.rows[0]!;
  return { backlog: Number(row.n), oldestWaitMs: row.oldest ? Math.max(0, now.getTime() - row.oldest.getTime()) : 0, createMs: 0, sampledAt: now };
}

export function admissionSettings(): AdmissionSettings {
  const e = env();
  return {
    isEnabled: e.TRANSFER_ADMISSION_ENABLED,
    maxBacklog: e.TRANSFER_ADMISSION_MAX_BACKLOG,
    maxWaitMs: e.TRANSFER_ADMISSION_MAX_WAIT_MS,
    maxCreateMs: e.TRANSFER_ADMISSION_MAX_CREATE_MS,
    sampleMs: e.TRANSFER_ADMISSION_SAMPLE_MS,
  };
}

/** One process's view of admission for one database, refreshed in the background. */
export class AdmissionGate {
  private current: AdmissionState | null = null;
  private refreshing: Promise<void> | null = null;
  /** Creates refused since the process started, by reason kind (for the metrics). */
  readonly refused = { backlog: 0, wait: 0, creates: 0 };
  /** The creates started since the last sample: how many, and the shortest wait (ms). */
  private creates = { n: 0, quickestMs: Infinity };
  /** Gate changes not yet logged, and when the last was (changes are logged at most every LOG_EVERY_MS). */
  private changes = { unlogged: 0, loggedAt: -Infinity };

  constructor(
    private readonly pool: pg.Pool,
    private readonly settings: AdmissionSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The latest decision (sampling first when there is none yet). */
  async state(): Promise<AdmissionState> {
    const now = this.clock();
    if (!this.current) await this.refresh();
    else if (now.getTime() - this.current.sampledAt.getTime() >= this.settings.sampleMs) void this.refresh();
    return this.current!;
  }

  /**
   * Logs a change of the gate; under sustained overload the gate opens to probe and closes again
   * every few samples, so changes are logged at most every LOG_EVERY_MS, with how many there were.
   */
  private logChange(s: AdmissionState): void {
    this.changes.unlogged++;
    const at = this.clock().getTime();
    if (at - this.changes.loggedAt < LOG_EVERY_MS) return;
    log.warn(
      { isOpen: s.isOpen, reason: s.reason, backlog: s.backlog, oldestWaitMs: s.oldestWaitMs, createMs: s.createMs, changes: this.changes.unlogged },
      s.isOpen ? "transfer admission reopened" : "transfer admission closed",
    );
    this.changes = { unlogged: 0, loggedAt: at };
  }

  /** Records how long an admitted create waited before its transaction started. */
  observeCreate(ms: number): void {
    this.creates.n++;
    this.creates.quickestMs = Math.min(this.creates.quickestMs, Math.max(0, Math.round(ms)));
  }

  /** Refuses a new transfer while admission is closed. Errors: OVERLOADED (retryable). */
  async admit(): Promise<void> {
    if (!this.settings.isEnabled) return;
    const s = await this.state();
    if (s.isOpen) return;
    this.refused[s.closedBy ?? "backlog"]++;
    throw new AppError("OVERLOADED", `new transfers are not admitted for now: ${s.reason}; retry after ${s.retryAfterSeconds} s`, {
      isRetryable: true,
      details: { reason: s.reason, backlog: s.backlog, oldestWaitMs: s.oldestWaitMs, createMs: s.createMs, retryAfterSeconds: s.retryAfterSeconds },
    });
  }

  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    // The creates of this interval; too few started says no queue stands in front of them.
    const createMs = this.creates.n >= MIN_CREATES_FOR_QUEUE ? this.creates.quickestMs : 0;
    this.creates = { n: 0, quickestMs: Infinity };
    this.refreshing = sampleBacklog(this.pool, this.clock())
      .then((sample) => {
        const wasOpen = this.current?.isOpen ?? true;
        this.current = decideAdmission({ ...sample, createMs }, this.settings, wasOpen);
        if (wasOpen !== this.current.isOpen) this.logChange(this.current);
      })
      .catch((e: unknown) => {
        // Keep the last decision; a database outage fails the create itself anyway.
        log.warn({ err: (e as Error).message }, "sampling the transfer backlog failed");
        if (!this.current) this.current = decideAdmission({ backlog: 0, oldestWaitMs: 0, createMs: 0, sampledAt: this.clock() }, this.settings, true);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}

const gates = new WeakMap<object, AdmissionGate>();

/** The admission gate of a pool (one per process and database). */
export function admissionGateFor(db: Pick<DbHandles, "pool">): AdmissionGate {
  let gate = gates.get(db.pool);
  if (!gate) gates.set(db.pool, (gate = new AdmissionGate(db.pool, admissionSettings())));
  return gate;
}
