import type { Metadata } from "next";
import { requirePageActor } from "../../../server/auth/session";
import Link from "next/link";
import { PageHeader, linkClass } from "../../../components/ui";
import { UsersSection } from "../../../components/admin/users-section";
import { ServiceKeysSection } from "../../../components/admin/service-keys-section";

export const metadata: Metadata = { title: "Admin" };

export default async function AdminPage() {
  const actor = await requirePageActor("users:read", "/admin");
  const can = (p: Parameters<typeof actor.permissions.has>[0]) => actor.permissions.has(p);
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
      <UsersSection canManage={can("users:manage")} currentUserId={actor.kind === "user" ? actor.userId : null} />
      {can("service_keys:read") ? <ServiceKeysSection canManage={can("service_keys:manage")} /> : null}
    </>
  );
}
