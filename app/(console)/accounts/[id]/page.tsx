import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Badge, FactList, Card, EmptyState, PageHeader, linkClass, formatUtc } from "../../../../components/ui";
import { Money } from "../../../../components/ledger/money";
import { ButtonLink } from "../../../../components/kit/button";
import { FilterForm, FilterText } from "../../../../components/kit/filter-form";
import { ListNavigation } from "../../../../components/kit/list-navigation";
import { HoldsTable, PostingsTable } from "../../../../components/ledger/account-tables";
import { BalanceChart } from "../../../../components/ledger/balance-chart";
import { FreezeButton } from "../../../../components/ledger/freeze-button";
import { POSTINGS_PAGE_SIZE, RANGES, UUID_RE, accountHref, readAccountViewParams, resolveRange, type RawParams } from "../../../../components/ledger/ledger-params";

export const metadata: Metadata = { title: "Account" };

const CHART_POINTS = 120;

export default async function AccountPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<RawParams> }) {
  const { id } = await params;
  const view = readAccountViewParams(await searchParams);
  const actor = await requirePageActor("ledger:read", accountHref(id, view));
  if (!UUID_RE.test(id)) notFound();
  const api = pageCaller(actor).ledger;
  const account = await api.accounts.get({ id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!account) notFound();
  const canManage = actor.permissions.has("accounts:manage");

  // The postings cursor is a posting id: the page shows postings with a smaller id (newest first).
  // listPostings is `WHERE account_id = $1 AND id < $cursor ORDER BY id DESC LIMIT n`: an index
  // range scan backwards from the cursor, so a deep page costs the same as the first one. EXPLAIN
  // ANALYZE with 600k postings (2026-11, PostgreSQL 18): Limit → Nested Loop → Index Scan Backward
  // (on the (account_id, id) index for an account with a small share of the postings; the planner
  // picks postings_pkey filtered by account when the account holds most rows, which reads the same
  // ~page-size rows) → Memoize → journal_entries_pkey lookup; 0.4 ms for a page in the middle. No
  // sort, no OFFSET.
  const cursor = view.before && /^[1-9]\d{0,18}$/.test(view.before) ? BigInt(view.before) : undefined;
  const range = resolveRange(view, new Date());
  const [history, postings, holds] = await Promise.all([
    range.error === null
      ? api.balances.history({ accountId: id, from: range.from, to: range.to, points: CHART_POINTS }).then(
          (h) => ({ ok: true as const, h }),
          (e: unknown) => ({ ok: false as const, error: callErrorMessage(e) }),
        )
      : Promise.resolve({ ok: false as const, error: range.error }),
    api.postings.list({ accountId: id, cursor, limit: POSTINGS_PAGE_SIZE }),
    api.holds.list({ accountId: id, limit: 50 }),
  ]);

  // Holds name the other account by id; show its code (a page has at most 50 holds, few distinct).
  const otherIds = [...new Set(holds.map((h) => (h.debitAccountId === id ? h.creditAccountId : h.debitAccountId)))];
  const otherCodes = new Map(
    await Promise.all(otherIds.map(async (o) => [o, await api.accounts.get({ id: o }).then((a) => a.code, () => o)] as const)),
  );

  const b = account.balance;
  const facts: [string, React.ReactNode][] = [
    ["Status", account.status === "frozen" ? <Badge key="s" tone="bad">Frozen</Badge> : <Badge key="s" tone="good">Active</Badge>],
    ["Type", `${account.type} (${account.normalSide}-normal)`],
    ["Currency", account.currency],
    ["No overdraft", account.isNoOverdraft ? "Yes" : "No"],
    ["Version", <span key="v" className="font-mono">{b.version?.toString() ?? "—"}</span>],
    ["Opened (UTC)", <span key="o" className="font-mono text-xs">{formatUtc(account.createdAt)}</span>],
  ];

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/accounts" className={linkClass}>
          ← Accounts
        </Link>
      </p>
      <PageHeader
        title={account.code}
        description={account.name}
        actions={canManage ? <FreezeButton accountId={account.id} code={account.code} status={account.status} /> : null}
      />

      <section aria-label="Balances" className="mb-4 grid grid-cols-1 gap-3 sm:grid-cols-3">
        {(
          [
            ["Posted", b.postedMinor, "Sum of all postings"],
            ["Pending", b.pendingMinor, "Reserved by open holds"],
            ["Available", b.availableMinor, "Posted minus pending"],
          ] as const
        ).map(([label, amount, hint]) => (
          <div key={label} className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
            <h2 className="text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{label} balance</h2>
            <p className="mt-1 text-lg">
              <Money amountMinor={amount} currency={account.currency} />
            </p>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">{hint}</p>
          </div>
        ))}
      </section>

      <FactList facts={facts} isWide />

      <Card
        title="Balance history"
        actions={
          <nav aria-label="Chart range" className="flex gap-1">
            {RANGES.map((r) => (
              <ButtonLink key={r} href={accountHref(id, { range: r })} variant="ghost" isCurrent={view.range === r}>
                {r === "all" ? "All" : r}
              </ButtonLink>
            ))}
          </nav>
        }
      >
        <FilterForm action={`/accounts/${id}`} label="Custom chart range" submitLabel="Show range" isBare>
          <FilterText name="from" label="From (UTC)" value={view.from} placeholder="2026-11-01T00:00" className="w-48" />
          <FilterText name="to" label="To (UTC)" value={view.to} placeholder="now" className="w-48" />
        </FilterForm>
        {history.ok ? (
          <BalanceChart
            title={`Posted balance history of ${account.code}`}
            currency={account.currency}
            points={history.h.points.map((p) => ({ at: p.at.toISOString(), postedMinor: p.postedMinor }))}
          />
        ) : (
          <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
            Could not draw the balance history: {history.error}
          </p>
        )}
      </Card>

      <Card title="Postings">
        <ListNavigation>
          <PostingsTable
            accountId={account.id}
            accountCode={account.code}
            postings={postings}
            newestHref={cursor ? accountHref(id, { ...view, before: undefined }) : null}
            olderHref={postings.nextCursor ? accountHref(id, { ...view, before: postings.nextCursor.toString() }) : null}
            empty={
              <EmptyState title={cursor ? "No older postings" : "No postings yet"}>
                <p>{cursor ? "This is the end of the account's history." : "Nothing has been posted to this account. Entries posted through the API or by transfers appear here, newest first."}</p>
              </EmptyState>
            }
          />
        </ListNavigation>
      </Card>

      <Card title="Holds">
        <HoldsTable
          accountId={account.id}
          accountCode={account.code}
          holds={holds}
          otherCodes={Object.fromEntries(otherCodes)}
          empty={
            <EmptyState title="No holds">
              <p>No hold has been placed on this account. Holds reserve funds (pending balance) until they are posted, voided or expire.</p>
            </EmptyState>
          }
        />
      </Card>
    </>
  );
}
