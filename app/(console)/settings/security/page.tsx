import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { requirePageActor } from "../../../page-access";
import { pageCaller } from "../../page-caller";
import { Card, PageHeader, linkClass, formatUtc } from "../../../../components/ui";
import { TotpEnrolment } from "../../../../components/approvals/totp-enrolment";
import { LockedApprovers } from "../../../../components/approvals/locked-approvers";

export const metadata: Metadata = { title: "Security" };

export default async function SecurityPage() {
  const actor = await requirePageActor(undefined, "/settings/security");
  const isApprover = actor.kind === "user" && actor.permissions.has("adjustments:approve");
  const isAdmin = actor.permissions.has("users:manage");
  if (!isApprover && !isAdmin) redirect(`/forbidden?permission=${encodeURIComponent("adjustments:approve")}`);
  const caller = pageCaller(actor);
  const [status, locked] = await Promise.all([isApprover ? caller.approvals.stepUp.status() : null, isAdmin ? caller.approvals.stepUp.locked() : null]);

  return (
    <>
      <p className="mb-2 text-sm">
        <Link href="/approvals" className={linkClass}>
          ← Approvals
        </Link>
      </p>
      <PageHeader title="Security" description="The second factor approvers confirm approvals with, and (for admins) approvers locked out after wrong codes." />
      {status ? (
        <Card title="Authenticator for approvals">
          <div className="rounded-lg border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
            <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
              Status: {status.isLocked ? "locked" : status.isEnrolled ? "set up" : status.hasPendingEnrolment ? "set-up started, not confirmed" : "not set up"}
              {status.isEnrolled ? `; ${status.recoveryCodesLeft} recovery codes left` : ""}
              {status.stepUpUntil ? `; verified until ${formatUtc(status.stepUpUntil)}` : ""}
              {status.failedAttempts > 0 && !status.isLocked ? `; ${status.failedAttempts} wrong code${status.failedAttempts === 1 ? "" : "s"} since the last good one` : ""}.
            </p>
            <TotpEnrolment isEnrolled={status.isEnrolled} isLocked={status.isLocked} />
          </div>
        </Card>
      ) : null}
      {locked ? (
        <Card title="Approvers locked out">
          <LockedApprovers locked={locked} />
        </Card>
      ) : null}
    </>
  );
}
