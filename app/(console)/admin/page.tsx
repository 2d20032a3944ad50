import type { Metadata } from "next";
import Link from "next/link";
import { requirePageActor } from "../../page-access";
import { pageCaller, callErrorMessage } from "../page-caller";
import { ErrorNotice, PageHeader, linkClass } from "../../../components/ui";
import { ListNavigation } from "../../../components/kit/list-navigation";
import { defineUrlState, param, type RawSearchParams } from "../../../components/kit/url-state";
import type { RouterOutputs } from "../../../components/kit/api-types";
import { UsersSection } from "../../../components/admin/users-section";
import { ServiceKeysSection } from "../../../components/admin/service-keys-section";

export const metadata: Metadata = { title: "Admin" };

const USERS_PAGE_SIZE = 50;

/** The users list's keyset cursor (the last email of the previous page) lives in the URL. */
const adminState = defineUrlState("/admin", { users: param.text({ max: 320 }) });

export default async function AdminPage({ searchParams }: { searchParams: Promise<RawSearchParams> }) {
  const { users: usersCursor } = adminState.read(await searchParams);
  const actor = await requirePageActor("users:read", adminState.href({ users: usersCursor }));
  const can = (p: Parameters<typeof actor.permissions.has>[0]) => actor.permissions.has(p);
  const caller = pageCaller(actor);
  const [users, keys] = await Promise.all([
    caller.admin.users.list({ cursor: usersCursor, limit: USERS_PAGE_SIZE }).then(
      (p) => ({ ok: true as const, p }),
      (e: unknown) => ({ ok: false as const, error: callErrorMessage(e) }),
    ),
    can("service_keys:read")
      ? caller.admin.serviceKeys.list().then(
          (k): { ok: true; k: RouterOutputs["admin"]["serviceKeys"]["list"] } => ({ ok: true, k }),
          (e: unknown) => ({ ok: false as const, error: callErrorMessage(e) }),
        )
      : null,
  ]);

  return (
    <>
      <PageHeader
        title="Admin"
        description="People, their roles, and the keys internal services use. Every change asks for a reason and is recorded in the audit log."
        actions={
          can("outbox:read") ? (
            <Link href="/admin/webhooks" className={linkClass}>
              Webhooks (events out)
            </Link>
          ) : null
        }
      />
      <ListNavigation>
        {users.ok ? (
          <UsersSection
            users={users.p}
            canManage={can("users:manage")}
            currentUserId={actor.kind === "user" ? actor.userId : null}
            firstHref={usersCursor ? adminState.href({}) : null}
            nextHref={users.p.nextCursor ? adminState.href({ users: users.p.nextCursor }) : null}
          />
        ) : (
          <ErrorNotice>Could not load users: {users.error}</ErrorNotice>
        )}
        {keys === null ? null : keys.ok ? <ServiceKeysSection keys={keys.k} canManage={can("service_keys:manage")} /> : <ErrorNotice>Could not load service keys: {keys.error}</ErrorNotice>}
      </ListNavigation>
    </>
  );
}
