import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Badge, Card, FactList, PageHeader, formatUtc, linkClass } from "../../../../components/ui";
import { Money } from "../../../../components/ledger/money";
import { AuditTrail } from "../../../../components/kit/audit-trail";
import { BreakWorkbench } from "../../../../components/recon/break-workbench";
import { BREAK_TYPE_LABEL } from "../../../../components/recon/break-params";
import { CorrelationId } from "../../../../components/transfers/correlation-id";

export const metadata: Metadata = { title: "Break" };

export default async function BreakPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("recon:read", `/breaks/${id}`);
  const caller = pageCaller(actor);
  const detail = await caller.recon.breaks.get({ breakId: id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND" || (e as { code?: string }).code === "BAD_REQUEST") return null;
    throw e;
  });
  if (!detail) notFound();
  const canAudit = actor.permissions.has("audit:read");
  const audit = canAudit ? await caller.audit.list({ targetType: "recon_break", targetId: detail.id, limit: 50 }).then((p) => ({ items: p.items, error: null }), (e: unknown) => ({ items: [], error: callErrorMessage(e) })) : { items: [], error: null };
  const signed = detail.direction === "debit" ? -detail.amountMinor : detail.amountMinor;
  return (
    <>
      <PageHeader
        title={`${BREAK_TYPE_LABEL[detail.type]}: ${detail.sourceName}`}
        description={(detail.detail["message"] as string | undefined) ?? "A statement line or ledger posting that did not reconcile."}
        actions={
          <Link href="/breaks" className={linkClass}>
            Back to the queue
          </Link>
        }
      />
      <div className="mb-4 grid gap-4 md:grid-cols-3">
        <Card title="Break">
          <FactList
            facts={[
              ["Status", <Badge key="s" tone={detail.status === "resolved" ? "good" : detail.status === "timing" ? "info" : "bad"}>{detail.status === "timing" ? "timing difference" : detail.status}</Badge>],
              ["Amount", <Money key="a" amountMinor={signed} currency={detail.currency} />],
              ["Business date", detail.occurredOn],
              ["Age", `${detail.ageDays} days (${detail.ageBucket})`],
              ["Assignee", detail.assigneeLabel ?? "unassigned"],
              ["Opened (UTC)", formatUtc(detail.openedAt)],
              ...(detail.deadlineAt ? ([["Deadline (UTC)", formatUtc(detail.deadlineAt)]] as const) : []),
              ...(detail.escalatedAt ? ([["Escalated (UTC)", formatUtc(detail.escalatedAt)]] as const) : []),
              ...(detail.resolution ? ([["Resolution", `${detail.resolution} by ${detail.resolvedBy ?? "?"} at ${formatUtc(detail.resolvedAt)}`]] as const) : []),
              ...(detail.writeOffProposalId ? ([["Write-off proposal", <Link key="w" href={`/approvals/${detail.writeOffProposalId}`} className={linkClass}>{detail.writeOffProposalId.slice(0, 8)}</Link>]] as const) : []),
              ...(detail.suspenseProposalId ? ([["Suspense correction proposal", <Link key="s" href={`/approvals/${detail.suspenseProposalId}`} className={linkClass}>{detail.suspenseProposalId.slice(0, 8)}</Link>]] as const) : []),
              ...(detail.transferId ? ([["Transfer", <Link key="t" href={`/transfers/${detail.transferId}`} className={linkClass}>{detail.transferId.slice(0, 8)}</Link>]] as const) : []),
            ]}
          />
        </Card>
        <Card title="Statement side">
          {detail.line ? (
            <FactList
              facts={[
                ["Amount", <Money key="a" amountMinor={detail.line.direction === "debit" ? -detail.line.amountMinor : detail.line.amountMinor} currency={detail.line.currency} />],
                ["Statement", `${detail.line.statementRef}, ${detail.line.place}`],
                ["Booked / value", `${detail.line.bookingDate} / ${detail.line.valueDate ?? "—"}`],
                ["End-to-end id", detail.line.endToEndId ?? "—"],
                ["Bank reference", detail.line.accountServicerReference ?? "—"],
                ["Remittance", detail.line.remittanceInfo ?? "—"],
                ["Counterparty", [detail.line.counterpartyName, detail.line.counterpartyAccount].filter(Boolean).join(", ") || "—"],
              ]}
            />
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{detail.posting ? "No statement line: the statement does not show this posting." : "A statement-level break (no single line)."}</p>
          )}
        </Card>
        <Card title="Ledger side">
          {detail.posting ? (
            <FactList
              facts={[
                ["Amount", <Money key="a" amountMinor={detail.posting.direction === "debit" ? -detail.posting.amountMinor : detail.posting.amountMinor} currency={detail.posting.currency} />],
                ["Entry", <Link key="e" href={`/entries/${detail.posting.entryId}`} className={linkClass}>{detail.posting.description || detail.posting.entryId.slice(0, 8)}</Link>],
                ["Effective (UTC)", formatUtc(detail.posting.effectiveAt)],
                ["Transfer", detail.posting.transferId ? `${detail.posting.transferReference ?? detail.posting.transferId.slice(0, 8)} (${detail.posting.transferState})` : "—"],
              ]}
            />
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{detail.line ? "No ledger posting matches this line yet." : "—"}</p>
          )}
        </Card>
      </div>
      {detail.transfers.length > 0 ? (
        <Card title="Transfers and traces">
          <ul className="space-y-2 text-sm">
            {detail.transfers.map((t) => (
              <li key={t.transferId} className="flex flex-wrap items-center gap-x-3 gap-y-1">
                <Link href={`/transfers/${t.transferId}`} className={linkClass}>
                  {t.reference || t.transferId.slice(0, 8)}
                </Link>
                <Badge tone="neutral">{t.state}</Badge>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">
                  {t.via === "break" ? "named by this break" : t.via === "posting" ? "this break's posting is its entry" : `explained by match #${t.matchId}`}
                </span>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">correlation id</span>
                <CorrelationId traceId={t.traceId} label={t.reference || t.transferId} />
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      <BreakWorkbench
        detail={detail}
        canOperate={actor.permissions.has("recon:operate")}
        canProposeWriteOff={actor.permissions.has("adjustments:propose")}
        canProposeTransfer={actor.permissions.has("transfers:operate")}
        isUser={actor.kind === "user"}
      />
      <Card title="Timeline">
        <ol className="space-y-2 text-sm">
          {detail.events.map((e) => (
            <li key={e.id} className="flex flex-wrap gap-x-3">
              <span className="font-mono text-xs text-zinc-500">{formatUtc(e.createdAt)}</span>
              <span className="font-medium">{e.kind.replace(/_/g, " ")}</span>
              <span className="text-zinc-600 dark:text-zinc-400">by {e.actorLabel}</span>
              {e.note ? <span>“{e.note}”</span> : null}
            </li>
          ))}
        </ol>
      </Card>
      <div className="mt-4">
        <AuditTrail
          records={audit.items}
          canRead={canAudit}
          error={audit.error}
          caption="Audit records of this break, newest first"
          emptyText="No person has acted on this break yet; what the matching did is in the timeline."
          allHref={`/audit?targetType=recon_break&targetId=${encodeURIComponent(detail.id)}`}
          allLabel="All audit records for this break"
        />
      </div>
    </>
  );
}
