/**
 * Group commit: concurrent single transfers and entries that arrive within a short window share
 * ONE database transaction, so the per-transaction cost (BEGIN, COMMIT and its WAL flush, the lock
 * query, one write statement) is paid once per group, not per command. This module only batches:
 * the write path hands it the function that runs a group in one transaction and the one that runs
 * a command alone (write-path.ts), and callers see exactly what they would see alone.
 *
 * Invariants kept:
 * - Two commands with the same key never share a group (the second runs alone and, once the first
 *   has committed, gets its stored result).
 * - A group's outcome per command is that command's result or error. DB_UNAVAILABLE reaches every
 *   caller; any other failure of the group's transaction (serialization failures and deadlocks
 *   are retried by the runner first) runs each command alone, so one bad command cannot fail the
 *   others.
 * - dryRun, expectedVersions, a caller's groupCommit: false, holds, reversals and batches are not
 *   groupable and run alone.
 */
import { MicroBatcher } from "../db/micro-batcher";
import { toAppError } from "../errors/db-errors";
import type { LedgerCommand, LedgerResult } from "./types";

/** Fewest commands a due group is split down to when several group slots are free (micro-batcher.ts). */
const MIN_SPLIT = 8;

export type GroupableCommand = Extract<LedgerCommand, { type: "transfer" | "post_entry" }>;

export interface GroupSettings {
  isEnabled: boolean;
  windowMs: number;
  maxItems: number;
  /** Groups in flight at once; more arrivals wait and form the next groups. */
  maxInFlight: number;
}

export type GroupOutcome = { result: LedgerResult } | { error: unknown };

/** Counts, for the benchmark and the metrics: groups committed, commands in them, groups re-run alone. */
export interface GroupCommitStats {
  groups: number;
  items: number;
  fallbacks: number;
}

interface Waiting<M> {
  member: M;
  resolve: (r: LedgerResult) => void;
  reject: (e: unknown) => void;
}

/** Whether a validated command may share a transaction with others. */
export function isGroupable(command: LedgerCommand, opts: { dryRun?: boolean; expectedVersions?: unknown; groupCommit?: boolean }, isEnabled: boolean): command is GroupableCommand {
  if (command.type !== "transfer" && command.type !== "post_entry") return false;
  if (opts.dryRun || opts.expectedVersions || opts.groupCommit === false) return false;
  return opts.groupCommit === true || isEnabled;
}

export class GroupCommitter<M> {
  readonly stats: GroupCommitStats = { groups: 0, items: 0, fallbacks: 0 };
  private readonly batcher: MicroBatcher<Waiting<M>>;

  constructor(
    settings: GroupSettings,
    keyOf: (member: M) => string,
    private readonly runGroup: (members: M[]) => Promise<{ ok: true; outcomes: GroupOutcome[] } | { ok: false; failure: unknown }>,
    private readonly runAlone: (member: M) => Promise<LedgerResult>,
  ) {
    this.batcher = new MicroBatcher<Waiting<M>>(
      { windowMs: settings.windowMs, maxItems: settings.maxItems, maxInFlight: settings.maxInFlight, minSplit: MIN_SPLIT },
      (w) => keyOf(w.member),
      (group) => this.run(group),
    );
  }

  /** Resolves with exactly what running the member alone would return. */
  submit(member: M): Promise<LedgerResult> {
    return new Promise<LedgerResult>((resolve, reject) => {
      // The same key twice in one group would make the group fail on the unique key: the second
      // runs alone and, after the first commits, gets its stored result (or IDEMPOTENCY_CONFLICT).
      if (!this.batcher.add({ member, resolve, reject })) this.runAlone(member).then(resolve, reject);
    });
  }

  private alone(waiting: Waiting<M>[]): Promise<void> {
    return Promise.all(waiting.map((w) => this.runAlone(w.member).then(w.resolve, w.reject))).then(() => undefined);
  }

  private async run(waiting: Waiting<M>[]): Promise<void> {
    if (waiting.length === 1) return this.alone(waiting);
    let run;
    try {
      run = await this.runGroup(waiting.map((w) => w.member));
    } catch (e) {
      for (const w of waiting) w.reject(e);
      return;
    }
    if (run.ok) {
      this.stats.groups++;
      this.stats.items += waiting.length;
      waiting.forEach((w, i) => {
        const o = run.outcomes[i]!;
        if ("result" in o) w.resolve(o.result);
        else w.reject(o.error);
      });
      return;
    }
    const conn = toAppError(run.failure);
    if (conn?.code === "DB_UNAVAILABLE") {
      for (const w of waiting) w.reject(conn);
      return;
    }
    // Not attributable to the group as a whole (a database rule, an overflow, a claim that timed
    // out): each command runs alone and gets its own answer.
    this.stats.fallbacks++;
    return this.alone(waiting);
  }
}
