import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../page-access";
import { ACTIVE_STATES } from "../../../../server/transfers/state-machine";
import { TRANSFER_PAGE_MAX } from "../../../../server/transfers/queries";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { EmptyState, ErrorNotice, PageHeader, linkClass } from "../../../../components/ui";
import { ButtonLink } from "../../../../components/kit/button";
import { ListNavigation } from "../../../../components/kit/list-navigation";
import { defineUrlState, param } from "../../../../components/kit/url-state";
import { StuckQueue } from "../../../../components/transfers/stuck-queue";
import { transfersHref, type RawParams } from "../../../../components/transfers/transfer-params";

export const metadata: Metadata = { title: "Stuck transfers" };

/** One page of the queue is at most what one bulk retry may select (MAX_BULK_RETRY). */
const QUEUE_PAGE_SIZE = 100;

const queueState = defineUrlState("/transfers/stuck", { cursor: param.cursor({ pattern: /^[A-Za-z0-9_-]+$/ }) });

export default async function StuckQueuePage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const { cursor } = queueState.read(await searchParams);
  const actor = await requirePageActor("transfers:read", queueState.href({ cursor }));
  const caller = pageCaller(actor);
  const now = new Date();
  const query = { isStuck: true, sort: "created_asc" as const, limit: QUEUE_PAGE_SIZE };
  const [list, summary] = await Promise.all([
    caller.transfers.list({ ...query, cursor }).then(
      (p) => ({ ok: true as const, p }),
      (e: unknown) => ({ ok: false as const, error: callErrorMessage(e) }),
    ),
    caller.transfers.stuckSummary().catch(() => null),
  ]);
  const powers = { canOperate: actor.permissions.has("transfers:operate"), canPropose: actor.permissions.has("adjustments:propose") };

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/transfers" className={linkClass}>
          ← Transfers
        </Link>
      </p>
      <PageHeader
        title="Stuck transfers"
        description="Transfers over their state's time budget on their rail, or waiting for an operator's decision, oldest first. Every action asks for a reason and is audited; nothing changes on screen until the server confirms."
        actions={<ButtonLink href={transfersHref({ isStuck: true, sort: "created_asc" })}>Filter in the transfers list</ButtonLink>}
      />

      {summary ? (
        <section aria-label="Stuck summary" className="mb-4 flex flex-wrap gap-3 text-sm">
          <p className="rounded-md border border-zinc-200 bg-white px-3 py-2 dark:border-zinc-800 dark:bg-zinc-900">
            <span className="text-lg font-semibold tabular-nums">{summary.total}</span> stuck
          </p>
          <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-950 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100">
            <span className="text-lg font-semibold tabular-nums">{summary.needsAttention}</span> waiting for an operator decision
          </p>
          {ACTIVE_STATES.map((s) => (
            <p key={s} className="rounded-md border border-zinc-200 bg-white px-3 py-2 dark:border-zinc-800 dark:bg-zinc-900">
              <span className="font-semibold tabular-nums">{summary.byState[s] ?? 0}</span> {s}
            </p>
          ))}
        </section>
      ) : null}

      {!list.ok ? (
        <ErrorNotice>
          Could not read the stuck queue: {list.error}{" "}
          {cursor ? (
            <Link href="/transfers/stuck" className="underline">
              Start again from the oldest
            </Link>
          ) : null}
        </ErrorNotice>
      ) : list.p.items.length === 0 ? (
        <EmptyState title={cursor ? "No more stuck transfers" : "Nothing is stuck"}>
          <p>
            {cursor
              ? "This is the end of the queue."
              : "Every active transfer is within its rail's time budget and none is waiting for an operator. Budgets per rail and state are set by admins (transfers.rails.update); transfers that exceed them appear here automatically."}
          </p>
        </EmptyState>
      ) : (
        <ListNavigation>
          <StuckQueue
            page={list.p}
            powers={powers}
            now={now}
            firstHref={cursor ? queueState.href({}) : null}
            nextHref={list.p.nextCursor ? queueState.href({ cursor: list.p.nextCursor }) : null}
            exportQuery={{ ...query, limit: TRANSFER_PAGE_MAX }}
          />
        </ListNavigation>
      )}
    </>
  );
}
