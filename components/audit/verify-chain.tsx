"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Button } from "../kit/button";

/** Runs audit.verify on demand and shows the verdict: intact, or the first broken link. */
export function VerifyChainButton() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.audit.verify.queryOptions(), enabled: false, staleTime: 0, gcTime: 0 });
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button disabled={q.isFetching} onClick={() => void q.refetch()}>
        {q.isFetching ? "Verifying…" : "Verify chain"}
      </Button>
      <p role="status" className="text-sm">
        {q.isFetching ? null : q.error ? (
          <span className="text-red-700 dark:text-red-400">Could not verify: {errorMessageOf(q.error)}</span>
        ) : q.data ? (
          q.data.isIntact ? (
            <span className="text-emerald-700 dark:text-emerald-400">Intact: {q.data.checkedCount} records in {q.data.lanes.length} chains verified.</span>
          ) : (
            <span className="font-medium text-red-700 dark:text-red-400">
              Broken at record {q.data.firstBreak?.id ?? "?"} (chain {q.data.firstBreak?.lane}): {q.data.firstBreak?.problem}
            </span>
          )
        ) : null}
      </p>
    </div>
  );
}
