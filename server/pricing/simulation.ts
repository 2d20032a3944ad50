/**
 * Simulation of a draft fee schedule version over a past period's transfers: what it would have
 * charged against what the version in force at each transfer's creation charged. Shown before a
 * version is proposed and to the approver on the proposal.
 *
 * Invariants kept:
 * - Both sides are priced by the same computeFee as real transfers: the current side with the
 *   version in force when each transfer was created (versions are append-only and never
 *   retroactive, so that is what the transfer was charged), the draft side with the draft.
 * - Read-only: nothing is written. Bounded: at most MAX_SIMULATION_TRANSFERS transfers (more is
 *   BAD_INPUT naming the count: choose a shorter period), read in keyset pages of PAGE_SIZE.
 * - Totals are exact bigint sums per currency (never across currencies); a transfer the draft
 *   cannot price (no rule for its currency) is counted as unpriced and listed with the reason.
 */
import type { SqlRunner } from "../db/sql";
import { AppError } from "../errors/app-error";
import { formatAmount } from "../money";
import { compileFeeSchedule, computeFee, selectFeeRule, type CompiledFeeSchedule, type FeeRule } from "./fees";
import { customerIdOf } from "./transfer-pricing";

/** Also the most rows its CSV export holds. */
export const MAX_SIMULATION_TRANSFERS = 100_000;
export const MAX_SIMULATION_DAYS = 366;
const PAGE_SIZE = 5_000;
export const TOP_CUSTOMERS = 10;

export interface SimulationInput {
  rail: string;
  /** The draft version's definition (validated here with compileFeeSchedule). */
  definition: unknown;
  /** Transfers created in [from, to). */
  from: Date;
  to: Date;
}

export interface SimulationRow {
  transferId: string;
  createdAt: Date;
  customerId: string;
  segment: string | null;
  currency: string;
  amountMinor: bigint;
  currentVersion: number | null;
  currentFeeMinor: bigint;
  draftFeeMinor: bigint | null;
  draftRule: string | null;
  draftError: string | null;
}

export interface SimulationTotal {
  currency: string;
  segment: string | null;
  transfers: number;
  currentMinor: bigint;
  draftMinor: bigint;
  deltaMinor: bigint;
  unpriced: number;
}

export interface SimulationResult {
  rail: string;
  from: Date;
  to: Date;
  transfers: number;
  byCurrency: SimulationTotal[];
  bySegment: SimulationTotal[];
  /** Per currency, the customers whose fees change most (by absolute change), at most TOP_CUSTOMERS each. */
  topCustomers: { currency: string; customerId: string; segment: string | null; transfers: number; currentMinor: bigint; draftMinor: bigint; deltaMinor: bigint }[];
  rows: SimulationRow[];
}

interface TransferRow {
  id: string;
  created_at: Date;
  currency: string;
  amount_minor: string;
  account_code: string;
  account_metadata: Record<string, unknown> | null;
}

interface VersionSpan {
  version: number;
  effectiveFrom: Date;
  compiled: CompiledFeeSchedule;
  scheduleCode: string;
}

/**
 * Runs the simulation. Errors, in order: INVALID_FEE_SCHEDULE (the draft); BAD_INPUT (from not
 * before to, a period over MAX_SIMULATION_DAYS, more than MAX_SIMULATION_TRANSFERS transfers).
 */
export async function simulateFeeSchedule(sql: SqlRunner, input: SimulationInput): Promise<SimulationResult> {
  const draft = compileFeeSchedule(input.definition);
  if (!(input.from < input.to)) throw new AppError("BAD_INPUT", `the period must start before it ends (${input.from.toISOString()} .. ${input.to.toISOString()})`);
  if (input.to.getTime() - input.from.getTime() > MAX_SIMULATION_DAYS * 86_400_000) throw new AppError("BAD_INPUT", `the period is longer than ${MAX_SIMULATION_DAYS} days`);
  const n = Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM transfers WHERE rail = $1 AND created_at >= $2 AND created_at < $3`, [input.rail, input.from, input.to]))[0]!.n);
  if (n > MAX_SIMULATION_TRANSFERS) {
    throw new AppError("BAD_INPUT", `the period has ${n} transfers on rail ${input.rail}; a simulation covers at most ${MAX_SIMULATION_TRANSFERS}: choose a shorter period`, { details: { transfers: n } });
  }
  const versions = (await sql.query<{ version: number; effective_from: Date; definition: unknown; code: string }>(
    `SELECT v.version, v.effective_from, v.definition, s.code FROM fee_schedule_versions v JOIN fee_schedules s ON s.id = v.schedule_id
      WHERE s.rail = $1 AND v.effective_from < $2 ORDER BY v.effective_from, v.version`,
    [input.rail, input.to],
  )).map((v): VersionSpan => ({ version: v.version, effectiveFrom: v.effective_from, compiled: compileFeeSchedule(v.definition), scheduleCode: v.code }));
  const segments = new Map((await sql.query<{ customer_id: string; segment: string }>(`SELECT customer_id, segment FROM pricing_customers`)).map((r) => [r.customer_id, r.segment]));

  const rows: SimulationRow[] = [];
  let cursor: { createdAt: Date; id: string } | null = null;
  for (;;) {
    const page: TransferRow[] = await sql.query<TransferRow>(
      `SELECT t.id, t.created_at, t.currency, t.amount_minor::text, a.code AS account_code, a.metadata AS account_metadata
         FROM transfers t JOIN ledger_accounts a ON a.id = t.source_account_id
        WHERE t.rail = $1 AND t.created_at >= $2 AND t.created_at < $3 AND ($4::timestamptz IS NULL OR (t.created_at, t.id) > ($4::timestamptz, $5::uuid))
        ORDER BY t.created_at, t.id LIMIT $6`,
      [input.rail, input.from, input.to, cursor?.createdAt ?? null, cursor?.id ?? null, PAGE_SIZE],
    );
    for (const t of page) rows.push(simulateOne(t, versions, draft, segments));
    if (page.length < PAGE_SIZE) break;
    const last: TransferRow = page[page.length - 1]!;
    cursor = { createdAt: last.created_at, id: last.id };
  }
  return summarise(input, rows);
}

function versionAt(versions: VersionSpan[], at: Date): VersionSpan | null {
  let found: VersionSpan | null = null;
  for (const v of versions) if (v.effectiveFrom <= at) found = v;
  return found;
}

function feeOf(schedule: CompiledFeeSchedule, label: string, t: { currency: string; amountMinor: bigint; segment: string | null; customerId: string }): { fee: bigint; rule: FeeRule } {
  const rule = selectFeeRule(schedule, { currency: t.currency, segment: t.segment, customerId: t.customerId }, label);
  return { fee: computeFee(rule, t.amountMinor, null).feeMinor, rule };
}

function simulateOne(t: TransferRow, versions: VersionSpan[], draft: CompiledFeeSchedule, segments: Map<string, string>): SimulationRow {
  const customerId = customerIdOf(t.account_code, t.account_metadata);
  const segment = segments.get(customerId) ?? null;
  const base = { currency: t.currency, amountMinor: BigInt(t.amount_minor), segment, customerId };
  const current = versionAt(versions, t.created_at);
  let currentFee = 0n;
  if (current) {
    try {
      currentFee = feeOf(current.compiled, `schedule ${current.scheduleCode} v${current.version}`, base).fee;
    } catch (e) {
      // A transfer its version could not price was refused at creation; it cannot be in the table
      // unless created before pricing existed. Count it as charged nothing.
      if (!(e instanceof AppError)) throw e;
    }
  }
  let draftFee: bigint | null = null;
  let draftRule: string | null = null;
  let draftError: string | null = null;
  try {
    const d = feeOf(draft, "the draft", base);
    draftFee = d.fee;
    draftRule = d.rule.id;
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    draftError = e.message;
  }
  return {
    transferId: t.id, createdAt: t.created_at, customerId, segment, currency: t.currency, amountMinor: base.amountMinor,
    currentVersion: current?.version ?? null, currentFeeMinor: currentFee, draftFeeMinor: draftFee, draftRule, draftError,
  };
}

function summarise(input: SimulationInput, rows: SimulationRow[]): SimulationResult {
  const byCurrency = new Map<string, SimulationTotal>();
  const bySegment = new Map<string, SimulationTotal>();
  const byCustomer = new Map<string, SimulationResult["topCustomers"][number]>();
  const add = (map: Map<string, SimulationTotal>, key: string, currency: string, segment: string | null, r: SimulationRow) => {
    let t = map.get(key);
    if (!t) map.set(key, (t = { currency, segment, transfers: 0, currentMinor: 0n, draftMinor: 0n, deltaMinor: 0n, unpriced: 0 }));
    t.transfers++;
    t.currentMinor += r.currentFeeMinor;
    if (r.draftFeeMinor === null) t.unpriced++;
    else t.draftMinor += r.draftFeeMinor;
    t.deltaMinor = t.draftMinor - t.currentMinor;
  };
  for (const r of rows) {
    add(byCurrency, r.currency, r.currency, null, r);
    add(bySegment, `${r.segment ?? ""}|${r.currency}`, r.currency, r.segment, r);
    const k = `${r.currency}|${r.customerId}`;
    let c = byCustomer.get(k);
    if (!c) byCustomer.set(k, (c = { currency: r.currency, customerId: r.customerId, segment: r.segment, transfers: 0, currentMinor: 0n, draftMinor: 0n, deltaMinor: 0n }));
    c.transfers++;
    c.currentMinor += r.currentFeeMinor;
    c.draftMinor += r.draftFeeMinor ?? 0n;
    c.deltaMinor = c.draftMinor - c.currentMinor;
  }
  const abs = (v: bigint) => (v < 0n ? -v : v);
  const topCustomers: SimulationResult["topCustomers"] = [];
  const currencies = [...byCurrency.keys()].sort();
  for (const currency of currencies) {
    const list = [...byCustomer.values()].filter((c) => c.currency === currency && c.deltaMinor !== 0n);
    list.sort((a, b) => (abs(b.deltaMinor) > abs(a.deltaMinor) ? 1 : abs(b.deltaMinor) < abs(a.deltaMinor) ? -1 : a.customerId < b.customerId ? -1 : 1));
    topCustomers.push(...list.slice(0, TOP_CUSTOMERS));
  }
  const sortTotals = (a: SimulationTotal, b: SimulationTotal) => (a.currency + (a.segment ?? "") < b.currency + (b.segment ?? "") ? -1 : 1);
  return {
    rail: input.rail, from: input.from, to: input.to, transfers: rows.length,
    byCurrency: [...byCurrency.values()].sort(sortTotals), bySegment: [...bySegment.values()].sort(sortTotals), topCustomers, rows,
  };
}

const CSV_HEADER = ["transfer_id", "created_at", "customer_id", "segment", "currency", "amount", "amount_minor", "current_version", "current_fee_minor", "draft_fee_minor", "delta_minor", "draft_rule", "draft_error"];

function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The full list as CSV (RFC 4180; amounts as integer minor units plus the decimal amount for people). */
export function simulationCsv(result: SimulationResult): string {
  const lines = [CSV_HEADER.join(",")];
  for (const r of result.rows) {
    lines.push(
      [
        r.transferId, r.createdAt.toISOString(), r.customerId, r.segment ?? "", r.currency, formatAmount(r.amountMinor, r.currency), r.amountMinor.toString(),
        r.currentVersion === null ? "" : String(r.currentVersion), r.currentFeeMinor.toString(), r.draftFeeMinor?.toString() ?? "",
        r.draftFeeMinor === null ? "" : (r.draftFeeMinor - r.currentFeeMinor).toString(), r.draftRule ?? "", r.draftError ?? "",
      ].map(csvField).join(","),
    );
  }
  return lines.join("\n") + "\n";
}
