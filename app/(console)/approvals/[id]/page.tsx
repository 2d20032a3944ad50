import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Badge, Card, FactList, PageHeader, linkClass, formatUtc } from "../../../../components/ui";
import { AuditTrail, type AuditTrailRecord } from "../../../../components/kit/audit-trail";
import { auditHref } from "../../../../components/audit/audit-filters";
import { Money } from "../../../../components/ledger/money";
import { UUID_RE } from "../../../../components/ledger/ledger-params";
import { PreviewView } from "../../../../components/approvals/preview-view";
import { DecisionPanel } from "../../../../components/approvals/decision-panel";
import { CommentForm } from "../../../../components/approvals/comment-form";
import { SimulationPanel } from "../../../../components/pricing/simulation";
import { STATUS_TONE, formatDeadline, formatDuration } from "../../../../components/approvals/approvals-params";

export const metadata: Metadata = { title: "Proposal" };

const LINK_HREF: Record<string, (id: string) => string> = {
  fee_schedule: (id) => `/pricing/schedules/${encodeURIComponent(id)}`,
  fx_rate: (id) => `/pricing/rates?currency=${encodeURIComponent(id.split(":")[0] ?? "")}&to=${encodeURIComponent(id.split(":")[1] ?? "")}`,
  ledger_account: (id) => `/accounts/${id}`,
  journal_entry: (id) => `/entries/${id}`,
  transfer: (id) => `/transfers/${id}`,
  approval_policy: () => "/approvals/policy",
};

export default async function ProposalPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("adjustments:read", `/approvals/${encodeURIComponent(id)}`);
  if (!UUID_RE.test(id)) notFound();
  const caller = pageCaller(actor);
  const p = await caller.approvals.get({ id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!p) notFound();
  const now = new Date();
  const isApproverUser = actor.kind === "user" && actor.permissions.has("adjustments:approve");
  const stepUp = isApproverUser ? await caller.approvals.stepUp.status() : null;

  const canReadAudit = actor.permissions.has("audit:read");
  let audit: AuditTrailRecord[] = [];
  let auditError: string | null = null;
  if (canReadAudit) {
    try {
      audit = (await caller.audit.list({ targetType: "adjustment_proposal", targetId: p.id, limit: 100 })).items.reverse();
    } catch (e) {
      auditError = callErrorMessage(e);
    }
  }

  const facts: [string, React.ReactNode][] = [
    ["Status", <Badge key="s" tone={STATUS_TONE[p.status]}>{p.status}</Badge>],
    ["Kind", p.kindLabel],
    [
      "Amount",
      p.amounts.length === 0 ? "No money moves" : (
        <span key="a">
          {p.amounts.map((a) => (
            <Money key={a.currency} amountMinor={a.amountMinor} currency={a.currency} className="mr-3" />
          ))}
        </span>
      ),
    ],
    ["Proposed by", `${p.proposer.label}${p.proposer.type === "service" ? " (service key)" : ""}`],
    ["Proposed (UTC)", <span key="c" className="font-mono text-xs">{formatUtc(p.createdAt)} ({formatDuration(now.getTime() - p.createdAt.getTime())} ago)</span>],
    ["Expires (UTC)", <span key="e" className="font-mono text-xs">{formatUtc(p.expiresAt)}{p.status === "open" ? ` (${formatDeadline(p.expiresAt, now)})` : ""}</span>],
    ["Approvals", `${p.approvals.length} of ${p.requiredApprovals}`],
    ["Reason", <span key="r" className="whitespace-pre-wrap">{p.reason}</span>],
    [
      "Evidence",
      p.evidenceUrl || p.evidence.length > 0 ? (
        <span key="ev" className="flex flex-col gap-1">
          {p.evidenceUrl ? (
            <a href={p.evidenceUrl} className={linkClass} target="_blank" rel="noopener noreferrer nofollow">
              {p.evidenceUrl}
            </a>
          ) : null}
          {p.evidence.map((f) => (
            <a key={f.id} href={`/approvals/${p.id}/evidence/${f.id}`} className={linkClass} download>
              {f.fileName} ({f.sizeBytes.toLocaleString("en-GB")} bytes, sha256 {f.sha256.slice(0, 12)}…)
            </a>
          ))}
        </span>
      ) : (
        "None attached"
      ),
    ],
    [
      "Concerns",
      p.links.length === 0 ? "—" : (
        <span key="l" className="flex flex-wrap gap-x-3">
          {p.links.map((l) => {
            const href = LINK_HREF[l.type]?.(l.id);
            const text = l.label ?? `${l.type.replace(/_/g, " ")} ${l.id}`;
            return href ? (
              <Link key={`${l.type}:${l.id}`} href={href} className={`${linkClass} font-mono text-xs`}>
                {text}
              </Link>
            ) : (
              <span key={`${l.type}:${l.id}`} className="font-mono text-xs">{text}</span>
            );
          })}
        </span>
      ),
    ],
  ];
  if (p.appliedEntryIds.length > 0) {
    facts.push([
      "Applied as",
      <span key="ap" className="flex flex-col">
        {p.appliedEntryIds.map((e) => (
          <Link key={e} href={`/entries/${e}`} className={linkClass}>
            Entry {e}
          </Link>
        ))}
      </span>,
    ]);
  }
  if (p.closedAt) facts.push(["Closed (UTC)", `${formatUtc(p.closedAt)} by ${p.closedByLabel ?? "—"}${p.closeReason && p.status !== "expired" ? `: ${p.closeReason}` : ""}`]);

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/approvals" className={linkClass}>
          ← Approvals
        </Link>
      </p>
      <PageHeader title={p.summary} description={`${p.kindLabel} proposed by ${p.proposer.label}`} />
      <FactList facts={facts} />

      {p.lastFailure && p.status === "open" ? (
        <p role="alert" className="mb-4 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          The last approval by {p.lastFailure.byLabel} at {formatUtc(p.lastFailure.at)} failed and nothing was posted: <span className="font-mono">{p.lastFailure.code}</span> — {p.lastFailure.message}
          {p.failureCount > 1 ? ` (${p.failureCount} failed attempts so far)` : ""}
        </p>
      ) : null}

      {p.status === "open" ? (
        <DecisionPanel
          proposalId={p.id}
          canApprove={p.viewer.canApprove}
          canReject={p.viewer.canReject}
          canWithdraw={p.viewer.canWithdraw}
          approveBlockedReason={p.viewer.approveBlockedReason}
          approvals={p.approvals.length}
          requiredApprovals={p.requiredApprovals}
          isStale={p.staleness?.isStale === true}
          stepUp={stepUp ? { isEnrolled: stepUp.isEnrolled, isLocked: stepUp.isLocked, stepUpUntil: stepUp.stepUpUntil } : null}
        />
      ) : null}

      {p.staleness?.isStale ? (
        <section role="alert" aria-label="The preview changed" className="mb-4 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          <p className="font-semibold">The preview differs from what the proposer saw at {formatUtc(p.proposedPreview.computedAt)}:</p>
          <ul className="mt-1 list-disc pl-5">
            {p.staleness.differences.map((d) => (
              <li key={d}>{d}</li>
            ))}
          </ul>
        </section>
      ) : null}

      {p.kind === "fee_schedule_version" ? (
        <Card title="Simulation: what this version would have charged">
          <SimulationPanel idPrefix="proposal-sim" subject={{ kind: "proposal", proposalId: p.id, rail: String(p.payload.rail), definition: p.payload.definition as Record<string, unknown> }} />
        </Card>
      ) : null}

      {p.livePreview ? (
        <Card title="Preview: what approving does now">
          <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">Computed by the ledger&apos;s dry run at {formatUtc(p.livePreview.computedAt)}; nothing was posted.</p>
          <PreviewView preview={p.livePreview} caption="Now" />
        </Card>
      ) : null}

      <Card title={p.livePreview ? "Preview the proposer saw" : "Preview at proposal time"}>
        <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">Computed by the ledger&apos;s dry run at {formatUtc(p.proposedPreview.computedAt)}.</p>
        <PreviewView preview={p.proposedPreview} caption="Proposed" />
      </Card>

      <Card title="Decisions">
        {p.approvals.length === 0 && !p.rejection ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">No decision yet.</p>
        ) : (
          <ol className="space-y-1 text-sm">
            {p.approvals.map((a) => (
              <li key={`a-${a.actorId}`}>
                <Badge tone="good">approved</Badge> by {a.actorLabel} at <span className="font-mono text-xs">{formatUtc(a.createdAt)}</span>
              </li>
            ))}
            {p.rejection ? (
              <li>
                <Badge tone="bad">rejected</Badge> by {p.rejection.actorLabel} at <span className="font-mono text-xs">{formatUtc(p.rejection.createdAt)}</span>: {p.rejection.reason}
              </li>
            ) : null}
          </ol>
        )}
      </Card>

      <Card title="Comments">
        {p.comments.length === 0 ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">No comments yet.</p>
        ) : (
          <ol className="space-y-2">
            {p.comments.map((c) => (
              <li key={c.id} className="rounded-md border border-zinc-200 bg-white px-3 py-2 text-sm dark:border-zinc-800 dark:bg-zinc-900">
                <p className="text-xs text-zinc-500 dark:text-zinc-400">
                  {c.authorLabel} at <span className="font-mono">{formatUtc(c.createdAt)}</span>
                </p>
                <p className="mt-1 whitespace-pre-wrap">{c.body}</p>
              </li>
            ))}
          </ol>
        )}
        {p.viewer.canComment ? <CommentForm proposalId={p.id} /> : null}
      </Card>

      <AuditTrail
        records={audit}
        canRead={canReadAudit}
        error={auditError}
        caption="Audit records of this proposal, oldest first"
        emptyText={`Every step of a proposal is audited under adjustment_proposal ${p.id}; none was found.`}
        allHref={auditHref({ targetType: "adjustment_proposal", targetId: p.id })}
        allLabel="All audit records for this proposal"
      />
    </>
  );
}
