/**
 * Matching rules: what each rule kind means, its tolerances and the confidence it gives. Rule sets
 * are versioned in recon_rule_sets; a set lists rules in priority order (each kind at most once)
 * and an auto-apply threshold.
 *
 * Invariants kept:
 * - Every rule compares within one currency and one direction only (a statement credit is a
 *   posting that increases the mirrored account); nothing matches across currencies.
 * - Confidences are fixed per rule and outcome (RULE_CONFIDENCE), so a version's threshold means
 *   the same thing in every run and every backtest.
 * - Tolerances are integers: days, minor units, basis points. No float.
 */
import { z } from "zod";
import { AppError } from "../errors/app-error";

export const RULE_KINDS = ["reference", "many_lines_one_item", "one_line_many_items", "reference_tolerance", "amount_date"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

const days = z.number().int().min(0).max(31);
const minorString = z.string().regex(/^(0|[1-9]\d{0,17})$/, "a whole number of minor units");

export const ruleSchema = z.discriminatedUnion("kind", [
  /** The same reference (end-to-end id, servicer reference or remittance text = the transfer's key, partner reference, id or reference), same amount. */
  z.object({ kind: z.literal("reference"), enabled: z.boolean(), dateWindowDays: days }).strict(),
  /** Several lines carrying the item's reference whose amounts add up to it (split payments). */
  z.object({ kind: z.literal("many_lines_one_item"), enabled: z.boolean(), dateWindowDays: days, maxLines: z.number().int().min(2).max(50) }).strict(),
  /**
   * One line settling several items: a batch entry whose transaction details name each item
   * (confidence 95), or, without details, a line equal to the sum of all of a day's unmatched
   * items (net settlement, confidence 70).
   */
  z.object({ kind: z.literal("one_line_many_items"), enabled: z.boolean(), dateWindowDays: days, maxItems: z.number().int().min(2).max(1000) }).strict(),
  /** The same reference, the bank took a fee: the line is worse for us by at most max(toleranceMinor, amount x toleranceBps / 10,000). */
  z.object({ kind: z.literal("reference_tolerance"), enabled: z.boolean(), dateWindowDays: days, toleranceMinor: minorString, toleranceBps: z.number().int().min(0).max(1000) }).strict(),
  /**
   * Same amount within the date window, one candidate on each side. With a reference overlapping
   * the item's (one contains the other, at least minReferenceOverlap characters after
   * normalising) or the same counterparty name: confidence 92; otherwise 80.
   */
  z.object({ kind: z.literal("amount_date"), enabled: z.boolean(), dateWindowDays: days, minReferenceOverlap: z.number().int().min(4).max(35) }).strict(),
]);
export type Rule = z.infer<typeof ruleSchema>;

export const rulesSchema = z
  .array(ruleSchema)
  .min(1)
  .max(RULE_KINDS.length)
  .refine((rs) => new Set(rs.map((r) => r.kind)).size === rs.length, "each rule kind may appear once");

export const RULE_CONFIDENCE = {
  reference: 100,
  many_lines_one_item: 95,
  one_line_many_items: 95,
  one_line_many_items_net: 70,
  reference_tolerance: 90,
  amount_date_corroborated: 92,
  amount_date: 80,
} as const;

export const DEFAULT_AUTO_APPLY_THRESHOLD = 90;

/** Version 1 (inserted by the migration 20261202100000_recon; a unit test keeps the two equal). */
export const DEFAULT_RULES: Rule[] = [
  { kind: "reference", enabled: true, dateWindowDays: 7 },
  { kind: "many_lines_one_item", enabled: true, dateWindowDays: 7, maxLines: 10 },
  { kind: "one_line_many_items", enabled: true, dateWindowDays: 3, maxItems: 500 },
  { kind: "reference_tolerance", enabled: true, dateWindowDays: 7, toleranceMinor: "500", toleranceBps: 100 },
  { kind: "amount_date", enabled: true, dateWindowDays: 3, minReferenceOverlap: 8 },
];

export interface RuleSet {
  version: number;
  status: "draft" | "active" | "retired";
  rules: Rule[];
  autoApplyThreshold: number;
}

/** Parses stored or proposed rules; BAD_INPUT naming each wrong field. */
export function parseRules(raw: unknown): Rule[] {
  const r = rulesSchema.safeParse(raw);
  if (!r.success) throw new AppError("BAD_INPUT", `invalid rules: ${r.error.issues.map((i) => `${i.path.join(".") || "rules"}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** The widest date window of the enabled rules: how far around a period ledger items are read. */
export function widestWindowDays(rules: readonly Rule[]): number {
  return rules.filter((r) => r.enabled).reduce((m, r) => Math.max(m, r.dateWindowDays), 0);
}
