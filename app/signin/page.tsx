import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { listEnabledSignInMethods, OIDC_PROVIDER_ID } from "../../server/auth/auth-options";
import { getPageActor, safeCallbackPath } from "../page-access";
import { consoleOrigin, env } from "../../server/env";
import { CredentialsForm, OidcButton } from "./sign-in-forms";
import { signInErrorMessage } from "./sign-in-errors";
import { DEMO_ACCOUNT_EMAILS } from "./demo-accounts";
import { ErrorNotice } from "../../components/ui";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Where to go after signing in: a page of this console only. next-auth sometimes hands back an
 * absolute URL; it is kept only on the console's configured origin (server/auth/session-paths.ts).
 */
function callbackPathOf(raw: string | undefined): string {
  return raw ? safeCallbackPath(raw, consoleOrigin()) : "/";
}

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const callbackUrl = callbackPathOf(first(params.callbackUrl));
  const error = first(params.error);
  // Already signed in and nothing went wrong: go where the visitor was heading.
  if (!error && (await getPageActor())) redirect(callbackUrl === "/signin" ? "/" : callbackUrl);

  const methods = listEnabledSignInMethods();
  const demoEmails = env().DEMO_MODE ? DEMO_ACCOUNT_EMAILS : [];
  const hasAnyMethod = methods.credentials || methods.oidc !== null;

  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-10">
      <div className="w-full max-w-sm rounded-lg border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
        <h1 className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">Sign in to Ledger Ops Console</h1>
        <p className="mt-1 mb-5 text-sm text-zinc-600 dark:text-zinc-400">Use your work account.</p>
        {error ? (
          <ErrorNotice>{signInErrorMessage(error)}</ErrorNotice>
        ) : null}
        <div className="space-y-4">
          {methods.oidc ? <OidcButton providerId={OIDC_PROVIDER_ID} name={methods.oidc.name} callbackUrl={callbackUrl} /> : null}
          {methods.oidc && methods.credentials ? (
            <div className="flex items-center gap-2 text-xs text-zinc-500" aria-hidden="true">
              <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
              or
              <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
            </div>
          ) : null}
          {methods.credentials ? <CredentialsForm callbackUrl={callbackUrl} /> : null}
          {!hasAnyMethod ? (
            <p className="text-sm text-zinc-700 dark:text-zinc-300">
              No sign-in method is configured. An administrator must set the OpenID Connect variables (AUTH_OIDC_ISSUER, AUTH_OIDC_CLIENT_ID,
              AUTH_OIDC_CLIENT_SECRET) or enable credentials sign-in.
            </p>
          ) : null}
        </div>
        {demoEmails.length > 0 ? (
          <section aria-label="Demo accounts" className="mt-6 border-t border-zinc-200 pt-4 text-sm dark:border-zinc-800">
            <h2 className="mb-1 font-medium text-zinc-800 dark:text-zinc-200">Demo accounts</h2>
            <p className="mb-2 text-xs text-zinc-600 dark:text-zinc-400">Passwords are printed by npm start.</p>
            <ul className="space-y-0.5 font-mono text-xs text-zinc-700 dark:text-zinc-300">
              {demoEmails.map((e) => (
                <li key={e}>{e}</li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </main>
  );
}
