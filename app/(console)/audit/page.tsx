import type { Metadata } from "next";
import { requirePageActor } from "../../page-access";
import { MAX_AUDIT_PAGE_SIZE } from "../../../server/audit/query";
import { pageCaller, callErrorMessage } from "../page-caller";
import { EmptyState, ErrorNotice, PageHeader } from "../../../components/ui";
import { FilterForm, FilterText } from "../../../components/kit/filter-form";
import { ListNavigation } from "../../../components/kit/list-navigation";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { auditHref, readAuditParams, toAuditQuery, type AuditParams } from "../../../components/audit/audit-filters";
import { AuditTable } from "../../../components/audit/audit-table";
import { VerifyChainButton } from "../../../components/audit/verify-chain";

export const metadata: Metadata = { title: "Audit" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const FILTER_FIELDS: { key: Exclude<keyof AuditParams, "cursor">; label: string; placeholder: string }[] = [
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
  let page: RouterOutputs["audit"]["list"] | null = null;
  if (parsed.input) {
    try {
      page = await pageCaller(actor).audit.list(parsed.input);
    } catch (e) {
      error = callErrorMessage(e);
    }
  }
  const isNarrowed = hasFilters || Boolean(params.cursor);

  return (
    <>
      <PageHeader
        title="Audit"
        description="Every change made through the console or the API, who made it and why, with the state before and after. Records are append-only and hash-chained."
        actions={<VerifyChainButton />}
      />

      <ListNavigation>
        <FilterForm action="/audit" label="Filter audit records" clearHref="/audit" hasFilters={hasFilters} layout="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
          {FILTER_FIELDS.map((f) => (
            <FilterText key={f.key} name={f.key} label={f.label} value={params[f.key]} placeholder={f.placeholder} />
          ))}
        </FilterForm>

        {error ? <ErrorNotice>Could not list audit records: {error}</ErrorNotice> : null}

        {page && parsed.input ? (
          <AuditTable
            page={page}
            filters={filters}
            exportQuery={{ ...parsed.input, cursor: undefined, limit: MAX_AUDIT_PAGE_SIZE }}
            empty={
              <EmptyState title={isNarrowed ? "No audit records match" : "No audit records yet"}>
                <p>
                  {isNarrowed
                    ? "No record matches these filters. Widen the time range or clear a filter."
                    : "Every change made through the console or the API writes a record here. Nothing has been changed yet."}
                </p>
              </EmptyState>
            }
          />
        ) : null}
      </ListNavigation>
    </>
  );
}
