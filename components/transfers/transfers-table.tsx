/**
 * The transfers table (list page): one row per transfer with its exact amount, state and, for a
 * stuck one, how long it is over budget and why. Server component; rows link to the transfer.
 */
import Link from "next/link";
import type { TransferListItem } from "../../server/transfers/queries";
import { isActive } from "../../server/transfers/state-machine";
import { Money, amountCellClass } from "../ledger/money";
import { formatUtc, linkClass, tableClass } from "../ui";
import { StuckBadge, StuckNote, TransferStateBadge, formatDuration, secondsBetween, shortId } from "./transfer-ui";

export function transferLabel(t: Pick<TransferListItem, "reference" | "id">): string {
  return t.reference || `Transfer ${shortId(t.id)}`;
}

export function TransfersTable({ items, caption, now }: { items: TransferListItem[]; caption: string; now: Date }) {
  return (
    <div className={tableClass.wrap}>
      <table className={tableClass.table}>
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={tableClass.th}>Transfer</th>
            <th scope="col" className={tableClass.th}>Created (UTC)</th>
            <th scope="col" className={tableClass.th}>Counterparty</th>
            <th scope="col" className={`${tableClass.th} text-right`}>Amount</th>
            <th scope="col" className={tableClass.th}>State</th>
            <th scope="col" className={tableClass.th}>Time in state</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {items.map((t) => (
            <tr key={t.id} className={`${tableClass.tr} ${t.stuckForSeconds !== null ? "bg-amber-50/40 dark:bg-amber-950/20" : ""}`}>
              <td className={tableClass.td}>
                <Link href={`/transfers/${t.id}`} className={linkClass}>
                  {transferLabel(t)}
                </Link>
                <div className="text-xs whitespace-nowrap text-zinc-500 dark:text-zinc-400">
                  <span className="font-mono" title={t.id}>
                    {shortId(t.id)}
                  </span>{" "}
                  · {t.rail} · {t.partner}
                </div>
                {t.partnerRef ? (
                  <div className="max-w-[12rem] truncate font-mono text-xs text-zinc-500 dark:text-zinc-400" title={`Partner reference ${t.partnerRef}`}>
                    {t.partnerRef}
                  </div>
                ) : null}
              </td>
              <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(t.createdAt)}</td>
              <td className={`${tableClass.td} max-w-[11rem]`}>
                <div className="truncate" title={t.counterpartyName}>
                  {t.counterpartyName}
                </div>
                <div className="truncate font-mono text-xs text-zinc-500 dark:text-zinc-400" title={t.counterpartyAccount}>
                  {t.counterpartyAccount}
                </div>
              </td>
              <td className={`${tableClass.td} ${amountCellClass}`}>
                <Money amountMinor={t.amountMinor} currency={t.currency} />
              </td>
              <td className={tableClass.td}>
                <div className="flex flex-wrap items-center gap-1">
                  <TransferStateBadge state={t.state} />
                  {t.stuckForSeconds !== null ? <StuckBadge stuckForSeconds={t.stuckForSeconds} /> : null}
                </div>
              </td>
              <td className={`${tableClass.td} w-64 min-w-[13rem] text-xs`}>
                {isActive(t.state) ? <span className="whitespace-nowrap">{formatDuration(secondsBetween(t.stateChangedAt, now))}</span> : <span className="text-zinc-400" title="Not waiting: no time budget applies">—</span>}
                {t.stuckForSeconds !== null ? (
                  <div className="mt-0.5">
                    <StuckNote stuckForSeconds={t.stuckForSeconds} reason={t.stuckReason} />
                  </div>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
