"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { Button } from "../kit/button";

/**
 * The last verification of the audit chain (the worker walks the log; nothing here does) and a
 * button that asks for a new run. While a run is requested or running the verdict is re-read
 * every 3 s.
 */
export function VerifyChainButton() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const state = useQuery({
    ...trpc.audit.verify.queryOptions(),
    refetchInterval: (q) => (q.state.data?.isPending ? 3_000 : false),
  });
  const request = useMutation(
    trpc.audit.requestVerification.mutationOptions({
      onSuccess: (data) => queryClient.setQueryData(trpc.audit.verify.queryKey(), data),
    }),
  );
  const last = state.data?.last ?? null;
  const isPending = state.data?.isPending === true;
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button disabled={isPending || request.isPending} onClick={() => request.mutate()}>
        {isPending ? "Verifying…" : "Verify chain"}
      </Button>
      <p role="status" className="text-sm">
        {request.error ? (
          <span className="text-red-700 dark:text-red-400">Could not ask for a verification: {errorMessageOf(request.error)}</span>
        ) : state.error ? (
          <span className="text-red-700 dark:text-red-400">Could not read the last verification: {errorMessageOf(state.error)}</span>
        ) : !last ? (
          <span className="text-zinc-600 dark:text-zinc-400">{isPending ? "The worker is verifying the chain." : "Not verified yet: the worker verifies every 30 minutes."}</span>
        ) : last.status === "failed" ? (
          <span className="text-red-700 dark:text-red-400">The last verification did not finish ({last.finishedAt?.toISOString()}): {last.error}</span>
        ) : last.isIntact ? (
          <span className="text-emerald-700 dark:text-emerald-400">
            Intact: {last.checkedCount} records verified at {last.finishedAt?.toISOString()}.{isPending ? " A new verification is running." : ""}
          </span>
        ) : (
          <span className="font-medium text-red-700 dark:text-red-400">
            Broken at record {last.firstBreak?.id ?? "?"} (chain {last.firstBreak?.lane}): {last.firstBreak?.problem} (verified at {last.finishedAt?.toISOString()})
          </span>
        )}
      </p>
    </div>
  );
}
