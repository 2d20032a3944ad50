/**
 * Sections of the transfer page that only read: the ledger effect (hold and entries), the partner
 * calls, and the audit trail. Server components.
 */
import Link from "next/link";
import type { TransferDetail } from "../../server/transfers/queries";
import { Money, amountCellClass } from "../ledger/money";
import { Badge, EmptyState, formatUtc, linkClass, tableClass } from "../ui";
import { JsonBlock } from "./json-block";
import { formatMs } from "./transfer-ui";

export function LedgerSection({ detail }: { detail: TransferDetail }) {
  const { transfer: t, hold, entries } = detail;
  const entryRole = (id: string) => (id === t.settlementEntryId ? "Settlement entry" : id === t.returnEntryId ? "Return entry (reversal)" : "Entry");
  return (
    <>
      {hold ? (
        <div className={`${tableClass.wrap} mb-3`}>
          <table className={tableClass.table}>
            <caption className="sr-only">The transfer&apos;s hold on its source account</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                <th scope="col" className={tableClass.th}>Hold</th>
                <th scope="col" className={tableClass.th}>Status</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Held</th>
                <th scope="col" className={`${tableClass.th} text-right`}>Posted</th>
                <th scope="col" className={tableClass.th}>Expires (UTC)</th>
                <th scope="col" className={tableClass.th}>Ended (UTC)</th>
              </tr>
            </thead>
            <tbody>
              <tr className={tableClass.tr}>
                <td className={`${tableClass.td} font-mono text-xs`}>{hold.id}</td>
                <td className={tableClass.td}>
                  <Badge tone={hold.status === "pending" ? "info" : hold.status === "posted" ? "good" : "neutral"}>{hold.status}</Badge>
                </td>
                <td className={`${tableClass.td} ${amountCellClass}`}>
                  <Money amountMinor={hold.amountMinor} currency={t.currency} />
                </td>
                <td className={`${tableClass.td} ${amountCellClass}`}>
                  <Money amountMinor={hold.amountPostedMinor} currency={t.currency} />
                </td>
                <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(hold.expiresAt)}</td>
                <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(hold.endedAt)}</td>
              </tr>
            </tbody>
          </table>
        </div>
      ) : (
        <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">No hold: the transfer never reserved funds (it ended before reservation, or is still being created).</p>
      )}
      {entries.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {t.state === "settled" || t.state === "returned" ? "The settlement entry could not be read." : "Nothing posted yet: the hold is posted as a journal entry when the transfer settles; a return posts its reversal."}
        </p>
      ) : (
        entries.map((e) => (
          <div key={e.id} className="mb-3">
            <h3 className="mb-1 text-sm font-medium text-zinc-800 dark:text-zinc-200">
              {entryRole(e.id)}{" "}
              <Link href={`/entries/${e.id}`} className={`${linkClass} font-mono text-xs`}>
                {e.id}
              </Link>{" "}
              <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">effective {formatUtc(e.effectiveAt)}</span>
            </h3>
            <div className={tableClass.wrap}>
              <table className={tableClass.table}>
                <caption className="sr-only">Postings of the {entryRole(e.id).toLowerCase()}</caption>
                <thead className="bg-zinc-50 dark:bg-zinc-900">
                  <tr>
                    <th scope="col" className={tableClass.th}>Account</th>
                    <th scope="col" className={tableClass.th}>Side</th>
                    <th scope="col" className={`${tableClass.th} text-right`}>Amount</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                  {e.postings.map((p) => (
                    <tr key={p.id.toString()} className={tableClass.tr}>
                      <td className={`${tableClass.td} font-mono text-xs`}>
                        <Link href={`/accounts/${p.accountId}`} className={linkClass}>
                          {p.accountCode}
                        </Link>
                      </td>
                      <td className={tableClass.td}>{p.side}</td>
                      <td className={`${tableClass.td} ${amountCellClass}`}>
                        <Money amountMinor={p.amountMinor} currency={p.currency} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        ))
      )}
    </>
  );
}

export function PartnerRequestsTable({ requests, partner }: { requests: TransferDetail["partnerRequests"]; partner: string }) {
  if (requests.length === 0) {
    return (
      <EmptyState title="No partner calls yet">
        <p>The worker has not called {partner} for this transfer. Submissions and status queries appear here with their request, response, outcome and duration.</p>
      </EmptyState>
    );
  }
  return (
    <div className={tableClass.wrap}>
      <table className={tableClass.table}>
        <caption className="sr-only">Calls to {partner} for this transfer, oldest first</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={tableClass.th}>Started (UTC)</th>
            <th scope="col" className={tableClass.th}>Kind</th>
            <th scope="col" className={`${tableClass.th} text-right`}>Attempt</th>
            <th scope="col" className={tableClass.th}>Outcome</th>
            <th scope="col" className={`${tableClass.th} text-right`}>HTTP</th>
            <th scope="col" className={`${tableClass.th} text-right`}>Duration</th>
            <th scope="col" className={tableClass.th}>Request and response</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {requests.map((r) => (
            <tr key={r.id} className={tableClass.tr}>
              <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(r.startedAt)}</td>
              <td className={tableClass.td}>{r.kind}</td>
              <td className={`${tableClass.td} text-right tabular-nums`}>{r.attempt}</td>
              <td className={tableClass.td}>
                {r.outcome ? <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge> : <Badge tone="info">{r.finishedAt ? "no outcome" : "in flight"}</Badge>}
                {r.error ? <p className="mt-1 max-w-xs text-xs text-red-700 dark:text-red-400">{r.error}</p> : null}
              </td>
              <td className={`${tableClass.td} text-right font-mono text-xs`}>{r.httpStatus ?? "—"}</td>
              <td className={`${tableClass.td} text-right text-xs whitespace-nowrap tabular-nums`}>{formatMs(r.durationMs)}</td>
              <td className={`${tableClass.td} space-y-1`}>
                <JsonBlock summary={`Request #${r.id}`} value={r.request} />
                <JsonBlock summary={`Response #${r.id}`} value={r.response} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function outcomeTone(outcome: string): "good" | "bad" | "info" | "neutral" {
  if (/accepted|ok|settled|acknowledged|submitted/.test(outcome)) return "good";
  if (/rejected|failed|error/.test(outcome)) return "bad";
  if (/unknown|timeout|retryable|unavailable/.test(outcome)) return "info";
  return "neutral";
}

export function AuditTrail({ records, transferId }: { records: TransferDetail["audit"]; transferId: string }) {
  const allHref = `/audit?targetType=transfer&targetId=${encodeURIComponent(transferId)}`;
  if (records.length === 0) {
    return (
      <EmptyState title="No audit records">
        <p>
          No person or service has acted on this transfer by hand; the worker&apos;s own steps are in the timeline. Actions taken here are recorded with their reason.{" "}
          <Link href={allHref} className={linkClass}>
            Search the audit log
          </Link>
        </p>
      </EmptyState>
    );
  }
  return (
    <>
      <div className={tableClass.wrap}>
        <table className={tableClass.table}>
          <caption className="sr-only">Audit records of this transfer, newest first</caption>
          <thead className="bg-zinc-50 dark:bg-zinc-900">
            <tr>
              <th scope="col" className={tableClass.th}>Time (UTC)</th>
              <th scope="col" className={tableClass.th}>Actor</th>
              <th scope="col" className={tableClass.th}>Action</th>
              <th scope="col" className={tableClass.th}>Reason</th>
              <th scope="col" className={tableClass.th}>
                <span className="sr-only">Record</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {records.map((r) => (
              <tr key={r.id} className={tableClass.tr}>
                <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(r.createdAt)}</td>
                <td className={`${tableClass.td} text-xs`}>
                  {r.actorLabel} <Badge tone={r.actorType === "user" ? "neutral" : "info"}>{r.actorType}</Badge>
                </td>
                <td className={`${tableClass.td} font-mono text-xs`}>{r.action}</td>
                <td className={`${tableClass.td} max-w-sm text-xs`}>{r.reason ?? <span className="text-zinc-400">—</span>}</td>
                <td className={`${tableClass.td} text-right`}>
                  <Link href={`/audit/${r.id}`} className={linkClass}>
                    Audit record {r.id}
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="mt-2 text-sm">
        <Link href={allHref} className={linkClass}>
          All audit records for this transfer
        </Link>
      </p>
    </>
  );
}
