"use client";
/**
 * Proposing a new fee schedule version (permission pricing:manage): the definition as JSON
 * (amounts are integer minor-unit strings, rates basis points or exact decimals; the format is in
 * docs/api.md), the time it should take effect, the simulation of what it would have charged, and
 * a reason. An approver must approve it; until then nothing changes. The server validates the
 * definition and names the rule and tier of any problem.
 */
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { errorMessageOf, useTRPC } from "../trpc-provider";
import { useToast } from "../toast";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { SimulationPanel } from "./simulation";

export interface ProposeVersionProps {
  /** null: a new schedule (code, name and rail are asked for). */
  schedule: { code: string; name: string; rail: string; latestVersion: number } | null;
  /** The rails without a schedule (a new schedule picks one). */
  freeRails: readonly string[];
  initialDefinition: Record<string, unknown>;
}

/** "2026-12-02T10:00" typed as UTC, or null. */
function parseUtcLocal(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null;
  const d = new Date(`${value}:00.000Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function ProposeVersionForm({ schedule, freeRails, initialDefinition }: ProposeVersionProps) {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const [code, setCode] = useState(schedule?.code ?? "");
  const [name, setName] = useState(schedule?.name ?? "");
  const [rail, setRail] = useState(schedule?.rail ?? freeRails[0] ?? "");
  const [definitionText, setDefinitionText] = useState(() => JSON.stringify(initialDefinition, null, 2));
  const [effectiveFrom, setEffectiveFrom] = useState(() => new Date(Date.now() + 3_600_000).toISOString().slice(0, 16));
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [idempotencyKey] = useState(() => `console:fee-schedule:${crypto.randomUUID()}`);
  const propose = useMutation(trpc.pricing.proposeScheduleVersion.mutationOptions());

  /** The definition typed, as an object, or why it is not one. */
  const definition = (): Record<string, unknown> | string => {
    try {
      const v: unknown = JSON.parse(definitionText);
      return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : 'The definition must be a JSON object: { "rules": [ … ] }.';
    } catch (e) {
      return `The definition is not valid JSON: ${(e as Error).message}`;
    }
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const d = definition();
    if (typeof d === "string") return setError(d);
    const at = parseUtcLocal(effectiveFrom);
    if (!at) return setError("Effective from must be a date and time (UTC).");
    try {
      const p = await propose.mutateAsync({
        scheduleCode: code.trim(),
        ...(schedule ? {} : { name: name.trim() }),
        rail,
        basedOnVersion: schedule?.latestVersion ?? 0,
        effectiveFrom: at,
        definition: d,
        reason,
        idempotencyKey,
      });
      toast.success(`Fee schedule ${code.trim()} v${(schedule?.latestVersion ?? 0) + 1} proposed; an approver must approve it.`);
      router.push(`/approvals/${p.id}`);
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <form onSubmit={submit} aria-label="Propose a fee schedule version" className="space-y-4 text-sm">
      {schedule ? null : (
        <div className="grid gap-3 md:grid-cols-3">
          <div>
            <label htmlFor="schedule-code" className={labelClass}>
              Schedule code
            </label>
            <input id="schedule-code" value={code} onChange={(e) => setCode(e.target.value)} placeholder="instant-std" className={`${inputClass} mt-1 font-mono`} required />
          </div>
          <div>
            <label htmlFor="schedule-name" className={labelClass}>
              Name
            </label>
            <input id="schedule-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Instant rail, standard" className={`${inputClass} mt-1`} required />
          </div>
          <div>
            <label htmlFor="schedule-rail" className={labelClass}>
              Rail
            </label>
            <select id="schedule-rail" value={rail} onChange={(e) => setRail(e.target.value)} className={`${inputClass} mt-1`}>
              {freeRails.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      <div>
        <label htmlFor="schedule-definition" className={labelClass}>
          Definition (JSON: rules with currency, segment or customer, tiers of fixed + basis points, minimum, maximum, rounding)
        </label>
        <textarea
          id="schedule-definition"
          rows={16}
          spellCheck={false}
          value={definitionText}
          onChange={(e) => setDefinitionText(e.target.value)}
          className={`${inputClass} mt-1 font-mono text-xs`}
        />
      </div>
      <div>
        <label htmlFor="schedule-effective" className={labelClass}>
          Effective from (UTC; it takes effect then, or a few seconds after its approval if that is later)
        </label>
        <input id="schedule-effective" type="datetime-local" value={effectiveFrom} onChange={(e) => setEffectiveFrom(e.target.value)} className={`${inputClass} mt-1 w-64`} required />
      </div>

      <fieldset className="rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
        <legend className="px-1 text-xs font-semibold uppercase tracking-wide text-zinc-500 dark:text-zinc-400">Simulation: what this draft would have charged</legend>
        <SimulationPanel idPrefix="draft-sim" subject={{ kind: "draft", rail, definition }} />
      </fieldset>

      <div>
        <label htmlFor="schedule-reason" className={labelClass}>
          Reason
        </label>
        <textarea id="schedule-reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} className={`${inputClass} mt-1`} required minLength={3} />
      </div>
      {error ? (
        <p role="alert" className="whitespace-pre-wrap text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <Button type="submit" variant="primary" disabled={propose.isPending || (!schedule && rail === "")}>
        {propose.isPending ? "Proposing…" : schedule ? `Propose version ${schedule.latestVersion + 1}` : "Propose schedule"}
      </Button>
    </form>
  );
}
