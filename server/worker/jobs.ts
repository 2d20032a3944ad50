/**
 * Scheduled maintenance jobs. Each is idempotent (pg-boss delivers at least once) and bounded in
 * the work it does per run.
 */
import { Gauge, type Registry } from "prom-client";
import type { DbHandles } from "../db/client";
import { verifyAuditChain } from "../audit/verify";
import { componentLogger } from "../observability/logger";

const log = componentLogger("jobs");

export interface MaintenanceJob {
  name: string;
  /** Cron expression, UTC. */
  cron: string;
  timeoutSeconds?: number;
  registerMetrics?(registry: Registry): void;
  run(db: DbHandles, now: Date): Promise<Record<string, unknown>>;
}

let auditIntact: Gauge | undefined;
let auditChecked: Gauge | undefined;

/** Walks every audit lane and exports whether the chain is intact; a break is logged loudly. */
export const verifyAuditJob: MaintenanceJob = {
  name: "audit-verify",
  cron: "*/30 * * * *",
  timeoutSeconds: 600,
  registerMetrics(registry) {
    auditIntact = new Gauge({ name: "audit_chain_intact", help: "1 when every audit lane verified at the last check, else 0", registers: [registry] });
    auditChecked = new Gauge({ name: "audit_records_checked", help: "Audit records verified at the last check", registers: [registry] });
  },
  async run(db) {
    const report = await verifyAuditChain(db.pool);
    auditIntact?.set(report.isIntact ? 1 : 0);
    auditChecked?.set(report.checkedCount);
    if (!report.isIntact) log.error({ firstBreak: report.firstBreak }, "audit chain is broken");
    return { isIntact: report.isIntact, checkedCount: report.checkedCount, firstBreak: report.firstBreak };
  },
};

export const MAINTENANCE_JOBS: readonly MaintenanceJob[] = [verifyAuditJob];
