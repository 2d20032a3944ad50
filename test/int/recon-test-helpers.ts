/**
 * Shared set-up for the reconciliation integration tests: a bank asset account with a source, and
 * camt.053 statements built with the writer.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import type { AuditActor } from "../../server/audit/audit-log";
import { openAccount } from "../../server/ledger/testing";
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
