/**
 * Helpers for ledger tests and the benchmark: open accounts quickly and fund them. Not used by
 * production code paths.
 */
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../db/client";
import { SYSTEM_ACTOR } from "../core/actor";
import { createAccount, type Account } from "./accounts";
import { executeLedgerCommand } from "./write-path";
import type { AccountType } from "./types";

export async function openAccount(
  db: Pick<DbHandles, "pool">,
  opts: { code?: string; currency?: string; type?: AccountType; isNoOverdraft?: boolean } = {},
): Promise<Account> {
  const code = opts.code ?? `test:${randomUUID()}`;
  return createAccount(
    db,
    SYSTEM_ACTOR,
    { code, name: code, currency: opts.currency ?? "EUR", type: opts.type ?? "liability", isNoOverdraft: opts.isNoOverdraft ?? false },
    { idempotencyKey: `open:${code}` },
  );
}

/** Moves `amountMinor` into `accountId` (a credit-normal account) from `sourceId` (an asset). */
export async function fund(db: Pick<DbHandles, "pool">, sourceId: string, accountId: string, amountMinor: bigint, currency = "EUR"): Promise<void> {
  await executeLedgerCommand(
    db,
    SYSTEM_ACTOR,
    { type: "transfer", debitAccountId: sourceId, creditAccountId: accountId, amountMinor, currency },
    { idempotencyKey: `fund:${randomUUID()}` },
  );
}
