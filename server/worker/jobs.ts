/**
 * Scheduled maintenance jobs. Each is idempotent (pg-boss delivers at least once) and bounded in
 * the work it does per run.
 */
import { Gauge, type Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { runAuditVerification } from "../audit/verification-runs";
import { anchorSigningKey, publishAnchor } from "../audit/anchors";
import { QUEUES } from "../jobs/queues";
import { componentLogger } from "../observability/logger";
import { env } from "../env";
import { expireDueHolds, pruneIdempotencyRecords } from "../ledger/maintenance";
import { verifyLedger } from "../ledger/verify";
import { expireDueProposals } from "../approvals/proposals";
import { readApprovalsHealth } from "../approvals/maintenance";
import { pruneOutbox } from "../outbox/maintenance";
import { pruneSecurityEvents } from "../auth/security-events";
import { escalateOverdueTimingBreaks } from "../recon/breaks";
import { runScheduledReconciliation } from "../recon/runs";
import { pruneReconIdempotency } from "../recon/idempotency";
import { importDemoDailyFiles } from "../demo/seed-recon";
import { sandboxBaseUrl } from "../partners/registry";
import { ensureDefaultSlos } from "../slo/definitions";
import { evaluateAndPublish } from "../slo/evaluate";
import { foldRollups, sampleMinute } from "../slo/rollup";
import { samplePartnerMinutes } from "../slo/partner-health";
import { summarizeStuck } from "../transfers/queries";

const log = componentLogger("jobs");

export interface MaintenanceJob {
  name: string;
  /** Cron expression, UTC. */
  cron: string;
  timeoutSeconds?: number;
  registerMetrics?(registry: Registry): void;
  /** `data` is the job's payload: `{}` from the schedule, or what a sender put in. */
  run(db: DbHandles, now: Date, data?: unknown): Promise<Record<string, unknown>>;
}

let auditIntact: Gauge | undefined;
let auditChecked: Gauge | undefined;

/**
 * Walks every audit lane (one run at a time across workers; server/audit/verification-runs.ts),
 * stores the result for the API, and exports whether the chain is intact; a break is logged loudly.
 * Runs on its schedule and when the console asks (audit.requestVerification).
 */
export const verifyAuditJob: MaintenanceJob = {
  name: QUEUES.auditVerify,
  cron: "*/30 * * * *",
  timeoutSeconds: 600,
  registerMetrics(registry) {
    auditIntact = new Gauge({ name: "audit_chain_intact", help: "1 when every audit lane verified at the last check, else 0", registers: [registry] });
    auditChecked = new Gauge({ name: "audit_records_checked", help: "Audit records verified at the last check", registers: [registry] });
  },
  async run(db) {
    const run = await runAuditVerification(db, { trigger: "schedule" });
    if (!run) return { skipped: "another worker is verifying the chain" };
    if (run.status === "failed") {
      log.error({ error: run.error }, "audit chain verification failed to run");
      return { status: run.status, error: run.error };
    }
    auditIntact?.set(run.isIntact ? 1 : 0);
    auditChecked?.set(run.checkedCount ?? 0);
    if (!run.isIntact) log.error({ firstBreak: run.firstBreak }, "audit chain is broken");
    return { isIntact: run.isIntact, checkedCount: run.checkedCount, firstBreak: run.firstBreak };
  },
};

let ledgerOk: Gauge | undefined;
let ledgerDiscrepancies: Gauge | undefined;

/** Proves stored balances equal the sum of postings and every currency sums to zero. */
export const verifyLedgerJob: MaintenanceJob = {
  name: "ledger-verify",
  cron: "*/10 * * * *",
  timeoutSeconds: 600,
  registerMetrics(registry) {
    ledgerOk = new Gauge({ name: "ledger_integrity_ok", help: "1 when the last ledger integrity check found no discrepancy, else 0", registers: [registry] });
    ledgerDiscrepancies = new Gauge({ name: "ledger_integrity_discrepancies", help: "Discrepancies found by the last ledger integrity check", registers: [registry] });
  },
  async run(db) {
    const report = await verifyLedger(db);
    ledgerOk?.set(report.isOk ? 1 : 0);
    ledgerDiscrepancies?.set(report.discrepancies.length);
    if (!report.isOk) log.error({ discrepancies: report.discrepancies.slice(0, 20) }, "ledger integrity check failed");
    return { isOk: report.isOk, accounts: report.accounts, postings: report.postings, discrepancies: report.discrepancies.length };
  },
};

/** Expires pending holds past their deadline, a bounded number per run. */
export const expireHoldsJob: MaintenanceJob = {
  name: "ledger-expire-holds",
  cron: "* * * * *",
  async run(db, now) {
    const expired = await expireDueHolds(db, now, 1000);
    return { expired: expired.length };
  },
};

/** Keeps the idempotency table bounded: records older than the retention period are removed. */
export const pruneIdempotencyJob: MaintenanceJob = {
  name: "ledger-prune-idempotency",
  cron: "17 * * * *",
  async run(db, now) {
    const olderThan = new Date(now.getTime() - env().IDEMPOTENCY_RETENTION_HOURS * 3600 * 1000);
    return { pruned: await pruneIdempotencyRecords(db, olderThan) };
  },
};

/** Keeps the outbox bounded: finished deliveries and fanned-out events past retention are removed. */
export const pruneOutboxJob: MaintenanceJob = {
  name: "outbox-prune",
  cron: "37 * * * *",
  async run(db, now) {
    const olderThan = new Date(now.getTime() - env().OUTBOX_RETENTION_HOURS * 3600 * 1000);
    return { ...(await pruneOutbox(db, olderThan)) };
  },
};

let approvalsOpen: Gauge | undefined;
let stepUpLocked: Gauge | undefined;

/** Expires proposed adjustments past their deadline; exports open proposals and locked-out approvers. */
export const expireApprovalsJob: MaintenanceJob = {
  name: "approvals-expire",
  cron: "* * * * *",
  registerMetrics(registry) {
    approvalsOpen = new Gauge({ name: "approvals_open_proposals", help: "Proposed adjustments open and not expired", registers: [registry] });
    stepUpLocked = new Gauge({ name: "step_up_locked_users", help: "Approvers locked out of step-up after repeated wrong codes (alert when > 0)", registers: [registry] });
  },
  async run(db, now) {
    const expired = await expireDueProposals(db, now, 500);
    const health = await readApprovalsHealth(db, now);
    approvalsOpen?.set(health.openProposals);
    stepUpLocked?.set(health.lockedApprovers);
    if (health.lockedApprovers > 0) log.error({ lockedApprovers: health.lockedApprovers }, "approvers are locked out of step-up");
    return { expired: expired.length, ...health };
  },
};

/**
 * Signs the heads of every audit lane with AUDIT_ANCHOR_SIGNING_KEY and publishes them (outbox
 * topic audit.anchor, and AUDIT_ANCHOR_FILE), so a chain rewritten by someone who owns the database
 * is caught by `npm run audit:verify -- --anchors`. Without a signing key nothing is published.
 */
export const publishAuditAnchorJob: MaintenanceJob = {
  name: "audit-anchor",
  cron: "11 * * * *",
  async run(db, now) {
    const e = env();
    if (!e.AUDIT_ANCHOR_SIGNING_KEY) return { skipped: "AUDIT_ANCHOR_SIGNING_KEY is not set" };
    const anchor = await publishAnchor(db, { privateKey: anchorSigningKey(e.AUDIT_ANCHOR_SIGNING_KEY), file: e.AUDIT_ANCHOR_FILE ?? null, now });
    return { keyId: anchor.keyId, lanes: anchor.payload.lanes.length, file: e.AUDIT_ANCHOR_FILE ?? null };
  },
};

/** Keeps security_events bounded: rows whose last repeat is older than the retention period go. */
export const pruneSecurityEventsJob: MaintenanceJob = {
  name: "security-events-prune",
  cron: "47 * * * *",
  async run(db, now) {
    const olderThan = new Date(now.getTime() - env().SECURITY_EVENTS_RETENTION_DAYS * 86_400_000);
    return { pruned: await pruneSecurityEvents(db, olderThan) };
  },
};

/** Reconciliation on a schedule: every active source over its last days (server/recon/runs.ts). */
export const reconRunJob: MaintenanceJob = {
  name: "recon-run",
  cron: "*/15 * * * *",
  timeoutSeconds: 900,
  async run(db, now) {
    return { ...(await runScheduledReconciliation(db, now)) };
  },
};

/** Timing differences past their deadline go back to the queue, escalated; old idempotency answers are pruned. */
export const reconEscalateJob: MaintenanceJob = {
  name: "recon-escalate-timing",
  cron: "* * * * *",
  async run(db, now) {
    const olderThan = new Date(now.getTime() - env().IDEMPOTENCY_RETENTION_HOURS * 3600 * 1000);
    return { escalated: await escalateOverdueTimingBreaks(db, now, 500), idempotencyPruned: await pruneReconIdempotency(db, olderThan, 1000) };
  },
};

/** Demo mode only: yesterday's statements and settlement files from the sandbox, imported and matched. */
export const reconDemoFilesJob: MaintenanceJob = {
  name: "recon-demo-files",
  cron: "7 * * * *",
  timeoutSeconds: 600,
  async run(db, now) {
    if (!env().DEMO_TRAFFIC) return { skipped: "not in demo mode" };
    return { ...(await importDemoDailyFiles(db, sandboxBaseUrl(), now)) };
  },
};


let areDefaultSlosEnsured = false;

/**
 * The SLO minute (server/slo): folds the write path's rollup deltas, samples stuck transfers,
 * webhook lag and partner calls for the minutes that ended, then evaluates every objective and publishes alert
 * changes to the outbox. In this order, so each evaluation sees the minute just sampled.
 */
export const sloMinuteJob: MaintenanceJob = {
  name: "slo-minute",
  cron: "* * * * *",
  timeoutSeconds: 55,
  async run(db, now) {
    if (!areDefaultSlosEnsured) {
      await ensureDefaultSlos(db);
      areDefaultSlosEnsured = true;
    }
    const folded = await foldRollups(db);
    const stuck = await summarizeStuck(db, now);
    await sampleMinute(db, now, stuck.total);
    const partnerMinutes = await samplePartnerMinutes(db, now);
    const changes = await evaluateAndPublish(db, now);
    for (const c of changes) (c.to === "page" ? log.error : log.warn)({ slo: c.key, from: c.from, to: c.to }, "SLO alert changed");
    return { folded, stuck: stuck.total, partnerMinutes, alertChanges: changes };
  },
};



export const MAINTENANCE_JOBS: readonly MaintenanceJob[] = [verifyAuditJob, verifyLedgerJob, expireHoldsJob, pruneIdempotencyJob, pruneOutboxJob, expireApprovalsJob, pruneSecurityEventsJob, publishAuditAnchorJob, reconRunJob, reconEscalateJob, reconDemoFilesJob, sloMinuteJob];
