// Prometheus metrics of the web process: GET /api/metrics with `Authorization: Bearer
// <METRICS_BEARER_TOKEN>` (server/slo/metrics-http.ts). The worker serves its own on
// WORKER_METRICS_PORT.
import { db } from "../../../server/db/client";
import { createMetricsHandler } from "../../../server/slo/metrics-http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handle = createMetricsHandler({ getDb: db });

export function GET(req: Request): Promise<Response> {
  return handle(req);
}
