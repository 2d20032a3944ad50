/**
 * Shared set-up for the reconciliation integration tests: a bank asset account with a source,
 * camt.053 statements built with the writer, and transfers settled through the real partner
 * sandbox on a simulated clock (startSandboxWorld).
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { AuditActor } from "../../server/audit/audit-log";
import { fund, openAccount } from "../../server/ledger/testing";
import { resetEnvForTests } from "../../server/env";
import { partners } from "../../server/composition";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import type { RailId } from "../../server/partners/types";
import type { SandboxHandle } from "../../server/sandbox/server";
import { createTransfer } from "../../server/transfers/create";
import { advanceTransfer } from "../../server/transfers/orchestrator";
import type { Transfer } from "../../server/transfers/types";
import { processPendingWebhooks } from "../../server/transfers/webhook-processing";
import { adapterFor, startReceiver, startTestSandbox, TEST_SECRET } from "./sandbox-test-helpers";
import { writeCamt053 } from "../../server/partners/camt053/writer";
import { createSource, type ReconSource } from "../../server/recon/sources";
import type { StatementEntry } from "../../server/partners/statement-types";

export const ADMIN: AuditActor = { type: "user", id: randomUUID(), label: "admin@recon.test" };
export const OPERATOR: AuditActor = { type: "user", id: randomUUID(), label: "operator@recon.test" };

/** A random valid-looking German IBAN (the reader and sources compare it as text). */
export function randomIban(): string {
  return `DE${String(10 + Math.floor(Math.random() * 89))}${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
}

export async function bankSource(db: Pick<DbHandles, "pool">, opts: { currency?: string; iban?: string } = {}): Promise<ReconSource & { accountId: string }> {
  const tag = randomUUID().slice(0, 8);
  const account = await openAccount(db, { code: `bank:recon:${tag}`, type: "asset", currency: opts.currency ?? "EUR" });
  const source = await createSource(db, ADMIN, { name: `Bank ${tag}`, kind: "bank_account", ledgerAccount: account.code, iban: opts.iban ?? randomIban() });
  return { ...source, accountId: account.id };
}

export type EntrySpec = Partial<Omit<StatementEntry, "index" | "place">> & { amountMinor: bigint };

export function entry(spec: EntrySpec): Omit<StatementEntry, "index" | "place"> {
  return {
    currency: "EUR",
    direction: "credit",
    status: "BOOK",
    isReversal: false,
    bookingDate: "2026-11-20",
    valueDate: "2026-11-20",
    accountServicerReference: null,
    endToEndId: null,
    remittanceInfo: null,
    counterpartyName: null,
    counterpartyAccount: null,
    bankTransactionCode: "PMNT/RCDT/ESCT",
    additionalInfo: null,
    details: [],
    ...spec,
  };
}

export interface StatementSpec {
  iban: string;
  statementId?: string;
  sequence?: number | null;
  currency?: string;
  openingMinor?: bigint;
  /** Defaults to opening + entries. */
  closingMinor?: bigint;
  date?: string;
  entries: EntrySpec[];
}

const bal = (v: bigint, currency: string, date: string) => ({ amountMinor: v < 0n ? -v : v, currency, direction: v < 0n ? ("debit" as const) : ("credit" as const), date });

/** A camt.053.001.08 document with one statement per spec. */
export function statementXml(specs: StatementSpec[], messageId = `MSG-${randomUUID().slice(0, 8)}`): string {
  return writeCamt053({
    version: "001.08",
    messageId,
    createdAt: "2026-11-20T23:00:00Z",
    statements: specs.map((s) => {
      const currency = s.currency ?? "EUR";
      const date = s.date ?? "2026-11-20";
      const entries = s.entries.map((e) => entry({ currency, bookingDate: date, valueDate: date, ...e }));
      const net = entries.filter((e) => e.status === "BOOK" && e.currency === currency).reduce((n, e) => n + (e.direction === "credit" ? e.amountMinor : -e.amountMinor), 0n);
      const opening = s.openingMinor ?? 0n;
      return {
        statementId: s.statementId ?? `STMT-${randomUUID().slice(0, 8)}`,
        electronicSequenceNumber: s.sequence === null ? null : String(s.sequence ?? 1),
        accountIban: s.iban,
        accountCurrency: currency,
        openingBalance: bal(opening, currency, date),
        closingBalance: bal(s.closingMinor ?? opening + net, currency, date),
        entries,
      };
    }),
  });
}

export const bytes = (s: string) => new TextEncoder().encode(s);

export async function count(db: Pick<DbHandles, "pool">, table: string, where = "true", params: unknown[] = []): Promise<number> {
  return Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, params)).rows[0]!.n);
}

export { SYSTEM_ACTOR };

// ---------------------------------------------------------------------------------------------
// Transfers settled through the real sandbox, on a simulated clock

/** Midday UTC of the day `days` after today: a simulated day that never straddles midnight. */
export function middayInDays(days: number): Date {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, 12));
}

export const dayOfDate = (d: Date) => d.toISOString().slice(0, 10);

export interface SandboxWorld {
  sandbox: SandboxHandle;
  walletId: string;
  /**
   * The simulated time: the sandbox's books advance to it and webhook processing books
   * settlements at it, so a settlement's ledger date and the sandbox's value date are the same
   * day. Webhooks are still signed and received on the real clock (their signatures expire).
   */
  clock: { now: Date };
  /** Creates EUR transfers from the world's wallet and submits them to the sandbox. */
  submit(specs: readonly { amountMinor: bigint; rail: RailId; reference?: string }[]): Promise<Transfer[]>;
  /**
   * Sets the clock to `at`, advances the sandbox's books once (instant settlements, batch
   * acknowledgements and the batch cut-off), delivers its webhooks to our route and applies them.
   * Throws unless every transfer in `expectSettled` is settled afterwards.
   */
  settleAt(at: Date, expectSettled: readonly Transfer[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The partner sandbox in-process over the test database, webhooks signed by it and received by our
 * own route (createWebhookHandler), and a funded wallet. The sandbox does not tick by itself:
 * settleAt moves it. Restores the webhook secret setting on close.
 */
export async function startSandboxWorld(db: DbHandles): Promise<SandboxWorld> {
  const savedSecrets = process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
  process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = TEST_SECRET;
  resetEnvForTests();
  partners.reset();
  const clock = { now: new Date() };
  const tag = randomUUID().slice(0, 8);
  const bank = await openAccount(db, { code: `bank:sandbox-world:${tag}`, type: "asset" });
  const wallet = await openAccount(db, { code: `customer:sandbox-world:${tag}:wallet`, type: "liability", isNoOverdraft: true });
  await fund(db, bank.id, wallet.id, 10_000_000_00n);
  const webhooks = createWebhookHandler({ getDb: () => db, partners });
  const receiver = await startReceiver((req) => webhooks(req, "sandbox"));
  const sandbox = await startTestSandbox(db, receiver.url);
  const adapter = adapterFor(sandbox, 5_000);
  let n = 0;
  return {
    sandbox,
    walletId: wallet.id,
    clock,
    async submit(specs) {
      const out: Transfer[] = [];
      for (const s of specs) {
        const key = `sbxw-${tag}-${++n}`;
        const { transfer } = await createTransfer(
          db,
          SYSTEM_ACTOR,
          { sourceAccountId: wallet.id, counterpartyName: "Jane Doe", counterpartyAccount: "DE89370400440532013000", amountMinor: s.amountMinor, currency: "EUR", rail: s.rail, partner: "sandbox", reference: s.reference ?? `invoice ${key}` },
          { idempotencyKey: key },
        );
        const step = await advanceTransfer(db, transfer.id, { adapterFor: () => adapter });
        if (step.action !== "submitted") throw new Error(`transfer ${key} was not submitted to the sandbox: ${JSON.stringify(step)}`);
        out.push(transfer);
      }
      return out;
    },
    async settleAt(at, expectSettled) {
      clock.now = at;
      await sandbox.tick(at);
      for (let i = 0; i < 20; i++) if ((await processPendingWebhooks(db, partners, 100, { now: () => clock.now })).claimed === 0) break;
      const states = (await db.pool.query<{ idempotency_key: string; state: string }>(`SELECT idempotency_key, state FROM transfers WHERE id = ANY($1::uuid[])`, [expectSettled.map((t) => t.id)])).rows;
      const unsettled = states.filter((r) => r.state !== "settled");
      if (unsettled.length > 0 || states.length !== expectSettled.length) throw new Error(`not settled through the sandbox at ${at.toISOString()}: ${JSON.stringify(unsettled)}`);
    },
    async close() {
      await sandbox.close();
      await receiver.close();
      if (savedSecrets === undefined) delete process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS;
      else process.env.PARTNER_SANDBOX_WEBHOOK_SECRETS = savedSecrets;
      resetEnvForTests();
      partners.reset();
    },
  };
}
