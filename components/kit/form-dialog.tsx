"use client";
/**
 * A dialog with a form, on the kit's Dialog: one idempotency key per opening (for procedures that
 * take one), the fields' errors next to them (the caller's own checks, or the server's through
 * fieldErrorsOf), any other refusal above the buttons, "Working…" until the server answers, and
 * it closes only once the server confirmed (no optimistic update). FormField is its labelled
 * input with the error under it, announced and tied to the input by aria-describedby.
 */
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { errorMessageOf, fieldErrorsOf } from "../trpc-provider";
import { inputClass, labelClass } from "../ui";
import { Button } from "./button";
import { Dialog } from "./dialog";

/** A form dialog: one idempotency key per opening, errors by field, closes when the server confirmed. */
export function FormDialog({
  isOpen,
  onClose,
  title,
  description,
  confirmLabel,
  isDanger = false,
  keyScope,
  onSubmit,
  children,
}: {
  isOpen: boolean;
  onClose: () => void;
  title: string;
  description?: ReactNode;
  confirmLabel: string;
  /** The confirm button in the danger style (a deletion). */
  isDanger?: boolean;
  keyScope: string;
  /** Reads the form; returns errors by field to refuse locally, or resolves when the server confirmed. */
  onSubmit: (data: FormData, idempotencyKey: string) => Promise<Record<string, string> | void>;
  children: (errors: Record<string, string>) => ReactNode;
}) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog isOpen={isOpen} onClose={onClose} title={title} description={description} isDismissable={!isPending}>
      {isOpen ? <FormBody onClose={onClose} confirmLabel={confirmLabel} isDanger={isDanger} keyScope={keyScope} onSubmit={onSubmit} onPendingChange={setIsPending} render={children} /> : null}
    </Dialog>
  );
}

function FormBody({
  onClose,
  confirmLabel,
  isDanger,
  keyScope,
  onSubmit,
  onPendingChange,
  render,
}: {
  onClose: () => void;
  confirmLabel: string;
  isDanger: boolean;
  keyScope: string;
  onSubmit: (data: FormData, idempotencyKey: string) => Promise<Record<string, string> | void>;
  onPendingChange: (v: boolean) => void;
  render: (errors: Record<string, string>) => ReactNode;
}) {
  const [idempotencyKey] = useState(() => `console:${keyScope}:${crypto.randomUUID()}`);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [isPending, setIsPending] = useState(false);
  const pending = (v: boolean) => {
    setIsPending(v);
    onPendingChange(v);
  };
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (isPending) return;
    setErrors({});
    setMessage(null);
    pending(true);
    try {
      const local = await onSubmit(new FormData(e.currentTarget), idempotencyKey);
      pending(false);
      if (local && Object.keys(local).length) {
        setErrors(local);
        return;
      }
      onClose();
    } catch (err) {
      pending(false);
      const byField = fieldErrorsOf(err);
      setErrors(byField);
      if (Object.keys(byField).length === 0) setMessage(errorMessageOf(err));
    }
  }
  return (
    <form onSubmit={submit} className="space-y-3" aria-busy={isPending} noValidate>
      {render(errors)}
      {message ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {message}
        </p>
      ) : null}
      <div className="flex justify-end gap-2">
        <Button onClick={onClose} disabled={isPending}>
          Close
        </Button>
        <Button type="submit" variant={isDanger ? "danger" : "primary"} disabled={isPending}>
          {isPending ? "Working…" : confirmLabel}
        </Button>
      </div>
    </form>
  );
}

/** A labelled field with its error under it (announced, and tied to the input by aria-describedby). */
export function FormField({ name, label, error, children }: { name: string; label: string; error?: string; children: (props: { id: string; name: string; "aria-invalid": boolean; "aria-describedby"?: string; className: string }) => ReactNode }) {
  const id = `${useId()}-${name}`;
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      {children({ id, name, "aria-invalid": Boolean(error), ...(error ? { "aria-describedby": `${id}-error` } : {}), className: `${inputClass} mt-1` })}
      {error ? (
        <p id={`${id}-error`} role="alert" className="mt-1 text-xs text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
    </div>
  );
}

