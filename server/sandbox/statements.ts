/**
 * The simulated bank's end-of-day camt.053 statements: one per currency (our account at the bank,
 * which our ledger holds as partner:sandbox:settlement:<CCY>) and value date, with the bank's own
 * injected faults and the ground truth of each line, so reconciliation accuracy can be measured.
 *
 * Invariants kept:
 * - The statement adds up: opening + the entries written = closing, and the next day opens with
 *   that closing, whatever the faults (what the bank wrote is what it booked); a line in another
 *   currency is not part of the balance.
 * - Faults are decided per payment by seeded dice (faultRoll: seed, the payment's key, the fault),
 *   so the same payments and seed give the same statement; at most one fault per payment.
 * - The ground truth lists, for every line, the payments (our idempotency keys) it carries and the
 *   fault that shaped it, and the payments left out.
 * - Entries carry what a bank knows: our end-to-end id (the transfer's idempotency key), our
 *   remittance text (the transfer's reference), the bank's own booking reference (unknown to us)
 *   and, in a batch, one transaction detail per payment.
 */
import type pg from "pg";
import { z } from "zod";
import { writeCamt053 } from "../partners/camt053/writer";
import type { StatementEntry, TransactionDetail } from "../partners/statement-types";
import { faultRoll, rollBetween, rollHits } from "./rail-config";

export const STATEMENT_FAULTS = [
  "missing",
  "extra",
  "duplicated",
  "amount_changed",
  "fee_deducted",
  "currency_changed",
  "value_date_shifted",
  "reference_mangled",
  "batch_netting",
  "split_payment",
] as const;
export type StatementFault = (typeof STATEMENT_FAULTS)[number];

const probability = z.number().min(0).max(1);

export const STATEMENT_FAULT_CONFIG = z
  .object({
    seed: z.string().min(1).max(200),
    missing: probability,
    extra: probability,
    duplicated: probability,
    amount_changed: probability,
    fee_deducted: probability,
    currency_changed: probability,
    value_date_shifted: probability,
    reference_mangled: probability,
    batch_netting: probability,
    split_payment: probability,
  })
  .strict()
  .refine((c) => STATEMENT_FAULTS.reduce((s, f) => s + c[f], 0) <= 1, { message: "the fault probabilities add up to more than 1" });
export type StatementFaultConfig = z.infer<typeof STATEMENT_FAULT_CONFIG>;

export const NO_STATEMENT_FAULTS: StatementFaultConfig = {
  seed: "sandbox",
  missing: 0,
  extra: 0,
  duplicated: 0,
  amount_changed: 0,
  fee_deducted: 0,
  currency_changed: 0,
  value_date_shifted: 0,
  reference_mangled: 0,
  batch_netting: 0,
  split_payment: 0,
};

/** A payment as the bank booked it on our account. */
export interface BookedPayment {
  paymentId: string;
  /** Our transfer's idempotency key (the end-to-end id we sent). */
  idempotencyKey: string;
  amountMinor: bigint;
  currency: string;
  /** debit: paid out (settled); credit: came back (returned). */
  direction: "credit" | "debit";
  /** YYYY-MM-DD */
  valueDate: string;
  reference: string;
  counterpartyName: string;
  counterpartyAccount: string;
}

export interface TruthLine {
  /** 0-based entry index in the statement. */
  index: number;
  fault: StatementFault | "none";
  /** Our idempotency keys the line carries (empty for an extra line). */
  keys: string[];
}

export interface DailyStatement {
  xml: string;
  statementId: string;
  sequence: number;
  openingMinor: bigint;
  closingMinor: bigint;
  lines: TruthLine[];
  /** Payments the bank left out of the statement (fault "missing"). */
  missingKeys: string[];
  entryCount: number;
}

/** Our account's IBAN at the sandbox bank for a currency (stable, IBAN-shaped). */
export function sandboxIban(currency: string): string {
  const digits = [...currency].map((c) => String(c.charCodeAt(0) - 55)).join("");
  return `GB00SBOX${digits.padEnd(14, "0").slice(0, 14)}`;
}

/** Whole days since 1970-01-01: the statement's electronic sequence number (consecutive days, consecutive numbers). */
export function statementSequence(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

function addBusinessDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  let left = n;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return d.toISOString().slice(0, 10);
}

/** Picks at most one fault for a payment from its dice. */
export function faultOf(cfg: StatementFaultConfig, key: string): StatementFault | "none" {
  const roll = faultRoll(cfg.seed, key, "statement_fault");
  let acc = 0;
  for (const f of STATEMENT_FAULTS) {
    if (f === "extra") continue;
    acc += cfg[f];
    if (rollHits(acc, roll)) return f;
  }
  return "none";
}

type Draft = Omit<StatementEntry, "index" | "place">;

function entryFor(p: BookedPayment, bookingRef: string): Draft {
  return {
    amountMinor: p.amountMinor,
    currency: p.currency,
    direction: p.direction,
    status: "BOOK",
    isReversal: false,
    bookingDate: p.valueDate,
    valueDate: p.valueDate,
    accountServicerReference: bookingRef,
    endToEndId: p.idempotencyKey,
    remittanceInfo: p.reference.length > 0 ? p.reference : null,
    counterpartyName: p.counterpartyName,
    counterpartyAccount: p.counterpartyAccount,
    bankTransactionCode: p.direction === "debit" ? "PMNT/ICDT/ESCT" : "PMNT/RCDT/ESCT",
    additionalInfo: null,
    details: [],
  };
}

/** A mangled reference: changed case and spacing, a bank prefix, truncation, or a typo. */
export function mangle(ref: string, roll: number): string {
  const mode = Math.floor(roll * 4);
  if (mode === 0) return ref.toUpperCase().replace(/-/g, " ");
  if (mode === 1) return `REF ${ref.toUpperCase()}`;
  if (mode === 2) return ref.slice(0, 16);
  const i = Math.floor(roll * 1_000_003) % ref.length;
  const c = ref[i] === "0" ? "1" : "0";
  return ref.slice(0, i) + c + ref.slice(i + 1);
}

/**
 * Builds one day's statement for one currency from the payments the bank booked, applying faults
 * by the dice. `openingMinor` is the bank's closing balance of the day before (signed, credit +).
 */
export function buildDailyStatement(input: { currency: string; date: string; openingMinor: bigint; payments: readonly BookedPayment[]; faults: StatementFaultConfig; createdAt?: string }): DailyStatement {
  const { faults: cfg, currency, date } = input;
  const drafts: Draft[] = [];
  const lines: TruthLine[] = [];
  const missingKeys: string[] = [];
  let booking = 0;
  const ref = () => `SBX${date.replace(/-/g, "")}${String(++booking).padStart(6, "0")}`;
  const push = (d: Draft, fault: TruthLine["fault"], keys: string[]) => {
    lines.push({ index: drafts.length, fault, keys });
    drafts.push(d);
  };
  const netting = new Map<string, BookedPayment[]>();
  const sorted = [...input.payments].sort((a, b) => (a.idempotencyKey < b.idempotencyKey ? -1 : 1));
  for (const p of sorted) {
    const fault = faultOf(cfg, p.idempotencyKey);
    const roll = (what: string) => faultRoll(cfg.seed, p.idempotencyKey, what);
    const base = entryFor(p, ref());
    switch (fault) {
      case "missing":
        missingKeys.push(p.idempotencyKey);
        break;
      case "duplicated":
        push(base, "duplicated", [p.idempotencyKey]);
        push({ ...base, accountServicerReference: ref() }, "duplicated", [p.idempotencyKey]);
        break;
      case "amount_changed": {
        // Beyond any fee tolerance: 10% to 50% more or less, and at least 20.00.
        const pct = BigInt(rollBetween(10, 50, roll("amount_pct")));
        const delta = (p.amountMinor * pct) / 100n > 2000n ? (p.amountMinor * pct) / 100n : 2000n;
        const isUp = rollHits(0.5, roll("amount_up")) || delta >= p.amountMinor;
        push({ ...base, amountMinor: isUp ? p.amountMinor + delta : p.amountMinor - delta }, "amount_changed", [p.idempotencyKey]);
        break;
      }
      case "fee_deducted": {
        // The bank keeps a fee within the usual tolerance (at most 5.00 or 1%): money out costs more, money in brings less.
        const cap = p.amountMinor / 100n > 500n ? p.amountMinor / 100n : 500n;
        const fee = BigInt(rollBetween(1, Number(cap < p.amountMinor - 1n ? cap : p.amountMinor - 1n > 0n ? p.amountMinor - 1n : 1n), roll("fee")));
        const amount = p.direction === "debit" ? p.amountMinor + fee : p.amountMinor - fee;
        if (amount <= 0n) push(base, "none", [p.idempotencyKey]);
        else push({ ...base, amountMinor: amount }, "fee_deducted", [p.idempotencyKey]);
        break;
      }
      case "currency_changed":
        push({ ...base, currency: currency === "USD" ? "EUR" : "USD" }, "currency_changed", [p.idempotencyKey]);
        break;
      case "value_date_shifted":
        push({ ...base, valueDate: addBusinessDays(date, rollBetween(1, 3, roll("shift"))) }, "value_date_shifted", [p.idempotencyKey]);
        break;
      case "reference_mangled": {
        const r = roll("mangle");
        push({ ...base, endToEndId: mangle(p.idempotencyKey, r), remittanceInfo: base.remittanceInfo === null ? null : mangle(base.remittanceInfo, r) }, "reference_mangled", [p.idempotencyKey]);
        break;
      }
      case "split_payment": {
        const parts = p.amountMinor >= 3n ? rollBetween(2, 3, roll("parts")) : 1;
        let left = p.amountMinor;
        for (let i = 0; i < parts; i++) {
          const isLast = i === parts - 1;
          const share = isLast ? left : (p.amountMinor * BigInt(rollBetween(20, 45, roll(`part_${i}`)))) / 100n || 1n;
          left -= share;
          push({ ...base, amountMinor: share, accountServicerReference: ref() }, parts > 1 ? "split_payment" : "none", [p.idempotencyKey]);
        }
        break;
      }
      case "batch_netting": {
        const k = p.direction;
        netting.set(k, [...(netting.get(k) ?? []), p]);
        break;
      }
      default:
        push(base, "none", [p.idempotencyKey]);
    }
    if (rollHits(cfg.extra, faultRoll(cfg.seed, p.idempotencyKey, "statement_extra"))) {
      const amount = BigInt(rollBetween(100, 500_000, roll("extra_amount")));
      push(
        { ...entryFor(p, ref()), amountMinor: amount, endToEndId: `UNKNOWN-${p.paymentId.slice(-8)}`, remittanceInfo: "unidentified item", counterpartyName: "Unknown", counterpartyAccount: "NL91ABNA0417164300", direction: rollHits(0.5, roll("extra_dir")) ? "credit" : "debit" },
        "extra",
        [],
      );
    }
  }
  // Batches of two to four payments in the same direction, one entry each with a detail per payment.
  for (const group of netting.values()) {
    for (let i = 0; i < group.length; ) {
      const size = Math.min(group.length - i, 2 + (i % 3));
      const batch = group.slice(i, i + size);
      i += size;
      if (batch.length === 1) {
        push(entryFor(batch[0]!, ref()), "none", [batch[0]!.idempotencyKey]);
        continue;
      }
      const details: TransactionDetail[] = batch.map((p) => ({
        amountMinor: p.amountMinor,
        currency: p.currency,
        direction: p.direction,
        endToEndId: p.idempotencyKey,
        accountServicerReference: null,
        instructionId: null,
        transactionId: p.paymentId,
        remittanceInfo: p.reference.length > 0 ? p.reference : null,
        counterpartyName: p.counterpartyName,
        counterpartyAccount: p.counterpartyAccount,
      }));
      push(
        { ...entryFor(batch[0]!, ref()), amountMinor: batch.reduce((s, p) => s + p.amountMinor, 0n), endToEndId: null, remittanceInfo: null, counterpartyName: null, counterpartyAccount: null, details },
        "batch_netting",
        batch.map((p) => p.idempotencyKey),
      );
    }
  }
  const net = drafts.filter((d) => d.currency === currency).reduce((s, d) => s + (d.direction === "credit" ? d.amountMinor : -d.amountMinor), 0n);
  const closing = input.openingMinor + net;
  const bal = (v: bigint) => ({ amountMinor: v < 0n ? -v : v, currency, direction: v < 0n ? ("debit" as const) : ("credit" as const), date });
  const sequence = statementSequence(date);
  const statementId = `SBX-${currency}-${date}`;
  const xml = writeCamt053({
    version: "001.08",
    messageId: `SBX-${currency}-${date}-${sequence}`,
    createdAt: input.createdAt ?? `${date}T23:59:00Z`,
    statements: [
      {
        statementId,
        electronicSequenceNumber: String(sequence),
        legalSequenceNumber: String(sequence),
        fromDateTime: `${date}T00:00:00Z`,
        toDateTime: `${date}T23:59:59Z`,
        accountIban: sandboxIban(currency),
        accountCurrency: currency,
        openingBalance: bal(input.openingMinor),
        closingBalance: bal(closing),
        entries: drafts,
      },
    ],
  });
  return { xml, statementId, sequence, openingMinor: input.openingMinor, closingMinor: closing, lines, missingKeys, entryCount: drafts.length };
}

// ---------------------------------------------------------------------------------------------
// From the sandbox's books

export const STATEMENT_FAULTS_SETTING = "statement_faults";
/** At most this many payments per daily statement. */
export const MAX_STATEMENT_PAYMENTS = 200_000;

export async function readStatementFaults(pool: pg.Pool): Promise<StatementFaultConfig> {
  const row = (await pool.query<{ value: unknown }>(`SELECT value FROM sandbox_settings WHERE key = $1`, [STATEMENT_FAULTS_SETTING])).rows[0];
  return row ? STATEMENT_FAULT_CONFIG.parse(row.value) : NO_STATEMENT_FAULTS;
}

/** Replaces the statement fault configuration. Throws z.ZodError. */
export async function writeStatementFaults(pool: pg.Pool, value: unknown, now: Date): Promise<StatementFaultConfig> {
  const cfg = STATEMENT_FAULT_CONFIG.parse(value);
  await pool.query(
    `INSERT INTO sandbox_settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [STATEMENT_FAULTS_SETTING, JSON.stringify(cfg), now],
  );
  return cfg;
}

interface BookRow {
  id: string;
  idempotency_key: string;
  amount_minor: string;
  currency: string;
  direction: "credit" | "debit";
  value_date: string;
  reference: string;
  counterparty_name: string;
  counterparty_account: string;
}

/**
 * The bank's payments booked on our account in `currency` on `date`: settlements out (debit) by
 * their value date, returns in (credit) by the day they came back. Bounded by MAX_STATEMENT_PAYMENTS.
 */
export async function bookedPayments(pool: pg.Pool, currency: string, date: string): Promise<BookedPayment[]> {
  const rows = (
    await pool.query<BookRow>(
      `SELECT id, idempotency_key, amount_minor::text, currency, 'debit' AS direction, value_date::text, reference, counterparty_name, counterparty_account
         FROM sandbox_payments WHERE currency = $1 AND value_date = $2::date AND status IN ('settled', 'returned')
       UNION ALL
       SELECT id, idempotency_key, amount_minor::text, currency, 'credit', (returned_at AT TIME ZONE 'UTC')::date::text, reference, counterparty_name, counterparty_account
         FROM sandbox_payments WHERE currency = $1 AND status = 'returned' AND (returned_at AT TIME ZONE 'UTC')::date = $2::date
       ORDER BY 2 LIMIT $3`,
      [currency, date, MAX_STATEMENT_PAYMENTS],
    )
  ).rows;
  return rows.map((r) => ({
    paymentId: r.id,
    idempotencyKey: r.idempotency_key,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency.trim(),
    direction: r.direction,
    valueDate: r.value_date,
    reference: r.reference,
    counterpartyName: r.counterparty_name,
    counterpartyAccount: r.counterparty_account,
  }));
}

/** The bank's balance on our account at the start of `date`: everything booked before it (settled out, returned in). */
export async function openingBalance(pool: pg.Pool, currency: string, date: string): Promise<bigint> {
  const r = (
    await pool.query<{ out: string; back: string }>(
      `SELECT coalesce((SELECT sum(amount_minor) FROM sandbox_payments WHERE currency = $1 AND value_date < $2::date AND status IN ('settled', 'returned')), 0)::text AS out,
              coalesce((SELECT sum(amount_minor) FROM sandbox_payments WHERE currency = $1 AND status = 'returned' AND (returned_at AT TIME ZONE 'UTC')::date < $2::date), 0)::text AS back`,
      [currency, date],
    )
  ).rows[0]!;
  return BigInt(r.back) - BigInt(r.out);
}

/** How far back the bank replays its statements to find a day's opening balance. */
export const MAX_REPLAY_DAYS = 400;

export const STATEMENT_OPENINGS_SETTING = "statement_openings";

const STATEMENT_OPENINGS = z.record(
  z.string().regex(/^[A-Z]{3}$/),
  z.object({ date: z.iso.date(), openingMinor: z.string().regex(/^-?(0|[1-9]\d{0,18})$/) }).strict(),
);
type StatementOpenings = z.infer<typeof STATEMENT_OPENINGS>;

/** The recorded openings by currency (writeStatementOpening); empty when none was recorded. */
export async function readStatementOpenings(pool: pg.Pool): Promise<StatementOpenings> {
  const row = (await pool.query<{ value: unknown }>(`SELECT value FROM sandbox_settings WHERE key = $1`, [STATEMENT_OPENINGS_SETTING])).rows[0];
  return row ? STATEMENT_OPENINGS.parse(row.value) : {};
}

/**
 * Records our account's balance in `currency` at the start of `date` as statements written before
 * the sandbox's own books closed it (the demo seed's week of history, built from transfers the
 * sandbox never executed). The bank's statements from `date` on continue from it rather than from
 * its books, so the chain of statements has no break where the history ends. A later call for the
 * same currency replaces the earlier one.
 */
export async function writeStatementOpening(pool: pg.Pool, currency: string, date: string, openingMinor: bigint, now: Date): Promise<void> {
  const entry = STATEMENT_OPENINGS.parse({ [currency]: { date, openingMinor: openingMinor.toString() } });
  await pool.query(
    `INSERT INTO sandbox_settings (key, value, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO UPDATE SET value = sandbox_settings.value || EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [STATEMENT_OPENINGS_SETTING, JSON.stringify(entry), now],
  );
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * The camt.053 statement of `date` for our account in `currency`, with the configured faults.
 * Faults are what the bank really booked (a fee it kept, an entry it booked twice), so its opening
 * balance is the closing of its previous statement: the statements of the days before are replayed
 * from the recorded opening (writeStatementOpening) when one is on or before `date` and at most
 * MAX_REPLAY_DAYS back, else from the bank's books (at most MAX_REPLAY_DAYS; before that, the
 * books without faults).
 */
export async function dailyStatement(pool: pg.Pool, currency: string, date: string): Promise<DailyStatement> {
  const faults = await readStatementFaults(pool);
  const earliest = new Date(Date.parse(`${date}T00:00:00Z`) - MAX_REPLAY_DAYS * 86_400_000).toISOString().slice(0, 10);
  const recorded = (await readStatementOpenings(pool))[currency];
  let day: string;
  let opening: bigint;
  if (recorded && recorded.date <= date && recorded.date >= earliest) {
    day = recorded.date;
    opening = BigInt(recorded.openingMinor);
  } else {
    const first = (await pool.query<{ d: string | null }>(`SELECT min(value_date)::text AS d FROM sandbox_payments WHERE currency = $1 AND value_date IS NOT NULL`, [currency])).rows[0]!.d;
    day = first === null || first > date ? date : first < earliest ? earliest : first;
    opening = await openingBalance(pool, currency, day);
  }
  while (day < date) {
    opening = buildDailyStatement({ currency, date: day, openingMinor: opening, payments: await bookedPayments(pool, currency, day), faults }).closingMinor;
    day = nextDay(day);
  }
  return buildDailyStatement({ currency, date, openingMinor: opening, payments: await bookedPayments(pool, currency, date), faults });
}
