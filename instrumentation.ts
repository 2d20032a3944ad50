/**
 * Runs once when the web server starts, before it serves anything: an invalid configuration (a
 * malformed variable, or demo settings in production) stops it, naming each bad variable; then
 * tracing is set up for the web process (server/observability/tracing.ts; spans are exported only
 * when the OpenTelemetry variables ask for them).
 */
export async function register(): Promise<void> {
  const { env, exitOnInvalidConfiguration, isProductionDeployment } = await import("./server/env");
  exitOnInvalidConfiguration("web");
  // In production the web process must not connect as the tables' owner (server/db/runtime-role.ts).
  if (isProductionDeployment(env())) {
    const { db } = await import("./server/db/client");
    const { assertConnectsAsRuntimeRole } = await import("./server/db/runtime-role");
    try {
      await assertConnectsAsRuntimeRole(db().pool, "web");
    } catch (err) {
      process.stderr.write(`[web] error: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startTracing } = await import("./server/observability/tracing");
  await startTracing("web");
}
