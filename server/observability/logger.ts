/**
 * Structured JSON logs (pino). Every line carries the component; request and transfer handlers
 * add their correlation id with `logger.child({ requestId })`. Secrets are redacted by path.
 *
 * Loggers are created on first use, not when a module loads: `next build` imports server modules
 * to collect page data without the runtime configuration, and reading it then would fail.
 */
import pino from "pino";
import { env } from "../env";

let root: pino.Logger | undefined;

/** The process's root logger (created on first call). */
export function rootLogger(): pino.Logger {
  root ??= pino({
    level: env().LOG_LEVEL,
    base: { service: "ledger-console" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["password", "secret", "*.password", "*.secret", "*.secretHash", "headers.authorization", "req.headers.authorization", "req.headers.cookie"],
      censor: "[redacted]",
    },
  });
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
