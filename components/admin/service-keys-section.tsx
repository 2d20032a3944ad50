"use client";
/**
 * Service keys: list (read by the page on the server), create (the secret is shown once, then
 * never again) and revoke (with a reason, confirmed). A revoked key stops working at its next
 * request (in other API processes within SERVICE_KEY_CACHE_MS). A key with a money-moving scope
 * waits until another approver approves its activation proposal; a key may be limited to account
 * code prefixes and currencies it may debit.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { SecretOnce } from "../secret-once";
import { Badge, Card, formatUtc, inputClass, labelClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { Dialog } from "../kit/dialog";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

type KeyRow = RouterOutputs["admin"]["serviceKeys"]["list"][number];

interface KeysMeta {
  revoke: (key: KeyRow) => void;
}

const columns: ColumnDef<KeyRow>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row: { original: k } }) => (
      <>
        {k.name}
        {!k.activatedAt && !k.revokedAt ? (
          <span className="ml-2">
            <Badge tone="info">waiting for approval</Badge>
          </span>
        ) : null}
      </>
    ),
  },
  { id: "prefix", header: "Prefix", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.prefix },
  {
    id: "scopes",
    header: "Scopes",
    cell: ({ row: { original: k } }) => (
      <>
        <span className="flex max-w-md flex-wrap gap-1">
          {k.scopes.map((s) => (
            <Badge key={s}>{s}</Badge>
          ))}
        </span>
        {k.debitAccountPrefixes.length > 0 || k.debitCurrencies.length > 0 ? (
          <span className="mt-1 block text-xs text-zinc-600 dark:text-zinc-400">
            Debits only {k.debitAccountPrefixes.length > 0 ? k.debitAccountPrefixes.join(", ") : "any account"} in {k.debitCurrencies.length > 0 ? k.debitCurrencies.join(", ") : "any currency"}
          </span>
        ) : null}
      </>
    ),
  },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
  { id: "lastUsed", header: "Last used (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => (row.original.lastUsedAt ? formatUtc(row.original.lastUsedAt) : "never") },
  {
    id: "revoked",
    header: "Revoked (UTC)",
    meta: { className: "font-mono text-xs whitespace-nowrap" },
    cell: ({ row }) => (row.original.revokedAt ? <Badge tone="bad">{formatUtc(row.original.revokedAt)}</Badge> : "—"),
  },
];

const manageColumns: ColumnDef<KeyRow>[] = [
  ...columns,
  {
    id: "actions",
    header: "Actions",
    meta: { isHeaderHidden: true, className: "text-right" },
    cell: ({ row: { original: k }, table }) => (k.revokedAt ? null : <Button onClick={() => (table.options.meta as KeysMeta).revoke(k)}>Revoke</Button>),
  },
];

export function ServiceKeysSection({ keys, canManage }: { keys: KeyRow[]; canManage: boolean }) {
  const trpc = useTRPC();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string; activationProposalId: string | null } | null>(null);
  const [revoking, setRevoking] = useState<KeyRow | null>(null);
  const revoke = useMutation(trpc.admin.serviceKeys.revoke.mutationOptions());
  const meta: KeysMeta = { revoke: setRevoking };

  return (
    <Card
      title="Service keys"
      actions={
        canManage ? (
          <Button variant="primary" onClick={() => setIsCreateOpen(true)}>
            Create service key
          </Button>
        ) : null
      }
    >
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        Internal services call the API with <code className="font-mono text-xs">Authorization: Bearer &lt;secret&gt;</code>. Only a hash of each secret is stored.
      </p>
      <DataTable
        columns={canManage ? manageColumns : columns}
        rows={keys}
        getRowId={(k) => k.id}
        caption="Service keys"
        meta={meta}
        empty={
          <p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
            No service keys yet.{canManage ? " Create one for each internal service that calls the API." : ""}
          </p>
        }
      />

      {canManage ? (
        <CreateKeyDialog
          isOpen={isCreateOpen}
          onClose={() => setIsCreateOpen(false)}
          onCreated={(name, secret, activationProposalId) => {
            setIsCreateOpen(false);
            setCreated({ name, secret, activationProposalId });
            toast.success(activationProposalId ? `Created service key ${name}; it works once another approver approves its activation` : `Created service key ${name}`);
            refresh();
          }}
        />
      ) : null}

      <Dialog isOpen={created !== null} title="Service key created" onClose={() => setCreated(null)}>
        {created ? (
          <SecretOnce
            inputId="new-key-secret"
            label="Secret"
            secret={created.secret}
            onDone={() => setCreated(null)}
            warning={
              <>
                This is the only time the secret of <strong>{created.name}</strong> is shown. Store it in the service&apos;s secret store now; it cannot be shown again. If it
                is lost, revoke the key and create a new one.
                {created.activationProposalId ? (
                  <>
                    {" "}
                    The key can move money, so it is refused until another approver approves{" "}
                    <a className="underline" href={`/approvals/${created.activationProposalId}`}>
                      its activation proposal
                    </a>
                    .
                  </>
                ) : null}
              </>
            }
          />
        ) : null}
      </Dialog>

      <ReasonDialog
        isOpen={revoking !== null}
        onClose={() => setRevoking(null)}
        title={`Revoke service key ${revoking?.name ?? ""}`}
        keyScope="service-key-revoke"
        description={
          <p>
            Calls made with the key <span className="font-mono">{revoking?.prefix}</span> are refused from the next request on. This cannot be undone.
          </p>
        }
        confirmLabel="Revoke key"
        isDanger
        onConfirm={async ({ reason }) => {
          if (!revoking) return;
          await revoke.mutateAsync({ id: revoking.id, reason });
          toast.success(`Revoked service key ${revoking.name}`);
          refresh();
        }}
      />
    </Card>
  );
}

function CreateKeyDialog({
  isOpen,
  onClose,
  onCreated,
}: {
  isOpen: boolean;
  onClose: () => void;
  onCreated: (name: string, secret: string, activationProposalId: string | null) => void;
}) {
  const trpc = useTRPC();
  const scopes = useQuery({ ...trpc.admin.scopes.queryOptions(), enabled: isOpen, staleTime: Infinity });
  const create = useMutation(trpc.admin.serviceKeys.create.mutationOptions());
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const chosen = data.getAll("scope").map(String);
    const name = String(data.get("name") ?? "").trim();
    if (chosen.length === 0) {
      setError("Choose at least one scope.");
      return;
    }
    setError(null);
    try {
      const list = (field: string) =>
        String(data.get(field) ?? "")
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v.length > 0);
      const res = await create.mutateAsync({
        name,
        scopes: chosen,
        reason: String(data.get("reason") ?? "").trim() || undefined,
        debitAccountPrefixes: list("debitAccountPrefixes"),
        debitCurrencies: list("debitCurrencies").map((c) => c.toUpperCase()),
      });
      onCreated(res.key.name, res.secret, res.activationProposalId);
    } catch (err) {
      setError(errorMessageOf(err));
    }
  }

  return (
    <Dialog
      isOpen={isOpen}
      title="New service key"
      onClose={() => {
        setError(null);
        onClose();
      }}
    >
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label htmlFor="new-key-name" className={labelClass}>
            Name
          </label>
          <input id="new-key-name" name="name" required maxLength={100} placeholder="payouts-service" className={`${inputClass} mt-1`} autoFocus />
        </div>
        <fieldset>
          <legend className={labelClass}>Scopes</legend>
          {scopes.isPending ? (
            <p className="mt-1 text-sm text-zinc-500" role="status">
              Loading scopes…
            </p>
          ) : scopes.error ? (
            <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
              Could not load scopes: {errorMessageOf(scopes.error)}
            </p>
          ) : (
            <div className="mt-1 grid grid-cols-2 gap-x-3 gap-y-1">
              {scopes.data.map((s) => (
                <label key={s} className="inline-flex items-center gap-1.5 font-mono text-xs">
                  <input type="checkbox" name="scope" value={s} className="h-3.5 w-3.5 accent-zinc-800 dark:accent-zinc-200" />
                  {s}
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <div>
          <label htmlFor="new-key-prefixes" className={labelClass}>
            May debit only accounts starting with (optional, comma-separated)
          </label>
          <input id="new-key-prefixes" name="debitAccountPrefixes" maxLength={2000} placeholder="customer:0042:, ops:fees:EUR" className={`${inputClass} mt-1`} />
        </div>
        <div>
          <label htmlFor="new-key-currencies" className={labelClass}>
            May debit only currencies (optional, comma-separated)
          </label>
          <input id="new-key-currencies" name="debitCurrencies" maxLength={200} placeholder="EUR, GBP" className={`${inputClass} mt-1`} />
        </div>
        <p className="text-xs text-zinc-600 dark:text-zinc-400">
          A key with ledger:write, transfers:create, accounts:manage or adjustments:propose works only after another approver approves its activation.
        </p>
        <div>
          <label htmlFor="new-key-reason" className={labelClass}>
            Reason (optional)
          </label>
          <input id="new-key-reason" name="reason" maxLength={500} className={`${inputClass} mt-1`} />
        </div>
        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {error}
          </p>
        ) : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={create.isPending || scopes.isPending}>
            {create.isPending ? "Creating…" : "Create key"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

