"use client";
/**
 * Users and roles. The page reads the users on the server (a page of them, its cursor in the
 * URL); every change asks for a reason (it goes into the audit record) and shows the server's
 * state only after the server confirms and the page was re-read: no optimistic updates.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ROLES, type RoleName } from "../../server/core/permissions";
import { useTRPC, errorMessageOf } from "../trpc-provider";
import { useToast } from "../toast";
import { Badge, Card, formatUtc, inputClass, labelClass } from "../ui";
import type { RouterOutputs } from "../kit/api-types";
import { Button } from "../kit/button";
import type { CsvColumn } from "../kit/csv";
import { DataTable, type ColumnDef } from "../kit/data-table";
import { useServerRefresh } from "../kit/list-navigation";
import { ReasonDialog } from "../kit/reason-dialog";

type UserPage = RouterOutputs["admin"]["users"]["list"];
type UserRow = UserPage["items"][number];

/** The largest page admin.users.list serves. */
const EXPORT_PAGE = 100;

type PendingChange = { kind: "roles"; user: UserRow; roles: RoleName[]; role: RoleName; isGranted: boolean } | { kind: "active"; user: UserRow; isActive: boolean };

interface UsersMeta {
  canManage: boolean;
  currentUserId: string | null;
  propose: (change: PendingChange) => void;
}

const CSV_COLUMNS: CsvColumn<UserRow>[] = [
  { header: "User id", value: (u) => u.id },
  { header: "Email", value: (u) => u.email },
  { header: "Name", value: (u) => u.name },
  { header: "Roles", value: (u) => u.roles.join(" ") },
  { header: "Active", value: (u) => u.isActive },
  { header: "Last sign-in (UTC)", value: (u) => u.lastSignInAt },
  { header: "Created (UTC)", value: (u) => u.createdAt },
];

const meta = (m: unknown) => m as UsersMeta;

const columns: ColumnDef<UserRow>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row: { original: u }, table }) => (
      <>
        {u.name}
        {u.id === meta(table.options.meta).currentUserId ? <span className="ml-1 text-xs text-zinc-500">(you)</span> : null}
      </>
    ),
  },
  { id: "email", header: "Email", meta: { className: "font-mono text-xs" }, cell: ({ row }) => row.original.email },
  {
    id: "roles",
    header: "Roles",
    cell: ({ row: { original: u }, table }) =>
      meta(table.options.meta).canManage ? (
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
                  onChange={() => meta(table.options.meta).propose({ kind: "roles", user: u, role: r, isGranted: !has, roles: has ? u.roles.filter((x) => x !== r) : [...u.roles, r] })}
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
      ),
  },
  { id: "status", header: "Status", cell: ({ row }) => (row.original.isActive ? <Badge tone="good">active</Badge> : <Badge tone="bad">deactivated</Badge>) },
  { id: "lastSignIn", header: "Last sign-in (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => (row.original.lastSignInAt ? formatUtc(row.original.lastSignInAt) : "never") },
  { id: "created", header: "Created (UTC)", meta: { className: "font-mono text-xs whitespace-nowrap" }, cell: ({ row }) => formatUtc(row.original.createdAt) },
];

const actionsColumn: ColumnDef<UserRow> = {
  id: "actions",
  header: "Actions",
  meta: { isHeaderHidden: true, className: "text-right" },
  cell: ({ row: { original: u }, table }) => (
    <Button variant={u.isActive ? "secondary" : "primary"} onClick={() => meta(table.options.meta).propose({ kind: "active", user: u, isActive: !u.isActive })}>
      {u.isActive ? "Deactivate" : "Activate"}
    </Button>
  ),
};
const manageColumns = [...columns, actionsColumn];

export function UsersSection({
  users,
  canManage,
  currentUserId,
  firstHref,
  nextHref,
}: {
  users: UserPage;
  canManage: boolean;
  currentUserId: string | null;
  /** The first page, when this is a later one. */
  firstHref: string | null;
  nextHref: string | null;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { refresh } = useServerRefresh();
  const [pending, setPending] = useState<PendingChange | null>(null);
  const setRoles = useMutation(trpc.admin.users.setRoles.mutationOptions());
  const setActive = useMutation(trpc.admin.users.setActive.mutationOptions());
  const tableMeta: UsersMeta = { canManage, currentUserId, propose: setPending };

  return (
    <Card title="Users and roles">
      {canManage ? <CreateUserForm onCreated={refresh} /> : null}
      <DataTable
        columns={canManage ? manageColumns : columns}
        rows={users.items}
        getRowId={(u) => u.id}
        caption="Users"
        meta={tableMeta}
        empty={<p className="rounded-md border border-dashed border-zinc-300 p-4 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">No users yet.</p>}
        pagination={{
          label: "User pages",
          links: [
            { label: "First page", rel: "prev", href: firstHref },
            { label: "Next", rel: "next", href: nextHref },
          ],
        }}
        csv={{
          fileName: "users",
          columns: CSV_COLUMNS,
          fetchPage: async (cursor) => {
            const p = await queryClient.fetchQuery({ ...trpc.admin.users.list.queryOptions({ cursor: cursor ?? undefined, limit: EXPORT_PAGE }), staleTime: 0, gcTime: 0 });
            return { rows: p.items, nextCursor: p.nextCursor };
          },
        }}
      />

      <ReasonDialog
        isOpen={pending !== null}
        onClose={() => setPending(null)}
        keyScope={pending?.kind === "roles" ? "user-roles" : "user-active"}
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
        onConfirm={async ({ reason }) => {
          if (!pending) return;
          if (pending.kind === "roles") {
            await setRoles.mutateAsync({ userId: pending.user.id, roles: pending.roles, reason });
            toast.success(`${pending.isGranted ? "Granted" : "Removed"} ${pending.role} ${pending.isGranted ? "to" : "from"} ${pending.user.email}`);
          } else {
            await setActive.mutateAsync({ userId: pending.user.id, isActive: pending.isActive, reason });
            toast.success(`${pending.user.email} is now ${pending.isActive ? "active" : "deactivated"}`);
          }
          refresh();
        }}
      />
    </Card>
  );
}

function CreateUserForm({ onCreated }: { onCreated: () => void }) {
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
      onCreated();
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
        <Button type="submit" variant="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </Button>
      </div>
    </form>
  );
}
