"use client";
/**
 * Setting up an authenticator for approving: start (the server creates a secret and shows it
 * once, with its otpauth:// URI for apps that import links), confirm with the first code, then
 * note the recovery codes, which are shown only this once.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";

export function TotpEnrolment({ isEnrolled, isLocked }: { isEnrolled: boolean; isLocked: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [pending, setPending] = useState<{ secret: string; uri: string } | null>(null);
  const [code, setCode] = useState("");
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = useMutation(trpc.approvals.stepUp.startEnrolment.mutationOptions());
  const confirm = useMutation(trpc.approvals.stepUp.confirmEnrolment.mutationOptions());

  async function begin() {
    setError(null);
    try {
      setPending(await start.mutateAsync());
    } catch (e) {
      setError(errorMessageOf(e));
    }
  }

  async function finish(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await confirm.mutateAsync({ code: code.trim() });
      setRecoveryCodes(r.recoveryCodes);
      setPending(null);
      setCode("");
      toast.success("Authenticator set up. You can approve adjustments now.");
      refresh();
    } catch (err) {
      setCode("");
      setError(errorMessageOf(err));
    }
  }

  if (recoveryCodes) {
    return (
      <section aria-label="Recovery codes" className="rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm dark:border-amber-700 dark:bg-amber-950">
        <h3 className="font-semibold">Your recovery codes</h3>
        <p className="mt-1">Each works once instead of a code from your app, if you lose your phone. Store them somewhere safe now: they are not shown again.</p>
        <ul aria-label="Recovery code list" className="mt-2 grid grid-cols-2 gap-1 font-mono sm:grid-cols-5">
          {recoveryCodes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <Button className="mt-3" onClick={() => setRecoveryCodes(null)}>
          I have stored them
        </Button>
      </section>
    );
  }

  if (isEnrolled) return <p className="text-sm">Your authenticator is set up. If you lose it, use a recovery code or ask an admin to reset it.</p>;
  if (isLocked) return <p role="alert" className="text-sm text-red-700 dark:text-red-400">Step-up is locked for you after too many wrong codes. Ask an admin to unlock it.</p>;

  return (
    <div className="space-y-3 text-sm">
      {!pending ? (
        <>
          <p>Approving adjustments needs a second factor: a code from an authenticator app (any RFC 6238 TOTP app) at each approval, or once for a few minutes of approvals.</p>
          <Button variant="primary" onClick={() => void begin()} disabled={start.isPending}>
            {start.isPending ? "Starting…" : "Set up authenticator"}
          </Button>
        </>
      ) : (
        <form onSubmit={finish} className="space-y-3">
          <p>Add this key to your authenticator app (time-based, 6 digits, 30 seconds), or open the link on the device that runs the app.</p>
          <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1">
            <dt className="font-medium text-zinc-500">Secret key</dt>
            <dd>
              <code data-testid="totp-secret" className="font-mono break-all">
                {pending.secret}
              </code>
            </dd>
            <dt className="font-medium text-zinc-500">Link</dt>
            <dd>
              <a href={pending.uri} className="font-mono text-xs break-all text-sky-700 dark:text-sky-400">
                {pending.uri}
              </a>
            </dd>
          </dl>
          <div>
            <label htmlFor="totp-confirm-code" className={labelClass}>
              Code from the app
            </label>
            <input id="totp-confirm-code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} className={`${inputClass} mt-1 w-36 font-mono`} />
          </div>
          <Button type="submit" variant="primary" disabled={confirm.isPending}>
            {confirm.isPending ? "Checking…" : "Confirm"}
          </Button>
        </form>
      )}
      {error ? (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
    </div>
  );
}
