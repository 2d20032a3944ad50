/**
 * Live demo traffic for `npm start`: customers of the demo world keep paying outside payees, about
 * twenty transfers a minute, mostly on the instant rail, some on the batch rail. The worker and
 * the partner sandbox carry them to settlement; modest fault rates set on the sandbox at start
 * make a few of them retry, fail, arrive out of order or come back as returns, so the console's
 * lists and charts show a realistic, moving flow.
 *
 * Invariants kept:
 * - Transfers are created only through createTransfer, the path the API uses; money moves only
 *   through the ledger's write path.
 * - Bounded: one transfer at a time at no more than the configured rate (1 to 600 a minute); a
 *   wallet whose available balance falls below a floor is topped up from the bank's omnibus
 *   account before it pays, and no payment takes more than a fifth of what a wallet has, so
 *   the generator never drains or overdraws a wallet and can run for days.
 * - A refusal (a wallet frozen by an operator, the database restarting) is logged and the next
 *   transfer is tried after the usual pause; nothing is retried in a tight loop.
 * - Stops cleanly: when the signal aborts, the current step finishes and `stopped` resolves.
 * - Priced like any transfer: the fee comes from the rail's fee schedule. About one transfer in
 *   CROSS_CURRENCY_ONE_IN pays a payee abroad in another currency: it asks pricing for a quote
 *   first (createQuote, the path of pricing.quote) and executes on it, as an API client would. A
 *   refused quote (no rate for the pair, a stale rate) is logged like any refusal.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { pgRunner } from "../db/sql";
import { isAppError } from "../errors/app-error";
import { readBalances } from "../ledger/balances";
import { executeLedgerCommand } from "../ledger/write-path";
import { componentLogger } from "../observability/logger";
import type { RailConfig } from "../sandbox/rail-config";
import { createTransfer } from "../transfers/create";
import { createQuote } from "../pricing/quotes";
import type { RailId } from "../transfers/types";
import { demoAmountMinor, demoPayee, demoReference, type DemoPayee, type DemoWallet } from "./seed-transfers";
import type { PickInt } from "./random";

const log = componentLogger("demo-traffic");

export const DEFAULT_RATE_PER_MINUTE = 20;
export const MAX_RATE_PER_MINUTE = 600;
/** How often the list of payable wallets is read again (an operator may freeze one). */
const WALLET_REFRESH_MS = 60_000;
/** Attempts to reach the sandbox's admin API at start (one a second). */
const SANDBOX_CONFIG_ATTEMPTS = 30;

export const DEMO_TRAFFIC_ACTOR: AuditActor = { type: "system", id: null, label: "demo-traffic" };

/** Below this available balance (minor units) a wallet is topped up by TOP_UP before paying. */
export const WALLET_FLOOR: Record<string, bigint> = { EUR: 100_000n, USD: 120_000n, GBP: 80_000n, JPY: 150_000n, BHD: 300_000n };
export const TOP_UP: Record<string, bigint> = { EUR: 300_000n, USD: 350_000n, GBP: 250_000n, JPY: 500_000n, BHD: 1_500_000n };

/** One transfer in this many pays a payee in another currency (on a quote). */
export const CROSS_CURRENCY_ONE_IN = 6;
/** Where a cross-currency payment may go, from each source currency (pairs with ECB rates; BHD has none). */
const FOREIGN: Record<string, readonly string[]> = { EUR: ["USD", "GBP", "JPY"], USD: ["EUR", "GBP"], GBP: ["EUR", "USD"], JPY: ["EUR", "USD"] };

/** A payee whose bank refuses payments (the sandbox refuses accounts containing "REJECT"). */
const REFUSED_PAYEE: DemoPayee = { name: "Nordic Holding (closed account)", account: "SE REJECT 5000 0000 0583" };

/**
 * The sandbox's demo fault rates, per rail: a few timeouts (half of them executed before the
 * bank went quiet), 5xx answers, bank-side failures, duplicate and out-of-order webhooks, late
 * returns and settlement-file gaps. Timings and the batch cut-off stay as configured.
 */
export const DEMO_FAULTS: Record<RailId, Partial<RailConfig>> = {
  instant: {
    timeoutProbability: 0.02,
    timeoutExecutedShare: 0.5,
    hangMs: 5_000,
    errorProbability: 0.04,
    failProbability: 0.03,
    duplicateWebhookProbability: 0.05,
    outOfOrderProbability: 0,
    returnProbability: 0.01,
    returnDelayMs: 120_000,
    missingLineProbability: 0.01,
    extraLineProbability: 0.005,
  },
  batch: {
    timeoutProbability: 0.01,
    timeoutExecutedShare: 0.5,
    hangMs: 8_000,
    errorProbability: 0.03,
    failProbability: 0.03,
    duplicateWebhookProbability: 0.05,
    outOfOrderProbability: 0.1,
    returnProbability: 0.01,
    returnDelayMs: 300_000,
    missingLineProbability: 0.01,
    extraLineProbability: 0.005,
  },
};

export interface DemoTrafficOptions {
  signal: AbortSignal;
  /** Transfers a minute on average (1 to 600; default 20). */
  ratePerMinute?: number;
  /** The sandbox's base URL, to set DEMO_FAULTS at start; null leaves its configuration alone. */
  sandboxUrl?: string | null;
  /** Picks (tests pass a seeded one); default Math.random. */
  random?: PickInt;
  fetch?: typeof fetch;
}

export interface DemoTrafficStats {
  created: number;
  refused: number;
  topUps: number;
  /** Of `created`, those paid in another currency on a quote. */
  crossCurrency: number;
}

export interface DemoTrafficHandle {
  /** Resolves once the generator has stopped (after the signal aborted). */
  stopped: Promise<DemoTrafficStats>;
  stats(): DemoTrafficStats;
}

const defaultRandom: PickInt = (n) => Math.floor(Math.random() * n);

/** Waits `ms`, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Sets DEMO_FAULTS on each sandbox rail. Returns whether the sandbox took them. */
export async function configureDemoFaults(sandboxUrl: string, signal: AbortSignal, doFetch: typeof fetch = fetch): Promise<boolean> {
  const base = sandboxUrl.replace(/\/+$/, "");
  for (let attempt = 1; attempt <= SANDBOX_CONFIG_ATTEMPTS && !signal.aborted; attempt++) {
    try {
      for (const rail of Object.keys(DEMO_FAULTS) as RailId[]) {
        const res = await doFetch(`${base}/admin/rails/${rail}/faults`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(DEMO_FAULTS[rail]),
          signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
      }
      log.info({ faults: DEMO_FAULTS }, "demo fault rates set on the sandbox");
      return true;
    } catch (e) {
      if (attempt === SANDBOX_CONFIG_ATTEMPTS) log.warn({ err: (e as Error).message }, "could not set the demo fault rates on the sandbox; traffic runs with its current configuration");
      else await pause(1_000, signal);
    }
  }
  return false;
}

export type LiveIncidentPhase = "normal" | "outage" | "slow";

/**
 * The live traffic's recurring partner incident (pure), so the SLO pages always have something
 * recent to show: every hour (UTC) the bank is down from minute 20 to 24 (every call answered 503:
 * retries back off, some transfers fail) and its instant rail settles slowly from minute 40 to 49
 * (a minute or two instead of seconds). The demo week holds the long one (an hour's outage).
 */
export function liveIncidentPhase(now: Date): LiveIncidentPhase {
  const m = now.getUTCMinutes();
  if (m >= 20 && m < 25) return "outage";
  if (m >= 40 && m < 50) return "slow";
  return "normal";
}

/** The instant rail's settlement delays in each phase (ms). */
const SETTLE_DELAYS: Record<"normal" | "slow", { settleDelayMsMin: number; settleDelayMsMax: number }> = {
  normal: { settleDelayMsMin: 100, settleDelayMsMax: 3_000 },
  slow: { settleDelayMsMin: 60_000, settleDelayMsMax: 150_000 },
};

/** Puts the sandbox in the phase's state: the outage switch, and the instant rail's settlement delays. */
async function applyIncidentPhase(sandboxUrl: string, phase: LiveIncidentPhase, signal: AbortSignal, doFetch: typeof fetch = fetch): Promise<void> {
  const base = sandboxUrl.replace(/\/+$/, "");
  const send = async (method: "POST" | "PUT", path: string, body: unknown) => {
    const res = await doFetch(`${base}${path}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  };
  await send("POST", "/admin/outage", { isOn: phase === "outage" });
  await send("PUT", "/admin/rails/instant/faults", SETTLE_DELAYS[phase === "slow" ? "slow" : "normal"]);
}

/** A delay to the next transfer: exponential around the mean (a Poisson flow), clamped. */
function nextDelayMs(meanMs: number): number {
  const d = -Math.log(1 - Math.random()) * meanMs;
  return Math.round(Math.min(3 * meanMs, Math.max(meanMs / 4, d)));
}

/**
 * Starts creating demo transfers until `signal` aborts. Needs the demo ledger (customer wallets
 * and bank omnibus accounts). Errors are logged, never thrown.
 */
export function startDemoTraffic(db: Pick<DbHandles, "pool">, opts: DemoTrafficOptions): DemoTrafficHandle {
  const rate = Math.min(MAX_RATE_PER_MINUTE, Math.max(1, opts.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE));
  const meanMs = 60_000 / rate;
  const random = opts.random ?? defaultRandom;
  const stats: DemoTrafficStats = { created: 0, refused: 0, topUps: 0, crossCurrency: 0 };
  const sql = pgRunner(db.pool);
  let wallets: DemoWallet[] = [];
  let walletsReadAt = 0;
  const omnibus = new Map<string, string>();

  async function payableWallets(): Promise<DemoWallet[]> {
    if (Date.now() - walletsReadAt < WALLET_REFRESH_MS && wallets.length > 0) return wallets;
    wallets = await sql.query<DemoWallet>(`SELECT id, code, trim(currency) AS currency FROM ledger_accounts WHERE code LIKE 'customer:%:wallet' AND status = 'active' ORDER BY code`);
    for (const r of await sql.query<{ id: string; code: string }>(`SELECT id, code FROM ledger_accounts WHERE code LIKE 'bank:omnibus:%'`)) omnibus.set(r.code.slice("bank:omnibus:".length), r.id);
    walletsReadAt = Date.now();
    return wallets;
  }

  /** The wallet's available balance, after a top-up from the omnibus account when below the floor. */
  async function fundedBalance(w: DemoWallet): Promise<bigint> {
    const [b] = await readBalances(sql, [w.id]);
    const available = b?.availableMinor ?? 0n;
    const floor = WALLET_FLOOR[w.currency] ?? 100_000n;
    const bank = omnibus.get(w.currency);
    if (available >= floor || !bank) return available;
    const amount = TOP_UP[w.currency] ?? floor * 3n;
    await executeLedgerCommand(
      db,
      DEMO_TRAFFIC_ACTOR,
      { type: "transfer", debitAccountId: bank, creditAccountId: w.id, amountMinor: amount, currency: w.currency, description: "Salary deposit (demo traffic top-up)", metadata: { source: "demo-traffic", kind: "deposit" } },
      { idempotencyKey: `demo:traffic:topup:${w.code}:${randomUUID()}` },
    );
    stats.topUps++;
    return available + amount;
  }

  async function createOne(): Promise<void> {
    const list = await payableWallets();
    if (list.length === 0) return;
    const w = list[random(list.length)]!;
    const available = await fundedBalance(w);
    let amountMinor = demoAmountMinor(w.currency, random);
    if (amountMinor > available / 5n) amountMinor = available / 5n;
    if (amountMinor <= 0n) return;
    const rail: RailId = random(5) === 0 ? "batch" : "instant";
    const foreign = FOREIGN[w.currency];
    const toCurrency = foreign && random(CROSS_CURRENCY_ONE_IN) === 0 ? foreign[random(foreign.length)]! : w.currency;
    const payee = random(70) === 0 ? REFUSED_PAYEE : demoPayee(toCurrency, random);
    // Across currencies, a quote first (its customer is the wallet's: its code), as a client would.
    const quote =
      toCurrency === w.currency
        ? null
        : (await createQuote(db, DEMO_TRAFFIC_ACTOR, { amountMinor, currency: w.currency, toCurrency, rail, customerId: w.code }, { idempotencyKey: `demo:traffic:quote:${randomUUID()}` })).quote;
    await createTransfer(
      db,
      DEMO_TRAFFIC_ACTOR,
      {
        sourceAccountId: w.id,
        counterpartyName: payee.name,
        counterpartyAccount: payee.account,
        amountMinor,
        currency: w.currency,
        rail,
        partner: "sandbox",
        reference: demoReference(random, new Date()),
        metadata: { source: "demo-traffic", channel: ["mobile", "web", "api"][random(3)] },
        ...(quote ? { toCurrency, quoteId: quote.id } : {}),
      },
      { idempotencyKey: `demo:traffic:${randomUUID()}` },
    );
    stats.created++;
    if (quote) stats.crossCurrency++;
  }

  const stopped = (async () => {
    if (opts.sandboxUrl) await configureDemoFaults(opts.sandboxUrl, opts.signal, opts.fetch);
    log.info({ ratePerMinute: rate }, "demo traffic started");
    let phase: LiveIncidentPhase | null = null;
    while (!opts.signal.aborted) {
      const wanted = liveIncidentPhase(new Date());
      if (opts.sandboxUrl && wanted !== phase) {
        try {
          await applyIncidentPhase(opts.sandboxUrl, wanted, opts.signal, opts.fetch);
          if (phase !== null || wanted !== "normal") log.info({ phase: wanted }, wanted === "normal" ? "demo partner incident over" : `demo partner incident: ${wanted === "outage" ? "the bank is down" : "slow settlements"}`);
          phase = wanted;
        } catch (e) {
          log.warn({ err: (e as Error).message, phase: wanted }, "could not set the demo incident phase on the sandbox");
        }
      }
      try {
        await createOne();
      } catch (e) {
        stats.refused++;
        const code = isAppError(e) ? e.code : "UNEXPECTED";
        log.warn({ code, err: (e as Error).message }, "demo transfer not created");
        if (code === "ACCOUNT_FROZEN") walletsReadAt = 0;
      }
      await pause(nextDelayMs(meanMs), opts.signal);
    }
    // Leave the bank up and fast for whoever uses the sandbox next.
    if (opts.sandboxUrl && phase !== null && phase !== "normal") await applyIncidentPhase(opts.sandboxUrl, "normal", AbortSignal.timeout(5_000), opts.fetch).catch(() => {});
    log.info(stats, "demo traffic stopped");
    return { ...stats };
  })();

  return { stopped, stats: () => ({ ...stats }) };
}
