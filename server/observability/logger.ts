/**
 * Structured JSON logs (pino). Every line carries the component; request and transfer handlers
 * add their correlation id with `logger.child({ requestId })`. Secrets are redacted by path.
 */
import pino from "pino";
import { env } from "../env";

export const logger = pino({
  level: env().LOG_LEVEL,
  base: { service: "ledger-console" },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: ["password", "secret", "*.password", "*.secret", "*.secretHash", "headers.authorization", "req.headers.authorization", "req.headers.cookie"],
    censor: "[redacted]",
  },
});

export function componentLogger(component: string) {
  return logger.child({ component });
}
