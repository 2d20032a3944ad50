"use client";
/**
 * Service keys: list, create (the secret is shown once, then never again) and revoke (with a
 * reason, confirmed). A revoked key stops working at its next request (in other API processes within
 * SERVICE_KEY_CACHE_MS).
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Dialog } from "../dialog";
import { ReasonDialog } from "./reason-dialog";
import { SecretOnce } from "../secret-once";
import { Badge, Card, buttonClass, formatUtc, inputClass, labelClass, tableClass } from "../ui";

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function ServiceKeysSection({ canManage }: { canManage: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.admin.serviceKeys.list.queryOptions());
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [revoking, setRevoking] = useState<KeyRow | null>(null);

  const invalidate = () => queryClient.invalidateQueries(trpc.admin.serviceKeys.list.queryFilter());
  const revoke = useMutation(trpc.admin.serviceKeys.revoke.mutationOptions({ onSuccess: invalidate }));

  return (
    <Card
      title="Service keys"
      actions={
        canManage ? (
          <button type="button" className={buttonClass.primary} onClick={() => setIsCreateOpen(true)}>
            Create service key
          </button>
        ) : null
      }
    >
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        Internal services call the API with <code className="font-mono text-xs">Authorization: Bearer &lt;secret&gt;</code>. Only a hash of each secret is stored.
      </p>
      {keys.isPending ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" role="status">
          Loading service keys…
        </p>
      ) : keys.error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not load service keys: {errorMessageOf(keys.error)}
        </p>
      ) : keys.data.length === 0 ? (
        <p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
          No service keys yet.{canManage ? " Create one for each internal service that calls the API." : ""}
        </p>
      ) : (
        <div className={tableClass.wrap}>
          <table className={tableClass.table}>
            <caption className="sr-only">Service keys</caption>
            <thead className="bg-zinc-50 dark:bg-zinc-900">
              <tr>
                {["Name", "Prefix", "Scopes", "Created (UTC)", "Last used (UTC)", "Revoked (UTC)"].map((h) => (
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
              {keys.data.map((k) => (
                <tr key={k.id} className={tableClass.tr}>
                  <td className={tableClass.td}>{k.name}</td>
                  <td className={`${tableClass.td} font-mono text-xs`}>{k.prefix}</td>
                  <td className={tableClass.td}>
                    <span className="flex max-w-md flex-wrap gap-1">
                      {k.scopes.map((s) => (
                        <Badge key={s}>{s}</Badge>
                      ))}
                    </span>
                  </td>
                  <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(k.createdAt)}</td>
                  <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{k.lastUsedAt ? formatUtc(k.lastUsedAt) : "never"}</td>
                  <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{k.revokedAt ? <Badge tone="bad">{formatUtc(k.revokedAt)}</Badge> : "—"}</td>
                  {canManage ? (
                    <td className={`${tableClass.td} text-right`}>
                      {k.revokedAt ? null : (
                        <button type="button" className={buttonClass.secondary} onClick={() => setRevoking(k)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {canManage ? (
        <CreateKeyDialog
          isOpen={isCreateOpen}
          onClose={() => setIsCreateOpen(false)}
          onCreated={async (name, secret) => {
            setIsCreateOpen(false);
            setCreated({ name, secret });
            toast.success(`Created service key ${name}`);
            await invalidate();
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
              </>
            }
          />
        ) : null}
      </Dialog>

      <ReasonDialog
        isOpen={revoking !== null}
        title={`Revoke service key ${revoking?.name ?? ""}`}
        description={
          <p>
            Calls made with the key <span className="font-mono">{revoking?.prefix}</span> are refused from the next request on. This cannot be undone.
          </p>
        }
        confirmLabel="Revoke key"
        isDanger
        onConfirm={async (reason) => {
          if (!revoking) return;
          await revoke.mutateAsync({ id: revoking.id, reason });
          toast.success(`Revoked service key ${revoking.name}`);
        }}
        onClose={() => setRevoking(null)}
      />
    </Card>
  );
}

function CreateKeyDialog({ isOpen, onClose, onCreated }: { isOpen: boolean; onClose: () => void; onCreated: (name: string, secret: string) => Promise<void> }) {
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
      const res = await create.mutateAsync({ name, scopes: chosen, reason: String(data.get("reason") ?? "").trim() || undefined });
      await onCreated(res.key.name, res.secret);
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
          <button type="button" className={buttonClass.secondary} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={buttonClass.primary} disabled={create.isPending || scopes.isPending}>
            {create.isPending ? "Creating…" : "Create key"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

