import type { ReactNode } from "react";
import Link from "next/link";
import { headers } from "next/headers";
import { requirePageActor } from "../page-access";
import type { Permission } from "../../server/core/permissions";
import { MainNav, type NavItem } from "../../components/main-nav";
import { ThemeToggle } from "../../components/theme-toggle";
import { SignOutButton } from "../../components/sign-out-button";
import { TRPCProvider } from "../../components/trpc-provider";
import { ToastProvider } from "../../components/toast";
import { pageCaller } from "./page-caller";

// Every console page depends on who is signed in: never prerender or cache one.
export const dynamic = "force-dynamic";

/** The sections, each shown only to people holding the permission it needs. */
const SECTIONS: (NavItem & { permission: Permission })[] = [
  { href: "/", label: "Overview", permission: "slo:read" },
  { href: "/transfers", label: "Transfers", permission: "transfers:read" },
  { href: "/breaks", label: "Breaks", permission: "recon:read" },
  { href: "/reconciliation", label: "Reconciliation", permission: "recon:read" },
  { href: "/approvals", label: "Approvals", permission: "adjustments:read" },
  { href: "/accounts", label: "Accounts", permission: "ledger:read" },
  { href: "/pricing", label: "Pricing", permission: "pricing:read" },
  { href: "/slos", label: "SLOs", permission: "slo:read" },
  { href: "/audit", label: "Audit", permission: "audit:read" },
  { href: "/admin", label: "Admin", permission: "users:read" },
];

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  // Signed out, this redirect is thrown before anything streams, so no page content leaves the
  // server even if a page forgot its own check. Layouts do not re-run on client navigation and
  // only know the path through proxy.ts, so every page still calls requirePageActor(permission).
  // proxy.ts passes the requested path so sign-in can bring the visitor back to it.
  const requestedPath = (await headers()).get("x-console-path") ?? "/";
  const actor = await requirePageActor(undefined, requestedPath);
  // The approvals badge: how many proposals wait for this approver (0 for everyone else).
  const waiting = actor.kind === "user" && actor.permissions.has("adjustments:approve") ? await pageCaller(actor).approvals.waitingCount().catch(() => 0) : 0;
  const items = SECTIONS.filter((s) => actor.permissions.has(s.permission)).map(({ href, label }) => ({ href, label: href === "/approvals" && waiting > 0 ? `${label} (${waiting})` : label }));
  // The transfers badge: how many transfers are stuck (over their time budget or waiting for an operator).
  const stuck = actor.permissions.has("transfers:read") ? await pageCaller(actor).transfers.stuckSummary().then((x) => x.total, () => 0) : 0;
  const navItems = items.map((i) => (i.href === "/transfers" && stuck > 0 ? { ...i, label: `${i.label} (${stuck} stuck)` } : i));
  // Admission control: when new transfers are being refused, everyone who watches transfers sees why.
  const admission = actor.permissions.has("transfers:read") ? await pageCaller(actor).transfers.admission().catch(() => null) : null;
  const name = actor.name;
  const email = actor.kind === "user" ? actor.email : null;
  const roles = actor.kind === "user" ? actor.roles : [];

  return (
    <TRPCProvider>
      <ToastProvider>
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-sm dark:focus:bg-zinc-900">
          Skip to content
        </a>
        <div className="flex min-h-screen">
          <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col print:hidden border-r border-zinc-200 bg-white px-3 py-4 dark:border-zinc-800 dark:bg-zinc-900">
            <Link href="/" className="mb-5 block rounded px-2 text-sm font-semibold tracking-tight text-zinc-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-zinc-50">
              Ledger Ops Console
            </Link>
            <MainNav items={navItems} />
            <section aria-label="Signed-in user" className="mt-auto border-t border-zinc-200 pt-3 text-sm dark:border-zinc-800">
              <p className="truncate font-medium text-zinc-900 dark:text-zinc-100" title={name}>
                {name}
              </p>
              {email ? (
                <p className="truncate text-xs text-zinc-600 dark:text-zinc-400" title={email}>
                  {email}
                </p>
              ) : null}
              <ul aria-label="Roles" className="mt-2 flex flex-wrap gap-1">
                {roles.map((r) => (
                  <li key={r} className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-700 ring-1 ring-zinc-300 ring-inset dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700">
                    {r}
                  </li>
                ))}
              </ul>
              <div className="mt-3 flex items-center justify-between gap-2">
                <ThemeToggle />
                <SignOutButton />
              </div>
            </section>
          </aside>
          <main id="main" className="min-w-0 flex-1 px-6 py-5">
            {admission && !admission.isOpen ? (
              <div role="alert" className="mb-4 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
                <strong>New transfers are not admitted:</strong> {admission.reason}. Callers get OVERLOADED (503) with Retry-After {admission.retryAfterSeconds} s until the
                backlog drains; transfers already admitted, operator actions and partner webhooks go on.
              </div>
            ) : null}
            {children}
          </main>
        </div>
      </ToastProvider>
    </TRPCProvider>
  );
}
