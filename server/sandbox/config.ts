/**
 * The sandbox process's options from configuration (server/env.ts). The signing secret and its
 * demo default are shared with our side through server/partners/registry.ts, so a zero-config
 * `npm start` has both ends agreeing.
 */
import type pg from "pg";
import { env, type Env } from "../env";
import { sandboxSigningSecret } from "../partners/registry";
import type { SandboxOptions } from "./server";

/** Where the sandbox sends its webhooks: one URL, or several (one per web process) taken in turn. */
export function sandboxWebhookTargetUrls(e: Env = env()): string[] {
  const configured = (e.WEBHOOK_TARGET_URL ?? "").split(",").map((u) => u.trim()).filter((u) => u.length > 0);
  return configured.length > 0 ? configured : [`http://127.0.0.1:${e.PORT}/api/webhooks/sandbox`];
}

export function sandboxOptionsFromEnv(pool: pg.Pool, e: Env = env()): SandboxOptions {
  return {
    pool,
    port: e.SANDBOX_PORT,
    webhookTargetUrls: sandboxWebhookTargetUrls(e),
    webhookSecret: sandboxSigningSecret(e),
    defaultSeed: e.SANDBOX_FAULT_SEED ?? null,
    defaultCutoffSeconds: e.SANDBOX_BATCH_CUTOFF_SECONDS,
  };
}
