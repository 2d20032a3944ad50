/**
 * Fee rules: what a schedule version charges for a transfer, and why.
 *
 * A version's definition (FeeScheduleDefinition, JSON-safe: amounts are integer strings of minor
 * units, rates decimal strings) is compiled once by compileFeeSchedule, which refuses anything
 * ambiguous or unsafe; computeFee then prices an amount with the compiled rule.
 *
 * Invariants kept:
 * - A rule's tiers cover every amount exactly once: they are ordered, start at 0, leave no gap and do
 *   not overlap, and only the last is open-ended. An amount picks the one tier whose
 *   [fromMinor, toMinor) holds it (not a marginal, per-band sum).
 * - Every component is non-negative, minimum <= maximum, a rate is basis points or an exact decimal
 *   (exactly one), and a rule's selector (currency, segment, customer) is unique in its version.
 * - fee = clamp(fixed + amount x rate, minimum, maximum), computed as an exact fraction of minor
 *   units and rounded once by the rule's rounding mode (half-even unless stated). Clamping to whole
 *   bounds commutes with monotone rounding, so the order cannot change the result.
 * - A fee is never above the amount unless the rule says allowFeeAboveAmount; otherwise it is
 *   capped at the amount, and the explanation says so.
 * - Each result carries an explanation, line by line, that a person can recompute by hand.
 */
import { z } from "zod";
import { AppError } from "../errors/app-error";
import { currencyExponent, formatAmount, isCurrencyCode } from "../money";
import { MAX_MINOR_UNITS } from "../money/amount";
import {
  DEFAULT_ROUNDING, ROUNDING_MODES, ZERO, exactInteger, exactRatio, formatExact, formatPercent, parseExactDecimal, powerOfTen, roundExact,
  type Exact, type RoundingMode,
} from "./exact";

/** Limits on one version's definition. */
export const MAX_FEE_RULES = 200;
export const MAX_TIERS_PER_RULE = 20;
/** A rate above 100% is refused as a typo rather than charged. */
const MAX_RATE = exactInteger(1n);

const minorString = z.string().regex(/^-?\d{1,19}$/, "must be an integer number of minor units as a string");
const selectorId = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "letters, digits and . _ : - only");

export const feeTierDefinitionSchema = z.strictObject({
  label: selectorId.optional(),
  fromMinor: minorString,
  toMinor: minorString.nullable(),
  fixedMinor: minorString.default("0"),
  rateBps: z.string().max(40).optional(),
  rate: z.string().max(40).optional(),
});

export const feeRuleDefinitionSchema = z.strictObject({
  id: selectorId,
  currency: z.string(),
  segment: selectorId.nullable().default(null),
  customerId: z.string().min(1).max(128).nullable().default(null),
  rounding: z.enum(ROUNDING_MODES).default(DEFAULT_ROUNDING),
  allowFeeAboveAmount: z.boolean().default(false),
  minMinor: minorString.nullable().default(null),
  maxMinor: minorString.nullable().default(null),
  tiers: z.array(feeTierDefinitionSchema).min(1).max(MAX_TIERS_PER_RULE),
});

export const feeScheduleDefinitionSchema = z.strictObject({
  rules: z.array(feeRuleDefinitionSchema).max(MAX_FEE_RULES),
});

export type FeeTierDefinition = z.input<typeof feeTierDefinitionSchema>;
export type FeeRuleDefinition = z.input<typeof feeRuleDefinitionSchema>;
export type FeeScheduleDefinition = z.input<typeof feeScheduleDefinitionSchema>;

export interface FeeTier {
  label: string;
  fromMinor: bigint;
  /** Exclusive; null = no upper bound. */
  toMinor: bigint | null;
  fixedMinor: bigint;
  rate: Exact;
  /** How the rate was written: "90 bps" or "0.009". */
  rateText: string;
}

export interface FeeRule {
  id: string;
  currency: string;
  segment: string | null;
  customerId: string | null;
  rounding: RoundingMode;
  allowFeeAboveAmount: boolean;
  minMinor: bigint | null;
  maxMinor: bigint | null;
  tiers: FeeTier[];
}

export interface CompiledFeeSchedule {
  rules: FeeRule[];
  /** The definition as validated, with defaults filled in (what is stored). */
  definition: z.output<typeof feeScheduleDefinitionSchema>;
}

function invalid(path: string, message: string): AppError {
  return new AppError("INVALID_FEE_SCHEDULE", `${path}: ${message}`, { details: { path } });
}

function parseMinorComponent(value: string, path: string): bigint {
  const v = BigInt(value);
  if (v < 0n) throw invalid(path, `${value} must not be negative`);
  if (v > MAX_MINOR_UNITS) throw invalid(path, `${value} exceeds the maximum ${MAX_MINOR_UNITS}`);
  return v;
}

function parseTierRate(tier: FeeTierDefinition, path: string): { rate: Exact; rateText: string } {
  if ((tier.rateBps === undefined) === (tier.rate === undefined)) {
    throw invalid(path, "give exactly one of rateBps (basis points) or rate (an exact decimal, 0.009 = 0.9%)");
  }
  const rate = tier.rateBps !== undefined
    ? parseExactDecimal(tier.rateBps, { what: `${path}.rateBps`, code: "INVALID_FEE_SCHEDULE", allowZero: true, details: { path: `${path}.rateBps` } }).div(10_000n)
    : parseExactDecimal(tier.rate!, { what: `${path}.rate`, code: "INVALID_FEE_SCHEDULE", allowZero: true, details: { path: `${path}.rate` } });
  if (rate.gt(MAX_RATE)) throw invalid(path, `rate ${formatPercent(rate)} is above 100%`);
  return { rate, rateText: tier.rateBps !== undefined ? `${tier.rateBps} bps` : tier.rate! };
}

/**
 * Validates and compiles a version's definition. Errors (INVALID_FEE_SCHEDULE, the message starting
 * with the path of the offending part), in order: the shape (zod), then per rule in order: unknown
 * currency, a customer rule that also names a segment, a duplicate selector, a negative minimum or
 * maximum, minimum above maximum, then per tier: a negative or malformed component, neither or both
 * of rateBps/rate, a rate above 100%, from >= to, the first tier not starting at 0, unordered tiers (a
 * start below the one before), then in order an open-ended tier that is not the last, an overlap, a
 * gap, and a bounded last tier.
 */
export function compileFeeSchedule(input: unknown): CompiledFeeSchedule {
  const parsed = feeScheduleDefinitionSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") || "definition";
    throw invalid(path, issue.message);
  }
  const definition = parsed.data;
  const seen = new Set<string>();
  const rules: FeeRule[] = definition.rules.map((r, i) => {
    const path = `rules[${i}] (${r.id})`;
    if (!isCurrencyCode(r.currency)) throw invalid(path, `currency ${JSON.stringify(r.currency)} is not a known ISO 4217 code`);
    if (r.customerId !== null && r.segment !== null) throw invalid(path, "a customer override applies to one customer; leave segment empty");
    const selector = `${r.currency}|${r.segment ?? ""}|${r.customerId ?? ""}`;
    if (seen.has(selector)) {
      throw invalid(path, `another rule already applies to currency ${r.currency}, ${r.customerId !== null ? `customer ${r.customerId}` : `segment ${r.segment ?? "(default)"}`}`);
    }
    seen.add(selector);
    const ids = definition.rules.filter((o) => o.id === r.id).length;
    if (ids > 1) throw invalid(path, `rule id ${r.id} is used ${ids} times`);
    const minMinor = r.minMinor === null ? null : parseMinorComponent(r.minMinor, `${path}.minMinor`);
    const maxMinor = r.maxMinor === null ? null : parseMinorComponent(r.maxMinor, `${path}.maxMinor`);
    if (minMinor !== null && maxMinor !== null && minMinor > maxMinor) {
      throw invalid(path, `minimum ${r.minMinor} is above maximum ${r.maxMinor}`);
    }
    const tiers: FeeTier[] = r.tiers.map((t, j) => {
      const tierPath = `${path}.tiers[${j}]`;
      const fromMinor = parseMinorComponent(t.fromMinor, `${tierPath}.fromMinor`);
      const toMinor = t.toMinor === null ? null : parseMinorComponent(t.toMinor, `${tierPath}.toMinor`);
      const fixedMinor = parseMinorComponent(t.fixedMinor, `${tierPath}.fixedMinor`);
      const { rate, rateText } = parseTierRate(t, tierPath);
      if (toMinor !== null && toMinor <= fromMinor) throw invalid(tierPath, `from ${fromMinor} must be below to ${toMinor}`);
      return { label: t.label ?? `tier-${j + 1}`, fromMinor, toMinor, fixedMinor, rate, rateText };
    });
    checkTierCoverage(tiers, path);
    return { id: r.id, currency: r.currency, segment: r.segment, customerId: r.customerId, rounding: r.rounding, allowFeeAboveAmount: r.allowFeeAboveAmount, minMinor, maxMinor, tiers };
  });
  return { rules, definition };
}

function checkTierCoverage(tiers: FeeTier[], path: string): void {
  if (tiers[0]!.fromMinor !== 0n) throw invalid(`${path}.tiers[0]`, `the first tier must start at 0, not ${tiers[0]!.fromMinor}`);
  for (let j = 1; j < tiers.length; j++) {
    if (tiers[j]!.fromMinor < tiers[j - 1]!.fromMinor) {
      throw invalid(`${path}.tiers[${j}]`, `tiers are not in order: from ${tiers[j]!.fromMinor} comes after from ${tiers[j - 1]!.fromMinor}`);
    }
  }
  for (let j = 1; j < tiers.length; j++) {
    const prev = tiers[j - 1]!;
    const tier = tiers[j]!;
    const tierPath = `${path}.tiers[${j}]`;
    if (prev.toMinor === null) throw invalid(`${path}.tiers[${j - 1}]`, "only the last tier may be open-ended (toMinor null)");
    if (tier.fromMinor < prev.toMinor) throw invalid(tierPath, `overlaps ${prev.label}: from ${tier.fromMinor} is below ${prev.label}'s to ${prev.toMinor}`);
    if (tier.fromMinor > prev.toMinor) throw invalid(tierPath, `leaves a gap after ${prev.label}: amounts ${prev.toMinor} to ${tier.fromMinor - 1n} would have no fee`);
  }
  const last = tiers[tiers.length - 1]!;
  if (last.toMinor !== null) throw invalid(`${path}.tiers[${tiers.length - 1}]`, `the last tier must be open-ended (toMinor null) so every amount has a fee; it ends at ${last.toMinor}`);
}

export interface FeeSelector {
  currency: string;
  segment: string | null;
  customerId: string | null;
}

/**
 * The rule that prices a transfer: the customer's override for the currency, else the customer's
 * segment's rule, else the currency's default rule (segment empty). FEE_RULE_NOT_FOUND when none.
 */
export function selectFeeRule(schedule: CompiledFeeSchedule, selector: FeeSelector, scheduleLabel: string): FeeRule {
  const forCurrency = schedule.rules.filter((r) => r.currency === selector.currency);
  const rule =
    (selector.customerId !== null ? forCurrency.find((r) => r.customerId === selector.customerId) : undefined) ??
    (selector.segment !== null ? forCurrency.find((r) => r.customerId === null && r.segment === selector.segment) : undefined) ??
    forCurrency.find((r) => r.customerId === null && r.segment === null);
  if (!rule) {
    throw new AppError("FEE_RULE_NOT_FOUND", `${scheduleLabel} has no fee rule for currency ${selector.currency}${selector.segment ? ` (segment ${selector.segment})` : ""}`, {
      details: { ...selector },
    });
  }
  return rule;
}

export interface ExplanationLine {
  label: string;
  text: string;
}

export interface ScheduleRef {
  scheduleCode: string;
  version: number;
  versionId?: string;
  rail: string;
}

export interface FeeResult {
  feeMinor: bigint;
  currency: string;
  ruleId: string;
  tierLabel: string;
  rounding: RoundingMode;
  /** The fee before rounding, in minor units, exact ("90", "1815/2"). */
  exactFeeMinor: string;
  explanation: { kind: "fee"; summary: string; lines: ExplanationLine[]; schedule: ScheduleRef | null; ruleId: string; tierLabel: string };
}

function findTier(rule: FeeRule, amountMinor: bigint): FeeTier {
  // Tiers cover [0, infinity) without gaps (checked at compile), so one always matches.
  return rule.tiers.find((t) => amountMinor >= t.fromMinor && (t.toMinor === null || amountMinor < t.toMinor))!;
}

/** Prices `amountMinor` (positive, in the rule's currency) with `rule`. Pure; never throws for a compiled rule. */
export function computeFee(rule: FeeRule, amountMinor: bigint, schedule: ScheduleRef | null): FeeResult {
  const c = rule.currency;
  const money = (minor: bigint) => `${formatAmount(minor, c)} ${c}`;
  const tier = findTier(rule, amountMinor);
  const variable = exactInteger(amountMinor).mul(tier.rate);
  const exact = exactInteger(tier.fixedMinor).add(variable);
  const rounded = roundExact(exact, rule.rounding);
  let fee = rounded;
  const isRaised = rule.minMinor !== null && fee < rule.minMinor;
  if (isRaised) fee = rule.minMinor!;
  const isLowered = rule.maxMinor !== null && fee > rule.maxMinor;
  if (isLowered) fee = rule.maxMinor!;
  const isCapped = fee > amountMinor && !rule.allowFeeAboveAmount;
  if (isCapped) fee = amountMinor;
  // The explanation is built when first read (stored quotes, the API, the console): pricing a
  // transfer or a simulation row needs only the numbers.
  let explanation: FeeResult["explanation"] | undefined;
  const explain = (): FeeResult["explanation"] => {
    const lines: ExplanationLine[] = [];
    const where = schedule ? `schedule ${schedule.scheduleCode} v${schedule.version} (rail ${schedule.rail})` : "rule";
    const appliesTo = rule.customerId !== null ? `customer ${rule.customerId}` : rule.segment !== null ? `segment ${rule.segment}` : "every segment without its own rule";
    lines.push({ label: "rule", text: `${where}, rule ${rule.id}: ${c}, ${appliesTo}` });
    lines.push({
      label: "tier",
      text: `${tier.label}: amounts from ${money(tier.fromMinor)}${tier.toMinor === null ? " up" : ` up to (not including) ${money(tier.toMinor)}`}; ${money(amountMinor)} falls in it`,
    });
    const parts: string[] = [];
    if (tier.fixedMinor > 0n || tier.rate.equals(ZERO)) parts.push(formatAmount(tier.fixedMinor, c));
    if (!tier.rate.equals(ZERO)) parts.push(`${formatPercent(tier.rate)} of ${formatAmount(amountMinor, c)}`);
    let clamped = parts.join(" + ");
    lines.push({
      label: "formula",
      text: `${money(tier.fixedMinor)} fixed + ${formatPercent(tier.rate)} (${tier.rateText}) of ${money(amountMinor)} = ${formatExactMinor(exact, c)} ${c} exactly`,
    });
    lines.push({ label: "rounding", text: `rounded ${rule.rounding} to whole minor units: ${money(rounded)}` });
    if (rule.minMinor !== null) {
      clamped = `max(${formatAmount(rule.minMinor, c)}, ${clamped})`;
      lines.push({ label: "minimum", text: isRaised ? `below the minimum ${money(rule.minMinor)}: raised to it` : `minimum ${money(rule.minMinor)}: not reached` });
    }
    if (rule.maxMinor !== null) {
      clamped = `min(${clamped}, ${formatAmount(rule.maxMinor, c)})`;
      lines.push({ label: "maximum", text: isLowered ? `above the maximum ${money(rule.maxMinor)}: lowered to it` : `maximum ${money(rule.maxMinor)}: not reached` });
    }
    if (isCapped) {
      const beforeCap = isLowered ? rule.maxMinor! : isRaised ? rule.minMinor! : rounded;
      lines.push({ label: "cap", text: `${money(beforeCap)} is above the amount and rule ${rule.id} does not allow that: capped at ${money(amountMinor)}` });
      clamped = `min(${clamped}, ${formatAmount(amountMinor, c)})`;
    }
    lines.push({ label: "fee", text: `fee ${money(fee)}` });
    const summary = `fee = ${clamped} = ${money(fee)}, ${schedule ? `schedule ${schedule.scheduleCode} v${schedule.version}, ` : ""}rule ${rule.id} ${tier.label}, rounded ${rule.rounding}`;
    return { kind: "fee", summary, lines, schedule, ruleId: rule.id, tierLabel: tier.label };
  };
  return {
    feeMinor: fee,
    currency: c,
    ruleId: rule.id,
    tierLabel: tier.label,
    rounding: rule.rounding,
    get exactFeeMinor() {
      return formatExact(exact);
    },
    get explanation() {
      return (explanation ??= explain());
    },
  };
}

/** An exact amount of minor units shown in major units: 1815/2 EUR minor -> "9.075", 1/3 -> "1/300". */
export function formatExactMinor(exactMinor: Exact, currency: string): string {
  return formatExact(exactMinor.mul(exactRatio(1n, powerOfTen(currencyExponent(currency)))));
}
