import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller, callErrorMessage } from "../../page-caller";
import { Badge, FactList, Card, PageHeader, linkClass, formatUtc } from "../../../../components/ui";
import { Money } from "../../../../components/ledger/money";
import { EntryPostingsTable } from "../../../../components/ledger/entry-postings";
import { AuditTrail, type AuditTrailRecord } from "../../../../components/kit/audit-trail";
import { auditHref } from "../../../../components/audit/audit-filters";
import { UUID_RE } from "../../../../components/ledger/ledger-params";

export const metadata: Metadata = { title: "Journal entry" };

/** The write path audits a single entry as target journal_entry/<entry id> (a batch as ledger_batch/<key>). */
const ENTRY_AUDIT_TARGET = "journal_entry";

export default async function EntryPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("ledger:read", `/entries/${encodeURIComponent(id)}`);
  if (!UUID_RE.test(id)) notFound();
  const caller = pageCaller(actor);
  const entry = await caller.ledger.entries.get({ entryId: id }).catch((e: unknown) => {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw e;
  });
  if (!entry) notFound();

  const canReadAudit = actor.permissions.has("audit:read");
  let audit: AuditTrailRecord[] = [];
  let auditError: string | null = null;
  if (canReadAudit) {
    try {
      const batchKey = /^(.*)#\d+$/.exec(entry.idempotencyKey)?.[1];
      const pages = await Promise.all([
        caller.audit.list({ targetType: ENTRY_AUDIT_TARGET, targetId: entry.id, limit: 20 }),
        // An entry applied in a batch is audited once for the whole batch, under the batch's key.
        batchKey ? caller.audit.list({ targetType: "ledger_batch", targetId: batchKey, limit: 20 }) : Promise.resolve({ items: [] }),
      ]);
      audit = pages.flatMap((p) => p.items);
    } catch (e) {
      auditError = callErrorMessage(e);
    }
  }

  const totals = new Map<string, bigint>();
  for (const p of entry.postings) if (p.side === "debit") totals.set(p.currency, (totals.get(p.currency) ?? 0n) + p.amountMinor);

  // An entry applied from an approved adjustment carries its proposal id (metadata, or the key).
  const adjustmentId = typeof entry.metadata?.adjustmentId === "string" ? entry.metadata.adjustmentId : /^adjustment:([0-9a-f-]{36})(?:#\d+)?$/.exec(entry.idempotencyKey)?.[1];
  const facts: [string, React.ReactNode][] = [
    ...(adjustmentId && UUID_RE.test(adjustmentId)
      ? ([["Approved adjustment", <Link key="adj" href={`/approvals/${adjustmentId}`} className={linkClass}>Proposal {adjustmentId}</Link>]] as [string, React.ReactNode][])
      : []),
    ["Effective (UTC)", <span key="e" className="font-mono text-xs">{formatUtc(entry.effectiveAt)}</span>],
    ["Created (UTC)", <span key="c" className="font-mono text-xs">{formatUtc(entry.createdAt)}</span>],
    ["Idempotency key", <span key="k" className="font-mono text-xs break-all">{entry.idempotencyKey}</span>],
    [
      "Reverses",
      entry.reversesEntryId ? (
        <Link key="r" href={`/entries/${entry.reversesEntryId}`} className={linkClass}>
          Entry {entry.reversesEntryId}
        </Link>
      ) : (
        "—"
      ),
    ],
    [
      "Reversed by",
      entry.reversedByEntryId ? (
        <Link key="rb" href={`/entries/${entry.reversedByEntryId}`} className={linkClass}>
          Reversal {entry.reversedByEntryId}
        </Link>
      ) : (
        "Not reversed"
      ),
    ],
    [
      "Total",
      <span key="t">
        {[...totals].map(([c, v]) => (
          <span key={c} className="mr-3">
            <Money amountMinor={v} currency={c} /> debited and credited
          </span>
        ))}
      </span>,
    ],
  ];

  return (
    <>
      <PageHeader
        title={`Journal entry ${entry.id}`}
        description={
          <>
            {entry.description || "No description"}{" "}
            {entry.reversesEntryId ? <Badge tone="info">Reversal</Badge> : null} {entry.reversedByEntryId ? <Badge tone="bad">Reversed</Badge> : null}
          </>
        }
      />
      <FactList facts={facts} />

      <Card title="Postings">
        <EntryPostingsTable postings={entry.postings} caption="Postings of this entry" />
      </Card>

      <Card title="Metadata">
        {Object.keys(entry.metadata ?? {}).length === 0 ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">No metadata was given with this entry.</p>
        ) : (
          <pre className="max-h-80 overflow-auto rounded-md border border-zinc-200 bg-zinc-50 p-3 font-mono text-xs dark:border-zinc-800 dark:bg-zinc-950">{JSON.stringify(entry.metadata, null, 2)}</pre>
        )}
      </Card>

      <AuditTrail
        records={audit}
        canRead={canReadAudit}
        error={auditError}
        caption="Audit records of this entry, newest first"
        emptyText={`Entries posted through the write path are audited in the same transaction. This one has no record under ${ENTRY_AUDIT_TARGET} ${entry.id}; it may have been written outside the API.`}
        allHref={auditHref({ targetType: ENTRY_AUDIT_TARGET, targetId: entry.id })}
        allLabel="All audit records for this entry"
      />
    </>
  );
}
