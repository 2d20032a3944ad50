"use client";
/**
 * Outbox subscriptions: list with backlog, create (the signing secret is shown once, then never
 * again), pause, resume and delete (each with a reason, recorded in the audit log).
 */
import { useState, type FormEvent } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Dialog } from "../dialog";
import { ReasonDialog } from "../admin/reason-dialog";
import { SecretOnce } from "../secret-once";
import { Badge, Card, buttonClass, formatUtc, inputClass, labelClass, linkClass, tableClass } from "../ui";
import { webhooksHref } from "./delivery-filters";

interface SubscriptionRow {
  id: string;
  name: string;
  url: string;
  topics: string[];
  status: "active" | "paused" | "deleted";
  secretPrefix: string;
  createdAt: Date;
  pendingCount: number;
  deadCount: number;
  oldestPendingAt: Date | null;
}

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

export function SubscriptionsSection({ canManage }: { canManage: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const router = useRouter();
  const subscriptions = useQuery(trpc.outbox.subscriptions.list.queryOptions({}));
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [changing, setChanging] = useState<{ row: SubscriptionRow; change: Change } | null>(null);
  const pause = useMutation(trpc.outbox.subscriptions.pause.mutationOptions());
  const resume = useMutation(trpc.outbox.subscriptions.resume.mutationOptions());
  const remove = useMutation(trpc.outbox.subscriptions.delete.mutationOptions());

  const refresh = async () => {
    await queryClient.invalidateQueries(trpc.outbox.subscriptions.list.queryFilter());
    router.refresh();
  };

  return (
    <Card
      title="Subscriptions"
      actions={
        canManage ? (
          <button type="button" className={buttonClass.primary} onClick={() => setIsCreateOpen(true)}>
            Add subscription
          </button>
        ) : null
      }
    >
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        Each event is POSTed as JSON with <code className="font-mono text-xs">x-signature</code> (HMAC-SHA256 with the subscription&apos;s secret),{" "}
        <code className="font-mono text-xs">x-delivery-id</code> (the same on every retry: deduplicate on it), <code className="font-mono text-xs">x-event-id</code> and{" "}
        <code className="font-mono text-xs">x-topic</code>. Events of one transfer, hold or entry arrive in order.
      </p>
      {subscriptions.isPending ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" role="status">
          Loading subscriptions…
        </p>
      ) : subscriptions.error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not load subscriptions: {errorMessageOf(subscriptions.error)}
        </p>
      ) : subscriptions.data.length === 0 ? (
        <p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
          No subscriptions yet: transfer and ledger events are recorded but sent nowhere.
          {canManage ? " Add one for each internal service that needs them, with the topics it cares about (for example transfer.*)." : ""}
        </p>
      ) : (
        <div className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="sr-only">Outbox subscriptions</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                {["Name", "Endpoint", "Topics", "Status", "Backlog", "Secret", "Created (UTC)"].map((h) => (
                  <th key={h} scope="col" className={tableClass.th}>
                    {h}
                  </th>
                ))}
                {canManage ? (
                  <th scope="col" className={tableClass.th}>
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
              {subscriptions.data.map((s) => (
                <tr key={s.id} className={tableClass.tr}>
                  <td className={tableClass.td}>
                    <Link href={webhooksHref({ subscription: s.id })} className={linkClass} title={`Deliveries of ${s.name}`}>
                      {s.name}
                    </Link>
                  </td>
                  <td className={`${tableClass.td} max-w-xs font-mono text-xs break-all`}>{s.url}</td>
                  <td className={tableClass.td}>
                    <span className="flex max-w-xs flex-wrap gap-1">
                      {s.topics.map((t) => (
                        <Badge key={t}>{t}</Badge>
                      ))}
                    </span>
                  </td>
                  <td className={tableClass.td}>
                    <Badge tone={s.status === "active" ? "good" : "neutral"}>{s.status}</Badge>
                  </td>
                  <td className={`${tableClass.td} text-xs whitespace-nowrap`}>
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
                  </td>
                  <td className={`${tableClass.td} font-mono text-xs`}>{s.secretPrefix}…</td>
                  <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(s.createdAt)}</td>
                  {canManage ? (
                    <td className={`${tableClass.td} text-right whitespace-nowrap`}>
                      <span className="inline-flex gap-1.5">
                        {s.status === "active" ? (
                          <button type="button" className={buttonClass.secondary} onClick={() => setChanging({ row: s, change: "pause" })} aria-label={`Pause ${s.name}`}>
                            Pause
                          </button>
                        ) : (
                          <button type="button" className={buttonClass.secondary} onClick={() => setChanging({ row: s, change: "resume" })} aria-label={`Resume ${s.name}`}>
                            Resume
                          </button>
                        )}
                        <button type="button" className={buttonClass.ghost} onClick={() => setChanging({ row: s, change: "delete" })} aria-label={`Delete ${s.name}`}>
                          Delete
                        </button>
                      </span>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {canManage ? (
        <CreateSubscriptionDialog
          isOpen={isCreateOpen}
          onClose={() => setIsCreateOpen(false)}
          onCreated={async (name, secret) => {
            setIsCreateOpen(false);
            setCreated({ name, secret });
            toast.success(`Added subscription ${name}`);
            await refresh();
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
        title={changing ? `${CHANGE_TEXT[changing.change].title} ${changing.row.name}` : ""}
        description={<p>{changing ? CHANGE_TEXT[changing.change].description : ""}</p>}
        confirmLabel={changing ? CHANGE_TEXT[changing.change].confirm : ""}
        isDanger={changing?.change === "delete"}
        onConfirm={async (reason) => {
          if (!changing) return;
          const m = changing.change === "pause" ? pause : changing.change === "resume" ? resume : remove;
          try {
            await m.mutateAsync({ id: changing.row.id, reason });
          } catch (e) {
            throw new Error(errorMessageOf(e));
          }
          toast.success(`Subscription ${changing.row.name} ${CHANGE_TEXT[changing.change].done}`);
          await refresh();
        }}
        onClose={() => setChanging(null)}
      />
    </Card>
  );
}

function CreateSubscriptionDialog({ isOpen, onClose, onCreated }: { isOpen: boolean; onClose: () => void; onCreated: (name: string, secret: string) => Promise<void> }) {
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
      await onCreated(res.subscription.name, res.secret);
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
          <button type="button" className={buttonClass.secondary} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={buttonClass.primary} disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add subscription"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

