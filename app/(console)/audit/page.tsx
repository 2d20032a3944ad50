import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../../server/auth/session";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, FilterActions, PageHeader, PagerLink, inputClass, labelClass, linkClass, tableClass, formatUtc, Badge } from "../../../components/ui";
import { auditHref, readAuditParams, toAuditQuery, type AuditParams } from "../../../components/audit/audit-filters";
import { VerifyChainButton } from "../../../components/audit/verify-chain";

export const metadata: Metadata = { title: "Audit" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const FILTER_FIELDS: { key: keyof AuditParams; label: string; placeholder: string }[] = [
  { key: "actor", label: "Actor", placeholder: "email, service:name or id" },
  { key: "action", label: "Action", placeholder: "users.set_roles or users.*" },
  { key: "targetType", label: "Target type", placeholder: "user, service_key, account" },
  { key: "targetId", label: "Target id", placeholder: "exact id" },
  { key: "from", label: "From (UTC)", placeholder: "2026-11-21T08:00" },
  { key: "to", label: "To (UTC)", placeholder: "2026-11-22T08:00" },
];

export default async function AuditPage({ searchParams }: { searchParams: SearchParams }) {
  const params = readAuditParams(await searchParams);
  const actor = await requirePageActor("audit:read", auditHref(params));
  const { cursor: _cursor, ...filters } = params;
  const hasFilters = Object.values(filters).some(Boolean);

  const parsed = toAuditQuery(params);
  let error = parsed.error;
  let page: Awaited<ReturnType<ReturnType<typeof pageCaller>["audit"]["list"]>> | null = null;
  if (parsed.input) {
    try {
      page = await pageCaller(actor).audit.list(parsed.input);
    } catch (e) {
      error = callErrorMessage(e);
    }
  }

  return (
    <>
      <PageHeader
        title="Audit"
        description="Every change made through the console or the API, who made it and why, with the state before and after. Records are append-only and hash-chained."
        actions={<VerifyChainButton />}
      />

      <form method="get" action="/audit" role="search" aria-label="Filter audit records" className="mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
          {FILTER_FIELDS.map((f) => (
            <div key={f.key}>
              <label htmlFor={`audit-${f.key}`} className={labelClass}>
                {f.label}
              </label>
              <input
                id={`audit-${f.key}`}
                name={f.key}
                type="text"
                defaultValue={params[f.key] ?? ""}
                placeholder={f.placeholder}
                className={`${inputClass} mt-1`}
              />
            </div>
          ))}
        </div>
        <FilterActions clearHref="/audit" hasFilters={hasFilters} />
      </form>

      {error ? (
        <ErrorNotice>Could not list audit records: {error}</ErrorNotice>
      ) : null}

      {page && page.items.length === 0 ? (
        <EmptyState title={hasFilters || params.cursor ? "No audit records match" : "No audit records yet"}>
          <p>
            {hasFilters || params.cursor
              ? "No record matches these filters. Widen the time range or clear a filter."
              : "Every change made through the console or the API writes a record here. Nothing has been changed yet."}
          </p>
        </EmptyState>
      ) : null}

      {page && page.items.length > 0 ? (
        <>
          <div className={tableClass.wrap}>
            <table className={tableClass.table}>
              <caption className="sr-only">Audit records, newest first</caption>
              <thead className="bg-zinc-50 dark:bg-zinc-900">
                <tr>
                  <th scope="col" className={tableClass.th}>
                    Time (UTC)
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Actor
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Action
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Target
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Reason
                  </th>
                  <th scope="col" className={tableClass.th}>
                    <span className="sr-only">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                {page.items.map((r) => (
                  <tr key={r.id} className={tableClass.tr}>
                    <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(r.createdAt)}</td>
                    <td className={tableClass.td}>
                      <Link href={auditHref({ ...filters, actor: r.actorId ?? r.actorLabel })} className={linkClass} title={`Filter by ${r.actorLabel}`}>
                        {r.actorLabel}
                      </Link>{" "}
                      <Badge tone={r.actorType === "user" ? "neutral" : "info"}>{r.actorType}</Badge>
                    </td>
                    <td className={`${tableClass.td} font-mono text-xs`}>{r.action}</td>
                    <td className={`${tableClass.td} text-xs`}>
                      <span className="text-zinc-500 dark:text-zinc-400">{r.targetType}</span>
                      {r.targetId ? <span className="ml-1 font-mono break-all">{r.targetId}</span> : null}
                    </td>
                    <td className={`${tableClass.td} max-w-xs text-xs`}>{r.reason ?? <span className="text-zinc-400">—</span>}</td>
                    <td className={`${tableClass.td} text-right`}>
                      <Link href={`/audit/${r.id}`} className={linkClass} aria-label={`Details of audit record ${r.id}`}>
                        Details
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Audit pages" className="mt-3 flex items-center justify-between gap-2 text-sm">
            <span className="text-zinc-600 dark:text-zinc-400">
              {page.items.length} record{page.items.length === 1 ? "" : "s"} on this page, newest first
            </span>
            <div className="flex gap-2">
              <PagerLink href={page.hasNewer ? auditHref({ ...filters, cursor: page.newerCursor ?? undefined }) : null} rel="prev">
                Newer
              </PagerLink>
              <PagerLink href={page.nextCursor ? auditHref({ ...filters, cursor: page.nextCursor }) : null} rel="next">
                Older
              </PagerLink>
            </div>
          </nav>
        </>
      ) : null}
    </>
  );
}
