"use client";
/**
 * A secret shown exactly once after it was created (a service key, a webhook signing secret): a
 * warning that says why it cannot be shown again, the secret selectable in a read-only field, a
 * copy button that says whether copying worked, and Done.
 */
import { useState, type ReactNode } from "react";
import { inputClass, labelClass } from "./ui";
import { Button } from "./kit/button";

export function SecretOnce({ inputId, label, warning, secret, onDone }: { inputId: string; label: string; warning: ReactNode; secret: string; onDone: () => void }) {
  const [copyState, setCopyState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <div className="space-y-3">
      <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
        {warning}
      </p>
      <div>
        <label htmlFor={inputId} className={labelClass}>
          {label}
        </label>
        <input id={inputId} readOnly value={secret} onFocus={(e) => e.currentTarget.select()} className={`${inputClass} mt-1 font-mono text-xs`} />
      </div>
      <div className="flex items-center justify-end gap-2">
        <span role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
          {copyState === "copied" ? "Copied to the clipboard" : copyState === "failed" ? "Copy failed: select the secret and copy it by hand" : ""}
        </span>
        <Button
          onClick={() => {
            navigator.clipboard.writeText(secret).then(
              () => setCopyState("copied"),
              () => setCopyState("failed"),
            );
          }}
        >
          Copy secret
        </Button>
        <Button variant="primary" onClick={onDone}>
          Done
        </Button>
      </div>
    </div>
  );
}
