/**
 * Structured logs (pino). Every line carries the component and, when it is written inside a
 * request, a job or a transfer's work, that work's correlation id (the trace id, see tracing.ts)
 * and span id, so one grep follows a transfer from the API call through its jobs, partner calls
 * and webhooks. Secrets are redacted by path.
 *
 * LOG_FORMAT=json (default) writes one JSON object a line for log collectors; LOG_FORMAT=pretty
 * (set by `npm start` when it runs in a terminal) writes readable coloured lines through
 * pino-pretty, synchronously in-process (no worker thread, which Next.js's server cannot load).
 *
 * Loggers are created on first use, not when a module loads: `next build` imports server modules
 * to collect page data without the runtime configuration, and reading it then would fail.
 */
import pino from "pino";
import pretty from "pino-pretty";
import { trace } from "@opentelemetry/api";
import { env } from "../env";
import { activeContext } from "./tracing";

let root: pino.Logger | undefined;

/** The correlation fields of the active context (empty outside any request, job or transfer). */
export function correlationFields(): { correlationId?: string; spanId?: string } {
  const sc = trace.getSpanContext(activeContext());
  if (!sc || !trace.isSpanContextValid(sc)) return {};
  return { correlationId: sc.traceId, spanId: sc.spanId };
}

/** The process's root logger (created on first call). */
export function rootLogger(): pino.Logger {
  if (root) return root;
  const e = env();
  const options: pino.LoggerOptions = {
    level: e.LOG_LEVEL,
    base: { service: "ledger-console" },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: correlationFields,
    redact: {
      paths: ["password", "secret", "*.password", "*.secret", "*.secretHash", "headers.authorization", "req.headers.authorization", "req.headers.cookie"],
      censor: "[redacted]",
    },
  };
  root =
    e.LOG_FORMAT === "pretty"
      ? pino(options, pretty({ colorize: true, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service,component,correlationId,spanId", messageFormat: "[{component}] {msg}{if correlationId} (correlation {correlationId}){end}" }))
      : pino(options);
  return root;
}

/** A logger for one component; safe to create at module load (it binds on first use). */
export function componentLogger(component: string): pino.Logger {
  let child: pino.Logger | undefined;
  const bound = () => (child ??= rootLogger().child({ component }));
  return new Proxy({} as pino.Logger, {
    get(_target, prop) {
      const l = bound();
      const v = Reflect.get(l, prop, l) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
  });
}
