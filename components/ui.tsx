/**
 * Small shared building blocks for the console's pages: inputs, links, page headers, cards, facts,
 * badges and empty states. Plain Tailwind classes on native elements, so every control keeps its
 * native role and accessible name (Playwright's role locators rely on them). Buttons, tables,
 * dialogs and filter forms are the console kit's (components/kit/).
 */
import type { ReactNode } from "react";
import { focusRing } from "./kit/button";

export const inputClass = `block w-full rounded-md border border-zinc-300 bg-white px-2.5 py-1.5 text-sm text-zinc-900 placeholder:text-zinc-400 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100 dark:placeholder:text-zinc-500 ${focusRing}`;
export const labelClass = "block text-xs font-medium text-zinc-600 dark:text-zinc-400";
export const linkClass = `font-medium text-sky-700 underline-offset-2 hover:underline dark:text-sky-400 rounded-sm ${focusRing}`;

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold text-zinc-900 dark:text-zinc-50">{title}</h1>
        {description ? <p className="mt-1 max-w-3xl text-sm text-zinc-600 dark:text-zinc-400">{description}</p> : null}
      </div>
      {actions ? <div className="flex items-center gap-2">{actions}</div> : null}
    </header>
  );
}

/** An honest empty state: what will appear here, and why nothing does yet. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <section aria-label={title} className="rounded-lg border border-dashed border-zinc-300 bg-white px-6 py-10 text-center dark:border-zinc-700 dark:bg-zinc-900">
      <h2 className="text-base font-medium text-zinc-900 dark:text-zinc-100">{title}</h2>
      {children ? <div className="mx-auto mt-2 max-w-xl text-sm text-zinc-600 dark:text-zinc-400">{children}</div> : null}
    </section>
  );
}

export function Card({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section aria-labelledby={`card-${slug(title)}`} className="mb-6">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h2 id={`card-${slug(title)}`} className="text-base font-semibold text-zinc-900 dark:text-zinc-100">
          {title}
        </h2>
        {actions ? <div className="flex items-center gap-2">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

export function Badge({ children, tone = "neutral" }: { children: ReactNode; tone?: "neutral" | "good" | "bad" | "info" }) {
  const tones = {
    neutral: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
    good: "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-800",
    bad: "bg-red-50 text-red-800 ring-red-300 dark:bg-red-950 dark:text-red-300 dark:ring-red-800",
    info: "bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-300 dark:ring-sky-800",
  } as const;
  return <span className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}>{children}</span>;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

/** UTC ISO time without milliseconds noise: 2026-11-21T08:00:00.123Z stays exact. */
export function formatUtc(d: Date | string | null | undefined): string {
  if (!d) return "—";
  const date = typeof d === "string" ? new Date(d) : d;
  return date.toISOString();
}

/** A labelled list of facts about one object (detail pages). `isWide` lays out two pairs a row. */
export function FactList({ facts, isWide = false }: { facts: readonly (readonly [string, ReactNode])[]; isWide?: boolean }) {
  const columns = isWide ? "grid-cols-2 sm:grid-cols-[8rem_1fr_8rem_1fr]" : "grid-cols-1 sm:grid-cols-[10rem_1fr]";
  return (
    <dl className={`mb-6 grid ${columns} gap-x-6 gap-y-2 rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-800 dark:bg-zinc-900`}>
      {facts.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="font-medium text-zinc-500 dark:text-zinc-400">{k}</dt>
          <dd className="min-w-0 text-zinc-900 dark:text-zinc-100">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A failure the page could not recover from, announced to screen readers. */
export function ErrorNotice({ children }: { children: ReactNode }) {
  return (
    <p role="alert" className="mb-4 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      {children}
    </p>
  );
}
