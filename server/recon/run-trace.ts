/**
 * A reconciliation run in the traces and logs, so a transfer's correlation id reaches its
 * reconciliation match (issue 13, point 8) without touching the set-based matching path.
 *
 * Matching (matching.ts) stays one transaction of bulk statements. Around it, this module:
 * - runs it inside one `recon.run` span (its database statements nest under it), and
 * - after it committed, reads the run's (match, transfer) pairs in one statement
 *   (transfer-links.ts) and, for each, records a short `recon.match` span in the transfer's own
 *   trace (parent: the transfer's stored traceparent; link: the run's span) and writes one log
 *   line under the transfer's correlation id. A trace UI then shows the match as the last leg of
 *   the transfer's trace, and a grep for the correlation id finds it in the logs.
 *
 * Invariants kept:
 * - No per-row database round trip: one read per run, whatever the number of matches.
 * - At most MAX_TRACED_MATCHES_PER_RUN pairs are traced and logged per run (a bulk import can match
 *   a million lines); the run's span and log line carry the total and how many were left out, and
 *   every match stays findable from the transfer page and the break page (read at display time).
 * - Tracing never fails a run: the run has committed before the pairs are read, and an error
 *   reading them is logged, not thrown.
 * - Spans cost nothing with tracing off (no provider: non-recording); the log lines are written
 *   either way, with the transfer's correlation id from its stored traceparent.
 */
import type { DbHandles } from "../db/client";
import type { AuditActor } from "../audit/audit-log";
import { componentLogger } from "../observability/logger";
import { contextFromTraceParent, contextWithSpan, runInContext, startSpan, traceIdOfTraceParent, withSpan, SpanKind, type Span } from "../observability/tracing";
import { runReconciliation, type RunInput, type RunResult } from "./matching";
import { readRunTransferMatches } from "./transfer-links";

const log = componentLogger("recon");

/** Pairs traced and logged per run; the rest are counted (see the module comment). */
export const MAX_TRACED_MATCHES_PER_RUN = 1_000;

/**
 * runReconciliation inside a `recon.run` span, then each (match, transfer) pair of the run in the
 * transfer's trace and logs. Errors: as runReconciliation (the span records them).
 */
export async function runTracedReconciliation(db: Pick<DbHandles, "pool">, actor: AuditActor, input: RunInput, opts: { now?: Date; requestId?: string | null } = {}): Promise<RunResult> {
  return withSpan(
    "recon.run",
    { kind: SpanKind.INTERNAL, attributes: { "recon.source.id": input.sourceId, "recon.run.trigger": input.trigger, "recon.period.from": input.periodFrom, "recon.period.to": input.periodTo } },
    async (span) => {
      const result = await runReconciliation(db, actor, input, opts);
      span.setAttributes({
        "recon.run.id": result.runId,
        "recon.run.lines": result.summary.lines,
        "recon.run.matched_lines": result.summary.matchedLines,
        "recon.run.auto_matches": result.summary.autoMatches,
        "recon.run.breaks_opened": result.summary.breaksOpened,
      });
      await traceTransferMatches(db, result, span);
      return result;
    },
  );
}

async function traceTransferMatches(db: Pick<DbHandles, "pool">, run: RunResult, runSpan: Span): Promise<void> {
  let pairs: Awaited<ReturnType<typeof readRunTransferMatches>>;
  try {
    pairs = await readRunTransferMatches(db.pool, run.runId, MAX_TRACED_MATCHES_PER_RUN);
  } catch (e) {
    log.warn({ runId: run.runId, err: (e as Error).message }, "could not read the run's transfer matches for tracing; the matches stand");
    return;
  }
  const runLink = { context: runSpan.spanContext(), attributes: { "recon.run.id": run.runId } };
  let withoutTrace = 0;
  for (const p of pairs.items) {
    // A transfer created before correlation ids were recorded has no trace of its own: its match
    // stays in the run's trace.
    const hasTrace = traceIdOfTraceParent(p.traceParent) !== null;
    if (!hasTrace) withoutTrace++;
    const ctx = hasTrace ? contextFromTraceParent(p.traceParent) : contextWithSpan(runSpan);
    const span = startSpan("recon.match", {
      parent: ctx,
      links: [runLink],
      attributes: { "recon.match.id": p.matchId, "recon.match.kind": p.kind, "recon.match.rule": p.rule, "recon.run.id": run.runId, "recon.source.id": run.sourceId, "transfer.id": p.transferId },
    });
    runInContext(contextWithSpan(span, ctx), () => log.info({ runId: run.runId, matchId: p.matchId, transferId: p.transferId, rule: p.rule, kind: p.kind }, "reconciliation matched the transfer's ledger entry to a statement line"));
    span.end();
  }
  const left = pairs.total - pairs.items.length;
  runSpan.setAttributes({ "recon.run.transfer_matches": pairs.total, "recon.run.transfer_matches_traced": pairs.items.length, "recon.run.transfer_matches_untraced": left });
  if (pairs.total > 0) {
    log.info(
      { runId: run.runId, sourceId: run.sourceId, transferMatches: pairs.total, traced: pairs.items.length, leftOut: left, withoutCorrelationId: withoutTrace },
      left > 0 ? `reconciliation run matched ${pairs.total} transfers; the first ${pairs.items.length} are in their traces, the rest are shown on their transfer pages` : `reconciliation run matched ${pairs.total} transfers`,
    );
  }
}
