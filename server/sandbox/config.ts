/**
 * The sandbox process's options from configuration (server/env.ts). The signing secret and its
 * demo default are shared with our side through server/partners/registry.ts, so a zero-config
 * `npm start` has both ends agreeing.
 */
import type pg from "pg";
import { env, type Env } from "../env";
import { sandboxSigningSecret } from "../partners/registry";
import type { SandboxOptions } from "./server";

export function sandboxWebhookTargetUrl(e: Env = env()): string {
  return e.WEBHOOK_TARGET_URL ?? `http://127.0.0.1:${e.PORT}/api/webhooks/sandbox`;
}

export function sandboxOptionsFromEnv(pool: pg.Pool, e: Env = env()): SandboxOptions {
  return {
    pool,
    port: e.SANDBOX_PORT,
    webhookTargetUrl: sandboxWebhookTargetUrl(e),
    webhookSecret: sandboxSigningSecret(e),
    defaultSeed: e.SANDBOX_FAULT_SEED ?? null,
    defaultCutoffSeconds: e.SANDBOX_BATCH_CUTOFF_SECONDS,
  };
}
