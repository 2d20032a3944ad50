/**
 * Small shared building blocks for the console: buttons, inputs, tables, page headers and empty
 * states. Plain Tailwind classes on native elements, so every control keeps its native role and
 * accessible name (Playwright's role locators rely on them).
 */
import type { ButtonHTMLAttributes, ReactNode } from "react";
import Link from "next/link";

const focusRing = "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:focus-visible:outline-sky-400";

export const buttonClass = {
  primary: `inline-flex items-center gap-1.5 rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-zinc-700 disabled:cursor-not-allowed disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-white ${focusRing}`,
  secondary: `inline-flex items-center gap-1.5 rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm font-medium text-zinc-800 hover:bg-zinc-50 disabled:cursor-not-allowed disabled:opacity-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800 ${focusRing}`,
  danger: `inline-flex items-center gap-1.5 rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-600 disabled:cursor-not-allowed disabled:opacity-50 dark:bg-red-600 dark:hover:bg-red-500 ${focusRing}`,
  ghost: `inline-flex items-center gap-1.5 rounded-md px-2 py-1 text-sm text-zinc-700 hover:bg-zinc-100 disabled:opacity-50 dark:text-zinc-300 dark:hover:bg-zinc-800 ${focusRing}`,
} as const;

export const inputClass = `block w-full rounded-md border border-zinc-300 bg-white px-2.5 py-1.5 text-sm text-zinc-900 placeholder:text-zinc-400 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100 dark:placeholder:text-zinc-500 ${focusRing}`;
export const labelClass = "block text-xs font-medium text-zinc-600 dark:text-zinc-400";
export const linkClass = `font-medium text-sky-700 underline-offset-2 hover:underline dark:text-sky-400 rounded-sm ${focusRing}`;

export const tableClass = {
  wrap: "overflow-x-auto rounded-lg border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900",
  table: "min-w-full divide-y divide-zinc-200 text-sm dark:divide-zinc-800",
  th: "whitespace-nowrap px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400",
  td: "px-3 py-2 align-top text-zinc-800 dark:text-zinc-200",
  tr: "hover:bg-zinc-50 dark:hover:bg-zinc-800/50",
} as const;

export function Button({ variant = "secondary", className = "", type = "button", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: keyof typeof buttonClass }) {
  return <button type={type} className={`${buttonClass[variant]} ${className}`} {...rest} />;
}

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

/** A keyset pager step: a link when there is a page that way, a disabled look-alike when not. */
export function PagerLink({ href, rel, children }: { href: string | null; rel: "prev" | "next"; children: ReactNode }) {
  return href ? (
    <Link href={href} className={buttonClass.secondary} rel={rel}>
      {children}
    </Link>
  ) : (
    <span aria-disabled="true" className={`${buttonClass.secondary} pointer-events-none opacity-50`}>
      {children}
    </span>
  );
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

/** The submit and clear controls under a URL-state filter form. */
export function FilterActions({ clearHref, hasFilters }: { clearHref: string; hasFilters: boolean }) {
  return (
    <div className="mt-3 flex items-center gap-2">
      <button type="submit" className={buttonClass.primary}>
        Apply filters
      </button>
      {hasFilters ? (
        <Link href={clearHref} className={buttonClass.ghost}>
          Clear filters
        </Link>
      ) : null}
    </div>
  );
}

/** A labelled select of a filter form: "Any …" (the empty value) first, then the options as given. */
export function FilterSelect({ id, name, label, value, anyLabel, options }: { id: string; name: string; label: string; value: string | null | undefined; anyLabel: string; options: readonly string[] }) {
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} name={name} defaultValue={value ?? ""} className={`${inputClass} mt-1`}>
        <option value="">{anyLabel}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}
