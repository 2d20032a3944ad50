// Partner webhooks in: POST /api/webhooks/<partner>. Verified, stored and deduplicated here;
// applied asynchronously by the worker (server/partners/webhooks.ts).
import { db } from "../../../../server/db/client";
import { createWebhookHandler } from "../../../../server/partners/webhook-http";
import { partners } from "../../../../server/composition";
import { QUEUES, signalQueue } from "../../../../server/jobs/queues";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// A stored event wakes the worker's webhook-apply queue (at most one wake-up waits at a time);
// the worker's periodic sweep applies anything a lost wake-up missed.
const handle = createWebhookHandler({ getDb: db, partners, notifyWebhookReceived: () => signalQueue(db(), QUEUES.webhookApply) });

export async function POST(req: Request, ctx: { params: Promise<{ partner: string }> }): Promise<Response> {
  const { partner } = await ctx.params;
  return handle(req, partner);
}
