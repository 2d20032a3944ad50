import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { MAX_PAGE_SIZE } from "../../../server/approvals/queries";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, PageHeader } from "../../../components/ui";
import { ButtonLink } from "../../../components/kit/button";
import { FilterForm, FilterSelect } from "../../../components/kit/filter-form";
import { ListNavigation } from "../../../components/kit/list-navigation";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { INBOX_PAGE_SIZE, STATUSES, VIEWS, inboxHref, readInboxParams, type RawParams } from "../../../components/approvals/approvals-params";
import { InboxTable } from "../../../components/approvals/inbox-table";

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
  const query = { view: params.view, status: params.status };

  let page: RouterOutputs["approvals"]["list"] | null = null;
  let error: string | null = null;
  try {
    page = await pageCaller(actor).approvals.list({ ...query, cursor: params.cursor, limit: INBOX_PAGE_SIZE });
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
            <ButtonLink href="/approvals/policy" variant="ghost">
              Policy
            </ButtonLink>
            {isApprover || actor.permissions.has("users:manage") ? (
              <ButtonLink href="/settings/security" variant="ghost">
                {isApprover ? "Authenticator" : "Approver lock-outs"}
              </ButtonLink>
            ) : null}
            {canPropose ? (
              <ButtonLink href="/approvals/new" variant="primary" aria-keyshortcuts="n">
                New adjustment <kbd className="rounded border border-current px-1 text-[10px] opacity-70">n</kbd>
              </ButtonLink>
            ) : null}
          </>
        }
      />

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

      <ListNavigation>
        <FilterForm action="/approvals" label="Filter proposals" hidden={{ view: params.view }} clearHref={inboxHref({ view: params.view })} hasFilters={Boolean(params.status)} submitLabel="Apply filter" isBare>
          <FilterSelect name="status" label="Status" value={params.status} anyLabel="Any status" options={STATUSES} className="w-40" />
        </FilterForm>

        {error ? <ErrorNotice>Could not list proposals: {error}</ErrorNotice> : null}

        {page ? (
          <InboxTable
            page={page}
            params={params}
            now={now}
            canPropose={canPropose}
            exportQuery={{ ...query, limit: MAX_PAGE_SIZE }}
            empty={
              <EmptyState title={params.cursor ? "No older proposals" : params.status ? "No proposals match" : "Nothing here"}>
                <p>{params.status ? `No ${params.status} proposal in this view. Clear the filter to see every status.` : EMPTY_TEXT[params.view]}</p>
              </EmptyState>
            }
          />
        ) : null}
      </ListNavigation>
    </>
  );
}
