/**
 * An exact amount for people: bigint minor units formatted by the currency's exponent
 * ("1,234.50 EUR", "-885 JPY"), right-aligned in tabular figures. Never passes through a number.
 */
import { formatMoneyDisplay } from "../../server/money/amount";

export function Money({ amountMinor, currency, className = "" }: { amountMinor: bigint; currency: string; className?: string }) {
  const negative = amountMinor < 0n;
  return <span className={`font-mono whitespace-nowrap tabular-nums ${negative ? "text-red-700 dark:text-red-400" : ""} ${className}`}>{formatMoneyDisplay(amountMinor, currency)}</span>;
}
