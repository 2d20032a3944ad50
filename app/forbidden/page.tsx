import type { Metadata } from "next";
import Link from "next/link";
import { isPermission } from "../../server/core/permissions";
import { linkClass } from "../../components/ui";

export const metadata: Metadata = { title: "No access" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function ForbiddenPage({ searchParams }: { searchParams: SearchParams }) {
  const raw = (await searchParams).permission;
  const value = Array.isArray(raw) ? raw[0] : raw;
  // Only a known permission name is echoed back: the page never reflects arbitrary text.
  const permission = value && isPermission(value) ? value : null;
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="max-w-md rounded-lg border border-zinc-200 bg-white p-6 text-center shadow-sm dark:border-zinc-800 dark:bg-zinc-900">
        <h1 className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">You don&apos;t have access to this page</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          {permission ? (
            <>
              It needs the permission <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-xs dark:bg-zinc-800">{permission}</code>, which none of your roles grant.
            </>
          ) : (
            "None of your roles grant the permission this page needs."
          )}{" "}
          Ask an administrator if you need it.
        </p>
        <p className="mt-4">
          <Link href="/" className={linkClass}>
            Go to the console home
          </Link>
        </p>
      </div>
    </main>
  );
}
