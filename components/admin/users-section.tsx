"use client";
/**
 * Users and roles. Every change asks for a reason (it goes into the audit record) and shows the
 * server's state only after the server confirms: no optimistic updates.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ROLES, type RoleName } from "../../server/auth/permissions";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { ReasonDialog } from "./reason-dialog";
import { Badge, Card, buttonClass, formatUtc, inputClass, labelClass, tableClass } from "../ui";

const PAGE_SIZE = 50;

interface UserRow {
  id: string;
  email: string;
  name: string;
  roles: RoleName[];
  isActive: boolean;
  lastSignInAt: Date | null;
  createdAt: Date;
}

type PendingChange =
  | { kind: "roles"; user: UserRow; roles: RoleName[]; role: RoleName; isGranted: boolean }
  | { kind: "active"; user: UserRow; isActive: boolean };

export function UsersSection({ canManage, currentUserId }: { canManage: boolean; currentUserId: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  // Cursors of the pages before the current one, so "Previous" can walk back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const users = useQuery(trpc.admin.users.list.queryOptions({ cursor, limit: PAGE_SIZE }));
  const [pending, setPending] = useState<PendingChange | null>(null);

  const invalidate = () => queryClient.invalidateQueries(trpc.admin.users.pathFilter());
  const setRoles = useMutation(trpc.admin.users.setRoles.mutationOptions({ onSuccess: invalidate }));
  const setActive = useMutation(trpc.admin.users.setActive.mutationOptions({ onSuccess: invalidate }));

  async function confirm(reason: string) {
    if (!pending) return;
    if (pending.kind === "roles") {
      await setRoles.mutateAsync({ userId: pending.user.id, roles: pending.roles, reason });
      toast.success(`${pending.isGranted ? "Granted" : "Removed"} ${pending.role} ${pending.isGranted ? "to" : "from"} ${pending.user.email}`);
    } else {
      await setActive.mutateAsync({ userId: pending.user.id, isActive: pending.isActive, reason });
      toast.success(`${pending.user.email} is now ${pending.isActive ? "active" : "deactivated"}`);
    }
  }

  return (
    <Card title="Users and roles">
      {canManage ? <CreateUserForm onCreated={invalidate} /> : null}
      {users.isPending ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" role="status">
          Loading users…
        </p>
      ) : users.error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Could not load users: {errorMessageOf(users.error)}
        </p>
      ) : users.data.items.length === 0 ? (
        <p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">No users yet.</p>
      ) : (
        <>
          <div className={tableClass.wrap}>
            <table className={tableClass.table}>
              <caption className="sr-only">Users</caption>
              <thead className="bg-zinc-50 dark:bg-zinc-900">
                <tr>
                  <th scope="col" className={tableClass.th}>
                    Name
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Email
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Roles
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Status
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Last sign-in (UTC)
                  </th>
                  <th scope="col" className={tableClass.th}>
                    Created (UTC)
                  </th>
                  {canManage ? (
                    <th scope="col" className={tableClass.th}>
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
                {users.data.items.map((u) => (
                  <tr key={u.id} className={tableClass.tr}>
                    <td className={tableClass.td}>
                      {u.name}
                      {u.id === currentUserId ? <span className="ml-1 text-xs text-zinc-500">(you)</span> : null}
                    </td>
                    <td className={`${tableClass.td} font-mono text-xs`}>{u.email}</td>
                    <td className={tableClass.td}>
                      {canManage ? (
                        <fieldset className="flex flex-wrap gap-x-3 gap-y-1">
                          <legend className="sr-only">Roles of {u.email}</legend>
                          {ROLES.map((r) => {
                            const has = u.roles.includes(r);
                            return (
                              <label key={r} className="inline-flex items-center gap-1 text-xs">
                                <input
                                  type="checkbox"
                                  checked={has}
                                  aria-label={`${r} role for ${u.email}`}
                                  className="h-3.5 w-3.5 accent-zinc-800 dark:accent-zinc-200"
                                  onChange={() =>
                                    setPending({ kind: "roles", user: u, role: r, isGranted: !has, roles: has ? u.roles.filter((x) => x !== r) : [...u.roles, r] })
                                  }
                                />
                                {r}
                              </label>
                            );
                          })}
                        </fieldset>
                      ) : u.roles.length ? (
                        <span className="flex flex-wrap gap-1">
                          {u.roles.map((r) => (
                            <Badge key={r}>{r}</Badge>
                          ))}
                        </span>
                      ) : (
                        <span className="text-xs text-zinc-500">none</span>
                      )}
                    </td>
                    <td className={tableClass.td}>{u.isActive ? <Badge tone="good">active</Badge> : <Badge tone="bad">deactivated</Badge>}</td>
                    <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{u.lastSignInAt ? formatUtc(u.lastSignInAt) : "never"}</td>
                    <td className={`${tableClass.td} font-mono text-xs whitespace-nowrap`}>{formatUtc(u.createdAt)}</td>
                    {canManage ? (
                      <td className={`${tableClass.td} text-right`}>
                        <button
                          type="button"
                          className={u.isActive ? buttonClass.secondary : buttonClass.primary}
                          onClick={() => setPending({ kind: "active", user: u, isActive: !u.isActive })}
                        >
                          {u.isActive ? "Deactivate" : "Activate"}
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="User pages" className="mt-2 flex justify-end gap-2">
            <button type="button" className={buttonClass.secondary} disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous
            </button>
            <button
              type="button"
              className={buttonClass.secondary}
              disabled={!users.data.nextCursor}
              onClick={() => {
                const next = users.data.nextCursor;
                if (next) setCursors((c) => [...c, next]);
              }}
            >
              Next
            </button>
          </nav>
        </>
      )}

      <ReasonDialog
        isOpen={pending !== null}
        title={
          pending?.kind === "roles"
            ? `${pending.isGranted ? "Grant" : "Remove"} role ${pending.role}`
            : pending?.kind === "active"
              ? `${pending.isActive ? "Activate" : "Deactivate"} ${pending.user.email}`
              : ""
        }
        description={
          pending?.kind === "roles" ? (
            <p>
              {pending.user.email} will hold: <strong>{pending.roles.length ? pending.roles.join(", ") : "no role (cannot use the console)"}</strong>.
            </p>
          ) : pending?.kind === "active" ? (
            <p>{pending.isActive ? "The user will be able to sign in again." : "The user is signed out at their next request and cannot sign in."}</p>
          ) : null
        }
        confirmLabel={pending?.kind === "roles" ? "Change roles" : pending?.kind === "active" && !pending.isActive ? "Deactivate user" : "Activate user"}
        isDanger={pending?.kind === "active" && !pending.isActive}
        onConfirm={confirm}
        onClose={() => setPending(null)}
      />
    </Card>
  );
}

function CreateUserForm({ onCreated }: { onCreated: () => Promise<void> }) {
  const trpc = useTRPC();
  const toast = useToast();
  const [error, setError] = useState<string | null>(null);
  const create = useMutation(trpc.admin.users.create.mutationOptions());

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const roles = ROLES.filter((r) => data.get(`role-${r}`) === "on");
    const password = String(data.get("password") ?? "");
    setError(null);
    try {
      const user = await create.mutateAsync({
        email: String(data.get("email") ?? "").trim(),
        name: String(data.get("name") ?? "").trim(),
        roles,
        ...(password ? { password } : {}),
      });
      form.reset();
      toast.success(`Created user ${user.email}`);
      await onCreated();
    } catch (err) {
      const message = errorMessageOf(err);
      setError(message);
      toast.error(message);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Create user" className="mb-4 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="grid grid-cols-1 gap-3 md:grid-cols-4">
        <div>
          <label htmlFor="new-user-email" className={labelClass}>
            Email
          </label>
          <input id="new-user-email" name="email" type="email" required className={`${inputClass} mt-1`} />
        </div>
        <div>
          <label htmlFor="new-user-name" className={labelClass}>
            Name
          </label>
          <input id="new-user-name" name="name" type="text" required className={`${inputClass} mt-1`} />
        </div>
        <div>
          <label htmlFor="new-user-password" className={labelClass}>
            Password (optional, for credentials sign-in)
          </label>
          <input id="new-user-password" name="password" type="password" autoComplete="new-password" className={`${inputClass} mt-1`} />
        </div>
        <fieldset>
          <legend className={labelClass}>Roles</legend>
          <div className="mt-2 flex flex-wrap gap-x-3 gap-y-1">
            {ROLES.map((r) => (
              <label key={r} className="inline-flex items-center gap-1 text-sm">
                <input type="checkbox" name={`role-${r}`} className="h-3.5 w-3.5 accent-zinc-800 dark:accent-zinc-200" />
                {r}
              </label>
            ))}
          </div>
        </fieldset>
      </div>
      {error ? (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      ) : null}
      <div className="mt-3">
        <button type="submit" className={buttonClass.primary} disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </button>
      </div>
    </form>
  );
}
