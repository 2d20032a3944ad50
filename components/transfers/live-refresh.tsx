"use client";
/**
 * Re-reads the page from the server every few seconds while a transfer is still moving, so an
 * operator watches it settle without reloading. Pauses while the tab is hidden and on request;
 * it only ever shows what the server returned.
 */
import { useEffect, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Button } from "../kit/button";

const MIN_INTERVAL_MS = 1000;

export function LiveRefresh({ intervalMs = 3000, label }: { intervalMs?: number; label: string }) {
  const router = useRouter();
  const [isPaused, setIsPaused] = useState(false);
  const [isRefreshing, startRefresh] = useTransition();
  const [lastAt, setLastAt] = useState<string | null>(null);

  useEffect(() => {
    if (isPaused) return;
    const id = setInterval(
      () => {
        if (document.visibilityState !== "visible") return;
        startRefresh(() => router.refresh());
        setLastAt(new Date().toISOString().slice(11, 19));
      },
      Math.max(MIN_INTERVAL_MS, intervalMs),
    );
    return () => clearInterval(id);
  }, [isPaused, intervalMs, router]);

  return (
    <div className="flex items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
      <span className={`inline-block size-2 rounded-full ${isPaused ? "bg-zinc-400" : isRefreshing ? "bg-sky-500" : "bg-emerald-500"}`} aria-hidden="true" />
      <span>
        {isPaused ? `${label}: paused` : `${label}: updating every ${Math.round(intervalMs / 1000)} s`}
        {lastAt && !isPaused ? ` (last ${lastAt} UTC)` : ""}
      </span>
      <Button variant="ghost" onClick={() => setIsPaused((p) => !p)}>
        {isPaused ? "Resume live updates" : "Pause live updates"}
      </Button>
    </div>
  );
}
