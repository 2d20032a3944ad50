import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../../server/auth/session";
import { ACTIVE_STATES } from "../../../../server/transfers/state-machine";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { EmptyState, ErrorNotice, PageHeader, PagerLink, buttonClass, linkClass } from "../../../../components/ui";
import { StuckQueue } from "../../../../components/transfers/stuck-queue";
import { transfersHref, type RawParams } from "../../../../components/transfers/transfer-params";

export const metadata: Metadata = { title: "Stuck transfers" };

/** One page of the queue is at most what one bulk retry may select (MAX_BULK_RETRY). */
const QUEUE_PAGE_SIZE = 100;

function first(raw: RawParams, key: string): string | undefined {
  const v = raw[key];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s.slice(0, 500) : undefined;
}

export default async function StuckQueuePage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const raw = await searchParams;
  const cursor = first(raw, "cursor");
  const validCursor = cursor && /^[A-Za-z0-9_-]+$/.test(cursor) ? cursor : undefined;
  const actor = await requirePageActor("transfers:read", validCursor ? `/transfers/stuck?cursor=${validCursor}` : "/transfers/stuck");
  const caller = pageCaller(actor);
  const now = new Date();
  const [list, summary] = await Promise.all([
    caller.transfers.list({ isStuck: true, sort: "created_asc", limit: QUEUE_PAGE_SIZE, cursor: validCursor }).then(
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
        actions={
          <Link href={transfersHref({ isStuck: true, sort: "created_asc" })} className={buttonClass.secondary}>
            Filter in the transfers list
          </Link>
        }
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
          {validCursor ? (
            <Link href="/transfers/stuck" className="underline">
              Start again from the oldest
            </Link>
          ) : null}
        </ErrorNotice>
      ) : list.p.items.length === 0 ? (
        <EmptyState title={validCursor ? "No more stuck transfers" : "Nothing is stuck"}>
          <p>
            {validCursor
              ? "This is the end of the queue."
              : "Every active transfer is within its rail's time budget and none is waiting for an operator. Budgets per rail and state are set by admins (transfers.rails.update); transfers that exceed them appear here automatically."}
          </p>
        </EmptyState>
      ) : (
        <>
          <StuckQueue items={list.p.items} powers={powers} nowIso={now.toISOString()} />
          <nav aria-label="Queue pages" className="mt-3 flex items-center justify-end gap-2 text-sm">
            <PagerLink href={validCursor ? "/transfers/stuck" : null} rel="prev">
              Oldest first
            </PagerLink>
            <PagerLink href={list.p.nextCursor ? `/transfers/stuck?cursor=${encodeURIComponent(list.p.nextCursor)}` : null} rel="next">
              Next
            </PagerLink>
          </nav>
        </>
      )}
    </>
  );
}
