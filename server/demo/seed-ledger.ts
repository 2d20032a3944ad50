/**
 * The demo ledger: a small, realistic world for the console and the e2e tests.
 *
 * Per currency (EUR, USD, GBP, JPY, BHD) a bank omnibus asset account and an ops:fees revenue
 * account; 20 customer wallets (liability, no-overdraft) spread across the currencies; a funding
 * entry per wallet; a few hundred customer-to-customer transfers with a fee, spread over the last
 * 30 days (past effective times, so the balance history has shape); one reversed transfer; a few
 * open holds; one frozen wallet.
 *
 * Invariants kept:
 * - Everything goes through the ledger's own write path (createAccount, executeLedgerCommand,
 *   setAccountStatus), so every money rule and the audit trail hold for demo data too.
 * - Idempotent: accounts are created only when their code is missing, and every write has a fixed
 *   key ("demo:ledger:..."); writes whose key already names an entry or hold are skipped, not
 *   replayed (their effective times are relative to "now", so a replay would be a different
 *   request). A second run changes nothing.
 * - Deterministic: amounts come from a fixed-seed generator and are simulated in memory, so no
 *   transfer ever overdraws a wallet.
 */
import type { DbHandles } from "../db/client";
import { pgRunner } from "../db/sql";
import { SYSTEM_ACTOR } from "../core/actor";
import { createAccount, setAccountStatus } from "../ledger/accounts";
import { executeLedgerCommand } from "../ledger/write-path";
import type { AccountType } from "../ledger/types";
import { makeRandom } from "./random";

export const DEMO_CURRENCIES = ["EUR", "USD", "GBP", "JPY", "BHD"] as const;
type DemoCurrency = (typeof DEMO_CURRENCIES)[number];

const KEY = "demo:ledger";
const TRANSFER_COUNT = 300;
const HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;
const FEE_BPS = 50n;

/** Funding per wallet and the minimum fee, in minor units of each currency. */
const FUNDING: Record<DemoCurrency, bigint> = { EUR: 500_000n, USD: 750_000n, GBP: 400_000n, JPY: 900_000n, BHD: 2_500_000n };
const MIN_FEE: Record<DemoCurrency, bigint> = { EUR: 25n, USD: 30n, GBP: 20n, JPY: 40n, BHD: 100n };

const CUSTOMERS: { name: string; currency: DemoCurrency }[] = [
  { name: "Amélie Laurent", currency: "EUR" },
  { name: "Jonas Weber", currency: "EUR" },
  { name: "Sofia Rossi", currency: "EUR" },
  { name: "Pieter de Vries", currency: "EUR" },
  { name: "Lucía Fernández", currency: "EUR" },
  { name: "Mateo Silva", currency: "EUR" },
  { name: "Grace Miller", currency: "USD" },
  { name: "Ethan Brooks", currency: "USD" },
  { name: "Priya Patel", currency: "USD" },
  { name: "Daniel Kim", currency: "USD" },
  { name: "Olivia Chen", currency: "USD" },
  { name: "Harriet Clarke", currency: "GBP" },
  { name: "Oliver Hughes", currency: "GBP" },
  { name: "Isla Campbell", currency: "GBP" },
  { name: "George Evans", currency: "GBP" },
  { name: "Haruto Sato", currency: "JPY" },
  { name: "Yui Tanaka", currency: "JPY" },
  { name: "Ren Kobayashi", currency: "JPY" },
  { name: "Fatima Al-Khalifa", currency: "BHD" },
  { name: "Yusuf Haddad", currency: "BHD" },
];

/** The wallet the demo freezes: a GBP wallet, so EUR and USD lists show active accounts first. */
export const DEMO_FROZEN_WALLET = "customer:0014:wallet";

interface AccountSpec {
  code: string;
  name: string;
  currency: DemoCurrency;
  type: AccountType;
  isNoOverdraft: boolean;
}

function walletCode(i: number): string {
  return `customer:${String(i + 1).padStart(4, "0")}:wallet`;
}

function accountSpecs(): AccountSpec[] {
  const specs: AccountSpec[] = [];
  for (const c of DEMO_CURRENCIES) {
    specs.push({ code: `bank:omnibus:${c}`, name: `Omnibus bank account ${c}`, currency: c, type: "asset", isNoOverdraft: false });
    specs.push({ code: `ops:fees:${c}`, name: `Fee revenue ${c}`, currency: c, type: "revenue", isNoOverdraft: false });
  }
  CUSTOMERS.forEach((cu, i) => specs.push({ code: walletCode(i), name: `${cu.name} wallet`, currency: cu.currency, type: "liability", isNoOverdraft: true }));
  return specs;
}

function feeOf(amountMinor: bigint, currency: DemoCurrency): bigint {
  const fee = (amountMinor * FEE_BPS) / 10_000n;
  return fee > MIN_FEE[currency] ? fee : MIN_FEE[currency];
}

/** Seeds the demo ledger; returns a one-line report. Safe to run any number of times. */
export async function seedDemoLedger(db: Pick<DbHandles, "pool">, opts: { now?: Date } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const sql = pgRunner(db.pool);
  const specs = accountSpecs();

  // --- Accounts: create the missing ones. ------------------------------------------------------
  const existing = new Map((await sql.query<{ code: string; id: string }>(`SELECT code, id FROM ledger_accounts WHERE code = ANY($1::text[])`, [specs.map((s) => s.code)])).map((r) => [r.code, r.id]));
  let accountsCreated = 0;
  for (const s of specs) {
    if (existing.has(s.code)) continue;
    const a = await createAccount(db, SYSTEM_ACTOR, { code: s.code, name: s.name, currency: s.currency, type: s.type, isNoOverdraft: s.isNoOverdraft }, { idempotencyKey: `${KEY}:open:${s.code}` });
    existing.set(s.code, a.id);
    accountsCreated++;
  }
  const idOf = (code: string) => existing.get(code)!;

  const doneKeys = new Set(
    (
      await sql.query<{ k: string }>(
        `SELECT idempotency_key AS k FROM journal_entries WHERE idempotency_key LIKE $1
         UNION ALL SELECT idempotency_key FROM holds WHERE idempotency_key LIKE $1`,
        [`${KEY}:%`],
      )
    ).map((r) => r.k),
  );
  let writes = 0;
  async function run(key: string, command: Parameters<typeof executeLedgerCommand>[2]): Promise<void> {
    if (doneKeys.has(key)) return;
    await executeLedgerCommand(db, SYSTEM_ACTOR, command, { idempotencyKey: key });
    writes++;
  }

  // --- Funding: one entry per wallet, a day before the history starts. ------------------------
  const start = now.getTime() - HISTORY_DAYS * DAY_MS;
  const balance = new Map<string, bigint>();
  for (let i = 0; i < CUSTOMERS.length; i++) {
    const c = CUSTOMERS[i]!.currency;
    const code = walletCode(i);
    await run(`${KEY}:fund:${code}`, {
      type: "transfer",
      debitAccountId: idOf(`bank:omnibus:${c}`),
      creditAccountId: idOf(code),
      amountMinor: FUNDING[c],
      currency: c,
      description: `Initial deposit for ${CUSTOMERS[i]!.name}`,
      effectiveAt: new Date(start - DAY_MS + i * 60_000),
      metadata: { source: "demo", kind: "deposit" },
    });
    balance.set(code, FUNDING[c]);
  }

  // --- Customer-to-customer transfers with a fee, spread over the last 30 days. ---------------
  const random = makeRandom(20261121);
  const byCurrency = new Map<DemoCurrency, number[]>();
  CUSTOMERS.forEach((cu, i) => byCurrency.set(cu.currency, [...(byCurrency.get(cu.currency) ?? []), i]));
  const step = Math.floor((HISTORY_DAYS * DAY_MS - 3_600_000) / TRANSFER_COUNT);
  const REVERSED = 7;
  for (let n = 0; n < TRANSFER_COUNT; n++) {
    const c = DEMO_CURRENCIES[random(DEMO_CURRENCIES.length)]!;
    const members = byCurrency.get(c)!;
    const from = members[random(members.length)]!;
    let to = members[random(members.length)]!;
    if (to === from) to = members[(members.indexOf(from) + 1) % members.length]!;
    const fromCode = walletCode(from);
    const toCode = walletCode(to);
    const available = balance.get(fromCode)!;
    // 1% to 12% of what the sender has, less the fee: never more than the wallet holds.
    const amount = (available * BigInt(10 + random(111))) / 1000n;
    const fee = feeOf(amount, c);
    if (amount <= 0n || amount + fee > available) continue;
    const effectiveAt = new Date(start + n * step + random(step));
    const key = `${KEY}:transfer:${String(n).padStart(4, "0")}`;
    await run(key, {
      type: "post_entry",
      entry: {
        postings: [
          { accountId: idOf(fromCode), side: "debit", amountMinor: amount + fee, currency: c },
          { accountId: idOf(toCode), side: "credit", amountMinor: amount, currency: c },
          { accountId: idOf(`ops:fees:${c}`), side: "credit", amountMinor: fee, currency: c },
        ],
        description: `Payment from ${CUSTOMERS[from]!.name} to ${CUSTOMERS[to]!.name}`,
        effectiveAt,
        metadata: { source: "demo", kind: "p2p", feeMinor: fee.toString(), reference: `DEMO-${String(n).padStart(4, "0")}` },
      },
    });
    balance.set(fromCode, available - amount - fee);
    balance.set(toCode, balance.get(toCode)! + amount);

    if (n === REVERSED) {
      // One payment sent in error and reversed an hour later: the whole entry, fee included.
      const [entry] = await sql.query<{ id: string }>(`SELECT id FROM journal_entries WHERE idempotency_key = $1`, [key]);
      await run(`${KEY}:reverse:${String(n).padStart(4, "0")}`, {
        type: "reverse_entry",
        entryId: entry!.id,
        description: "Reversal: payment sent to the wrong customer",
        effectiveAt: new Date(effectiveAt.getTime() + 3_600_000),
      });
      balance.set(fromCode, balance.get(fromCode)! + amount + fee);
      balance.set(toCode, balance.get(toCode)! - amount);
    }
  }

  // --- Open holds: card authorisations waiting to settle. ------------------------------------
  for (const i of [0, 3, 6, 11, 15, 18]) {
    const c = CUSTOMERS[i]!.currency;
    const code = walletCode(i);
    const amount = balance.get(code)! / 20n;
    if (amount <= 0n) continue;
    await run(`${KEY}:hold:${code}`, {
      type: "place_hold",
      debitAccountId: idOf(code),
      creditAccountId: idOf(`bank:omnibus:${c}`),
      amountMinor: amount,
      currency: c,
      expiresAt: new Date(now.getTime() + 7 * DAY_MS),
      reference: `CARD-AUTH-${String(i + 1).padStart(4, "0")}`,
      description: `Card authorisation for ${CUSTOMERS[i]!.name}`,
    });
  }

  // --- One frozen wallet (last: a frozen account takes no postings). -------------------------
  const [frozen] = await sql.query<{ status: string }>(`SELECT status::text FROM ledger_accounts WHERE code = $1`, [DEMO_FROZEN_WALLET]);
  const freezeKey = `${KEY}:freeze:${DEMO_FROZEN_WALLET}`;
  const [wasFrozen] = await sql.query<{ key: string }>(`SELECT key FROM idempotency_records WHERE key = $1`, [freezeKey]);
  if (frozen?.status === "active" && !wasFrozen) {
    await setAccountStatus(db, SYSTEM_ACTOR, { accountId: idOf(DEMO_FROZEN_WALLET), status: "frozen", reason: "Demo: identity documents expired; frozen pending KYC review" }, { idempotencyKey: freezeKey });
    writes++;
  }

  return `demo ledger: ${accountsCreated} accounts created, ${specs.length - accountsCreated} already present; ${writes} writes applied`;
}
