import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../server/auth/session";
import { pageCaller, callErrorMessage } from "../page-caller";
import { Badge, EmptyState, ErrorNotice, PageHeader, PagerLink, buttonClass, inputClass, labelClass, linkClass, tableClass } from "../../../components/ui";
import { Money, amountCellClass } from "../../../components/ledger/money";
import { INBOX_PAGE_SIZE, STATUSES, STATUS_TONE, VIEWS, formatDeadline, formatDuration, inboxHref, readInboxParams, type RawParams } from "../../../components/approvals/approvals-params";
import { InboxShortcuts } from "../../../components/approvals/inbox-shortcuts";

export const metadata: Metadata = { title: "Approvals" };

const EMPTY_TEXT: Record<string, string> = {
  waiting_for_me: "Nothing waits for your approval. Adjustments proposed by someone else appear here until they are applied, rejected, withdrawn or expire.",
  waiting_for_others: "None of the open proposals you proposed or already approved is waiting for someone else.",
  mine: "You have not proposed an adjustment. Use “New adjustment” to propose a correction; an approver other than you decides on it.",
  all: "Nothing has been proposed in this environment yet.",
};

export default async function ApprovalsPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const raw = await searchParams;
  const actor = await requirePageActor("adjustments:read", inboxHref(readInboxParams(raw, true)));
  const isApprover = actor.kind === "user" && actor.permissions.has("adjustments:approve");
  const params = readInboxParams(raw, isApprover);
  const canPropose = actor.permissions.has("adjustments:propose");
  const now = new Date();

  let page: Awaited<ReturnType<ReturnType<typeof pageCaller>["approvals"]["list"]>> | null = null;
  let error: string | null = null;
  try {
    page = await pageCaller(actor).approvals.list({ view: params.view, status: params.status, cursor: params.cursor, limit: INBOX_PAGE_SIZE });
  } catch (e) {
    error = callErrorMessage(e);
  }
  const views = VIEWS.filter((v) => isApprover || !v.needsApprover);

  return (
    <>
      <PageHeader
        title="Approvals"
        description="Manual adjustments proposed by one person and applied only when a different approver approves them; large amounts need two approvers."
        actions={
          <>
            <Link href="/approvals/policy" className={buttonClass.ghost}>
              Policy
            </Link>
            {isApprover || actor.permissions.has("users:manage") ? (
              <Link href="/settings/security" className={buttonClass.ghost}>
                {isApprover ? "Authenticator" : "Approver lock-outs"}
              </Link>
            ) : null}
            {canPropose ? (
              <Link href="/approvals/new" className={buttonClass.primary} aria-keyshortcuts="n">
                New adjustment <kbd className="rounded border border-current px-1 text-[10px] opacity-70">n</kbd>
              </Link>
            ) : null}
          </>
        }
      />
      <InboxShortcuts canPropose={canPropose} />

      <nav aria-label="Inbox views" className="mb-3 flex flex-wrap gap-1 border-b border-zinc-200 dark:border-zinc-800">
        {views.map((v) => (
          <Link
            key={v.key}
            href={inboxHref({ view: v.key, status: params.status })}
            aria-current={params.view === v.key ? "page" : undefined}
            className={`-mb-px border-b-2 px-3 py-2 text-sm ${params.view === v.key ? "border-zinc-900 font-semibold text-zinc-900 dark:border-zinc-100 dark:text-zinc-50" : "border-transparent text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100"}`}
          >
            {v.label}
          </Link>
        ))}
      </nav>

      <form method="get" action="/approvals" role="search" aria-label="Filter proposals" className="mb-4 flex flex-wrap items-end gap-2">
        <input type="hidden" name="view" value={params.view} />
        <div>
          <label htmlFor="approvals-status" className={labelClass}>
            Status
          </label>
          <select id="approvals-status" name="status" defaultValue={params.status ?? ""} className={`${inputClass} mt-1 w-40`}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className={buttonClass.secondary}>
          Apply filter
        </button>
        {params.status ? (
          <Link href={inboxHref({ view: params.view })} className={buttonClass.ghost}>
            Clear filter
          </Link>
        ) : null}
      </form>

      {error ? <ErrorNotice>Could not list proposals: {error}</ErrorNotice> : null}

      {page && page.items.length === 0 ? (
        <EmptyState title={params.cursor ? "No older proposals" : params.status ? "No proposals match" : "Nothing here"}>
          <p>{params.status ? `No ${params.status} proposal in this view. Clear the filter to see every status.` : EMPTY_TEXT[params.view]}</p>
        </EmptyState>
      ) : null}

      {page && page.items.length > 0 ? (
        <>
          <div className={tableClass.wrap}>
            <table className={tableClass.table}>
              <caption className="sr-only">Proposals, newest first</caption>
              <thead className="bg-zinc-50 dark:bg-zinc-900">
                <tr>
                  <th scope="col" className={tableClass.th}>Proposal</th>
                  <th scope="col" className={`${tableClass.th} text-right`}>Amount</th>
                  <th scope="col" className={tableClass.th}>Accounts</th>
                  <th scope="col" className={tableClass.th}>Proposed by</th>
                  <th scope="col" className={tableClass.th}>Age</th>
                  <th scope="col" className={tableClass.th}>Expires</th>
                  <th scope="col" className={tableClass.th}>Approvals</th>
                  <th scope="col" className={tableClass.th}>Status</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                {page.items.map((p) => (
                  <tr key={p.id} className={tableClass.tr} data-proposal-row="">
                    <td className={tableClass.td}>
                      <Link href={`/approvals/${p.id}`} className={linkClass}>
                        {p.summary}
                      </Link>
                      <div className="text-xs text-zinc-500 dark:text-zinc-400">
                        {p.kindLabel}
                        {p.hasFailure ? <span className="ml-2 text-red-700 dark:text-red-400">last approval failed</span> : null}
                      </div>
                    </td>
                    <td className={`${tableClass.td} ${amountCellClass}`}>
                      {p.amounts.length === 0 ? "—" : p.amounts.map((a) => <Money key={a.currency} amountMinor={a.amountMinor} currency={a.currency} className="block" />)}
                    </td>
                    <td className={`${tableClass.td} font-mono text-xs`}>{p.accountCodes.length === 0 ? "—" : p.accountCodes.join(", ")}</td>
                    <td className={tableClass.td}>{p.proposerLabel}</td>
                    <td className={`${tableClass.td} whitespace-nowrap`} title={p.createdAt.toISOString()}>
                      {formatDuration(now.getTime() - p.createdAt.getTime())}
                    </td>
                    <td className={`${tableClass.td} whitespace-nowrap`} title={p.expiresAt.toISOString()}>
                      {p.status === "open" ? formatDeadline(p.expiresAt, now) : "—"}
                    </td>
                    <td className={tableClass.td}>
                      {p.approvals}/{p.requiredApprovals}
                    </td>
                    <td className={tableClass.td}>
                      <Badge tone={STATUS_TONE[p.status]}>{p.status}</Badge>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Pages" className="mt-3 flex gap-2">
            <PagerLink href={params.cursor ? inboxHref({ view: params.view, status: params.status }) : null} rel="prev">
              Newest
            </PagerLink>
            <PagerLink href={page.nextCursor ? inboxHref({ ...params, cursor: page.nextCursor }) : null} rel="next">
              Older
            </PagerLink>
          </nav>
        </>
      ) : null}
    </>
  );
}
