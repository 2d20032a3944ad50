import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { isActive, isTerminal } from "../../../../server/transfers/state-machine";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Card, FactList, PageHeader, formatUtc, linkClass } from "../../../../components/ui";
import { Money } from "../../../../components/ledger/money";
import { UUID_RE } from "../../../../components/ledger/ledger-params";
import { StuckBadge, TransferStateBadge, STATE_MEANING, formatDuration, secondsBetween, transferLabel } from "../../../../components/transfers/transfer-ui";
import { TransferTimeline } from "../../../../components/transfers/transfer-timeline";
import { LedgerSection, PartnerRequestsTable, TransferAuditTrail } from "../../../../components/transfers/transfer-sections";
import { TransferActions } from "../../../../components/transfers/transfer-actions";
import { LiveRefresh } from "../../../../components/transfers/live-refresh";
import { WebhooksSection } from "../../../../components/transfers/webhooks-section";
import { PriceExplanation } from "../../../../components/pricing/price-explanation";
import { BookingTable } from "../../../../components/pricing/booking-table";
import { traceIdOfTraceParent } from "../../../../server/observability/tracing";
import { CorrelationId } from "../../../../components/transfers/correlation-id";
import { ReconciliationSection } from "../../../../components/transfers/reconciliation-section";

export const metadata: Metadata = { title: "Transfer" };

export default async function TransferPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("transfers:read", `/transfers/${encodeURIComponent(id)}`);
  if (!UUID_RE.test(id)) notFound();
  const caller = pageCaller(actor);
  const detail = await caller.transfers.get({ transferId: id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!detail) notFound();
  const now = new Date();
  const t = detail.transfer;
  // Every role reads prices; the explanation is recomputed from the stored version and rule.
  let price: TransferPriceData | null = null;
  let priceError: string | null = null;
  if (actor.permissions.has("pricing:read")) {
    try {
      price = (await caller.pricing.explain({ transferId: t.id })).transfer ?? null;
    } catch (e) {
      priceError = callErrorMessage(e);
    }
  }
  const label = transferLabel(t);
  // Powers are decided here, on the server; client components only get booleans, and the API
  // checks every call again.
  const powers = { canOperate: actor.permissions.has("transfers:operate"), canPropose: actor.permissions.has("adjustments:propose") };
  const canApprove = actor.permissions.has("adjustments:approve");
  const hasActions = powers.canOperate || canApprove;
  const rails = await caller.transfers.rails.list().catch(() => []);
  const policy = rails.find((r) => r.partner === t.partner && r.rail === t.rail);
  const budgetSeconds = policy && isActive(t.state) ? policy.budgetSeconds[t.state] : null;
  const isMoving = isActive(t.state);
  // The statement lines that explain the settlement or return (read at display time).
  const recon = actor.permissions.has("recon:read")
    ? await caller.recon.matches.ofTransfer({ transferId: t.id }).then(
        (matches) => ({ matches, error: null }),
        (e: unknown) => ({ matches: [], error: callErrorMessage(e) }),
      )
    : null;

  const facts: [string, React.ReactNode][] = [
    ["Amount", <Money key="a" amountMinor={t.amountMinor} currency={t.currency} className="text-base font-semibold" />],
    ["Fee", <Money key="f" amountMinor={t.feeMinor} currency={t.currency} />],
    ...(t.conversion
      ? ([["Counterparty receives", <Money key="cv" amountMinor={t.conversion.convertedMinor} currency={t.conversion.currency} className="font-semibold" />]] as [string, React.ReactNode][])
      : []),
    [
      "State",
      <span key="s" className="flex flex-wrap items-center gap-2">
        <TransferStateBadge state={t.state} />
        <span className="text-xs text-zinc-600 dark:text-zinc-400">
          {STATE_MEANING[t.state]}; since {formatUtc(t.stateChangedAt)}
          {isMoving ? ` (${formatDuration(secondsBetween(t.stateChangedAt, now))}${budgetSeconds !== null ? ` of a ${formatDuration(budgetSeconds)} budget` : ""})` : ""}
        </span>
      </span>,
    ],
    ["Rail", t.rail],
    ["Partner", t.partner],
    ["Counterparty", <span key="c">{t.counterpartyName}</span>],
    ["Counterparty account", <span key="ca" className="font-mono text-xs">{t.counterpartyAccount}</span>],
    ["Reference", t.reference ? <span key="r" className="font-mono text-xs break-all">{t.reference}</span> : "—"],
    [
      "Source account",
      <Link key="src" href={`/accounts/${detail.sourceAccount.id}`} className={`${linkClass} font-mono text-xs`}>
        {detail.sourceAccount.code}
      </Link>,
    ],
    ["Partner reference", t.partnerRef ? <span key="pr" className="font-mono text-xs break-all">{t.partnerRef}</span> : "— (not accepted by the partner yet)"],
    ["Idempotency key", <span key="k" className="font-mono text-xs break-all">{t.idempotencyKey}</span>],
    ["Transfer id", <span key="id" className="font-mono text-xs break-all">{t.id}</span>],
    ["Correlation id", <CorrelationId key="corr" traceId={traceIdOfTraceParent(t.traceParent)} />],
    ["Created (UTC)", <span key="cr" className="font-mono text-xs">{`${formatUtc(t.createdAt)} by ${t.createdBy}`}</span>],
    ["Submission attempts", <span key="at" className="tabular-nums">{`${t.attempts}${policy ? ` of ${policy.maxSubmitAttempts}` : ""}`}</span>],
    ["Next attempt (UTC)", t.nextAttemptAt ? <span key="n" className="font-mono text-xs">{formatUtc(t.nextAttemptAt)}</span> : "—"],
  ];
  if (t.lastError) facts.push(["Last error", <span key="le" className="text-red-700 dark:text-red-400">{t.lastError}</span>]);
  if (Object.keys(t.metadata).length > 0) facts.push(["Metadata", <code key="m" className="font-mono text-xs break-all">{JSON.stringify(t.metadata)}</code>]);

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/transfers" className={linkClass}>
          ← Transfers
        </Link>
        {t.stuckForSeconds !== null ? (
          <>
            {" · "}
            <Link href="/transfers/stuck" className={linkClass}>
              Stuck queue
            </Link>
          </>
        ) : null}
      </p>
      <PageHeader
        title={label}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <Money amountMinor={t.amountMinor} currency={t.currency} className="text-base font-semibold text-zinc-900 dark:text-zinc-100" />
            <span>to {t.counterpartyName}</span>
            <TransferStateBadge state={t.state} />
            {t.stuckForSeconds !== null ? <StuckBadge stuckForSeconds={t.stuckForSeconds} /> : null}
          </span>
        }
        actions={isMoving ? <LiveRefresh label="Live" /> : null}
      />

      {t.stuckForSeconds !== null ? (
        <section
          aria-label="Stuck"
          className="mb-4 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100"
        >
          <h2 className="font-semibold">
            {t.stuckForSeconds > 0
              ? `Stuck: ${formatDuration(t.stuckForSeconds)} over the ${t.rail} rail's ${budgetSeconds !== null ? `${formatDuration(budgetSeconds)} ` : ""}budget for ${t.state}`
              : `Waiting for an operator while ${t.state}`}
          </h2>
          <p className="mt-1">{t.stuckReason}</p>
          <p className="mt-1 text-xs">
            {t.state === "created" || t.state === "reserved"
              ? "Retry submits it again with the same idempotency key (the partner cannot execute it twice); Query partner asks whether an earlier attempt arrived. Cancel or mark failed only once you know the partner does not have it."
              : "The partner has it: query the partner for its status. Settling or failing it by hand is a four-eyes decision: an operator proposes it with evidence, a different approver approves it."}
          </p>
        </section>
      ) : null}

      <FactList facts={facts} isWide />

      {hasActions ? (
        <Card title="Actions">
          <TransferActions transfer={{ id: t.id, label, state: t.state }} powers={powers} canApprove={canApprove} />
        </Card>
      ) : null}

      <Card title="State timeline">
        <TransferTimeline events={detail.events} state={t.state} stateChangedAt={t.stateChangedAt} createdAt={t.createdAt} now={now} />
        {isTerminal(t.state) ? <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">{t.state} is final: no further transition can happen.</p> : null}
      </Card>

      <Card title="Price">
        <TransferPrice price={price} error={priceError} canRead={actor.permissions.has("pricing:read")} />
      </Card>

      <Card title="Ledger">
        <LedgerSection detail={detail} />
      </Card>

      <Card title="Reconciliation">
        <ReconciliationSection recon={recon} state={t.state} />
      </Card>

      <Card title="Partner requests">
        <PartnerRequestsTable requests={detail.partnerRequests} partner={t.partner} />
      </Card>

      <Card title="Webhooks">
        <WebhooksSection events={detail.webhooks} partner={t.partner} canReplay={powers.canOperate} />
      </Card>

      {/* The API sends the audit trail only to callers holding audit:read (null otherwise). */}
      <TransferAuditTrail records={detail.audit ?? []} transferId={t.id} canRead={detail.audit !== null} />
    </>
  );
}

type TransferPriceData = NonNullable<Awaited<ReturnType<ReturnType<typeof pageCaller>["pricing"]["explain"]>>["transfer"]>;

/** What the transfer costs and why, line by line, and the entry that books it at settlement. */
function TransferPrice({ price, error, canRead }: { price: TransferPriceData | null; error: string | null; canRead: boolean }) {
  if (!canRead) return <p className="text-sm text-zinc-600 dark:text-zinc-400">Reading prices needs the pricing:read permission.</p>;
  if (error || !price) return <p className="text-sm text-red-700 dark:text-red-400">Could not explain this transfer&apos;s price: {error ?? "no answer"}</p>;
  const facts: [string, React.ReactNode][] = [
    ["Fee", <Money key="f" amountMinor={price.feeMinor} currency={price.currency} />],
    ["Source pays (the hold)", <Money key="t" amountMinor={price.totalDebitMinor} currency={price.currency} />],
    [
      "Fee schedule",
      price.schedule ? (
        <Link key="s" href={`/pricing/schedules/${encodeURIComponent(price.schedule.scheduleCode)}?version=${price.schedule.version}`} className={linkClass}>
          {`${price.schedule.scheduleCode} v${price.schedule.version} (rail ${price.schedule.rail})`}
        </Link>
      ) : (
        "none in force when it was created"
      ),
    ],
  ];
  if (price.conversion) {
    facts.push(["Counterparty receives", <Money key="c" amountMinor={price.conversion.convertedMinor} currency={price.conversion.currency} />]);
    facts.push(["Spread earned", <Money key="sp" amountMinor={price.conversion.spreadMinor} currency={price.conversion.currency} />]);
  }
  if (price.quoteId) facts.push(["Quote", <span key="q" className="font-mono text-xs">{price.quoteId}</span>]);
  return (
    <>
      <FactList facts={facts} />
      <PriceExplanation explanation={price.explanation} />
      <div className="mt-4">
        <BookingTable rows={price.booking} caption="The settlement entry: one entry, each currency balanced" />
      </div>
    </>
  );
}

