"use client";
/**
 * Keyboard shortcuts for the inbox: j / k move between proposals, Enter opens the focused one
 * (native link behaviour), n starts a new adjustment.
 */
import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { isShortcutEvent } from "./keyboard";

export function InboxShortcuts({ canPropose }: { canPropose: boolean }) {
  const router = useRouter();
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (!isShortcutEvent(e)) return;
      if (e.key === "n" && canPropose) {
        e.preventDefault();
        router.push("/approvals/new");
        return;
      }
      if (e.key !== "j" && e.key !== "k") return;
      const links = [...document.querySelectorAll<HTMLAnchorElement>("[data-proposal-row] a")];
      if (links.length === 0) return;
      e.preventDefault();
      const at = links.indexOf(document.activeElement as HTMLAnchorElement);
      const next = e.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[at === -1 ? 0 : next]!.focus();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [canPropose, router]);
  return (
    <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">
      Keyboard: <kbd className="rounded border px-1">j</kbd> / <kbd className="rounded border px-1">k</kbd> move between proposals, <kbd className="rounded border px-1">Enter</kbd> opens one
      {canPropose ? (
        <>
          , <kbd className="rounded border px-1">n</kbd> proposes a new adjustment
        </>
      ) : null}
      .
    </p>
  );
}
