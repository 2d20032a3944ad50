/**
 * Scheduled maintenance jobs. Each is idempotent (pg-boss delivers at least once) and bounded in
 * the work it does per run.
 */
import type { Registry } from "prom-client";
import type { DbHandles } from "../db/client";

export interface MaintenanceJob {
  name: string;
  /** Cron expression, UTC. */
  cron: string;
  timeoutSeconds?: number;
  registerMetrics?(registry: Registry): void;
  run(db: DbHandles, now: Date): Promise<Record<string, unknown>>;
}

export const MAINTENANCE_JOBS: readonly MaintenanceJob[] = [];
