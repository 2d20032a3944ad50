import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller } from "../../page-caller";
import { FactList, PageHeader, linkClass, formatUtc, Badge } from "../../../../components/ui";
import { auditHref } from "../../../../components/audit/audit-filters";

export const metadata: Metadata = { title: "Audit record" };

function JsonBlock({ title, value }: { title: string; value: unknown }) {
  return (
    <section aria-label={title} className="min-w-0 flex-1">
      <h2 className="mb-1 text-sm font-semibold text-zinc-800 dark:text-zinc-200">{title}</h2>
      {value === null || value === undefined ? (
        <p className="rounded-md border border-dashed border-zinc-300 px-3 py-4 text-sm text-zinc-500 dark:border-zinc-700 dark:text-zinc-400">Nothing recorded</p>
      ) : (
        <pre className="max-h-[32rem] overflow-auto rounded-md border border-zinc-200 bg-zinc-50 p-3 font-mono text-xs leading-relaxed text-zinc-800 dark:border-zinc-800 dark:bg-zinc-950 dark:text-zinc-200">
          {JSON.stringify(value, null, 2)}
        </pre>
      )}
    </section>
  );
}

export default async function AuditRecordPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requirePageActor("audit:read", `/audit/${encodeURIComponent(id)}`);
  if (!/^[1-9]\d{0,18}$/.test(id)) notFound();
  const record = await pageCaller(actor)
    .audit.get({ id })
    .catch((e: unknown) => {
      if ((e as { code?: string }).code === "NOT_FOUND") return null;
      throw e;
    });
  if (!record) notFound();

  const fields: [string, React.ReactNode][] = [
    ["Time (UTC)", <span key="t" className="font-mono">{formatUtc(record.createdAt)}</span>],
    [
      "Actor",
      <span key="a">
        <Link href={auditHref({ actor: record.actorId ?? record.actorLabel })} className={linkClass}>
          {record.actorLabel}
        </Link>{" "}
        <Badge tone={record.actorType === "user" ? "neutral" : "info"}>{record.actorType}</Badge>
        {record.actorId ? <span className="ml-2 font-mono text-xs text-zinc-500">{record.actorId}</span> : null}
      </span>,
    ],
    ["Action", <span key="ac" className="font-mono">{record.action}</span>],
    [
      "Target",
      <span key="tg">
        <Link href={auditHref({ targetType: record.targetType, targetId: record.targetId ?? undefined })} className={linkClass}>
          {record.targetType}
          {record.targetId ? ` ${record.targetId}` : ""}
        </Link>
      </span>,
    ],
    ["Reason", record.reason ?? "—"],
    ["Request id", <span key="r" className="font-mono text-xs">{record.requestId ?? "—"}</span>],
    ["Chain", <span key="c" className="font-mono text-xs">lane {record.lane}, sequence {record.laneSeq}</span>],
    ["Hash", <span key="h" className="font-mono text-xs break-all">{record.hash}</span>],
    ["Previous hash", <span key="p" className="font-mono text-xs break-all">{record.prevHash}</span>],
  ];

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/audit" className={linkClass}>
          ← Audit
        </Link>
      </p>
      <PageHeader title={`Audit record ${record.id}`} description={`${record.action} on ${record.targetType}${record.targetId ? ` ${record.targetId}` : ""}`} />
      <FactList facts={fields} />
      <div className="flex flex-col gap-4 lg:flex-row">
        <JsonBlock title="Before" value={record.before} />
        <JsonBlock title="After" value={record.after} />
      </div>
    </>
  );
}
