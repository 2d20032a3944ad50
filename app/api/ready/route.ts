// Readiness: the database answers and every migration on disk is applied unchanged.
import { db } from "@/server/db/client";
import { migrationStatus } from "@/server/db/migrate";

export const dynamic = "force-dynamic";

export async function GET() {
  let client;
  try {
    client = await db().pool.connect();
  } catch (err) {
    return Response.json({ status: "unavailable", database: "unreachable", error: (err as Error).message }, { status: 503 });
  }
  try {
    const status = await migrationStatus(client);
    if (!status.isCurrent) {
      return Response.json({ status: "unavailable", database: "ok", migrations: status }, { status: 503 });
    }
    return Response.json({ status: "ready", database: "ok", migrations: "current" });
  } catch (err) {
    return Response.json({ status: "unavailable", database: "error", error: (err as Error).message }, { status: 503 });
  } finally {
    client.release();
  }
}
