import { linkClass } from "../ui";
import { traceUrl } from "../../server/observability/tracing";

/**
 * A transfer's correlation id (the trace id of the call that created it): every log line, job,
 * partner call, webhook and reconciliation match of the transfer carries it. Links to the trace
 * when TRACE_URL_TEMPLATE names a tracing UI. Server component: the template is read from the
 * server's configuration.
 */
export function CorrelationId({ traceId, label }: { traceId: string | null; label?: string }) {
  if (!traceId) return <span className="text-zinc-600 dark:text-zinc-400">— (created before correlation ids were recorded)</span>;
  const url = traceUrl(traceId);
  return (
    <span className="flex flex-wrap items-center gap-2">
      <span className="font-mono text-xs break-all" title="Search the logs for this id (correlationId) to follow the transfer">
        {traceId}
      </span>
      {url ? (
        <a href={url} className={`${linkClass} text-xs`} target="_blank" rel="noreferrer" aria-label={label ? `Open trace of ${label}` : undefined}>
          Open trace
        </a>
      ) : null}
    </span>
  );
}
