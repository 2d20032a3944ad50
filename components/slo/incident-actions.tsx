"use client";
/**
 * Opening an incident by hand and resolving one, through the kit's ReasonDialog: "Working…" until
 * the server answers, the server's message on refusal, then the page is read again. The reason is
 * the audit record's (and, when opening, the incident's first notes).
 */
import { useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useToast } from "../toast";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { inputClass, labelClass } from "../ui";
import { Button } from "../kit/button";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

type Severity = "sev1" | "sev2" | "sev3" | "sev4";

export function OpenIncidentButton() {
  const trpc = useTRPC();
  const toast = useToast();
  const router = useRouter();
  const open = useMutation(trpc.slo.incidents.open.mutationOptions());
  const [isOpen, setIsOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [severity, setSeverity] = useState<Severity>("sev3");
  const [partner, setPartner] = useState("");
  const [component, setComponent] = useState("");
  const [startedAt, setStartedAt] = useState(() => new Date(Date.now() - 15 * 60_000).toISOString().slice(0, 16));
  return (
    <>
      <Button variant="primary" onClick={() => setIsOpen(true)}>
        Open incident
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title="Open an incident"
        keyScope="incident-open"
        confirmLabel="Open incident"
        reasonPlaceholder="What is known so far (becomes the incident's first notes)"
        confirmBlockedReason={title.trim().length === 0 ? "Give the incident a title." : null}
        onConfirm={async ({ reason }) => {
          try {
            const i = await open.mutateAsync({ title, severity, startedAt: new Date(`${startedAt}Z`), partner: partner.trim() || null, component: component.trim() || null, notes: reason });
            toast.success("Incident opened.");
            router.push(`/slos/incidents/${i.id}`);
          } catch (err) {
            toast.error(`The incident was not opened: ${errorMessageOf(err)}`);
            throw err;
          }
        }}
      >
        <label className={labelClass} htmlFor="new-incident-title">
          Title
        </label>
        <input id="new-incident-title" className={inputClass} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
        <label className={`${labelClass} mt-2`} htmlFor="new-incident-severity">
          Severity
        </label>
        <select id="new-incident-severity" className={inputClass} value={severity} onChange={(e) => setSeverity(e.target.value as Severity)}>
          <option value="sev1">sev1 — money is not moving for many customers</option>
          <option value="sev2">sev2 — a partner or rail is down</option>
          <option value="sev3">sev3 — degraded: slow or failing for some</option>
          <option value="sev4">sev4 — minor, no customer impact yet</option>
        </select>
        <label className={`${labelClass} mt-2`} htmlFor="new-incident-start">
          Started (UTC)
        </label>
        <input id="new-incident-start" type="datetime-local" className={inputClass} value={startedAt} onChange={(e) => setStartedAt(e.target.value)} />
        <label className={`${labelClass} mt-2`} htmlFor="new-incident-partner">
          Partner (optional)
        </label>
        <input id="new-incident-partner" className={inputClass} value={partner} maxLength={64} onChange={(e) => setPartner(e.target.value)} />
        <label className={`${labelClass} mt-2`} htmlFor="new-incident-component">
          Component (optional: worker, webhooks, database, …)
        </label>
        <input id="new-incident-component" className={inputClass} value={component} maxLength={64} onChange={(e) => setComponent(e.target.value)} />
      </ReasonDialog>
    </>
  );
}

export function ResolveIncidentButton({ incidentId, version, isOpen: isIncidentOpen }: { incidentId: string; version: number; isOpen: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const update = useMutation(trpc.slo.incidents.update.mutationOptions());
  const [isOpen, setIsOpen] = useState(false);
  return (
    <>
      <Button variant={isIncidentOpen ? "primary" : "secondary"} onClick={() => setIsOpen(true)}>
        {isIncidentOpen ? "Resolve" : "Reopen"}
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={isIncidentOpen ? "Resolve the incident now" : "Reopen the incident"}
        keyScope="incident-resolve"
        confirmLabel={isIncidentOpen ? "Resolve" : "Reopen"}
        reasonPlaceholder={isIncidentOpen ? "What fixed it (for the audit log and the weekly report)" : "Why it is not over"}
        onConfirm={async ({ reason }) => {
          try {
            await update.mutateAsync({ incidentId, expectedVersion: version, reason, changes: { endedAt: isIncidentOpen ? new Date() : null } });
            toast.success(isIncidentOpen ? "Incident resolved." : "Incident reopened.");
          } catch (err) {
            toast.error(`Not changed: ${errorMessageOf(err)}`);
            throw err;
          }
          refresh();
        }}
      />
    </>
  );
}
