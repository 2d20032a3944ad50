import { createTrpcHttpHandler } from "../../../../server/api/http-handler";
import { db } from "../../../../server/db/client";

export const dynamic = "force-dynamic";

const handler = createTrpcHttpHandler({ getDb: db });

export { handler as GET, handler as POST };
