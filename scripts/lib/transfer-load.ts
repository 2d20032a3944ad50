/**
 * The transfers benchmark's load generator: creates offered on a clock (open loop), through
 * `createTransfer` in this process or `transfers.create` over HTTP with a service key, spread over
 * the web processes; every request is recorded (scripts/lib/capacity-curve.ts CreateTry) with the
 * moment it was sent and what came back: admitted, refused (OVERLOADED, admission control's typed
 * retryable refusal), an error, or shed (the generator's own in-flight limit was reached).
 *
 * A refused create is retried (same idempotency key, after the Retry-After the server named) only
 * when asked: by default an open-loop offer counts the refusal and moves on.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { DbHandles } from "../../server/db/client";
import { SYSTEM_ACTOR } from "../../server/core/actor";
import { AppError } from "../../server/errors/app-error";
import { createTransfer, type CreateTransferInput } from "../../server/transfers/create";
import type { CreateTry, StepWindow } from "./capacity-curve";

export type CreateOutcome = { kind: "admitted"; transferId: string } | { kind: "refused"; retryAfterMs: number } | { kind: "error"; message: string };

export interface CreateTransport {
  /** Where creates go, in words (for the report). */
  describe: string;
  send(input: CreateTransferInput, idempotencyKey: string, n: number): Promise<CreateOutcome>;
  close(): void;
}

/** Create number n of a run: wallets in turn, amounts spread, the instant rail of the sandbox. */
export function benchTransferInput(n: number, walletIds: readonly string[]): CreateTransferInput {
  return {
    sourceAccountId: walletIds[n % walletIds.length]!,
    counterpartyName: `Payee ${n}`,
    counterpartyAccount: "NL91ABNA0417164300",
    amountMinor: BigInt(100 + (n % 9000)),
    currency: "EUR",
    rail: "instant",
    partner: "sandbox",
    reference: `bench-${n}`,
  };
}

const DEFAULT_RETRY_AFTER_MS = 1_000;

/** createTransfer in this process, as the system actor (today's mode). */
export function inProcessTransport(db: DbHandles): CreateTransport {
  return {
    describe: "createTransfer in the benchmark process",
    async send(input, idempotencyKey) {
      try {
        const r = await createTransfer(db, SYSTEM_ACTOR, input, { idempotencyKey });
        return { kind: "admitted", transferId: r.transfer.id };
      } catch (e) {
        if (e instanceof AppError && e.code === "OVERLOADED") {
          const s = e.details?.retryAfterSeconds;
          return { kind: "refused", retryAfterMs: typeof s === "number" ? s * 1000 : DEFAULT_RETRY_AFTER_MS };
        }
        return { kind: "error", message: (e as Error).message };
      }
    },
    close() {},
  };
}

/** Connections kept open to each web process (requests beyond them queue in the agent). */
export const SOCKETS_PER_WEB = 64;
/** Longest a create may take over HTTP before it counts as an error. */
export const HTTP_TIMEOUT_MS = 30_000;

interface TrpcError {
  error?: { json?: { message?: string; data?: { appCode?: string | null } } };
}

/**
 * `transfers.create` over HTTP with a service key (Bearer), create n to web process n mod M, with
 * node:http and a keep-alive agent (the ledger benchmark's client: about half the CPU of fetch).
 */
export function httpTransport(webUrls: readonly string[], serviceKeySecret: string): CreateTransport {
  if (webUrls.length === 0) throw new Error("httpTransport needs at least one web process");
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_WEB });
  const targets = webUrls.map((u) => new URL(u));
  return {
    describe: `transfers.create over HTTP (service key), spread over ${webUrls.length} web process(es)`,
    send(input, idempotencyKey, n) {
      const target = targets[n % targets.length]!;
      // superjson's wire format; the amount travels as an integer string, so no meta is needed.
      const body = JSON.stringify({ json: { ...input, amountMinor: input.amountMinor.toString(), idempotencyKey } });
      return new Promise<CreateOutcome>((resolve) => {
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: "/api/trpc/transfers.create",
            method: "POST",
            agent,
            timeout: HTTP_TIMEOUT_MS,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${serviceKeySecret}` },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", (e) => resolve({ kind: "error", message: e.message }));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              try {
                if (res.statusCode === 200) {
                  const id = (JSON.parse(text) as { result?: { data?: { json?: { transfer?: { id?: string } } } } }).result?.data?.json?.transfer?.id;
                  return resolve(id ? { kind: "admitted", transferId: id } : { kind: "error", message: `HTTP 200 without a transfer id: ${text.slice(0, 200)}` });
                }
                const err = (JSON.parse(text) as TrpcError).error?.json;
                if (res.statusCode === 503 && err?.data?.appCode === "OVERLOADED") {
                  const retryAfter = Number(res.headers["retry-after"]);
                  return resolve({ kind: "refused", retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : DEFAULT_RETRY_AFTER_MS });
                }
                resolve({ kind: "error", message: `HTTP ${res.statusCode} ${err?.data?.appCode ?? ""}: ${err?.message ?? text.slice(0, 200)}` });
              } catch {
                resolve({ kind: "error", message: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` });
              }
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer within ${HTTP_TIMEOUT_MS} ms`)));
        req.on("error", (e) => resolve({ kind: "error", message: e.message }));
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

export interface GeneratorOptions {
  /** Most creates waiting for an answer at once. */
  maxInFlight: number;
  /**
   * At the limit: "wait" delays the next create until one returns (today's fixed-rate mode, so its
   * figures stay comparable: the achieved rate shows saturation); "shed" does not send it and
   * records it as shed (the ramp: the offer stays open-loop, and what it could not send is shown).
   */
  whenFull: "wait" | "shed";
  /** Retries of a refused create (same key, after Retry-After); 0: counted, never retried. */
  retryRefused: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Offers creates on a clock, one step (rate × seconds) at a time, and records every request. */
export class OpenLoopGenerator {
  readonly tries: CreateTry[] = [];
  /** Transfers admitted, with the moment the answer came (ms). */
  readonly admitted: { id: string; atMs: number }[] = [];
  errors = 0;
  firstError: string | undefined;
  /** Refused creates whose retry was still waiting when the run ended. */
  retriesAbandoned = 0;
  private inFlight = 0;
  private next = 0;
  private isDraining = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly transport: CreateTransport,
    private readonly inputFor: (n: number) => CreateTransferInput,
    private readonly opts: GeneratorOptions,
  ) {}

  /** Offers `ratePerSecond` for `seconds` (open loop: creates are due on the clock, whatever the answers). */
  async offer(ratePerSecond: number, seconds: number): Promise<StepWindow> {
    const startMs = Date.now();
    const endMs = startMs + seconds * 1000;
    const total = Math.round(ratePerSecond * seconds);
    for (let k = 0; k < total; k++) {
      const wait = startMs + (k * 1000) / ratePerSecond - Date.now();
      if (wait > 0) await sleep(wait);
      const n = this.next++;
      this.sendTry(n, `bench:${randomUUID()}`, 0);
      if (this.opts.whenFull === "wait") while (this.inFlight >= this.opts.maxInFlight) await sleep(1);
    }
    const rest = endMs - Date.now();
    if (rest > 0) await sleep(rest);
    return { offeredPerSecond: ratePerSecond, startMs, endMs };
  }

  /** Waits for every answer; retries still waiting are dropped (counted in retriesAbandoned). */
  async drain(): Promise<void> {
    this.isDraining = true;
    this.retriesAbandoned += this.retryTimers.size;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    while (this.inFlight > 0) await sleep(10);
  }

  get inFlightNow(): number {
    return this.inFlight;
  }

  private sendTry(n: number, key: string, retry: number): void {
    const sentAtMs = Date.now();
    if (this.opts.whenFull === "shed" && this.inFlight >= this.opts.maxInFlight) {
      this.tries.push({ sentAtMs, isRetry: retry > 0, outcome: "shed" });
      return;
    }
    this.inFlight++;
    void this.transport
      .send(this.inputFor(n), key, n)
      .then((o) => {
        if (o.kind === "admitted") {
          this.tries.push({ sentAtMs, isRetry: retry > 0, outcome: "admitted", transferId: o.transferId });
          this.admitted.push({ id: o.transferId, atMs: Date.now() });
        } else if (o.kind === "refused") {
          this.tries.push({ sentAtMs, isRetry: retry > 0, outcome: "refused" });
          if (retry < this.opts.retryRefused && !this.isDraining) {
            const timer = setTimeout(() => {
              this.retryTimers.delete(timer);
              this.sendTry(n, key, retry + 1);
            }, o.retryAfterMs);
            this.retryTimers.add(timer);
          }
        } else {
          this.tries.push({ sentAtMs, isRetry: retry > 0, outcome: "error" });
          this.errors++;
          this.firstError ??= o.message;
        }
      })
      .finally(() => this.inFlight--);
  }
}
