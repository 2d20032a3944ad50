/**
 * Traces (OpenTelemetry) and the correlation id that follows a transfer.
 *
 * Invariants kept:
 * - Every process has a W3C trace context, whether or not spans are exported: the context manager
 *   (AsyncLocalStorage) and the W3C propagator are installed on first use. With tracing off, a
 *   request or job that arrives without a trace context gets one with random ids and the "not
 *   sampled" flag, so the correlation id (its trace id) exists either way and costs no span.
 * - The correlation id of a transfer is the trace id of the API call that created it. The
 *   transfer stores that call's `traceparent` (transfers.trace_parent); its jobs carry it in their
 *   payload, partner calls send it as `traceparent` and `x-correlation-id`, and the webhook that
 *   settles it is applied under it. Logs print it on every line (logger.ts).
 * - Exporting is off by default. It is on when OTEL_TRACES_EXPORTER is otlp or console or an OTLP
 *   endpoint is set (standard OpenTelemetry variables, read in server/env.ts); the OTLP exporter
 *   reads its own standard variables (headers, timeout, compression).
 * - Database spans are made only under a recording span (server/db/traced-client.ts), so polling
 *   loops never start traces of their own.
 */
import { randomUUID } from "node:crypto";
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { SpanExporter } from "@opentelemetry/sdk-trace-node";
import { env, type Env } from "../env";

export { SpanKind };
export type { Context, Span };

/** The header that carries the correlation id to partners, next to `traceparent`. */
export const CORRELATION_HEADER = "x-correlation-id";
export const TRACEPARENT_HEADER = "traceparent";

const TRACER_NAME = "ledger-console";
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface TracingState {
  isBasicsInstalled: boolean;
  isExporting: boolean;
  shutdown: (() => Promise<void>) | null;
}

// On globalThis: Next.js may load this module more than once in one process (one copy per bundle
// layer); the OpenTelemetry API keeps its own registrations there too.
const g = globalThis as unknown as { __ledgerTracing?: TracingState };
const state: TracingState = (g.__ledgerTracing ??= { isBasicsInstalled: false, isExporting: false, shutdown: null });

/** Installs the context manager and the W3C propagator once per process (idempotent). */
function installBasics(): void {
  if (state.isBasicsInstalled) return;
  state.isBasicsInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** Whether spans are recorded and exported in this process. */
export function isTracingOn(): boolean {
  return state.isExporting;
}

/** Whether the configuration asks for exported traces (pure). */
export function isTracingConfigured(e: Pick<Env, "OTEL_SDK_DISABLED" | "OTEL_TRACES_EXPORTER" | "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT">): boolean {
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === "none") return false;
  return e.OTEL_TRACES_EXPORTER !== undefined || e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
}

/**
 * Sets up tracing for a process ("web", "worker"): always the context and propagator; the SDK with
 * a batching OTLP (or console) exporter only when the configuration asks for it. Call once, first
 * thing, before the process does any work. Returns whether spans are exported.
 */
export async function startTracing(processName: string): Promise<boolean> {
  installBasics();
  const e = env();
  if (state.isExporting || !isTracingConfigured(e)) return state.isExporting;
  const { NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } = await import("@opentelemetry/sdk-trace-node");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { ATTR_SERVICE_NAME } = await import("@opentelemetry/semantic-conventions");
  let exporter: SpanExporter;
  if (e.OTEL_TRACES_EXPORTER === "console") {
    exporter = new ConsoleSpanExporter();
  } else {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
    exporter = new OTLPTraceExporter();
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: e.OTEL_SERVICE_NAME ?? `ledger-console-${processName}` }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  state.isExporting = true;
  state.shutdown = () => provider.shutdown();
  return true;
}

/** Flushes and stops the exporter (process shutdown). */
export async function stopTracing(): Promise<void> {
  const stop = state.shutdown;
  state.shutdown = null;
  await stop?.().catch(() => {});
}

/**
 * Test hook: records every span into `exporter` synchronously (an InMemorySpanExporter). Returns
 * a function that removes the provider again.
 */
export async function startTracingForTests(exporter: SpanExporter): Promise<() => Promise<void>> {
  installBasics();
  const { NodeTracerProvider, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-node");
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  state.isExporting = true;
  return async () => {
    state.isExporting = false;
    trace.disable();
    await provider.shutdown();
  };
}

function tracer() {
  installBasics();
  return trace.getTracer(TRACER_NAME);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; default the active context. */
  parent?: Context;
  links?: Link[];
}

/**
 * Runs `fn` inside a new active span that ends when `fn` settles; a throw is recorded on the span
 * (status ERROR) and rethrown.
 */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!state.isExporting) return withoutSpan(opts, fn);
  const parent = opts.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      markSpanFailed(span, e);
      throw e;
    } finally {
      span.end();
    }
  });
}

/**
 * withSpan with tracing off: no span is started (the no-op tracer's span would carry its parent's
 * ids, which is what this passes), and the context is switched only when a parent other than the
 * active one is given. This path runs two or three times per API request: the no-op tracer's
 * span and context switch cost about a tenth of the HTTP path's CPU (docs/performance.md).
 */
function withoutSpan<T>(opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  installBasics();
  const active = context.active();
  const parent = opts.parent ?? active;
  const run = () => fn(trace.wrapSpanContext(trace.getSpanContext(parent) ?? INVALID_SPAN_CONTEXT));
  try {
    return parent === active ? run() : context.with(parent, run);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Starts a span that the caller ends (for work that spans callbacks, e.g. a job in a batch). */
export function startSpan(name: string, opts: SpanOptions = {}): Span {
  return tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links }, opts.parent ?? context.active());
}

/** Records an error on a span (status ERROR with the message). */
export function markSpanFailed(span: Span, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/** The context with `span` active. */
export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** Runs `fn` with `ctx` as the active context. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  installBasics();
  return context.with(ctx, fn);
}

/** The active context. */
export function activeContext(): Context {
  installBasics();
  return context.active();
}

/**
 * Random ids for a correlation context: 32 hex digits for a trace id, 16 for a span id. From
 * randomUUID, which draws from a pooled buffer (randomBytes made two system calls per request); its
 * fixed version digit keeps every id non-zero, as W3C trace context requires.
 */
function randomTraceId(): string {
  return randomUUID().replaceAll("-", "");
}
function randomSpanId(): string {
  return randomUUID().replaceAll("-", "").slice(0, 16);
}

/**
 * The context of an incoming request or message: the caller's `traceparent` when it sent a valid
 * one; otherwise, with tracing off, a fresh unsampled context so a correlation id exists (with
 * tracing on, the first span started under it becomes a new root).
 */
export function incomingContext(traceparent: string | null | undefined): Context {
  installBasics();
  let ctx = ROOT_CONTEXT;
  if (traceparent && TRACEPARENT_RE.test(traceparent.trim().toLowerCase())) ctx = propagation.extract(ROOT_CONTEXT, { traceparent: traceparent.trim().toLowerCase() });
  return ensureCorrelation(ctx);
}

/** `ctx` itself when it carries a valid trace context; else (tracing off) one with random ids, unsampled. */
export function ensureCorrelation(ctx: Context): Context {
  if (trace.getSpanContext(ctx) || state.isExporting) return ctx;
  return trace.setSpanContext(ctx, { traceId: randomTraceId(), spanId: randomSpanId(), traceFlags: TraceFlags.NONE, isRemote: true });
}

/** The W3C traceparent of `ctx` (default the active context), or null when it has none. */
export function traceParentOf(ctx: Context = activeContext()): string | null {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? "01" : "00"}`;
}

/** The correlation id (trace id) of `ctx` (default the active context), or null. */
export function correlationIdOf(ctx: Context = activeContext()): string | null {
  const sc = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : null;
}

/** The trace id inside a stored traceparent, or null when it is not one. */
export function traceIdOfTraceParent(traceparent: string | null | undefined): string | null {
  const m = traceparent ? TRACEPARENT_RE.exec(traceparent) : null;
  return m ? m[1]! : null;
}

/** A context continuing a stored traceparent (a job's payload, a transfer's row); else a fresh one. */
export function contextFromTraceParent(traceparent: string | null | undefined): Context {
  return incomingContext(traceparent);
}

/** Headers that carry the active trace to another service: traceparent and x-correlation-id. */
export function traceHeaders(ctx: Context = activeContext()): Record<string, string> {
  const tp = traceParentOf(ctx);
  if (!tp) return {};
  return { [TRACEPARENT_HEADER]: tp, [CORRELATION_HEADER]: traceIdOfTraceParent(tp)! };
}

/** The trace's link in the configured tracing UI (TRACE_URL_TEMPLATE), or null. */
export function traceUrl(traceId: string | null, e: Pick<Env, "TRACE_URL_TEMPLATE"> = env()): string | null {
  if (!traceId || !e.TRACE_URL_TEMPLATE) return null;
  return e.TRACE_URL_TEMPLATE.replaceAll("{traceId}", encodeURIComponent(traceId));
}
