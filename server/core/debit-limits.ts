/**
 * What a service key may debit: the one rule, used by every write path that debits an account
 * (transfers.create here; the ledger's rule checks call it for ledger.entries.post, .reverse,
 * ledger.transfer, ledger.batch and holds).
 *
 * A key may be limited, when it is created (and the limits are part of what its four-eyes
 * activation approves), to ledger account code prefixes and to currencies. An empty list means no
 * limit of that kind. People are not limited here: their powers come from roles and four eyes.
 * A limited key may credit anything: a limit says where its money may come from.
 */
import { AppError } from "../errors/app-error";
import type { Actor, AuditActor } from "./actor";

export { NO_DEBIT_LIMITS, type DebitLimits } from "./actor";

/** Whether the actor's debits are limited at all (callers skip reading account codes otherwise). */
export function hasDebitLimits(actor: Actor | AuditActor): boolean {
  if (!("kind" in actor) || actor.kind !== "service") return false;
  const limits = (actor as Extract<Actor, { kind: "service" }>).debitLimits;
  return limits.accountCodePrefixes.length > 0 || limits.currencies.length > 0;
}

/**
 * Refuses (FORBIDDEN, naming the first account and currency outside the key's limits) unless
 * every debit is allowed. Actors that are not service keys (people, the system's own audit actors),
 * and keys without limits, pass.
 * `debits` lists every account the write debits (a posting's debit side, a hold's debit
 * account, a transfer's source) with the currency of that debit.
 */
export function assertMayDebit(actor: Actor | AuditActor, debits: readonly { accountCode: string; currency: string }[]): void {
  if (!hasDebitLimits(actor)) return;
  const key = actor as Extract<Actor, { kind: "service" }>;
  const { accountCodePrefixes, currencies } = key.debitLimits;
  for (const d of debits) {
    if (accountCodePrefixes.length > 0 && !accountCodePrefixes.some((p) => d.accountCode.startsWith(p))) {
      throw new AppError("FORBIDDEN", `service key ${key.name} may not debit account ${d.accountCode}: it may debit only accounts whose code starts with ${accountCodePrefixes.join(", ")}`, {
        details: { accountCode: d.accountCode, allowedPrefixes: [...accountCodePrefixes] },
      });
    }
    if (currencies.length > 0 && !currencies.includes(d.currency)) {
      throw new AppError("FORBIDDEN", `service key ${key.name} may not debit ${d.currency} (account ${d.accountCode}): it may debit only ${currencies.join(", ")}`, {
        details: { accountCode: d.accountCode, currency: d.currency, allowedCurrencies: [...currencies] },
      });
    }
  }
}
