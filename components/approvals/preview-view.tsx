/**
 * Shows what approving an adjustment does: the postings, every affected account's balances before
 * and after (from the ledger's dry run), holds changed, and non-money changes. Server or client.
 */
import Link from "next/link";
import { Money, amountCellClass } from "../ledger/money";
import { linkClass, tableClass } from "../ui";

interface Figures {
  postedMinor: bigint;
  pendingMinor: bigint;
  availableMinor: bigint;
}

export interface PreviewData {
  computedAt: Date;
  entries: { description: string; reversesEntryId: string | null; postings: { accountId: string; accountCode: string; side: "debit" | "credit"; amountMinor: bigint; currency: string }[] }[];
  holds: { holdId: string; status: string; amountMinor: bigint; currency: string }[];
  balances: { accountId: string; accountCode: string; currency: string; isNoOverdraft: boolean; before: Figures; after: Figures }[];
  changes: { label: string; before: string; after: string }[];
  error: { code: string; message: string } | null;
}

export function PreviewView({ preview, caption }: { preview: PreviewData; caption: string }) {
  if (preview.error) {
    return (
      <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
        The ledger refuses this now: <span className="font-mono">{preview.error.code}</span> — {preview.error.message}
      </p>
    );
  }
  return (
    <div className="space-y-4">
      {preview.entries.map((e, i) => (
        <div key={i} className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="px-3 pt-2 text-left text-xs text-zinc-600 dark:text-zinc-400">
              {caption}: entry “{e.description || "no description"}”
              {e.reversesEntryId ? (
                <>
                  {" "}
                  reversing{" "}
                  <Link href={`/entries/${e.reversesEntryId}`} className={linkClass}>
                    entry {e.reversesEntryId}
                  </Link>
                </>
              ) : null}
            </caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={tableClass.th}>Account</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Debit</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Credit</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
              {e.postings.map((p, j) => (
                <tr key={j} className={tableClass.tr}>
                  <td className={`${tableClass.td} font-mono text-xs`}>
                    <Link href={`/accounts/${p.accountId}`} className={linkClass}>
                      {p.accountCode}
                    </Link>
                  </td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>{p.side === "debit" ? <Money amountMinor={p.amountMinor} currency={p.currency} /> : null}</td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>{p.side === "credit" ? <Money amountMinor={p.amountMinor} currency={p.currency} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}

      {preview.balances.length > 0 ? (
        <div className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="px-3 pt-2 text-left text-xs text-zinc-600 dark:text-zinc-400">Balances before and after approval</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={tableClass.th}>Account</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Posted before</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Posted after</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Available before</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Available after</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
              {preview.balances.map((b) => (
                <tr key={b.accountId} className={tableClass.tr}>
                  <th scope="row" className={`${tableClass.td} text-left font-mono text-xs font-normal`}>
                    <Link href={`/accounts/${b.accountId}`} className={linkClass}>
                      {b.accountCode}
                    </Link>
                    {b.isNoOverdraft ? <span className="ml-1 text-zinc-500">(no overdraft)</span> : null}
                  </th>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={b.before.postedMinor} currency={b.currency} />
                  </td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={b.after.postedMinor} currency={b.currency} />
                  </td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={b.before.availableMinor} currency={b.currency} />
                  </td>
                  <td className={`${tableClass.td} ${amountCellClass}`}>
                    <Money amountMinor={b.after.availableMinor} currency={b.currency} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {preview.holds.length > 0 ? (
        <ul className="text-sm">
          {preview.holds.map((h) => (
            <li key={h.holdId}>
              Hold <span className="font-mono text-xs">{h.holdId}</span> becomes {h.status} (<Money amountMinor={h.amountMinor} currency={h.currency} />)
            </li>
          ))}
        </ul>
      ) : null}

      {preview.changes.length > 0 ? (
        <div className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="px-3 pt-2 text-left text-xs text-zinc-600 dark:text-zinc-400">Changes</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={tableClass.th}>Setting</th>
                <th scope="col" className={tableClass.th}>Before</th>
                <th scope="col" className={tableClass.th}>After</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
              {preview.changes.map((c) => (
                <tr key={c.label} className={tableClass.tr}>
                  <th scope="row" className={`${tableClass.td} text-left font-normal`}>{c.label}</th>
                  <td className={tableClass.td}>{c.before}</td>
                  <td className={tableClass.td}>{c.after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
