// Readiness: the database answers and every migration on disk is applied unchanged
// (server/db/readiness.ts; never raw database error text).
import { db } from "@/server/db/client";
import { checkReadiness } from "@/server/db/readiness";

export const dynamic = "force-dynamic";

export async function GET() {
  const { httpStatus, body } = await checkReadiness(db().pool);
  return Response.json(body, { status: httpStatus, headers: { "cache-control": "no-store" } });
}
