"use client";
/**
 * Outbox subscriptions: the list (read by the page on the server, with its backlog), create (the
 * signing secret is shown once, then never again), pause, resume and delete (each with a reason,
 * recorded in the audit log). The list changes only after the server confirmed and the page was
 * re-read.
 */
import { useState, type FormEvent } from "react";
import Link from "next/link";
import { useMutation } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { SecretOnce } from "../secret-once";
import { Badge, Card, formatUtc, inputClass, labelClass, linkClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { Dialog } from "../kit/dialog";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";
import { webhooksHref } from "./delivery-filters";

type SubscriptionRow = RouterOutputs["outbox"]["subscriptions"]["list"][number];

type Change = "pause" | "resume" | "delete";

const CHANGE_TEXT: Record<Change, { title: string; confirm: string; done: string; description: string }> = {
  pause: {
    title: "Pause subscription",
    confirm: "Pause",
    done: "paused",
    description: "Nothing is sent while it is paused. Events keep being queued for it and go out, in order, when it is resumed.",
  },
  resume: { title: "Resume subscription", confirm: "Resume", done: "resumed", description: "Queued events are sent in order, then new ones as they happen." },
  delete: {
    title: "Delete subscription",
    confirm: "Delete subscription",
    done: "deleted",
    description: "The endpoint receives nothing more. Its signing secret is erased and every event still queued for it is cancelled. This cannot be undone.",
  },
};

interface SubscriptionsMeta {
  change: (row: SubscriptionRow, change: Change) => void;
}

const columns: ColumnDef<SubscriptionRow>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row: { original: s } }) => (
      <Link href={webhooksHref({ subscription: s.id })} className={linkClass} title={`Deliveries of ${s.name}`}>
        {s.name}
      </Link>
    ),
  },
  { id: "endpoint", header: "Endpoint", meta: { className: "max-w-xs font-mono text-xs break-all" }, cell: ({ row }) => row.original.url },
  {
    id: "topics",
    header: "Topics",
    cell: ({ row }) => (
      <span className="flex max-w-xs flex-wrap gap-1">
        {row.original.topics.map((t) => (
          <Badge key={t}>{t}</Badge>
        ))}
      </span>
    ),
  },
  { id: "status", header: "Status", cell: ({ row }) => <Badge tone={row.original.status === "active" ? "good" : "neutral"}>{row.original.status}</Badge> },
  {
    id: "backlog",
    header: "Backlog",
    meta: { className: "text-xs whitespace-nowrap" },
    cell: ({ row: { original: s } }) => (
      <>
        <span>{s.pendingCount} pending</span>
        {s.deadCount > 0 ? (
          <>
            {" · "}
            <Link href={webhooksHref({ subscription: s.id, status: "dead" })} className={linkClass}>
              <Badge tone="bad">{s.deadCount} dead</Badge>
            </Link>
          </>
        ) : null}
        {s.oldestPendingAt ? <div className="text-zinc-500 dark:text-zinc-400">oldest {formatUtc(s.oldestPendingAt)}</div> : null}
      </>
    ),
  },
  { id: "secret", header: "Secret", meta: { className: "font-mono text-xs" }, cell: ({ row }) => `${row.original.secretPrefix}…` },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
];

const manageColumns: ColumnDef<SubscriptionRow>[] = [
  ...columns,
  {
    id: "actions",
    header: "Actions",
    meta: { isHeaderHidden: true, className: "text-right whitespace-nowrap" },
    cell: ({ row: { original: s }, table }) => {
      const { change } = table.options.meta as SubscriptionsMeta;
      return (
        <span className="inline-flex gap-1.5">
          {s.status === "active" ? (
            <Button onClick={() => change(s, "pause")} aria-label={`Pause ${s.name}`}>
              Pause
            </Button>
          ) : (
            <Button onClick={() => change(s, "resume")} aria-label={`Resume ${s.name}`}>
              Resume
            </Button>
          )}
          <Button variant="ghost" onClick={() => change(s, "delete")} aria-label={`Delete ${s.name}`}>
            Delete
          </Button>
        </span>
      );
    },
  },
];

export function SubscriptionsSection({ subscriptions, canManage }: { subscriptions: SubscriptionRow[]; canManage: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [changing, setChanging] = useState<{ row: SubscriptionRow; change: Change } | null>(null);
  const pause = useMutation(trpc.outbox.subscriptions.pause.mutationOptions());
  const resume = useMutation(trpc.outbox.subscriptions.resume.mutationOptions());
  const remove = useMutation(trpc.outbox.subscriptions.delete.mutationOptions());
  const meta: SubscriptionsMeta = { change: (row, change) => setChanging({ row, change }) };

  return (
    <Card
      title="Subscriptions"
      actions={
        canManage ? (
          <Button variant="primary" onClick={() => setIsCreateOpen(true)}>
            Add subscription
          </Button>
        ) : null
      }
    >
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        Each event is POSTed as JSON with <code className="font-mono text-xs">x-signature</code> (HMAC-SHA256 with the subscription&apos;s secret),{" "}
        <code className="font-mono text-xs">x-delivery-id</code> (the same on every retry: deduplicate on it), <code className="font-mono text-xs">x-event-id</code> and{" "}
        <code className="font-mono text-xs">x-topic</code>. Events of one transfer, hold or entry arrive in order.
      </p>
      <DataTable
        columns={canManage ? manageColumns : columns}
        rows={subscriptions}
        getRowId={(s) => s.id}
        caption="Outbox subscriptions"
        meta={meta}
        empty={
          <p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
            No subscriptions yet: transfer and ledger events are recorded but sent nowhere.
            {canManage ? " Add one for each internal service that needs them, with the topics it cares about (for example transfer.*)." : ""}
          </p>
        }
      />

      {canManage ? (
        <CreateSubscriptionDialog
          isOpen={isCreateOpen}
          onClose={() => setIsCreateOpen(false)}
          onCreated={(name, secret) => {
            setIsCreateOpen(false);
            setCreated({ name, secret });
            toast.success(`Added subscription ${name}`);
            refresh();
          }}
        />
      ) : null}

      <Dialog isOpen={created !== null} title="Subscription added" onClose={() => setCreated(null)}>
        {created ? (
          <SecretOnce
            inputId="new-sub-secret"
            label="Signing secret"
            secret={created.secret}
            onDone={() => setCreated(null)}
            warning={
              <>
                This is the only time the signing secret of <strong>{created.name}</strong> is shown. Give it to the receiving service now so it can verify{" "}
                <code className="font-mono text-xs">x-signature</code>; it cannot be shown again. If it is lost, delete the subscription and add a new one.
              </>
            }
          />
        ) : null}
      </Dialog>

      <ReasonDialog
        isOpen={changing !== null}
        onClose={() => setChanging(null)}
        title={changing ? `${CHANGE_TEXT[changing.change].title} ${changing.row.name}` : ""}
        keyScope={`subscription-${changing?.change ?? "change"}`}
        description={<p>{changing ? CHANGE_TEXT[changing.change].description : ""}</p>}
        confirmLabel={changing ? CHANGE_TEXT[changing.change].confirm : ""}
        isDanger={changing?.change === "delete"}
        onConfirm={async ({ reason }) => {
          if (!changing) return;
          const m = changing.change === "pause" ? pause : changing.change === "resume" ? resume : remove;
          await m.mutateAsync({ id: changing.row.id, reason });
          toast.success(`Subscription ${changing.row.name} ${CHANGE_TEXT[changing.change].done}`);
          refresh();
        }}
      />
    </Card>
  );
}

function CreateSubscriptionDialog({ isOpen, onClose, onCreated }: { isOpen: boolean; onClose: () => void; onCreated: (name: string, secret: string) => void }) {
  const trpc = useTRPC();
  const create = useMutation(trpc.outbox.subscriptions.create.mutationOptions());
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const topics = String(data.get("topics") ?? "")
      .split(/[\s,]+/)
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    if (topics.length === 0) {
      setError("Give at least one topic pattern, for example transfer.*");
      return;
    }
    setError(null);
    try {
      const res = await create.mutateAsync({
        name: String(data.get("name") ?? "").trim(),
        url: String(data.get("url") ?? "").trim(),
        topics,
        reason: String(data.get("reason") ?? "").trim() || undefined,
      });
      onCreated(res.subscription.name, res.secret);
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <Dialog
      isOpen={isOpen}
      title="New subscription"
      onClose={() => {
        setError(null);
        onClose();
      }}
    >
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label htmlFor="new-sub-name" className={labelClass}>
            Name
          </label>
          <input id="new-sub-name" name="name" required maxLength={100} placeholder="payouts-service" className={`${inputClass} mt-1`} autoFocus />
        </div>
        <div>
          <label htmlFor="new-sub-url" className={labelClass}>
            Endpoint URL
          </label>
          <input id="new-sub-url" name="url" type="url" required maxLength={2048} placeholder="https://payouts.internal/hooks/ledger" className={`${inputClass} mt-1 font-mono text-xs`} />
        </div>
        <div>
          <label htmlFor="new-sub-topics" className={labelClass}>
            Topic patterns
          </label>
          <input id="new-sub-topics" name="topics" required placeholder="transfer.* ledger.entry.posted" aria-describedby="new-sub-topics-help" className={`${inputClass} mt-1 font-mono text-xs`} />
          <p id="new-sub-topics-help" className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
            Separated by spaces or commas. <code className="font-mono">*</code> matches one segment (<code className="font-mono">transfer.*</code>),{" "}
            <code className="font-mono">**</code> at the end matches the rest (<code className="font-mono">ledger.**</code>).
          </p>
        </div>
        <div>
          <label htmlFor="new-sub-reason" className={labelClass}>
            Reason (optional)
          </label>
          <input id="new-sub-reason" name="reason" maxLength={500} className={`${inputClass} mt-1`} />
        </div>
        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        ) : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add subscription"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

