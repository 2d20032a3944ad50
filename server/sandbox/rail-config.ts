/**
 * Per-rail behaviour of the simulated bank: timings and fault injection, and the dice that decide
 * which request meets which fault.
 *
 * Invariants kept:
 * - A rail config is always complete and within bounds (RAIL_CONFIG_SCHEMA); a partial update is
 *   merged over the stored config and validated whole.
 * - With a seed, every fault decision is a pure function of (seed, idempotency key, attempt
 *   number, decision name): the same traffic meets the same faults in any order and on any
 *   number of sandbox processes, while a retry (next attempt number) rolls again. Without a seed
 *   the dice are crypto-random.
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { RailId } from "../partners/types";

const probability = z.number().min(0).max(1);
const ms = (max: number) => z.number().int().min(0).max(max);

const RAIL_CONFIG_FIELDS = z
  .object({
    /** Submit hangs past the client's time limit. */
    timeoutProbability: probability,
    /** Of the hanging submits, the share that executed before hanging ("executed then timed out"). */
    timeoutExecutedShare: probability,
    /** How long a hanging submit waits before answering 504 (unless the client gives up first). */
    hangMs: ms(600_000),
    /** Submit answers 500 without executing. */
    errorProbability: probability,
    /** Accepted, then failed by the bank later (a `failed` webhook instead of `settled`). */
    failProbability: probability,
    /** Each webhook is also delivered a second time (same event id). */
    duplicateWebhookProbability: probability,
    /** The acknowledged webhook arrives after the settled one. */
    outOfOrderProbability: probability,
    /** A settled payment is returned later (a `returned` webhook). */
    returnProbability: probability,
    returnDelayMs: ms(24 * 3600 * 1000),
    /** A settled payment is missing from the settlement file. */
    missingLineProbability: probability,
    /** A settlement adds a line that matches no payment. */
    extraLineProbability: probability,
    /** Batch: from accepted to acknowledged. */
    ackDelayMs: ms(3_600_000),
    /** Instant: from accepted to settled, drawn uniformly in [min, max]. */
    settleDelayMsMin: ms(3_600_000),
    settleDelayMsMax: ms(3_600_000),
    /** Batch: the simulated daily cut-off runs this often. */
    cutoffIntervalSeconds: z.number().int().min(1).max(86_400),
    /** Overrides SANDBOX_FAULT_SEED for this rail; null: use it. */
    seed: z.string().min(1).max(200).nullable(),
  })
  .strict();

export const RAIL_CONFIG_SCHEMA = RAIL_CONFIG_FIELDS.refine((c) => c.settleDelayMsMin <= c.settleDelayMsMax, {
  message: "settleDelayMsMin must not exceed settleDelayMsMax",
  path: ["settleDelayMsMin"],
});

export type RailConfig = z.infer<typeof RAIL_CONFIG_SCHEMA>;

export const NO_FAULTS = {
  timeoutProbability: 0,
  timeoutExecutedShare: 0.5,
  errorProbability: 0,
  failProbability: 0,
  duplicateWebhookProbability: 0,
  outOfOrderProbability: 0,
  returnProbability: 0,
  missingLineProbability: 0,
  extraLineProbability: 0,
} as const satisfies Partial<RailConfig>;

/** A fresh rail: realistic timings, no faults. */
export function defaultRailConfig(rail: RailId, opts: { cutoffIntervalSeconds: number }): RailConfig {
  return {
    ...NO_FAULTS,
    hangMs: 30_000,
    returnDelayMs: 20_000,
    ackDelayMs: rail === "batch" ? 500 : 0,
    settleDelayMsMin: 100,
    settleDelayMsMax: 3_000,
    cutoffIntervalSeconds: opts.cutoffIntervalSeconds,
    seed: null,
  };
}

/** Merges a partial update over `current` and validates the result. Throws z.ZodError. */
export function mergeRailConfig(current: RailConfig, patch: unknown): RailConfig {
  const partial = RAIL_CONFIG_FIELDS.partial().strict().parse(patch);
  return RAIL_CONFIG_SCHEMA.parse({ ...current, ...partial });
}

/**
 * A number in [0, 1). Seeded: SHA-256 over the seed and the parts, so it is reproducible and
 * independent of call order. Unseeded: crypto-random.
 */
export function faultRoll(seed: string | null, ...parts: readonly (string | number)[]): number {
  const bytes = seed === null ? randomBytes(6) : createHash("sha256").update([seed, ...parts.map(String)].join("\u0000")).digest().subarray(0, 6);
  return bytes.readUIntBE(0, 6) / 2 ** 48;
}

/** Whether an event of probability `p` happens on this roll (p = 0 never, p = 1 always). */
export function rollHits(p: number, roll: number): boolean {
  return roll < p;
}

/** A whole number in [min, max] from a roll. */
export function rollBetween(min: number, max: number, roll: number): number {
  return min + Math.floor(roll * (max - min + 1));
}
