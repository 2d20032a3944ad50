"use client";
/**
 * Binds single-key shortcuts on the whole page while a component is mounted:
 * `useKeyboardShortcuts({ a: approve, r: () => setDialog("reject") })`. A key counts only when
 * isShortcutEvent says so (nobody typing, no modifier, no repeat, no dialog open). A handler that
 * returns false did not handle the key (the browser's default action then happens).
 */
import { useEffect, useRef } from "react";
import { isShortcutEvent } from "./keyboard";

export type ShortcutHandler = (e: KeyboardEvent) => void | boolean;

export function useKeyboardShortcuts(bindings: Readonly<Record<string, ShortcutHandler | undefined>>, opts: { isEnabled?: boolean } = {}): void {
  const isEnabled = opts.isEnabled ?? true;
  // The latest bindings, read at key time, so callers need not memoise them.
  const ref = useRef(bindings);
  useEffect(() => {
    ref.current = bindings;
  });
  useEffect(() => {
    if (!isEnabled) return;
    function onKey(e: KeyboardEvent) {
      const handler = ref.current[e.key];
      if (!handler || !isShortcutEvent(e)) return;
      if (handler(e) !== false) e.preventDefault();
    }
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [isEnabled]);
}
