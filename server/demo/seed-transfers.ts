/**
 * The demo transfers: a week of payments from the demo customer wallets to outside payees over
 * the sandbox partner's two rails, so the console's transfer list, stuck queue and charts have
 * history on the first start.
 *
 *   ~87% settled (a few after a retried submission, some batch ones with webhooks out of order),
 *   5% failed (refused at submission or failed by the bank), 2% returned after settlement,
 *   3% cancelled by an operator while the partner was down, a few batch transfers acknowledged
 *   and waiting for the cut-off, and five stuck ones: three submitted long past the instant
 *   rail's budget and two reserved with the outcome of their submission unknown.
 *
 * Invariants kept:
 * - Only the transfers domain's own functions write: createTransfer (with a past `now`),
 *   advanceTransfer (the orchestrator, with a partner that replays what the bank answered and a
 *   past clock), applyPartnerEvent (synthetic sandbox events "demo:transfers:evt:...", with a
 *   past `now`) and cancelTransfer. So every state change is a recorded event with its ledger
 *   effect through the ledger's write path, and every money rule holds for demo data too.
 * - The two "outcome unknown" transfers take the real path: the real sandbox adapter submits them
 *   to a partner that accepts the connection and never answers, every attempt times out, the
 *   status query times out too, and the orchestrator hands them to an operator.
 * - Idempotent: every transfer has a fixed key ("demo:transfers:NNNN"); existing ones are not
 *   created again, and one a crash left half-way is carried on from where it is (each step is
 *   idempotent). A second run changes nothing.
 * - Deterministic: which transfer ends how, when and on which rail comes from a fixed-seed
 *   generator; amounts too, capped by the wallet's available balance read at the start, so no
 *   transfer is refused for funds and no wallet is overdrawn.
 */
import net from "node:net";
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { readBalances } from "../ledger/balances";
import { pgRunner } from "../db/sql";
import { componentLogger } from "../observability/logger";
import { createSandboxAdapter } from "../partners/sandbox-adapter";
import type { PartnerAdapter, PartnerEvent, PartnerEventType, SubmitOutcome } from "../partners/types";
import { createTransfer } from "../transfers/create";
import { cancelTransfer } from "../transfers/operations";
import { advanceTransfer, type AdvanceOutcome } from "../transfers/orchestrator";
import { applyPartnerEvent } from "../transfers/partner-events";
import { isTerminal, progressOf, type TransferState } from "../transfers/state-machine";
import type { RailId } from "../transfers/types";
import { makeRandom, type PickInt } from "./random";

const log = componentLogger("demo");

const KEY = "demo:transfers";
export const DEMO_TRANSFER_COUNT = 400;
const HISTORY_DAYS = 7;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Transfers seeded at once; each one's own steps run in order. */
const SEED_CONCURRENCY = 4;
/** The unresponsive partner's time limit: long enough to be a real timeout, short for the seed. */
const UNKNOWN_TIMEOUT_MS = 400;
/** The batch rail's daily cut-off (UTC hour) in the history. */
const BATCH_CUTOFF_HOUR_UTC = 15;

/** Who creates the demo transfers (no audit record: a system actor; created_by shows it). */
export const DEMO_SEED_ACTOR: AuditActor = { type: "system", id: null, label: "demo-seed" };

export type DemoOutcome =
  | "settled"
  | "rejected"
  | "failed_by_bank"
  | "returned"
  | "cancelled"
  | "awaiting_cutoff"
  | "stuck_submitted"
  | "stuck_unknown";

/** How many of each outcome; the rest settle. */
const OUTCOME_COUNTS: Record<Exclude<DemoOutcome, "settled">, number> = {
  rejected: 8,
  failed_by_bank: 12,
  returned: 8,
  cancelled: 12,
  awaiting_cutoff: 8,
  stuck_submitted: 3,
  stuck_unknown: 2,
};

/** The state each outcome leaves the transfer in. */
export const DEMO_FINAL_STATE: Record<DemoOutcome, TransferState> = {
  settled: "settled",
  rejected: "failed",
  failed_by_bank: "failed",
  returned: "returned",
  cancelled: "cancelled",
  awaiting_cutoff: "acknowledged",
  stuck_submitted: "submitted",
  stuck_unknown: "reserved",
};

/** The sandbox bank's own failure reasons (server/sandbox/bank.ts). */
const BANK_FAILURE_REASONS = ["beneficiary_account_closed", "beneficiary_name_mismatch", "compliance_hold_rejected"] as const;

const CANCEL_REASONS = [
  "Customer asked to stop the payment while the partner was down",
  "Duplicate of a payment the customer already made by card",
  "Customer entered the wrong beneficiary; will resend",
] as const;

function hex(random: PickInt, chars: number): string {
  let s = "";
  for (let i = 0; i < chars; i++) s += random(16).toString(16);
  return s;
}

// --- Payees, amounts, references (shared with the live traffic generator) ------------------------

/** An IBAN with correct check digits (ISO 13616: mod 97 of the rearranged digits). */
function iban(country: string, bban: string): string {
  const digits = `${bban}${country}00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  const check = 98n - (BigInt(digits) % 97n);
  return `${country}${check.toString().padStart(2, "0")}${bban}`.replace(/(.{4})(?=.)/g, "$1 ");
}

export interface DemoPayee {
  name: string;
  account: string;
}

export const DEMO_PAYEES: Record<string, readonly DemoPayee[]> = {
  EUR: [
    { name: "Stadtwerke München GmbH", account: iban("DE", "700500000000202634") },
    { name: "Hoffmann Elektro GmbH", account: iban("DE", "370400440532013000") },
    { name: "Boulangerie Martin SARL", account: iban("FR", "30006000011234567890189") },
    { name: "Van der Berg Installatie B.V.", account: iban("NL", "ABNA0417164300") },
    { name: "Inmobiliaria Sol S.L.", account: iban("ES", "21000418450200051332") },
    { name: "Ferrari Forniture S.r.l.", account: iban("IT", "X0542811101000000123456") },
    { name: "Café Lumière SARL", account: iban("FR", "20041010050500013M02606") },
    { name: "Müller & Söhne KG", account: iban("DE", "500105175407324931") },
  ],
  USD: [
    { name: "Pacific Gas & Electric", account: "ABA 121000358 ACCT 4839201175" },
    { name: "Blue Bottle Coffee Inc.", account: "ABA 026009593 ACCT 0012847730" },
    { name: "Hudson Valley Realty LLC", account: "ABA 021000021 ACCT 7730291845" },
    { name: "Lone Star Freight Co.", account: "ABA 111000025 ACCT 3390017264" },
    { name: "Greenleaf Pharmacy", account: "ABA 071000013 ACCT 5521908436" },
  ],
  GBP: [
    { name: "Thames Water Utilities Ltd", account: iban("GB", "NWBK60161331926819") },
    { name: "Brightside Energy Ltd", account: iban("GB", "BARC20000055779911") },
    { name: "Hughes & Daughters Plumbing", account: iban("GB", "LOYD30963812345678") },
    { name: "Oakwood Lettings Ltd", account: iban("GB", "HBUK40127612345678") },
  ],
  JPY: [
    { name: "Tokyo Electric Power Co.", account: "Zengin 0001-001-1234567" },
    { name: "Sakura Real Estate KK", account: "Zengin 0005-221-7654321" },
    { name: "Yamato Transport Co.", account: "Zengin 0009-310-2468013" },
  ],
  BHD: [
    { name: "Bahrain Telecom BSC", account: iban("BH", "BMAG00001299123456") },
    { name: "Seef Properties BSC", account: iban("BH", "NBOB00000123456789") },
    { name: "Al Manama Trading WLL", account: iban("BH", "BBKU00100000987654") },
  ],
};

/**
 * Everyday payment sizes per currency, in minor units (JPY has none, BHD three decimals): from a
 * coffee-shop invoice to a month's rent. Picked skewed towards the small ones.
 */
const PRICE_POINTS: Record<string, readonly bigint[]> = {
  EUR: [990n, 1250n, 2490n, 3500n, 4900n, 7500n, 12000n, 18000n, 25000n, 42000n, 89900n, 125000n],
  USD: [1099n, 1500n, 2999n, 4000n, 5500n, 8000n, 13500n, 20000n, 29900n, 45000n, 99900n, 140000n],
  GBP: [850n, 1100n, 2200n, 3000n, 4200n, 6500n, 10000n, 15000n, 22000n, 35000n, 75000n, 110000n],
  JPY: [1200n, 1800n, 3500n, 5000n, 7800n, 12000n, 18000n, 26000n, 38000n, 60000n, 130000n, 180000n],
  BHD: [3500n, 4750n, 9250n, 13000n, 18500n, 28000n, 45000n, 68000n, 95000n, 160000n, 340000n, 470000n],
};

/** The smallest payment the demo makes per currency (minor units). */
export const DEMO_MIN_AMOUNT: Record<string, bigint> = { EUR: 500n, USD: 500n, GBP: 500n, JPY: 500n, BHD: 1000n };

/** A realistic payment amount in minor units (integers only). */
export function demoAmountMinor(currency: string, random: PickInt): bigint {
  const points = PRICE_POINTS[currency] ?? PRICE_POINTS.EUR!;
  const i = Math.min(random(points.length), random(points.length));
  const base = points[i]!;
  // Some amounts are round, most carry cents: up to a tenth more than the price point.
  const spread = random(3) === 0 ? 0n : BigInt(random(Number(base / 10n) + 1));
  return base + spread;
}

export function demoPayee(currency: string, random: PickInt): DemoPayee {
  const list = DEMO_PAYEES[currency] ?? DEMO_PAYEES.EUR!;
  return list[random(list.length)]!;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

/** A payment reference as customers write them. */
export function demoReference(random: PickInt, at: Date): string {
  switch (random(5)) {
    case 0:
      return `INV-${String(10_000 + random(90_000))}`;
    case 1:
      return `Rent ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}`;
    case 2:
      return `Order ${String(100_000 + random(900_000))}`;
    case 3:
      return `Utility bill ${String(1_000_000 + random(9_000_000))}`;
    default:
      return `Payment ${String(1000 + random(9000))}`;
  }
}

// --- The plan ----------------------------------------------------------------------------------

export interface DemoWallet {
  id: string;
  code: string;
  currency: string;
}

interface PlannedTransfer {
  n: number;
  key: string;
  outcome: DemoOutcome;
  rail: RailId;
  createdAt: Date;
  /** Failed submission attempts before the one the partner accepted. */
  failedAttempts: ("retryable" | "unknown")[];
  /** Batch: the settlement webhook overtakes the acknowledgement. */
  isOutOfOrder: boolean;
  partnerRef: string;
  /** Drawn for every plan so the stream stays aligned; used only when the transfer is created. */
  walletIndex: number;
  amountMinor: (currency: string) => bigint;
  payee: (currency: string) => DemoPayee;
  reference: string;
  channel: string;
  eventDelays: number[];
}

function nextCutoff(after: number): number {
  const d = new Date(after);
  const cut = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), BATCH_CUTOFF_HOUR_UTC);
  return cut > after ? cut : cut + DAY_MS;
}

/**
 * Which transfer ends how, on which rail and when: a pure function of `now`. Details that depend
 * on the wallets (which one pays, how much) are drawn from their own stream.
 */
function planTransfers(now: Date): PlannedTransfer[] {
  const random = makeRandom(20261122);
  const detail = makeRandom(7_020_611);
  const outcomes: DemoOutcome[] = [];
  for (const [o, count] of Object.entries(OUTCOME_COUNTS)) for (let i = 0; i < count; i++) outcomes.push(o as DemoOutcome);
  while (outcomes.length < DEMO_TRANSFER_COUNT) outcomes.push("settled");
  for (let i = outcomes.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [outcomes[i], outcomes[j]] = [outcomes[j]!, outcomes[i]!];
  }
  const t = now.getTime();
  let stuckSubmitted = 0;
  let stuckUnknown = 0;
  return outcomes.map((outcome, n) => {
    let rail: RailId = random(4) === 0 ? "batch" : "instant";
    let createdAt: number;
    switch (outcome) {
      case "stuck_unknown":
        rail = "instant";
        createdAt = t - (12 + 25 * stuckUnknown++) * MINUTE_MS - random(MINUTE_MS);
        break;
      case "stuck_submitted":
        rail = "instant";
        createdAt = t - [27 * MINUTE_MS, 95 * MINUTE_MS, 4 * HOUR_MS + 10 * MINUTE_MS][stuckSubmitted++]! - random(MINUTE_MS);
        break;
      case "awaiting_cutoff":
        rail = "batch";
        createdAt = t - 10 * MINUTE_MS - random(5 * HOUR_MS);
        break;
      case "returned":
        createdAt = t - 3 * DAY_MS - random(4 * DAY_MS);
        break;
      default:
        createdAt = t - 30 * MINUTE_MS - random(HISTORY_DAYS * DAY_MS - 30 * MINUTE_MS);
    }
    // A settled batch payment settled at a cut-off that has passed; move it back a day if not.
    if (rail === "batch" && outcome !== "awaiting_cutoff" && outcome !== "rejected" && outcome !== "cancelled") {
      if (nextCutoff(createdAt + 25 * MINUTE_MS) > t - 5 * MINUTE_MS) createdAt -= DAY_MS;
    }
    const roll = random(100);
    const failedAttempts: ("retryable" | "unknown")[] =
      outcome === "cancelled" ? ["retryable", "retryable", "retryable"] : outcome === "stuck_unknown" ? [] : roll < 2 ? ["retryable", "unknown"] : roll < 8 ? [roll % 2 ? "retryable" : "unknown"] : [];
    const isOutOfOrder = rail === "batch" && random(8) === 0;
    const walletIndex = detail(10_000);
    const amountSeed = detail(1_000_000);
    const payeeSeed = detail(1_000_000);
    const reference = demoReference(detail, new Date(createdAt));
    const channel = ["mobile", "web", "api"][detail(3)]!;
    const eventDelays = [detail(1000), detail(1000), detail(1000), detail(1000)];
    return {
      n,
      key: `${KEY}:${String(n).padStart(4, "0")}`,
      outcome,
      rail,
      createdAt: new Date(createdAt),
      failedAttempts,
      isOutOfOrder,
      partnerRef: `sbx_${hex(detail, 24)}`,
      walletIndex,
      amountMinor: (currency) => demoAmountMinor(currency, makeRandom(amountSeed)),
      payee: (currency) => demoPayee(currency, makeRandom(payeeSeed)),
      reference,
      channel,
      eventDelays,
    };
  });
}

// --- Partners for the seed ---------------------------------------------------------------------

interface Clock {
  at: number;
}

/**
 * The partner as it answered back then: each submit returns the next scripted outcome and moves
 * the seed's clock on by the call's latency. Used only to replay history through the real
 * orchestrator.
 */
function replayedPartner(outcomes: SubmitOutcome[], clock: Clock, latencyMs: number): PartnerAdapter {
  const unused = () => {
    throw new Error("the demo seed's replayed partner only answers submissions");
  };
  return {
    id: "sandbox",
    rails: ["instant", "batch"],
    async submit() {
      clock.at += latencyMs;
      return outcomes.shift() ?? { kind: "retryable", reason: "no scripted answer left", raw: null, httpStatus: null };
    },
    // Asked only after a rejection that followed a timed-out attempt (the orchestrator then checks
    // whether the earlier attempt executed): in the demo's history it never reached the bank.
    async queryStatus() {
      return { kind: "ok", status: "not_found", partnerRef: null, raw: { status: "not_found" } };
    },
    verifyWebhook: unused,
    parseStoredEvent: unused,
    fetchSettlementFile: unused,
  };
}

/**
 * Runs `fn` with a real sandbox adapter whose bank accepts connections and never answers: every
 * call times out, exactly as when a partner hangs.
 */
async function withUnresponsivePartner<T>(fn: (adapter: PartnerAdapter) => Promise<T>): Promise<T> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  try {
    const adapter = createSandboxAdapter({
      baseUrl: `http://127.0.0.1:${port}`,
      webhookSecrets: [],
      toleranceSeconds: 300,
      timeoutMs: { instant: UNKNOWN_TIMEOUT_MS, batch: UNKNOWN_TIMEOUT_MS },
    });
    return await fn(adapter);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Drives a transfer through the orchestrator until it stops asking for another attempt (or
 * `isDone` says to stop), moving the clock to each scheduled retry. Bounded: at most 20 steps.
 */
async function driveSubmission(db: Pick<DbHandles, "pool">, transferId: string, adapter: PartnerAdapter, clock: Clock, isDone: () => boolean = () => false): Promise<AdvanceOutcome | null> {
  const deps = { adapterFor: () => adapter, now: () => new Date(clock.at) };
  let last: AdvanceOutcome | null = null;
  for (let i = 0; i < 20; i++) {
    last = await advanceTransfer(db, transferId, deps);
    if (last.action === "retry_scheduled") {
      if (isDone()) return last;
      clock.at = last.at.getTime() + 1;
    } else if (last.action === "waiting") {
      clock.at = last.until.getTime() + 1;
    } else {
      return last;
    }
  }
  return last;
}

/** Submits a reserved transfer to a partner that never answers, from `startAt` on the seed's clock. */
async function driveToUnknownOutcome(db: Pick<DbHandles, "pool">, transferId: string, startAt: Date): Promise<void> {
  const clock: Clock = { at: startAt.getTime() + 300 };
  await withUnresponsivePartner((real) => {
    // The real adapter makes the calls; the wrapper only moves the seed's clock by the wait.
    const timed: PartnerAdapter = {
      ...real,
      async submit(p, signal) {
        const r = await real.submit(p, signal);
        clock.at += UNKNOWN_TIMEOUT_MS;
        return r;
      },
    };
    return driveSubmission(db, transferId, timed, clock);
  });
}

/**
 * Seeds one transfer whose submission outcome is unknown, by the real path: created at
 * `createdAt`, submitted by the orchestrator to a partner that never answers until the rail's
 * attempts run out and the status query times out too; it waits in `reserved` with an
 * attention reason for an operator. Idempotent by `key`. Returns the transfer id.
 */
export async function seedUnknownOutcomeTransfer(
  db: Pick<DbHandles, "pool">,
  input: { key: string; sourceAccountId: string; currency: string; amountMinor: bigint; payee: DemoPayee; reference: string; createdAt: Date; metadata?: Record<string, unknown> },
): Promise<string> {
  const created = await createTransfer(
    db,
    DEMO_SEED_ACTOR,
    {
      sourceAccountId: input.sourceAccountId,
      counterpartyName: input.payee.name,
      counterpartyAccount: input.payee.account,
      amountMinor: input.amountMinor,
      currency: input.currency,
      rail: "instant",
      partner: "sandbox",
      reference: input.reference,
      metadata: input.metadata ?? { source: "demo" },
    },
    { idempotencyKey: input.key, now: input.createdAt },
  );
  const t = created.transfer;
  if (t.state === "reserved" && t.attempts === 0 && !t.attentionReason) await driveToUnknownOutcome(db, t.id, input.createdAt);
  return t.id;
}

// --- Seeding -------------------------------------------------------------------------------------

interface SeedContext {
  db: Pick<DbHandles, "pool">;
  operator: AuditActor;
  now: Date;
}

function event(p: PlannedTransfer, type: PartnerEventType, occurredAt: number, reason?: string): PartnerEvent {
  const eventId = `${KEY}:evt:${String(p.n).padStart(4, "0")}:${type}`;
  return {
    eventId,
    partner: "sandbox",
    type,
    idempotencyKey: p.key,
    partnerRef: p.partnerRef,
    occurredAt: new Date(occurredAt),
    ...(reason ? { reason } : {}),
    raw: { id: eventId, type: `payment.${type}`, data: { payment_id: p.partnerRef, idempotency_key: p.key, occurred_at: new Date(occurredAt).toISOString(), reason: reason ?? null } },
  };
}

async function report(ctx: SeedContext, p: PlannedTransfer, type: PartnerEventType, at: number, reason?: string): Promise<void> {
  // The webhook is applied a moment after the bank sent it.
  await applyPartnerEvent(ctx.db, event(p, type, at, reason), { webhookEventId: null, now: new Date(at + 120 + (p.eventDelays[0]! % 400)) });
}

function submitOutcomes(p: PlannedTransfer): SubmitOutcome[] {
  const out: SubmitOutcome[] = p.failedAttempts.map((kind) =>
    kind === "retryable"
      ? { kind, reason: "service_unavailable: the bank is temporarily unavailable", raw: { error: { code: "service_unavailable", message: "the bank is temporarily unavailable" } }, httpStatus: 503 }
      : { kind, reason: "no answer within 2000 ms", raw: null },
  );
  if (p.outcome === "cancelled") return out;
  if (p.outcome === "rejected") {
    const message = "the beneficiary account cannot receive payments";
    out.push({ kind: "rejected", reason: `beneficiary_account_invalid: ${message}`, raw: { error: { code: "beneficiary_account_invalid", message } }, httpStatus: 422 });
    return out;
  }
  const isInstantAck = p.rail === "instant" && p.outcome !== "stuck_submitted";
  const status = isInstantAck ? "acknowledged" : "submitted";
  out.push({ kind: "accepted", partnerRef: p.partnerRef, status, raw: { id: p.partnerRef, idempotency_key: p.key, status }, httpStatus: 201 });
  return out;
}

/** Carries one planned transfer from wherever it is to its planned end. */
async function seedOne(ctx: SeedContext, p: PlannedTransfer, transferId: string, state: TransferState, attempts: number): Promise<void> {
  const d = p.eventDelays;
  const clock: Clock = { at: p.createdAt.getTime() + 150 + (d[1]! % 750) };
  let nextRetryAt = clock.at + 1000;
  if (state === "reserved" && attempts === 0) {
    const latency = p.rail === "instant" ? 120 + (d[2]! % 300) : 400 + (d[2]! % 900);
    const outcomes = submitOutcomes(p);
    const last = await driveSubmission(ctx.db, transferId, replayedPartner(outcomes, clock, latency), clock, () => outcomes.length === 0);
    if (last?.action === "retry_scheduled") nextRetryAt = last.at.getTime();
  }
  const accepted = clock.at;
  switch (p.outcome) {
    case "settled":
    case "returned": {
      let settledAt: number;
      if (p.rail === "instant") {
        settledAt = accepted + 400 + ((d[3]! * 7) % 3600);
      } else {
        const ackAt = accepted + 2 * MINUTE_MS + (d[3]! % 18) * MINUTE_MS;
        settledAt = nextCutoff(ackAt) + (d[3]! % 90) * 1000;
        if (p.isOutOfOrder) {
          await report(ctx, p, "settled", settledAt);
          await report(ctx, p, "acknowledged", ackAt);
        } else {
          await report(ctx, p, "acknowledged", ackAt);
        }
      }
      await report(ctx, p, "settled", settledAt);
      if (p.outcome === "returned") await report(ctx, p, "returned", settledAt + 6 * HOUR_MS + (d[0]! % 20) * HOUR_MS, "returned_by_beneficiary_bank");
      return;
    }
    case "failed_by_bank": {
      const reason = BANK_FAILURE_REASONS[d[0]! % BANK_FAILURE_REASONS.length];
      if (p.rail === "instant") return report(ctx, p, "failed", accepted + 900 + (d[3]! % 4000), reason);
      const ackAt = accepted + 2 * MINUTE_MS + (d[3]! % 18) * MINUTE_MS;
      await report(ctx, p, "acknowledged", ackAt);
      return report(ctx, p, "failed", nextCutoff(ackAt) + (d[3]! % 90) * 1000, reason);
    }
    case "awaiting_cutoff":
      return report(ctx, p, "acknowledged", Math.min(accepted + 2 * MINUTE_MS + (d[3]! % 8) * MINUTE_MS, ctx.now.getTime() - MINUTE_MS));
    case "cancelled":
      // The partner was answering 503; the operator cancelled before the next attempt.
      await cancelTransfer(ctx.db, ctx.operator, {
        transferId,
        reason: CANCEL_REASONS[d[0]! % CANCEL_REASONS.length]!,
        idempotencyKey: `${p.key}:cancel`,
        now: new Date(accepted + Math.max(1, Math.floor(((nextRetryAt - accepted) * (d[3]! % 900)) / 1000))),
      });
      return;
    case "rejected":
    case "stuck_submitted":
    case "stuck_unknown":
      return;
  }
}

function isComplete(p: PlannedTransfer, row: { state: TransferState; attempts: number }): boolean {
  if (p.outcome === "stuck_unknown") return row.attempts > 0 || row.state !== "reserved";
  const final = DEMO_FINAL_STATE[p.outcome];
  return row.state === final || isTerminal(row.state) || progressOf(row.state) > progressOf(final);
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inLanes<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Seeds the demo transfers; returns a one-line report. Needs the demo ledger (seedDemoLedger).
 * Safe to run any number of times. `operator` is who cancels (default a system actor).
 */
export async function seedDemoTransfers(db: Pick<DbHandles, "pool">, opts: { now?: Date; operator?: AuditActor } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const sql = pgRunner(db.pool);
  const wallets = await sql.query<DemoWallet>(
    `SELECT id, code, trim(currency) AS currency FROM ledger_accounts WHERE code LIKE 'customer:%:wallet' AND status = 'active' ORDER BY code`,
  );
  if (wallets.length === 0) throw new Error("the demo transfers need the demo ledger's customer wallets; seed the ledger first");
  const existing = new Map(
    (await sql.query<{ idempotency_key: string; id: string; state: TransferState; attempts: number }>(`SELECT idempotency_key, id, state, attempts FROM transfers WHERE idempotency_key LIKE $1`, [`${KEY}:%`])).map(
      (r) => [r.idempotency_key, r],
    ),
  );
  // Spend at most a third of what a wallet has now, each payment at most a tenth of what is left.
  const available = new Map((await readBalances(sql, wallets.map((w) => w.id))).map((b) => [b.accountId, b.availableMinor]));
  const budget = new Map([...available].map(([id, a]) => [id, a / 3n]));

  const ctx: SeedContext = { db, operator: opts.operator ?? { type: "system", id: null, label: "demo-operator" }, now };
  const plans = planTransfers(now);
  const todo: { plan: PlannedTransfer; wallet: DemoWallet; amountMinor: bigint }[] = [];
  const resume: { plan: PlannedTransfer; id: string; state: TransferState; attempts: number }[] = [];
  let skipped = 0;
  for (const p of plans) {
    const row = existing.get(p.key);
    if (row) {
      if (!isComplete(p, row)) resume.push({ plan: p, id: row.id, state: row.state, attempts: row.attempts });
      continue;
    }
    const wallet = wallets[p.walletIndex % wallets.length]!;
    const left = budget.get(wallet.id) ?? 0n;
    let amountMinor = p.amountMinor(wallet.currency);
    if (amountMinor > left / 10n) amountMinor = left / 10n;
    if (amountMinor < DEMO_MIN_AMOUNT[wallet.currency]!) {
      skipped++;
      continue;
    }
    budget.set(wallet.id, left - amountMinor);
    todo.push({ plan: p, wallet, amountMinor });
  }

  const unknown = todo.filter((x) => x.plan.outcome === "stuck_unknown");
  const replayed = todo.filter((x) => x.plan.outcome !== "stuck_unknown");
  await Promise.all([
    inLanes(replayed, SEED_CONCURRENCY, async ({ plan, wallet, amountMinor }) => {
      const payee = plan.payee(wallet.currency);
      const { transfer } = await createTransfer(
        db,
        DEMO_SEED_ACTOR,
        {
          sourceAccountId: wallet.id,
          counterpartyName: payee.name,
          counterpartyAccount: payee.account,
          amountMinor,
          currency: wallet.currency,
          rail: plan.rail,
          partner: "sandbox",
          reference: plan.reference,
          metadata: { source: "demo", channel: plan.channel },
        },
        { idempotencyKey: plan.key, now: plan.createdAt },
      );
      await seedOne(ctx, plan, transfer.id, transfer.state, transfer.attempts);
    }),
    inLanes(unknown, unknown.length, async ({ plan, wallet, amountMinor }) => {
      await seedUnknownOutcomeTransfer(db, {
        key: plan.key,
        sourceAccountId: wallet.id,
        currency: wallet.currency,
        amountMinor,
        payee: plan.payee(wallet.currency),
        reference: plan.reference,
        createdAt: plan.createdAt,
        metadata: { source: "demo", channel: plan.channel },
      });
    }),
  ]);
  await inLanes(resume, SEED_CONCURRENCY, async ({ plan, id, state, attempts }) => {
    log.info({ key: plan.key, state }, "carrying on a demo transfer a previous seed left half-way");
    if (plan.outcome === "stuck_unknown") await driveToUnknownOutcome(db, id, plan.createdAt);
    else await seedOne(ctx, plan, id, state, attempts);
  });

  return `demo transfers: ${todo.length} created, ${existing.size} already present${resume.length ? ` (${resume.length} carried on)` : ""}${skipped ? `, ${skipped} skipped for funds` : ""}`;
}
