// A web process for the benchmarks on a plain node:http server: the tRPC HTTP API (the same fetch
// handler as the Next.js route, server/api/http-handler.ts) at /api/trpc, and partner webhooks in
// (the same handler as app/api/webhooks/[partner]/route.ts, server/partners/webhook-http.ts) at
// /api/webhooks/<partner>. The Next.js routes need a build; this serves the same handlers in a
// separate process so HTTP parsing and serialisation cost CPU as they would in production. Used by
// the ledger benchmark (scripts/bench/ledger.ts) and, one or more of them, by the transfers
// benchmark's --webs (scripts/bench/transfers.ts).
//   node --import tsx scripts/bench/http-server.ts <database-url> <pool-max>
// Prints "LISTENING <port>" once ready; exits on SIGTERM or when stdin closes.
// Unlike the Next.js route, which streams the body into the handler, this server buffers each
// request's whole body before the handler sees it, so the handler's body limit does not bound its
// memory: it is for benchmarks on a trusted loopback, never for untrusted clients.
import http from "node:http";
import { createDbHandles } from "../../server/db/client";
import { createTrpcHttpHandler } from "../../server/api/http-handler";
import { createWebhookHandler } from "../../server/partners/webhook-http";
import { partners } from "../../server/composition";
import { QUEUES, signalQueue, stopSender } from "../../server/jobs/queues";

const [url, poolMaxText] = process.argv.slice(2);
if (!url) {
  console.error("usage: http-server.ts <database-url> <pool-max>");
  process.exit(2);
}
const handles = createDbHandles(url, { max: Number(poolMaxText ?? "32"), applicationName: "bench-http" });
const handle = createTrpcHttpHandler({ getDb: () => handles, appOrigin: null });
// As the Next route does: a stored webhook wakes the worker's webhook-apply queue.
const handleWebhook = createWebhookHandler({ getDb: () => handles, partners, notifyWebhookReceived: () => signalQueue(handles, QUEUES.webhookApply) });
const WEBHOOK_PATH = /^\/api\/webhooks\/([^/?]+)$/;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    void (async () => {
      try {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) {
          if (typeof v === "string") headers.set(k, v);
          else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
        }
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        const request = new Request(`http://127.0.0.1${req.url ?? "/"}`, { method: req.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined });
        const webhook = req.method === "POST" ? WEBHOOK_PATH.exec((req.url ?? "").split("?")[0]!) : null;
        const response = webhook ? await handleWebhook(request, decodeURIComponent(webhook[1]!)) : await handle(request);
        const body = Buffer.from(await response.arrayBuffer());
        const out: Record<string, string> = {};
        response.headers.forEach((v, k) => (out[k] = v));
        out["content-length"] = String(body.length);
        res.writeHead(response.status, out);
        res.end(body);
      } catch (e) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String((e as Error).message));
      }
    })();
  });
});
server.keepAliveTimeout = 60_000;

const shutdown = () => {
  server.close();
  void stopSender(handles.pool)
    .then(() => handles.pool.end())
    .finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.stdin.on("end", shutdown);
process.stdin.resume();

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  console.log(`LISTENING ${typeof addr === "object" && addr ? addr.port : 0}`);
});
