"use client";
/**
 * The one filter form of a list: its fields write search params, "Apply filters" moves to the
 * URL they make (empty fields left out, the keyset cursor dropped, `hidden` params kept), and
 * "Clear filters" links to the list without them. The URL is the state: the form re-reads its
 * values from the URL whenever it changes (a preset link, the back button), and it still works as
 * a plain GET form before JavaScript runs.
 *
 * Fields are composed as children: FilterText, FilterSelect, FilterCheckboxes, FilterCheckbox.
 */
import { useId, type FormEvent, type ReactNode } from "react";
import { useSearchParams } from "next/navigation";
import { Button, ButtonLink } from "./button";
import { cn } from "./cn";
import { useListNavigation } from "./list-navigation";
import { filterQuery } from "./url-state";
import { inputClass, labelClass } from "../ui";

export function FilterForm({
  action,
  label,
  clearHref,
  hasFilters,
  hidden,
  submitLabel = "Apply filters",
  hint,
  hintId,
  layout = "grid grid-cols-2 gap-3 md:grid-cols-4",
  isBare = false,
  children,
}: {
  /** The list's path. */
  action: string;
  /** The form's accessible name ("Filter transfers"). */
  label: string;
  /** Where "Clear filters" goes; shown only when `hasFilters`. */
  clearHref?: string;
  hasFilters?: boolean;
  /** Params to keep that have no field (the inbox tab). */
  hidden?: Readonly<Record<string, string | undefined>>;
  submitLabel?: string;
  /** One line under the fields (units, how ranges apply). */
  hint?: ReactNode;
  /** The hint's id, for fields that point to it with `describedBy`. */
  hintId?: string;
  /** Tailwind classes laying out the fields. */
  layout?: string;
  /** Inline, without the panel around it (a single filter above a table). */
  isBare?: boolean;
  children: ReactNode;
}) {
  const searchParams = useSearchParams();
  const { isPending, navigate } = useListNavigation();

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const query = filterQuery(new FormData(e.currentTarget).entries());
    navigate(query ? `${action}?${query}` : action);
  }

  return (
    <form
      // Remount when the URL changes, so uncontrolled fields show the URL's values.
      key={searchParams.toString()}
      method="get"
      action={action}
      role="search"
      aria-label={label}
      onSubmit={submit}
      className={isBare ? "mb-4 flex flex-wrap items-end gap-2" : "mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900"}
    >
      {Object.entries(hidden ?? {}).map(([name, value]) => (value ? <input key={name} type="hidden" name={name} value={value} /> : null))}
      {isBare ? children : <div className={layout}>{children}</div>}
      {hint ? <p id={hintId} className="mt-2 w-full text-xs text-zinc-500 dark:text-zinc-400">{hint}</p> : null}
      <div className={cn("flex items-center gap-2", isBare ? "" : "mt-3")}>
        <Button type="submit" variant={isBare ? "secondary" : "primary"} disabled={isPending} aria-busy={isPending}>
          {isPending ? "Applying…" : submitLabel}
        </Button>
        {hasFilters && clearHref ? (
          <ButtonLink href={clearHref} variant="ghost">
            Clear filters
          </ButtonLink>
        ) : null}
      </div>
    </form>
  );
}

function Field({ id, label, className, children }: { id: string; label: string; className?: string; children: ReactNode }) {
  return (
    <div className={cn("min-w-0", className)}>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      {children}
    </div>
  );
}

/** A labelled text (or search) field. */
export function FilterText({
  name,
  label,
  value,
  placeholder,
  type = "text",
  inputMode,
  className,
  describedBy,
}: {
  name: string;
  label: string;
  value: string | null | undefined;
  placeholder?: string;
  type?: "text" | "search";
  inputMode?: "text" | "decimal" | "numeric";
  className?: string;
  describedBy?: string;
}) {
  const id = useId();
  return (
    <Field id={id} label={label} className={className}>
      <input id={id} name={name} type={type} inputMode={inputMode} defaultValue={value ?? ""} placeholder={placeholder} aria-describedby={describedBy} className={`${inputClass} mt-1`} />
    </Field>
  );
}

export type FilterOption = string | { value: string; label: string };

/** A labelled select. With `anyLabel`, "Any …" (the empty value) comes first, then the options as given. */
export function FilterSelect({
  name,
  label,
  value,
  anyLabel,
  options,
  className,
}: {
  name: string;
  label: string;
  value: string | number | null | undefined;
  anyLabel?: string;
  options: readonly FilterOption[];
  className?: string;
}) {
  const id = useId();
  return (
    <Field id={id} label={label} className={className}>
      <select id={id} name={name} defaultValue={value === null || value === undefined ? "" : String(value)} className={`${inputClass} mt-1`}>
        {anyLabel ? <option value="">{anyLabel}</option> : null}
        {options.map((o) => {
          const { value: v, label: l } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={v} value={v}>
              {l}
            </option>
          );
        })}
      </select>
    </Field>
  );
}

/** A group of checkboxes writing one param per checked value (`state=reserved&state=failed`). */
export function FilterCheckboxes({
  name,
  legend,
  options,
  values,
  className,
  children,
}: {
  name: string;
  legend: string;
  options: readonly { value: string; label: string; title?: string }[];
  values: readonly string[];
  className?: string;
  /** More checkboxes shown in the same row (FilterCheckbox). */
  children?: ReactNode;
}) {
  return (
    <fieldset className={cn("col-span-full", className)}>
      <legend className={labelClass}>{legend}</legend>
      <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1 text-sm">
        {options.map((o) => (
          <label key={o.value} className="inline-flex items-center gap-1.5" title={o.title}>
            <input type="checkbox" name={name} value={o.value} defaultChecked={values.includes(o.value)} className="size-4 accent-zinc-800 dark:accent-zinc-200" />
            {o.label}
          </label>
        ))}
        {children}
      </div>
    </fieldset>
  );
}

/** One on/off filter (`stuck=1`). */
export function FilterCheckbox({ name, label, isChecked, value = "1", className }: { name: string; label: string; isChecked: boolean; value?: string; className?: string }) {
  return (
    <label className={cn("inline-flex items-center gap-1.5 font-medium", className)}>
      <input type="checkbox" name={name} value={value} defaultChecked={isChecked} className="size-4 accent-amber-600" />
      {label}
    </label>
  );
}
