/**
 * Database spans: the pg Client class every pool of the process uses (pg.Pool's `Client` option,
 * a documented extension point). Each query made under a recording span gets a child span
 * "db <operation>" with the statement text (parameters are never recorded: they hold money and
 * names), the prepared statement's name, and the error when it fails.
 *
 * Why not @opentelemetry/instrumentation-pg: it patches `pg` through module-load hooks, which see
 * neither the copy Next.js's server loads nor pg imported from ES modules under tsx; a Client
 * subclass handed to the pool works the same in the web, the worker and tests.
 *
 * Invariants kept:
 * - With tracing off, or outside any recording span (pg-boss polling, pool housekeeping), a query
 *   costs one boolean check and one context lookup more than plain pg; no span is made.
 * - Streams and cursors (Submittable queries) pass through untouched.
 */
import pg from "pg";
import { context, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { isTracingOn } from "./tracing";

/** Longest statement text recorded on a span. */
const MAX_STATEMENT_CHARS = 2_000;

function operationOf(text: string): string {
  const m = /^\s*(?:WITH\b[\s\S]*?\)\s*)?([A-Za-z]+)/.exec(text);
  return (m?.[1] ?? "QUERY").toUpperCase();
}

function startQuerySpan(first: unknown): Span | null {
  if (!isTracingOn()) return null;
  const parent = trace.getSpan(context.active());
  if (!parent?.isRecording()) return null;
  const config = typeof first === "string" ? { text: first } : (first as { text?: unknown; name?: unknown } | null);
  const text = typeof config?.text === "string" ? config.text : "";
  const operation = operationOf(text);
  const span = trace.getTracer("ledger-console").startSpan(`db ${operation}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "db.system.name": "postgresql",
      "db.operation.name": operation,
      "db.query.text": text.length > MAX_STATEMENT_CHARS ? `${text.slice(0, MAX_STATEMENT_CHARS)}…` : text,
      ...(typeof config?.name === "string" ? { "db.query.summary": config.name } : {}),
    },
  });
  return span;
}

function endQuerySpan(span: Span, err: unknown): void {
  if (err) {
    const e = err as { message?: string; code?: string };
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message ?? String(err) });
    if (typeof e.code === "string") span.setAttribute("db.response.status_code", e.code);
  }
  span.end();
}

type QueryCallback = (err: Error | null, res: unknown) => void;

/** pg.Client with a span around each query made under a recording span. */
export class TracedPgClient extends pg.Client {
  // One signature for pg's many overloads; each form is forwarded unchanged.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const first: unknown = args[0];
    const isSubmittable = typeof (first as { submit?: unknown } | null)?.submit === "function";
    const span = isSubmittable ? null : startQuerySpan(first);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const call = (a: any[]) => (super.query as (...x: any[]) => any).apply(this, a);
    if (!span) return call(args);
    const last = args[args.length - 1];
    if (typeof last === "function") {
      const cb = last as QueryCallback;
      return call([
        ...args.slice(0, -1),
        (err: Error | null, res: unknown) => {
          endQuerySpan(span, err);
          cb(err, res);
        },
      ]);
    }
    const cfgCallback = (first as { callback?: unknown } | null)?.callback;
    if (typeof first === "object" && first !== null && typeof cfgCallback === "function") {
      const cb = cfgCallback as QueryCallback;
      return call([
        {
          ...(first as object),
          callback: (err: Error | null, res: unknown) => {
            endQuerySpan(span, err);
            cb(err, res);
          },
        },
        ...args.slice(1),
      ]);
    }
    let result: Promise<unknown>;
    try {
      result = call(args) as Promise<unknown>;
    } catch (e) {
      endQuerySpan(span, e);
      throw e;
    }
    return result.then(
      (r) => {
        endQuerySpan(span, null);
        return r;
      },
      (e: unknown) => {
        endQuerySpan(span, e);
        throw e;
      },
    );
  }
}
