/**
 * The capacity curve of the transfers benchmark (`--ramp`), the pure part: the ramp's steps, the
 * figures of each step from what the load generator saw and what the database recorded, and the
 * reading of the curve (capacity, knee, behaviour under overload). No I/O, so it is unit-tested
 * (test/unit/bench-capacity-curve.test.ts).
 *
 * Every figure of a step is counted inside the step's time window:
 * - offered, admitted, refused, errors: create requests by the moment they were sent (a retry of a
 *   refused create counts as a retry in the window it was sent in, never as offered again);
 * - settled: settlements recorded in the window, whichever step created the transfer (this is the
 *   pipeline's goodput during the step);
 * - p50/p95/p99: create-to-settled latency (from the transfer's own timestamps) of the transfers
 *   admitted by requests sent in the window.
 */

export interface RampPlan {
  /** Offered rate of the first step (creates per second). */
  startPerSecond: number;
  /** Added to the offered rate at each step. */
  stepPerSecond: number;
  stepSeconds: number;
  /**
   * Offered at the first step's rate before the first step, not counted: the processes' first
   * requests (JIT, pools, prepared statements) would otherwise weigh on the first step.
   */
  warmupSeconds: number;
  /** No step offers more than this. */
  maxPerSecond: number;
  /**
   * The ramp ends once a step has offered this multiple of the highest settled rate seen so far
   * (3: "to about three times the capacity"); 0 runs every step up to maxPerSecond.
   */
  untilMultiple: number;
}

/** The offered rate of each step the plan allows, in order (the ramp may stop earlier). */
export function rampRates(plan: RampPlan): number[] {
  if (!(plan.startPerSecond > 0) || !(plan.stepPerSecond > 0) || !(plan.maxPerSecond >= plan.startPerSecond)) {
    throw new Error(`a ramp needs start > 0, step > 0 and max >= start (got start ${plan.startPerSecond}, step ${plan.stepPerSecond}, max ${plan.maxPerSecond})`);
  }
  const rates: number[] = [];
  for (let r = plan.startPerSecond; r <= plan.maxPerSecond + 1e-9; r += plan.stepPerSecond) rates.push(Math.round(r * 1000) / 1000);
  return rates;
}

/** After a step offered `offeredPerSecond`: true when the ramp has gone far enough past the capacity. */
export function isRampDone(plan: RampPlan, offeredPerSecond: number, peakSettledPerSecond: number): boolean {
  if (offeredPerSecond + plan.stepPerSecond > plan.maxPerSecond + 1e-9) return true;
  return plan.untilMultiple > 0 && peakSettledPerSecond > 0 && offeredPerSecond >= plan.untilMultiple * peakSettledPerSecond;
}

/**
 * The p-th percentile (0 < p <= 100) of ascending values, by the nearest-rank method: the smallest
 * value with at least p% of the values at or below it, so always a value that was observed. NaN
 * when there are none.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new Error(`a percentile must be in (0, 100], got ${p}`);
  const n = sortedAscending.length;
  if (n === 0) return Number.NaN;
  return sortedAscending[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
}

/** One step's window on the load generator's clock (epoch ms). */
export interface StepWindow {
  offeredPerSecond: number;
  startMs: number;
  endMs: number;
}

/** One create request as the load generator saw it. */
export interface CreateTry {
  sentAtMs: number;
  /** A retry of a refused create (same idempotency key). */
  isRetry: boolean;
  outcome: "admitted" | "refused" | "error" | "shed";
  /** The transfer's id, when admitted. */
  transferId?: string;
}

/** A transfer's own timestamps (epoch ms), from the database. */
export interface TransferTimes {
  id: string;
  createdAtMs: number;
  settledAtMs: number | null;
}

export interface StepFigures {
  step: number;
  offeredPerSecond: number;
  seconds: number;
  /** New creates sent per second (below offeredPerSecond when the generator had to shed). */
  sentPerSecond: number;
  retriesPerSecond: number;
  admittedPerSecond: number;
  refusedPerSecond: number;
  settledPerSecond: number;
  admitted: number;
  refused: number;
  errors: number;
  /** Creates the load generator could not send (its in-flight limit was reached). */
  shed: number;
  /** Admitted in this step but not settled when the run ended. */
  unsettled: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

const perSecond = (n: number, seconds: number) => (seconds > 0 ? n / seconds : 0);
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/** The figures of each step (see the module comment for what falls in which step). */
export function aggregateSteps(windows: readonly StepWindow[], tries: readonly CreateTry[], transfers: readonly TransferTimes[]): StepFigures[] {
  const byId = new Map(transfers.map((t) => [t.id, t]));
  const inWindow = (w: StepWindow, ms: number) => ms >= w.startMs && ms < w.endMs;
  return windows.map((w, step) => {
    const seconds = (w.endMs - w.startMs) / 1000;
    const own = tries.filter((t) => inWindow(w, t.sentAtMs));
    const count = (pred: (t: CreateTry) => boolean) => own.filter(pred).length;
    const admittedIds = own.filter((t) => t.outcome === "admitted" && t.transferId).map((t) => t.transferId!);
    const latencies: number[] = [];
    let unsettled = 0;
    for (const id of admittedIds) {
      const t = byId.get(id);
      if (t?.settledAtMs == null) unsettled++;
      else latencies.push(t.settledAtMs - t.createdAtMs);
    }
    latencies.sort((a, b) => a - b);
    const settled = transfers.filter((t) => t.settledAtMs !== null && inWindow(w, t.settledAtMs)).length;
    const admitted = admittedIds.length;
    const refused = count((t) => t.outcome === "refused");
    return {
      step: step + 1,
      offeredPerSecond: w.offeredPerSecond,
      seconds,
      sentPerSecond: perSecond(count((t) => !t.isRetry && t.outcome !== "shed"), seconds),
      retriesPerSecond: perSecond(count((t) => t.isRetry && t.outcome !== "shed"), seconds),
      admittedPerSecond: perSecond(admitted, seconds),
      refusedPerSecond: perSecond(refused, seconds),
      settledPerSecond: perSecond(settled, seconds),
      admitted,
      refused,
      errors: count((t) => t.outcome === "error"),
      shed: count((t) => t.outcome === "shed"),
      unsettled,
      p50Ms: finiteOrNull(percentile(latencies, 50)),
      p95Ms: finiteOrNull(percentile(latencies, 95)),
      p99Ms: finiteOrNull(percentile(latencies, 99)),
    };
  });
}

export interface CurveReading {
  /** The highest settled rate of any step: the pipeline's capacity as measured. */
  capacityPerSecond: number;
  /** The step that reached it. */
  capacityStep: number | null;
  /**
   * The offered rate of the last step before the pipeline first stopped keeping up (settled below
   * `keepUpShare` of offered); null when it never kept up, or kept up at every step (then the ramp
   * did not reach the capacity).
   */
  kneeOfferedPerSecond: number | null;
  /** True when some step did not keep up: the curve shows the capacity. */
  isSaturated: boolean;
  /** Beyond the knee: the lowest and highest settled rate of a step, as a share of the capacity. */
  overloadSettledShare: { min: number; max: number } | null;
  /** The highest p99 of any step (ms), and of the steps up to the knee. */
  p99MsMax: number | null;
  p99MsAtKnee: number | null;
}

/** Reads capacity, knee and overload behaviour off the steps. */
export function readCurve(steps: readonly StepFigures[], keepUpShare = 0.95): CurveReading {
  let capacityPerSecond = 0;
  let capacityStep: number | null = null;
  for (const s of steps) {
    if (s.settledPerSecond > capacityPerSecond) {
      capacityPerSecond = s.settledPerSecond;
      capacityStep = s.step;
    }
  }
  const firstBehind = steps.findIndex((s) => s.settledPerSecond < keepUpShare * s.offeredPerSecond);
  const isSaturated = firstBehind >= 0;
  const knee = firstBehind > 0 ? steps[firstBehind - 1]! : null;
  const beyond = isSaturated ? steps.slice(firstBehind) : [];
  const shares = capacityPerSecond > 0 ? beyond.map((s) => s.settledPerSecond / capacityPerSecond) : [];
  const p99s = (xs: readonly StepFigures[]) => xs.map((s) => s.p99Ms).filter((x): x is number => x !== null);
  const maxOrNull = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
  return {
    capacityPerSecond,
    capacityStep,
    kneeOfferedPerSecond: knee?.offeredPerSecond ?? null,
    isSaturated,
    overloadSettledShare: shares.length ? { min: Math.min(...shares), max: Math.max(...shares) } : null,
    p99MsMax: maxOrNull(p99s(steps)),
    p99MsAtKnee: knee ? maxOrNull(p99s(steps.slice(0, firstBehind))) : null,
  };
}
