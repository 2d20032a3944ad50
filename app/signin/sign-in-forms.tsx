"use client";
import { signIn } from "next-auth/react";
import { useState, type FormEvent } from "react";
import { inputClass, labelClass } from "../../components/ui";
import { Button } from "../../components/kit/button";
import { signInErrorMessage } from "./sign-in-errors";

export function CredentialsForm({ callbackUrl }: { callbackUrl: string }) {
  const [error, setError] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setError(null);
    setIsPending(true);
    const res = await signIn("credentials", {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      callbackUrl,
      redirect: false,
    });
    if (!res || res.error || !res.ok) {
      setIsPending(false);
      setError(signInErrorMessage(res?.error ?? "CredentialsSignin"));
      return;
    }
    // A full navigation, so every server component renders for the new session.
    window.location.assign(callbackUrl);
  }

  return (
    <form onSubmit={onSubmit} className="space-y-3" noValidate={false}>
      {error ? (
        <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}
      <div>
        <label htmlFor="email" className={labelClass}>
          Email
        </label>
        <input id="email" name="email" type="email" autoComplete="username" required className={`${inputClass} mt-1`} />
      </div>
      <div>
        <label htmlFor="password" className={labelClass}>
          Password
        </label>
        <input id="password" name="password" type="password" autoComplete="current-password" required className={`${inputClass} mt-1`} />
      </div>
      <Button type="submit" variant="primary" disabled={isPending} className="w-full">
        {isPending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}

export function OidcButton({ providerId, name, callbackUrl }: { providerId: string; name: string; callbackUrl: string }) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Button
      disabled={isPending}
      className="w-full"
      onClick={() => {
        setIsPending(true);
        void signIn(providerId, { callbackUrl });
      }}
    >
      Sign in with {name}
    </Button>
  );
}
