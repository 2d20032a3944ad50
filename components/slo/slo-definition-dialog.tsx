"use client";
/**
 * Creating and changing an objective (admins, slo:manage) through the kit's ReasonDialog: the
 * reason goes into the audit record, a change carries the version it was based on, and the
 * server's refusals are shown next to the field they name (fieldErrorsOf). The page is read again
 * once the server confirmed; nothing changes on screen before.
 */
import { useId, useState, type ReactNode } from "react";
import { useMutation } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { fieldErrorsOf } from "../kit/field-errors";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";
import type { RouterOutputs } from "../kit/api-types";

type Definition = RouterOutputs["slo"]["definitions"]["list"][number];

/** What the page hands down from server/slo/definitions.ts (INDICATORS) and the histogram's bounds. */
export interface IndicatorOption {
  kind: Definition["indicator"];
  label: string;
  threshold: "none" | "latency_bound" | "milliseconds" | "count";
}

interface FormValues {
  key: string;
  indicator: Definition["indicator"];
  name: string;
  description: string;
  /** Percent, as typed ("99.5"). */
  targetPercent: string;
  windowDays: string;
  threshold: string;
  rail: string;
  partner: string;
  isEnabled: boolean;
}

function initialValues(d: Definition | null, indicators: IndicatorOption[]): FormValues {
  if (!d) return { key: "", indicator: indicators[0]!.kind, name: "", description: "", targetPercent: "99", windowDays: "28", threshold: "", rail: "", partner: "", isEnabled: true };
  return {
    key: d.key,
    indicator: d.indicator,
    name: d.name,
    description: d.description,
    targetPercent: String(Math.round(d.target * 1e6) / 1e4),
    windowDays: String(d.windowDays),
    threshold: d.thresholdMs !== null ? String(d.thresholdMs) : d.thresholdCount !== null ? String(d.thresholdCount) : "",
    rail: d.rail ?? "",
    partner: d.partner ?? "",
    isEnabled: d.isEnabled,
  };
}

const PERCENT_RE = /^\d{1,3}(\.\d{1,4})?$/;
const WHOLE_RE = /^\d{1,12}$/;

/**
 * The fields the API takes, from what was typed. Checks only that numbers are numbers (the
 * server checks ranges and names the field); errors by field.
 */
function toFields(v: FormValues, kind: IndicatorOption["threshold"]) {
  const errors: Record<string, string> = {};
  const pct = v.targetPercent.trim();
  if (!PERCENT_RE.test(pct)) errors["target"] = "give the target as a percentage, for example 99.5";
  if (!WHOLE_RE.test(v.windowDays.trim())) errors["windowDays"] = "give the window as a whole number of days";
  const th = v.threshold.trim();
  if (kind !== "none" && !WHOLE_RE.test(th)) errors[kind === "count" ? "thresholdCount" : "thresholdMs"] = kind === "count" ? "give a whole number of transfers" : "give a whole number of milliseconds";
  const fields = {
    name: v.name,
    description: v.description,
    // Basis points of a percent: "99.5" is 995000 millionths, 0.995.
    target: Math.round(Number(pct) * 1e4) / 1e6,
    windowDays: Number(v.windowDays.trim()),
    thresholdMs: kind === "latency_bound" || kind === "milliseconds" ? Number(th) : null,
    thresholdCount: kind === "count" ? Number(th) : null,
    rail: v.rail.trim() || null,
    partner: v.partner.trim() || null,
    isEnabled: v.isEnabled,
  };
  return { fields, errors };
}

function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <div className="mt-2">
      <label className={labelClass} htmlFor={id}>
        {label}
      </label>
      {children}
      {hint ? (
        <p id={`${id}-hint`} className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="mt-0.5 text-xs text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** "New objective" (definition null) or "Edit" on one objective. */
export function SloDefinitionButton({ definition, indicators, latencyBoundsMs }: { definition: Definition | null; indicators: IndicatorOption[]; latencyBoundsMs: readonly number[] }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const create = useMutation(trpc.slo.definitions.create.mutationOptions());
  const update = useMutation(trpc.slo.definitions.update.mutationOptions());
  const ids = useId();
  const [isOpen, setIsOpen] = useState(false);
  const [values, setValues] = useState<FormValues>(() => initialValues(definition, indicators));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const isNew = definition === null;
  const indicator = indicators.find((i) => i.kind === values.indicator) ?? indicators[0]!;
  const set = <K extends keyof FormValues>(k: K, v: FormValues[K]) => setValues((old) => ({ ...old, [k]: v }));
  const field = (name: string) => ({ id: `${ids}-${name}`, error: errors[name] });
  const described = (name: string, hasHint = false) => {
    const parts = [hasHint ? `${ids}-${name}-hint` : null, errors[name] ? `${ids}-${name}-error` : null].filter(Boolean);
    return { "aria-describedby": parts.length ? parts.join(" ") : undefined, "aria-invalid": errors[name] ? true : undefined };
  };
  const thresholdField = indicator.threshold === "count" ? "thresholdCount" : "thresholdMs";

  return (
    <>
      <Button
        variant={isNew ? "primary" : "secondary"}
        size={isNew ? "md" : "xs"}
        aria-label={isNew ? undefined : `Edit ${definition.name}`}
        onClick={() => {
          setValues(initialValues(definition, indicators));
          setErrors({});
          setIsOpen(true);
        }}
      >
        {isNew ? "New objective" : "Edit"}
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={isNew ? "New objective" : `Change ${definition.name}`}
        keyScope={isNew ? "slo-create" : "slo-update"}
        confirmLabel={isNew ? "Create objective" : "Save changes"}
        reasonPlaceholder="Why (for the audit log): the agreement, the incident review, the ticket"
        description={isNew ? "The worker evaluates it from the next minute; budgets and alerts follow its target and window." : `Version ${definition.version}. A change applies from the next evaluation; if someone changed it meanwhile, you are asked to reload.`}
        onConfirm={async ({ reason }) => {
          const { fields, errors: local } = toFields(values, indicator.threshold);
          setErrors(local);
          if (Object.keys(local).length > 0) throw new Error(`Check the fields marked: ${Object.keys(local).join(", ")}.`);
          try {
            if (isNew) await create.mutateAsync({ key: values.key.trim(), indicator: values.indicator, reason, ...fields });
            else await update.mutateAsync({ key: definition.key, expectedVersion: definition.version, reason, changes: fields });
          } catch (err) {
            setErrors(fieldErrorsOf(err, "changes."));
            toast.error(`${isNew ? "The objective was not created" : "Not changed"}: ${errorMessageOf(err)}`);
            throw err;
          }
          toast.success(isNew ? "Objective created." : "Objective changed.");
          refresh();
        }}
      >
        {isNew ? (
          <>
            <Field {...field("key")} label="Key" hint="Lower-case letters, digits and hyphens; it names the objective in URLs, metrics and alerts and never changes.">
              <input id={`${ids}-key`} className={inputClass} value={values.key} maxLength={63} onChange={(e) => set("key", e.target.value)} {...described("key", true)} />
            </Field>
            <Field {...field("indicator")} label="Indicator">
              <select id={`${ids}-indicator`} className={inputClass} value={values.indicator} onChange={(e) => set("indicator", e.target.value as FormValues["indicator"])} {...described("indicator")}>
                {indicators.map((i) => (
                  <option key={i.kind} value={i.kind}>
                    {i.label}
                  </option>
                ))}
              </select>
            </Field>
          </>
        ) : (
          <p className="text-sm text-zinc-700 dark:text-zinc-300">
            <span className="font-mono text-xs">{definition.key}</span> · {indicator.label}
          </p>
        )}
        <Field {...field("name")} label="Name">
          <input id={`${ids}-name`} className={inputClass} value={values.name} maxLength={120} onChange={(e) => set("name", e.target.value)} {...described("name")} />
        </Field>
        <Field {...field("description")} label="Description (optional)">
          <textarea id={`${ids}-description`} rows={2} className={inputClass} value={values.description} maxLength={1000} onChange={(e) => set("description", e.target.value)} {...described("description")} />
        </Field>
        <div className="grid grid-cols-2 gap-x-3">
          <Field {...field("target")} label="Target (%)" hint="For example 99.5">
            <input id={`${ids}-target`} className={inputClass} inputMode="decimal" value={values.targetPercent} onChange={(e) => set("targetPercent", e.target.value)} {...described("target", true)} />
          </Field>
          <Field {...field("windowDays")} label="Window (days)" hint="1 to 90">
            <input id={`${ids}-windowDays`} className={inputClass} inputMode="numeric" value={values.windowDays} onChange={(e) => set("windowDays", e.target.value)} {...described("windowDays", true)} />
          </Field>
        </div>
        {indicator.threshold === "latency_bound" ? (
          <Field {...field("thresholdMs")} label="Settled within">
            <select id={`${ids}-thresholdMs`} className={inputClass} value={values.threshold} onChange={(e) => set("threshold", e.target.value)} {...described("thresholdMs")}>
              <option value="">Choose a bound</option>
              {latencyBoundsMs.map((b) => (
                <option key={b} value={String(b)}>
                  {b >= 60_000 ? `${b / 60_000} min` : `${b / 1000} s`}
                </option>
              ))}
            </select>
          </Field>
        ) : indicator.threshold !== "none" ? (
          <Field {...field(thresholdField)} label={indicator.threshold === "count" ? "Threshold (transfers)" : "Threshold (milliseconds)"}>
            <input id={`${ids}-${thresholdField}`} className={inputClass} inputMode="numeric" value={values.threshold} onChange={(e) => set("threshold", e.target.value)} {...described(thresholdField)} />
          </Field>
        ) : null}
        <div className="grid grid-cols-2 gap-x-3">
          <Field {...field("rail")} label="Rail (empty: every rail)">
            <input id={`${ids}-rail`} className={inputClass} value={values.rail} maxLength={64} onChange={(e) => set("rail", e.target.value)} {...described("rail")} />
          </Field>
          <Field {...field("partner")} label="Partner (empty: every partner)">
            <input id={`${ids}-partner`} className={inputClass} value={values.partner} maxLength={64} onChange={(e) => set("partner", e.target.value)} {...described("partner")} />
          </Field>
        </div>
        <label className="mt-2 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={values.isEnabled} onChange={(e) => set("isEnabled", e.target.checked)} />
          Enabled (evaluated, alerting and on the overview)
        </label>
      </ReasonDialog>
    </>
  );
}
