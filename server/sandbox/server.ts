/**
 * The partner sandbox: a simulated bank with an HTTP API (node:http, no framework), two rails and
 * run-time fault injection. It plays the bank our sandbox adapter talks to; see docs/api.md
 * "Partner sandbox" for the API.
 *
 *   instant: accepted and acknowledged in the response; settles (a `settled` webhook) after a
 *            delay drawn from the rail's [settleDelayMsMin, settleDelayMsMax].
 *   batch:   accepted ("submitted"); an `acknowledged` webhook after ackDelayMs; settles at the
 *            rail's cut-off (every cutoffIntervalSeconds, or POST /admin/cutoff/batch).
 *
 * Invariants kept:
 * - Exactly-once execution per idempotency key (server/sandbox/bank.ts); faults never break it:
 *   a 5xx or a "timed out before executing" answer has executed nothing; an "executed then timed
 *   out" answer has executed exactly once and a retry with the same key replays it.
 * - The outage switch answers 503 to every /v1 request and executes nothing; /admin and /health
 *   keep working so the switch can be turned off again.
 * - All state is in the database; the process can be killed and restarted at any moment. Timers
 *   (settlement, returns, cut-offs, webhook retries) are due times in rows, picked up by whichever
 *   sandbox process ticks next.
 * - Limits: request bodies 64 KiB (413), idempotency keys 255 printable ASCII characters, hangs end
 *   after the rail's hangMs, every step and webhook batch is bounded.
 *
 * The admin endpoints have no authentication: the sandbox listens on 127.0.0.1 only and is a
 * development and test tool, never a production dependency.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { z } from "zod";
import { isCurrencyCode } from "../money";
import { MAX_MINOR_UNITS } from "../money/amount";
import { formatSettlementCsv } from "../partners/settlement-file";
import { isRailId, RAIL_IDS, type RailId } from "../partners/types";
import { componentLogger } from "../observability/logger";
import {
  acknowledgeDue,
  countSubmitAttempt,
  ensureRails,
  executePayment,
  findPaymentById,
  findPaymentByKey,
  isOutage,
  keyStats,
  nextCutoffAt,
  paymentJson,
  readRailConfigs,
  returnDue,
  runCutoff,
  runScheduledCutoffs,
  sandboxStats,
  setOutage,
  settleDue,
  settlementLines,
  STEP_BATCH,
  updateRailConfig,
  type BankContext,
  type PaymentRequest,
} from "./bank";
import { faultRoll, rollHits } from "./rail-config";
import { dailyStatement, readStatementFaults, writeStatementFaults } from "./statements";
import { deliverDueWebhooks, type SenderConfig } from "./webhook-sender";

const log = componentLogger("sandbox");

export const MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_TICK_MS = 50;
const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;
/** Counterparty accounts containing this word are refused by the bank (422): a sandbox test value. */
export const REJECTED_ACCOUNT_MARKER = "REJECT";

export interface SandboxOptions {
  pool: pg.Pool;
  /** 0: any free port. */
  port: number;
  host?: string;
  /**
   * Where webhooks go: one URL, or one per web process behind no load balancer; deliveries are
   * spread over them in turn (server/sandbox/webhook-sender.ts). At least one.
   */
  webhookTargetUrls: readonly string[];
  /** Null: webhooks cannot be signed and stay pending. */
  webhookSecret: string | null;
  defaultSeed: string | null;
  defaultCutoffSeconds: number;
  /** How often the bank's clock advances its books (default 50 ms). */
  tickMs?: number;
  /** False: no background ticking; tests call tick() themselves. Default true. */
  isTicking?: boolean;
  fetch?: typeof fetch;
}

export interface TickResult {
  acknowledged: number;
  settled: number;
  failed: number;
  returned: number;
  cutoffs: number;
  webhooksDelivered: number;
  webhooksFailed: number;
}

export interface SandboxHandle {
  url: string;
  port: number;
  ctx: BankContext;
  /** Advances the books once: acknowledgements, settlements, returns, cut-offs, webhooks. */
  tick(now?: Date): Promise<TickResult>;
  close(): Promise<void>;
}

const paymentBodySchema = z
  .object({
    transfer_id: z.string().min(1).max(100),
    rail: z.enum(RAIL_IDS),
    amount_minor: z.string().regex(/^[1-9]\d{0,18}$/, "must be a positive integer string of minor units"),
    currency: z.string().refine(isCurrencyCode, "must be a supported ISO 4217 code"),
    counterparty: z.object({ name: z.string().min(1).max(140), account: z.string().min(1).max(64) }).strict(),
    reference: z.string().max(140),
  })
  .strict();

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/csv; charset=utf-8" : "application/json", "cache-control": "no-store", ...headers });
  res.end(text);
}

function sendError(res: http.ServerResponse, e: HttpError): void {
  send(res, e.status, { error: { code: e.code, message: e.message } });
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, "body_too_large", `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "body_too_large", `bodies are limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.length === 0) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not JSON");
  }
}

function zodMessage(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join(".") || "body"}: ${i.message}`;
}

function railOf(v: string): RailId {
  if (!isRailId(v)) throw new HttpError(404, "unknown_rail", `rail ${JSON.stringify(v)} does not exist; rails: ${RAIL_IDS.join(", ")}`);
  return v;
}

export async function startSandbox(opts: SandboxOptions): Promise<SandboxHandle> {
  const ctx: BankContext = { pool: opts.pool, defaultSeed: opts.defaultSeed, defaultCutoffSeconds: opts.defaultCutoffSeconds };
  if (opts.webhookTargetUrls.length === 0) throw new Error("the sandbox needs at least one webhook target URL");
  const sender: SenderConfig = { pool: opts.pool, targetUrls: opts.webhookTargetUrls, secret: opts.webhookSecret, ...(opts.fetch ? { fetch: opts.fetch } : {}) };
  await ensureRails(ctx, new Date());
  if (!opts.webhookSecret) log.warn("no webhook signing secret: webhooks stay pending (set SANDBOX_WEBHOOK_SECRET)");

  const hangs = new Set<() => void>();
  /** Waits `ms` or until the client goes away; true when the client is still waiting. */
  const hang = (res: http.ServerResponse, ms: number) =>
    new Promise<boolean>((resolve) => {
      const done = (isWaiting: boolean) => {
        clearTimeout(timer);
        res.off("close", onClose);
        hangs.delete(stop);
        resolve(isWaiting);
      };
      const onClose = () => done(false);
      const stop = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      res.once("close", onClose);
      hangs.add(stop);
    });

  async function submitPayment(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const keyHeader = req.headers["idempotency-key"];
    const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    if (!key) throw new HttpError(400, "idempotency_key_required", "the Idempotency-Key header is required");
    if (!IDEMPOTENCY_KEY_RE.test(key)) throw new HttpError(400, "idempotency_key_invalid", "the Idempotency-Key must be 1-255 printable ASCII characters");
    const now = new Date();
    const attempt = await countSubmitAttempt(ctx, key, now);
    const parsed = paymentBodySchema.safeParse(await readJson(req));
    if (!parsed.success) throw new HttpError(400, "invalid_request", zodMessage(parsed.error));
    const b = parsed.data;
    if (BigInt(b.amount_minor) > MAX_MINOR_UNITS) throw new HttpError(400, "invalid_request", "amount_minor: too large");
    if (b.counterparty.account.toUpperCase().includes(REJECTED_ACCOUNT_MARKER)) {
      throw new HttpError(422, "beneficiary_account_invalid", `the beneficiary account ${b.counterparty.account} cannot receive payments`);
    }
    const cfg = (await readRailConfigs(ctx))[b.rail];
    const seed = cfg.seed ?? ctx.defaultSeed;
    if (rollHits(cfg.errorProbability, faultRoll(seed, key, attempt, "error"))) {
      throw new HttpError(500, "internal_error", "the bank had an internal error; nothing was executed (injected fault)");
    }
    const isTimeout = rollHits(cfg.timeoutProbability, faultRoll(seed, key, attempt, "timeout"));
    const isExecutedBeforeTimeout = isTimeout && rollHits(cfg.timeoutExecutedShare, faultRoll(seed, key, attempt, "timeout_executed"));
    const request: PaymentRequest = {
      idempotencyKey: key,
      transferId: b.transfer_id,
      rail: b.rail,
      amountMinor: BigInt(b.amount_minor),
      currency: b.currency,
      counterpartyName: b.counterparty.name,
      counterpartyAccount: b.counterparty.account,
      reference: b.reference,
    };
    if (isTimeout) {
      if (isExecutedBeforeTimeout) {
        await executePayment(ctx, request, now);
        kick();
      }
      log.info({ key, attempt, isExecutedBeforeTimeout }, "injected timeout");
      if (await hang(res, cfg.hangMs)) throw new HttpError(504, "gateway_timeout", "the bank did not answer in time (injected fault)");
      return;
    }
    const r = await executePayment(ctx, request, now);
    if (r.kind === "conflict") {
      throw new HttpError(409, "idempotency_key_conflict", `idempotency key ${key} was used for a different payment (${r.payment.id})`);
    }
    if (r.kind === "created") kick();
    send(res, r.kind === "created" ? 201 : 200, paymentJson(r.payment), r.kind === "replayed" ? { "idempotent-replayed": "true" } : {});
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sandbox.local");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    const parts = path.split("/").filter(Boolean);

    if (path === "/health") return send(res, 200, { status: "ok" });

    if (parts[0] === "v1") {
      if (await isOutage(ctx)) throw new HttpError(503, "service_unavailable", "the bank is down (outage switch on)");
      if (method === "POST" && path === "/v1/payments") return submitPayment(req, res);
      if (method === "GET" && path === "/v1/payments") {
        const key = url.searchParams.get("idempotency_key");
        if (!key) throw new HttpError(400, "invalid_request", "idempotency_key is required");
        const p = await findPaymentByKey(ctx, key);
        if (!p) throw new HttpError(404, "not_found", `no payment with idempotency key ${key}`);
        return send(res, 200, paymentJson(p));
      }
      if (method === "GET" && parts[1] === "payments" && parts.length === 3) {
        const p = await findPaymentById(ctx, decodeURIComponent(parts[2]!));
        if (!p) throw new HttpError(404, "not_found", `no payment ${parts[2]}`);
        return send(res, 200, paymentJson(p));
      }
      if (method === "GET" && parts[1] === "settlement-files" && parts.length === 4) {
        const rail = railOf(parts[2]!);
        const date = parts[3]!;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new HttpError(400, "invalid_request", "the date must be YYYY-MM-DD");
        const lines = await settlementLines(ctx, rail, date);
        return send(res, 200, formatSettlementCsv(lines), { "content-disposition": `attachment; filename="sandbox-${rail}-${date}.csv"` });
      }
      if (method === "GET" && parts[1] === "statements" && parts.length === 4) {
        // The end-of-day camt.053 statement of our account in a currency (server/sandbox/statements.ts).
        const currency = parts[2]!.toUpperCase();
        const date = parts[3]!;
        if (!/^[A-Z]{3}$/.test(currency)) throw new HttpError(400, "invalid_request", "the currency must be a three-letter code");
        if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new HttpError(400, "invalid_request", "the date must be YYYY-MM-DD");
        const st = await dailyStatement(ctx.pool, currency, date);
        return send(res, 200, st.xml, { "content-type": "application/xml; charset=utf-8", "content-disposition": `attachment; filename="sandbox-${currency}-${date}.camt053.xml"` });
      }
      throw new HttpError(404, "not_found", `no route ${method} ${path}`);
    }

    if (parts[0] === "admin") {
      if (path === "/admin/statement-faults") {
        if (method === "GET") return send(res, 200, await readStatementFaults(ctx.pool));
        if (method === "PUT") {
          try {
            return send(res, 200, await writeStatementFaults(ctx.pool, await readJson(req), new Date()));
          } catch (e) {
            if (e instanceof z.ZodError) throw new HttpError(400, "invalid_config", zodMessage(e));
            throw e;
          }
        }
      }
      if (parts[1] === "rails" && parts[3] === "faults" && parts.length === 4) {
        const rail = railOf(parts[2]!);
        if (method === "GET") return send(res, 200, { rail, config: (await readRailConfigs(ctx, { isFresh: true }))[rail], nextCutoffAt: await nextCutoffAt(ctx, rail) });
        if (method === "PUT") {
          try {
            const config = await updateRailConfig(ctx, rail, await readJson(req), new Date());
            log.info({ rail, config }, "rail config changed");
            return send(res, 200, { rail, config, nextCutoffAt: await nextCutoffAt(ctx, rail) });
          } catch (e) {
            if (e instanceof z.ZodError) throw new HttpError(400, "invalid_config", zodMessage(e));
            throw e;
          }
        }
      }
      if (path === "/admin/outage") {
        if (method === "GET") return send(res, 200, { isOn: await isOutage(ctx) });
        if (method === "POST") {
          const body = z.object({ isOn: z.boolean() }).strict().safeParse(await readJson(req));
          if (!body.success) throw new HttpError(400, "invalid_request", zodMessage(body.error));
          await setOutage(ctx, body.data.isOn, new Date());
          log.info({ isOn: body.data.isOn }, "outage switch");
          return send(res, 200, { isOn: body.data.isOn });
        }
      }
      if (method === "POST" && parts[1] === "cutoff" && parts.length === 3) {
        const result = await runCutoff(ctx, railOf(parts[2]!), new Date());
        kick();
        return send(res, 200, result);
      }
      if (method === "POST" && path === "/admin/tick") return send(res, 200, await tick());
      if (method === "GET" && path === "/admin/stats") return send(res, 200, await sandboxStats(ctx));
      if (method === "GET" && path === "/admin/payments") {
        const key = url.searchParams.get("idempotency_key");
        if (!key) throw new HttpError(400, "invalid_request", "idempotency_key is required");
        const s = await keyStats(ctx, key);
        return send(res, 200, { ...s, payment: s.payment ? { ...paymentJson(s.payment), planned_outcome: s.payment.planned_outcome, is_ack_deferred: s.payment.is_ack_deferred, return_after_ms: s.payment.return_after_ms, is_line_withheld: s.payment.is_line_withheld } : null });
      }
    }
    throw new HttpError(404, "not_found", `no route ${method} ${path}`);
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendError(res, e);
      log.error({ err: (e as Error).message }, "sandbox request failed");
      sendError(res, new HttpError(500, "internal_error", "the sandbox failed to handle the request"));
    });
  });
  server.keepAliveTimeout = 30_000;

  let isClosed = false;

  type BooksResult = Omit<TickResult, "webhooksDelivered" | "webhooksFailed">;

  /** Moves payments along: acknowledgements, settlements, returns and due cut-offs. */
  async function advanceBooks(now: Date): Promise<BooksResult> {
    const r: BooksResult = { acknowledged: 0, settled: 0, failed: 0, returned: 0, cutoffs: 0 };
    for (let i = 0; i < 20; i++) {
      const n = await acknowledgeDue(ctx, now);
      r.acknowledged += n;
      if (n < STEP_BATCH) break;
    }
    for (let i = 0; i < 20; i++) {
      const n = await settleDue(ctx, now);
      r.settled += n.settled;
      r.failed += n.failed;
      if (n.settled + n.failed < STEP_BATCH) break;
    }
    r.returned += await returnDue(ctx, now);
    for (const c of await runScheduledCutoffs(ctx, now)) {
      r.cutoffs++;
      r.settled += c.settled;
      r.failed += c.failed;
    }
    return r;
  }

  /** Sends the webhooks that are due (at the later of `now` and the real clock). */
  async function sendWebhooks(now: Date): Promise<{ webhooksDelivered: number; webhooksFailed: number }> {
    const r = { webhooksDelivered: 0, webhooksFailed: 0 };
    for (let i = 0; i < 20; i++) {
      const s = await deliverDueWebhooks(sender, new Date(Math.max(now.getTime(), Date.now())));
      r.webhooksDelivered += s.delivered;
      r.webhooksFailed += s.failed + s.abandoned;
      if (s.unrecorded > 0) log.warn({ unrecorded: s.unrecorded, err: s.recordError }, "webhook outcomes could not be written; those copies are sent again when their lease expires");
      if (s.claimError) log.warn({ err: s.claimError }, "claiming more webhooks failed; what was claimed was sent, the rest waits for the next call");
      if (s.leaseLost > 0) log.warn({ leaseLost: s.leaseLost }, "webhook sends outlasted their lease and were claimed again; their outcomes were not written over the newer claim's");
      if (!s.hasMore) break;
    }
    return r;
  }

  async function tick(now: Date = new Date()): Promise<TickResult> {
    const books = await advanceBooks(now);
    return { ...books, ...(await sendWebhooks(now)) };
  }

  /**
   * A background loop: runs `step` one at a time, again at once when kicked while running, else
   * every tickMs. Books and webhook sending run as two loops, so a slow webhook target never
   * delays settlements.
   */
  function backgroundLoop(name: string, step: () => Promise<unknown>): { kick(): void; isRunning(): boolean; stop(): void } {
    let isRunning = false;
    let isWanted = false;
    let timer: NodeJS.Timeout | undefined;
    const kick = (): void => {
      if (opts.isTicking === false || isClosed) return;
      if (isRunning) {
        isWanted = true;
        return;
      }
      isRunning = true;
      clearTimeout(timer);
      setImmediate(() => {
        step()
          .catch((e: unknown) => log.warn({ err: (e as Error).message, loop: name }, "sandbox loop failed; retrying on the next tick"))
          .finally(() => {
            isRunning = false;
            if (isClosed) return;
            if (isWanted) {
              isWanted = false;
              kick();
            } else {
              timer = setTimeout(kick, opts.tickMs ?? DEFAULT_TICK_MS);
            }
          });
      });
    };
    return { kick, isRunning: () => isRunning, stop: () => clearTimeout(timer) };
  }

  const senderLoop = backgroundLoop("webhooks", () => sendWebhooks(new Date()));
  const booksLoop = backgroundLoop("books", async () => {
    const r = await advanceBooks(new Date());
    if (r.acknowledged + r.settled + r.failed + r.returned > 0) senderLoop.kick();
  });
  function kick(): void {
    booksLoop.kick();
    senderLoop.kick();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  kick();

  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    port,
    ctx,
    tick,
    async close() {
      isClosed = true;
      booksLoop.stop();
      senderLoop.stop();
      for (const stop of [...hangs]) stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (let i = 0; i < 500 && (booksLoop.isRunning() || senderLoop.isRunning()); i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
