"use client";
/**
 * The Reconciliation page's actions, on the kit's dialogs: start a run by hand and close a period
 * (operators, recon:operate), propose reopening a closed period (four eyes), and create or edit
 * sources (admins, recon:rules). Each dialog calls one tRPC procedure with an idempotency key fixed
 * for its opening, shows "Working…" until the server answers, puts the server's refusal next to the
 * field it names (fieldErrorsOf) or above the buttons, and closes only once the server confirmed;
 * then the page is read again. The page renders a button only for who holds the permission.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useToast } from "../toast";
import { useTRPC } from "../trpc-provider";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { FormDialog, FormField as Field } from "../kit/form-dialog";
import { ReasonDialog } from "../kit/reason-dialog";

type Source = RouterOutputs["recon"]["sources"]["list"][number];
type PeriodClose = RouterOutputs["recon"]["periods"]["list"][number];
type SourceRef = Pick<Source, "id" | "name">;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const text = (data: FormData, name: string) => String(data.get(name) ?? "").trim();

function periodErrors(from: string, to: string): Record<string, string> {
  const e: Record<string, string> = {};
  if (!DATE.test(from)) e.periodFrom = "a date YYYY-MM-DD";
  if (!DATE.test(to)) e.periodTo = "a date YYYY-MM-DD";
  if (!e.periodFrom && !e.periodTo && from > to) e.periodTo = "the end is before the start";
  return e;
}

function PeriodFields({ sources, errors, defaultSourceId }: { sources: SourceRef[]; errors: Record<string, string>; defaultSourceId?: string }) {
  const today = new Date().toISOString().slice(0, 10);
  return (
    <>
      <Field name="sourceId" label="Source" error={errors.sourceId}>
        {(p) => (
          <select {...p} defaultValue={defaultSourceId ?? sources[0]?.id}>
            {sources.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field name="periodFrom" label="From (UTC date)" error={errors.periodFrom}>
          {(p) => <input {...p} type="date" defaultValue={today} required />}
        </Field>
        <Field name="periodTo" label="To (UTC date)" error={errors.periodTo}>
          {(p) => <input {...p} type="date" defaultValue={today} required />}
        </Field>
      </div>
    </>
  );
}

/** Header buttons for operators: start a run by hand, close a period. */
export function OperatorActions({ sources }: { sources: SourceRef[] }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const [dialog, setDialog] = useState<null | "run" | "close">(null);
  const start = useMutation(trpc.recon.runs.start.mutationOptions());
  const close = useMutation(trpc.recon.periods.close.mutationOptions());
  if (sources.length === 0) return null;
  return (
    <>
      <Button onClick={() => setDialog("run")}>Start a run</Button>
      <Button onClick={() => setDialog("close")}>Close a period</Button>
      <FormDialog
        isOpen={dialog === "run"}
        onClose={() => setDialog(null)}
        title="Start a reconciliation run"
        description={<>Matches the source&apos;s unmatched lines and postings of the period with the active rules. Running it again changes nothing already settled.</>}
        confirmLabel="Start run"
        keyScope="recon-run"
        onSubmit={async (data, idempotencyKey) => {
          const input = { sourceId: text(data, "sourceId"), periodFrom: text(data, "periodFrom"), periodTo: text(data, "periodTo") };
          const local = periodErrors(input.periodFrom, input.periodTo);
          if (Object.keys(local).length) return local;
          const r = await start.mutateAsync({ ...input, idempotencyKey });
          const s = r.summary as { autoMatches?: number; breaksOpened?: number };
          toast.success(`Run finished: ${s.autoMatches ?? 0} automatic matches, ${s.breaksOpened ?? 0} breaks opened`);
          router.refresh();
        }}
      >
        {(errors) => <PeriodFields sources={sources} errors={errors} />}
      </FormDialog>
      <FormDialog
        isOpen={dialog === "close"}
        onClose={() => setDialog(null)}
        title="Close a period"
        description={<>From then on the database refuses any posting on the source&apos;s ledger account effective inside the period. Refused while breaks are open in it. Reopening needs an approver.</>}
        confirmLabel="Close period"
        keyScope="recon-close"
        onSubmit={async (data, idempotencyKey) => {
          const input = { sourceId: text(data, "sourceId"), periodFrom: text(data, "periodFrom"), periodTo: text(data, "periodTo"), reason: text(data, "reason") };
          const local = periodErrors(input.periodFrom, input.periodTo);
          if (input.reason.length < 3) local.reason = "a reason of at least 3 characters: it goes into the audit log";
          if (Object.keys(local).length) return local;
          const p = await close.mutateAsync({ ...input, idempotencyKey });
          toast.success(`Closed ${p.periodFrom} to ${p.periodTo}`);
          router.refresh();
        }}
      >
        {(errors) => (
          <>
            <PeriodFields sources={sources} errors={errors} />
            <Field name="reason" label="Reason" error={errors.reason}>
              {(p) => <textarea {...p} rows={2} maxLength={500} placeholder="e.g. November reconciled, all breaks resolved" />}
            </Field>
          </>
        )}
      </FormDialog>
    </>
  );
}

/** A closed period's "Propose reopening" (four eyes: an approver applies it). */
export function ProposeReopenButton({ period, label }: { period: PeriodClose; label: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const [isOpen, setIsOpen] = useState(false);
  const reopen = useMutation(trpc.recon.periods.proposeReopen.mutationOptions());
  return (
    <>
      <Button size="xs" onClick={() => setIsOpen(true)} aria-label={`Propose reopening ${label}`}>
        Propose reopening
      </Button>
      <ReasonDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={`Propose reopening ${label}`}
        description={<>An approver must approve it; until then postings into the period stay refused.</>}
        confirmLabel="Propose reopening"
        keyScope="recon-reopen"
        onConfirm={async ({ reason, idempotencyKey }) => {
          const p = await reopen.mutateAsync({ closeId: period.id, reason, idempotencyKey });
          toast.success(`Reopening proposed (proposal ${p.id.slice(0, 8)}); an approver decides`);
          router.refresh();
        }}
      />
    </>
  );
}

const SOURCE_KIND_LABELS = { bank_account: "Bank account (camt.053)", partner_rail: "Partner rail (settlement CSV)", csv_feed: "CSV feed" } as const;

/** Reads the mapping fields: none, a built-in mapping, or custom JSON (errors under csvMapping). */
function mappingOf(data: FormData): { csvMapping?: { builtIn: string } | { mapping: unknown }; error?: string } {
  const choice = text(data, "mappingChoice");
  if (choice === "" || choice === "none") return {};
  if (choice !== "custom") return { csvMapping: { builtIn: choice } };
  try {
    return { csvMapping: { mapping: JSON.parse(text(data, "mappingJson")) } };
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
}

function MappingFields({ errors, hasNone }: { errors: Record<string, string>; hasNone: boolean }) {
  const [choice, setChoice] = useState(hasNone ? "none" : "sandbox_settlement");
  return (
    <>
      <Field name="mappingChoice" label="CSV column mapping" error={errors.csvMapping}>
        {(p) => (
          <select {...p} value={choice} onChange={(e) => setChoice(e.target.value)}>
            {hasNone ? <option value="none">None (camt.053, or keep the current mapping)</option> : null}
            <option value="sandbox_settlement">Built in: sandbox settlement</option>
            <option value="custom">Custom (JSON)</option>
          </select>
        )}
      </Field>
      {choice === "custom" ? (
        <Field name="mappingJson" label="Mapping (JSON: columns, currency, amountFormat, sign, dateFormat)">
          {(p) => <textarea {...p} rows={5} className={`${p.className} font-mono text-xs`} />}
        </Field>
      ) : null}
    </>
  );
}

/** "Add a source" for admins. */
export function CreateSourceButton() {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const [isOpen, setIsOpen] = useState(false);
  const [kind, setKind] = useState<keyof typeof SOURCE_KIND_LABELS>("bank_account");
  const create = useMutation(trpc.recon.sources.create.mutationOptions());
  const optional = (data: FormData, name: string) => text(data, name) || undefined;
  return (
    <>
      <Button size="sm" onClick={() => setIsOpen(true)}>
        Add a source
      </Button>
      <FormDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title="Add a reconciliation source"
        description={<>Ties an external feed to one ledger account, in that account&apos;s currency. Kind, account and currency never change afterwards.</>}
        confirmLabel="Add source"
        keyScope="recon-source-create"
        onSubmit={async (data, idempotencyKey) => {
          const m = mappingOf(data);
          if (m.error) return { csvMapping: m.error };
          const s = await create.mutateAsync({
            name: text(data, "name"),
            kind,
            ledgerAccount: text(data, "ledgerAccount"),
            iban: kind === "bank_account" ? optional(data, "iban") : undefined,
            externalAccountId: kind === "bank_account" ? optional(data, "externalAccountId") : undefined,
            partner: kind === "partner_rail" ? optional(data, "partner") : undefined,
            rail: kind === "partner_rail" ? optional(data, "rail") : undefined,
            ...(kind !== "bank_account" && m.csvMapping ? { csvMapping: m.csvMapping } : {}),
            idempotencyKey,
          });
          toast.success(`Source ${s.name} added`);
          router.refresh();
        }}
      >
        {(errors) => (
          <>
            <Field name="name" label="Name" error={errors.name}>
              {(p) => <input {...p} type="text" maxLength={100} placeholder="e.g. Main bank EUR" />}
            </Field>
            <Field name="kind" label="Kind" error={errors.kind}>
              {(p) => (
                <select {...p} value={kind} onChange={(e) => setKind(e.target.value as keyof typeof SOURCE_KIND_LABELS)}>
                  {Object.entries(SOURCE_KIND_LABELS).map(([k, l]) => (
                    <option key={k} value={k}>
                      {l}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field name="ledgerAccount" label="Ledger account (code)" error={errors.ledgerAccount}>
              {(p) => <input {...p} type="text" placeholder="bank:omnibus:EUR" className={`${p.className} font-mono`} />}
            </Field>
            {kind === "bank_account" ? (
              <div className="grid grid-cols-2 gap-3">
                <Field name="iban" label="IBAN its statements name" error={errors.iban}>
                  {(p) => <input {...p} type="text" className={`${p.className} font-mono`} />}
                </Field>
                <Field name="externalAccountId" label="or the bank's other account id" error={errors.externalAccountId}>
                  {(p) => <input {...p} type="text" className={`${p.className} font-mono`} />}
                </Field>
              </div>
            ) : null}
            {kind === "partner_rail" ? (
              <div className="grid grid-cols-2 gap-3">
                <Field name="partner" label="Partner" error={errors.partner}>
                  {(p) => <input {...p} type="text" placeholder="sandbox" />}
                </Field>
                <Field name="rail" label="Rail (optional)" error={errors.rail}>
                  {(p) => <input {...p} type="text" placeholder="instant" />}
                </Field>
              </div>
            ) : null}
            {kind !== "bank_account" ? <MappingFields errors={errors} hasNone={false} /> : null}
          </>
        )}
      </FormDialog>
    </>
  );
}

/** A source row's "Edit" for admins: rename, (de)activate, a new CSV mapping version. */
export function EditSourceButton({ source }: { source: Source }) {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const [isOpen, setIsOpen] = useState(false);
  const update = useMutation(trpc.recon.sources.update.mutationOptions());
  return (
    <>
      <Button size="xs" onClick={() => setIsOpen(true)} aria-label={`Edit source ${source.name}`}>
        Edit
      </Button>
      <FormDialog
        isOpen={isOpen}
        onClose={() => setIsOpen(false)}
        title={`Edit source ${source.name}`}
        description={<>Audited with before and after. A new mapping becomes a new version; lines already imported keep theirs.</>}
        confirmLabel="Save"
        keyScope="recon-source-update"
        onSubmit={async (data, idempotencyKey): Promise<Record<string, string> | void> => {
          const m = source.kind === "bank_account" ? {} : mappingOf(data);
          if (m.error) return { csvMapping: m.error };
          const reason = text(data, "reason");
          if (reason.length < 3) return { reason: "a reason of at least 3 characters: it goes into the audit log" };
          const name = text(data, "name");
          const s = await update.mutateAsync({
            sourceId: source.id,
            expectedVersion: source.version,
            ...(name && name !== source.name ? { name } : {}),
            isActive: data.get("isActive") === "on",
            ...(m.csvMapping ? { csvMapping: m.csvMapping } : {}),
            reason,
            idempotencyKey,
          });
          toast.success(`Source ${s.name} saved (version ${s.version})`);
          router.refresh();
        }}
      >
        {(errors) => (
          <>
            <Field name="name" label="Name" error={errors.name}>
              {(p) => <input {...p} type="text" maxLength={100} defaultValue={source.name} />}
            </Field>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" name="isActive" defaultChecked={source.isActive} /> Active (scheduled runs every 15 minutes)
            </label>
            {source.kind !== "bank_account" ? <MappingFields errors={errors} hasNone /> : null}
            <Field name="reason" label="Reason" error={errors.reason}>
              {(p) => <textarea {...p} rows={2} maxLength={500} />}
            </Field>
            {errors.expectedVersion ? <p role="alert" className="text-sm text-red-700 dark:text-red-400">{errors.expectedVersion}</p> : null}
          </>
        )}
      </FormDialog>
    </>
  );
}
